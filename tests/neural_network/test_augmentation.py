"""Image augmentation layers (Keras 3's names and parameters): the identity
at predict, the training transform against SciPy's resampling for fixed
draws, flips, the transposed resampling in backward (gradient checks),
determinism by random_state, placement and parameter errors, and accuracy."""
import warnings

import numpy as np
import pytest
from scipy import ndimage
from sklearn.exceptions import ConvergenceWarning

from fastnn import NeuralNetClassifier
from fastnn.layers import (
    Activation, Conv2D, Dense, Flatten, GaussianNoise, MaxPool2D, RandomFlip, RandomRotation,
    RandomTranslation, RandomZoom,
)
from fastnn.nn._network import Network
from fastnn.utils import check_gradients

SCIPY_MODES = {"reflect": "reflect", "wrap": "grid-wrap", "nearest": "nearest",
               "constant": "grid-constant"}


def _train_output(layer, X, seed=5):
    """The layer's training-mode output on X (n, C, H, W), read off the
    squared-error loss 0.5 sum (out - y)^2: out_k = 0.5 - (L(e_k) - L(0))."""
    n, shape = X.shape[0], X.shape[1:]
    net = Network([layer, Activation("identity")], shape, "squared_error")
    p, s = net.init(np.random.RandomState(0), np.float64)
    Xf = X.reshape(n, -1)
    g = np.empty(net.n_params)

    def loss(y):
        return net.net.loss_grad(Xf, y, None, p, s, g, seed=seed)[0]

    base = loss(np.zeros(Xf.size))
    out = np.empty(Xf.size)
    for k in range(Xf.size):
        e = np.zeros(Xf.size)
        e[k] = 1.0
        out[k] = 0.5 - (loss(e) - base)
    return out.reshape(X.shape), net, p, s


def _images(n=3, C=2, H=6, W=7, seed=0):
    return np.random.RandomState(seed).rand(n, C, H, W)


@pytest.mark.parametrize("layer", [RandomFlip(), RandomTranslation(0.3, 0.3),
                                   RandomRotation(0.2), RandomZoom(0.3), GaussianNoise(0.5)])
def test_identity_at_predict(layer):
    X = _images()
    net = Network([layer, Activation("identity")], X.shape[1:], "squared_error")
    p, s = net.init(np.random.RandomState(0), np.float64)
    np.testing.assert_array_equal(net.net.predict(X.reshape(3, -1), p, s, 2, 1),
                                  X.reshape(3, -1))


@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "nearest", "constant"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_fixed_translation_matches_scipy(fill_mode, interpolation):
    X = _images()
    ty, tx = 0.3, -0.45  # fractions of the height and width; the content moves by +t
    layer = RandomTranslation((ty, ty), (tx, tx), fill_mode=fill_mode,
                              interpolation=interpolation, fill_value=0.7)
    out, *_ = _train_output(layer, X)
    H, W = X.shape[2:]
    yy, xx = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
    coords = [yy - ty * H, xx - tx * W]
    if interpolation == "nearest":
        coords = [np.floor(c + 0.5) for c in coords]
    ref = np.array([[ndimage.map_coordinates(X[i, c], coords, order=1,
                                             mode=SCIPY_MODES[fill_mode], cval=0.7)
                     for c in range(X.shape[1])] for i in range(len(X))])
    np.testing.assert_allclose(out, ref, atol=1e-10)


def test_quarter_turn_is_rot90_and_zoom_matches_scipy():
    X = _images(H=6, W=6)
    out, *_ = _train_output(RandomRotation((0.25, 0.25), interpolation="nearest"), X)
    np.testing.assert_allclose(out, np.rot90(X, k=1, axes=(2, 3)), atol=1e-10)  # counter-clockwise
    X = _images(H=5, W=7)
    out, *_ = _train_output(RandomZoom((0.5, 0.5), (-0.25, -0.25), fill_mode="constant",
                                       fill_value=0.3), X)
    H, W = X.shape[2:]
    yy, xx = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
    cy, cx = (H - 1) / 2, (W - 1) / 2
    coords = [cy + 1.5 * (yy - cy), cx + 0.75 * (xx - cx)]  # 1.5: zoomed out, 0.75: in
    ref = np.array([[ndimage.map_coordinates(X[i, c], coords, order=1, mode="grid-constant",
                                             cval=0.3) for c in range(2)] for i in range(3)])
    np.testing.assert_allclose(out, ref, atol=1e-10)


