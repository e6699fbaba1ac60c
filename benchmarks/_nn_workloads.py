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
    return _fastnn_warm_epoch(est, X, y)


def _fastnn_warm_epoch(est, X, y):
    """One epoch of a warm-started ``est`` (max_iter=1) per call."""

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
    return _torch_adam_epoch(torch.nn.Sequential(*layers[:-1]), X, y, batch_size)


def _torch_adam_epoch(model, X, y, batch_size, loss_fn=None):
    """One epoch of ``model``: cross entropy (or ``loss_fn``), Adam with the
    fused CPU kernel, shuffled batches."""
    import torch

    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    loss_fn = loss_fn or torch.nn.CrossEntropyLoss()

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


def fastnn_autoencoder_epoch(X, sizes, batch_size, n_threads=None):
    """One epoch of Autoencoder(sizes): relu, squared error, Adam."""
    import fastnn

    est = fastnn.Autoencoder(sizes, batch_size=batch_size, max_iter=1, random_state=0,
                             warm_start=True, n_threads=n_threads)
    return _fastnn_warm_epoch(est, X, None)


def torch_autoencoder_epoch(X, sizes, batch_size):
    """The same autoencoder in PyTorch: Linear+ReLU to the code and back,
    a linear output, mean squared error, fused Adam."""
    import torch

    dims = [X.shape[1], *sizes, *reversed(sizes[:-1]), X.shape[1]]
    layers = []
    for a, b in zip(dims[:-1], dims[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    return _torch_adam_epoch(torch.nn.Sequential(*layers[:-1]), X, X, batch_size,
                             torch.nn.MSELoss())


def rbm_data(n, p, dtype=np.float32, seed=0):
    """Binary rows with MNIST's density of lit pixels (about 19%)."""
    rng = np.random.default_rng(seed)
    return (rng.random((n, p)) < 0.19).astype(dtype)


def rbm_gemm_flops(n, p, k, batch_size=10):
    """Multiply-adds x 2 of an RBM epoch: the positive and negative hidden
    units, the visible sample and the update (chains = batch_size)."""
    chains = batch_size * -(-n // batch_size)
    return 2.0 * p * k * (2 * n + 3 * chains)


def fastnn_rbm_epoch(X, n_components, n_threads=None):
    """One epoch (n_iter=1) of fastnn.BernoulliRBM at scikit-learn's defaults."""
    import fastnn

    est = fastnn.BernoulliRBM(n_components, n_iter=1, random_state=0, n_threads=n_threads)
    return lambda: est.fit(X)


def sklearn_rbm_epoch(X, n_components):
    """The same epoch of scikit-learn's BernoulliRBM."""
    from sklearn.neural_network import BernoulliRBM

    est = BernoulliRBM(n_components, n_iter=1, random_state=0)
    return lambda: est.fit(X)


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


# LeNet-5 on 28x28 images: conv 6@5x5 (padding 2) -> 2x2 max pool -> conv
# 16@5x5 -> 2x2 max pool -> 120 -> 84 -> 10, relu, Adam, shuffled batches.
LENET_CONVS = [(1, 6, 5, 28 * 28), (6, 16, 5, 10 * 10)]  # (C, F, k, output positions)
LENET_DENSE = [16 * 5 * 5, 120, 84, 10]


def lenet_gemm_flops(n):
    """Multiply-adds x 2 of one LeNet epoch's GEMMs: forward and weight
    gradient of every layer, input gradient of all but the first."""
    macs = [C * k * k * F * P for C, F, k, P in LENET_CONVS]
    macs += [a * b for a, b in zip(LENET_DENSE[:-1], LENET_DENSE[1:])]
    return 2.0 * n * (3 * sum(macs) - macs[0])


def image_data(n, shape, k, dtype=np.float32, seed=0):
    X, y = classification_data(n, int(np.prod(shape)), k, dtype, seed)
    return X.reshape(n, *shape), y


def fastnn_lenet_epoch(X, y, batch_size, n_threads=None):
    import fastnn
    from fastnn.layers import Conv2D, Dense, Flatten, MaxPool2D

    layers = [Conv2D(6, 5, padding=2, activation="relu"), MaxPool2D(2),
              Conv2D(16, 5, activation="relu"), MaxPool2D(2), Flatten(),
              Dense(120, "relu"), Dense(84, "relu")]
    est = fastnn.NeuralNetClassifier(layers, batch_size=batch_size, max_iter=1,
                                     random_state=0, warm_start=True, n_threads=n_threads)
    return _fastnn_warm_epoch(est, X, y)


def torch_lenet_epoch(X, y, batch_size):
    import torch

    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    return _torch_adam_epoch(model, X, y, batch_size)


# Recurrent classifiers: one LSTM or GRU layer on (T, F) sequences, its last
# state into a Dense of the classes; Adam, shuffled batches.
RNN_GATES = {"lstm": 4, "gru": 3}


def sequence_data(n, T, F, k, dtype=np.float32, seed=0):
    X, y = classification_data(n, T * F, k, dtype, seed)
    return X.reshape(n, T, F), y


def rnn_gemm_flops(n, T, F, H, cell):
    """Multiply-adds x 2 of one epoch's GEMMs in a first recurrent layer: the
    input and recurrent projections forward, their weight gradients and the
    gradient of the states (a first layer needs none of its inputs): the
    least any implementation of the cell computes."""
    return 2.0 * n * T * RNN_GATES[cell] * H * (2 * F + 3 * H)


def fastnn_rnn_epoch(X, y, cell, units, batch_size, n_threads=None):
    import fastnn
    from fastnn.layers import GRU, LSTM

    layer = LSTM(units) if cell == "lstm" else GRU(units)
    est = fastnn.NeuralNetClassifier([layer], batch_size=batch_size, max_iter=1,
                                     random_state=0, warm_start=True, n_threads=n_threads)
    return _fastnn_warm_epoch(est, X, y)


def torch_rnn_epoch(X, y, cell, units, batch_size):
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            kind = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
            self.rnn = kind(X.shape[2], units, batch_first=True)
            self.head = torch.nn.Linear(units, int(y.max()) + 1)

        def forward(self, x):
            return self.head(self.rnn(x)[0][:, -1])

    return _torch_adam_epoch(Net(), X, y, batch_size)


def conv_gemm_flops(m, C, F, k, P):
    """Multiply-adds x 2 of a convolution's forward, weight and input
    gradients on m samples."""
    return 2.0 * 3 * m * C * k * k * F * P


def fastnn_conv(m, C, F, k, hw, n_threads=None):
    """Conv2D(F, k, padding='same') forward + backward (weight, bias and
    input gradients) on an (m, C, hw, hw) float32 batch, through the engine,
    with a squared-error loss on its output."""
    from fastnn.layers import Conv2D
    from fastnn.nn._network import Network
    from fastnn.utils import effective_n_threads
    from fastnn.utils._threads import blas_single_thread

    rng = np.random.default_rng(0)
    X = rng.normal(size=(m, C * hw * hw)).astype(np.float32)
    y = rng.normal(size=m * F * hw * hw).astype(np.float32)
    net = Network([Conv2D(F, k, padding="same")], (C, hw, hw), "squared_error")
    params, stats = net.init(np.random.RandomState(0), np.float32)
    grad = np.empty_like(params)
    nt = effective_n_threads(n_threads)
    work = np.empty(net.net.workspace_size(m, np.float32, True, nt) // 8 + 8)

    def step():
        # as the estimators run it: the engine's threads call a 1-thread BLAS
        with blas_single_thread():
            net.net.loss_grad(X, y, None, params, stats, grad, None, 1.0, 0, 0, True, nt, work)

    return step


def conv_gemm_calls(m, C, F, k, hw):
    """The three GEMM calls of the im2col formulation of the same convolution
    ('same' padding, stride 1) on m samples, one sample at a time, through
    SciPy's single-threaded BLAS, with nothing else: no unrolling, bias,
    activation or loss. The floor of any conv built on im2col and that BLAS."""
    from scipy.linalg import blas
    from threadpoolctl import threadpool_limits

    K, P = C * k * k, hw * hw
    rng = np.random.default_rng(0)
    W = rng.normal(size=(F, K)).astype(np.float32)
    col = rng.normal(size=(K, P)).astype(np.float32)
    dY = rng.normal(size=(F, P)).astype(np.float32)
    out, dW, dcol = (np.zeros(s, np.float32) for s in ((F, P), (F, K), (K, P)))

    def step():
        # row-major products through Fortran views: X.T of a C array
        with threadpool_limits(1):
            for _ in range(m):
                blas.sgemm(1.0, col.T, W.T, c=out.T, overwrite_c=1)  # out = W col
                blas.sgemm(1.0, col.T, dY.T, trans_a=1, c=dW.T, beta=1.0,
                           overwrite_c=1)  # dW += dY col^T
                blas.sgemm(1.0, dY.T, W.T, trans_b=1, c=dcol.T, overwrite_c=1)  # dcol = W^T dY

    return step


def torch_conv(m, C, F, k, hw):
    import torch

    conv = torch.nn.Conv2d(C, F, k, padding="same")
    x = torch.randn(m, C, hw, hw, requires_grad=True)
    y = torch.randn(m, F, hw, hw)

    def step():
        x.grad = None
        conv.zero_grad()
        loss = 0.5 * ((conv(x) - y) ** 2).sum()
        loss.backward()

    return step
