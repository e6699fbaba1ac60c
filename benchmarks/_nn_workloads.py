"""Network workloads shared by compare.py and bench_nn.py: the same data,
architecture and optimizer for fastnn and its anchors. Each builder returns a
callable running one unit of work (an epoch, a step) on warmed-up state."""
import warnings

import numpy as np


def classification_data(n, p, k, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)).astype(dtype)
    W = rng.normal(size=(p, k))
    y = (X @ W + rng.normal(scale=2.0, size=(n, k))).argmax(axis=1)
    return X, y


def fastnn_epoch(X, y, hidden, batch_size, n_threads=None):
    """One epoch of MLPClassifier(relu, Adam, shuffled batches)."""
    import fastnn

    est = fastnn.MLPClassifier(hidden, batch_size=batch_size, max_iter=1, random_state=0,
                               warm_start=True, n_threads=n_threads)

    def epoch():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)
        return est

    return epoch


def sklearn_epoch(X, y, hidden, batch_size):
    """One epoch of scikit-learn's MLPClassifier (partial_fit = one epoch)."""
    from sklearn.neural_network import MLPClassifier

    est = MLPClassifier(hidden, batch_size=batch_size, random_state=0)
    classes = np.unique(y)

    def epoch():
        est.partial_fit(X, y, classes=classes)
        return est

    return epoch


def torch_epoch(X, y, hidden, batch_size):
    """One epoch of the same network in PyTorch: Linear+ReLU stack, cross
    entropy, Adam with the fused CPU kernel, shuffled batches."""
    import torch

    sizes = [X.shape[1], *hidden, int(y.max()) + 1]
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    loss_fn = torch.nn.CrossEntropyLoss()

    def epoch():
        perm = torch.randperm(len(Xt))
        for i in range(0, len(Xt), batch_size):
            idx = perm[i:i + batch_size]
            opt.zero_grad()
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        return model

    return epoch


def fastnn_adam_step(n, n_threads=None):
    """One Adam update over n float32 parameters (fastnn's fused C loop)."""
    from fastnn.optimizers import Adam
    from fastnn.utils import effective_n_threads

    rng = np.random.default_rng(0)
    p = rng.normal(size=n).astype(np.float32)
    g = rng.normal(size=n).astype(np.float32)
    state = np.zeros(2 * n, dtype=np.float32)
    rule = Adam(1e-3)._update_rule()
    nt = effective_n_threads(n_threads)
    t = [0]

    def step():
        t[0] += 1
        rule.step(p, g, state, 1e-3, t[0], n_threads=nt)

    return step


def torch_adam_step(n):
    import torch

    p = torch.nn.Parameter(torch.randn(n))
    p.grad = torch.randn(n)
    opt = torch.optim.Adam([p], lr=1e-3, fused=True)

    def step():
        opt.step()

    return step


def fastnn_batchnorm(m, f, n_threads=None):
    """BatchNorm forward + backward (d loss / d input and d gamma, d beta)
    on an (m, f) float32 batch in training mode, with a squared-error loss
    on its output, through the network engine."""
    from fastnn._core._net import STATS_MOVE
    from fastnn.layers import BatchNorm
    from fastnn.nn._network import Network
    from fastnn.utils import effective_n_threads

    rng = np.random.default_rng(0)
    X = rng.normal(size=(m, f)).astype(np.float32)
    y = rng.normal(size=m * f).astype(np.float32)
    net = Network([BatchNorm()], (f,), "squared_error")
    params, stats = net.init(np.random.RandomState(0), np.float32)
    grad = np.empty_like(params)
    nt = effective_n_threads(n_threads)
    work = np.empty(net.net.workspace_size(m, np.float32, True, nt) // 8 + 8)  # sized once, as torch's

    def step():
        net.net.loss_grad(X, y, None, params, stats, grad, None, 1.0, 0, STATS_MOVE, True, nt,
                          work)

    return step


def torch_batchnorm(m, f):
    import torch

    bn = torch.nn.BatchNorm1d(f)
    x = torch.randn(m, f, requires_grad=True)
    y = torch.randn(m, f)

    def step():
        x.grad = None
        bn.zero_grad()
        loss = 0.5 * ((bn(x) - y) ** 2).sum()
        loss.backward()

    return step