def test_flips_are_per_sample_and_exact():
    X = _images(n=24, C=1, H=3, W=4)
    for mode, allowed in [
        ("horizontal", lambda x: [x, x[:, :, ::-1]]),
        ("vertical", lambda x: [x, x[:, ::-1, :]]),
        ("horizontal_and_vertical",
         lambda x: [x, x[:, :, ::-1], x[:, ::-1, :], x[:, ::-1, ::-1]]),
    ]:
        out, *_ = _train_output(RandomFlip(mode), X)
        seen = set()
        for o, x in zip(out, X):
            hits = [k for k, a in enumerate(allowed(x)) if np.allclose(o, a, atol=1e-12)]
            assert hits, mode
            seen.add(hits[0])
        assert len(seen) == len(allowed(X[0])), (mode, seen)  # every flip occurs


def test_gaussian_noise_statistics():
    X = np.zeros((40, 1, 25, 25))
    out, *_ = _train_output(GaussianNoise(0.5), X[:2].copy())
    assert 0.35 < out.std() < 0.65 and abs(out.mean()) < 0.1


@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "nearest", "constant"])
def test_backward_is_the_transposed_resampling(fill_mode):
    rng = np.random.RandomState(2)
    specs = [RandomRotation(0.1, fill_mode=fill_mode, fill_value=0.2), RandomZoom(0.2),
             RandomTranslation(0.2, 0.1, fill_mode=fill_mode), RandomFlip(),
             GaussianNoise(0.3), Conv2D(2, 3, activation="tanh"), GaussianNoise(0.1), Flatten(),
             Dense(3)]
    net = Network(specs, (2, 6, 7), "multinomial")
    p = rng.normal(scale=0.5, size=net.n_params)
    s = np.zeros(net.n_stats)
    X = rng.rand(4, 84)
    y = rng.randint(0, 3, 4).astype(float)
    errors = check_gradients((net, p, s), X, y, seed=11)
    assert max(errors.values()) < 1e-6, errors


def test_same_random_state_same_weights_and_errors():
    rng = np.random.RandomState(0)
    X = rng.rand(60, 1, 8, 8)
    y = rng.randint(0, 2, 60)

    def fit(seed, n_threads=1):
        layers = [RandomRotation(0.1), RandomZoom(0.1), RandomFlip("horizontal"),
                  GaussianNoise(0.1), Conv2D(3, 3, activation="relu"), Flatten()]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return NeuralNetClassifier(layers, max_iter=3, batch_size=16, random_state=seed,
                                       n_threads=n_threads).fit(X, y).get_weights()[4]["W"]

    np.testing.assert_array_equal(fit(0), fit(0))
    assert not np.array_equal(fit(0), fit(1))
    with pytest.raises(ValueError, match=r"layer 1 \(RandomFlip\) must come before the first "
                                         r"layer with weights \(layer 0, Conv2D\)"):
        NeuralNetClassifier([Conv2D(2, 3), RandomFlip()]).fit(X, y)
    for bad, msg in [(RandomRotation(1.5), r"factor must be a number .* \[-1.0, 1.0\]"),
                     (RandomTranslation(0.1, (0.1, 2)), "width_factor must be"),
                     (RandomZoom(0.1, fill_mode="mirror"), "fill_mode must be one of"),
                     (RandomZoom(0.1, interpolation="cubic"), "interpolation must be one of"),
                     (RandomFlip("diagonal"), "mode must be one of"),
                     (GaussianNoise(2.0), r"stddev must be a float in \[0, 1\]")]:
        with pytest.raises(ValueError, match=msg):
            NeuralNetClassifier([bad, Flatten()]).fit(X, y)


def test_augmented_cnn_on_digits_keeps_its_accuracy():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split((X / 16.0).reshape(-1, 1, 8, 8), y, test_size=0.25,
                                          random_state=0)
    scores = []
    for seed in range(3):
        clf = NeuralNetClassifier(
            [RandomTranslation(0.1, 0.1, fill_mode="constant"), RandomRotation(0.03),
             GaussianNoise(0.05), Conv2D(16, 3, padding="same", activation="relu"),
             MaxPool2D(2), Conv2D(32, 3, padding=1, activation="relu"), MaxPool2D(2),
             Flatten(), Dense(64, "relu")],
            max_iter=60, learning_rate_init=3e-3, batch_size=32, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            scores.append(clf.fit(Xtr, ytr).score(Xte, yte))
    assert np.median(scores) >= 0.98, scores
