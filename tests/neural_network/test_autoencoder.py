"""Autoencoder: gradients, a linear one against PCA, the transformer methods
against NumPy, training vocabulary, pipelines and bad input."""
import pickle
import warnings

import numpy as np
import pytest
from scipy.special import expit
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from fastnn import Autoencoder
from fastnn.layers import BatchNorm, Dense, GaussianNoise
from fastnn.utils import check_gradients


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _fit(est, X, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, **kw)


@pytest.mark.parametrize("loss", ["squared_error", "binary_crossentropy"])
def test_gradients(digits, loss):
    X = digits[0][:6, ::4]  # 16 features in [0, 1]
    ae = _fit(Autoencoder((5, 3), activation="tanh", loss=loss, max_iter=2, random_state=0), X)
    errors = check_gradients(ae, X, X)
    assert {"0.W", "1.W", "2.W", "3.W", "input"} <= set(errors)
    assert max(errors.values()) < 1e-6, errors


def test_linear_autoencoder_reaches_pca(digits):
    """Identity activations, code size k, squared error: the best
    reconstruction is PCA's with k components (Eckart-Young)."""
    X = digits[0]
    k = 10
    ae = _fit(Autoencoder((k,), activation="identity", solver="lbfgs", max_iter=3000, tol=1e-10,
                          random_state=0), X)
    err = np.mean((ae.inverse_transform(ae.transform(X)) - X) ** 2)
    pca = PCA(k).fit(X)
    best = np.mean((pca.inverse_transform(pca.transform(X)) - X) ** 2)
    assert best <= err * (1 + 1e-9) and err <= 1.02 * best, (err, best)


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 1e-5)])
def test_methods_against_numpy(digits, dtype, tol):
    X = digits[0][:200]
    ae = _fit(Autoencoder((16, 4), activation="tanh", max_iter=5, random_state=0, dtype=dtype),
              X)
    W, b = [w.astype(np.float64) for w in ae.coefs_], ae.intercepts_
    code = np.tanh(np.tanh(X @ W[0] + b[0]) @ W[1] + b[1])
    np.testing.assert_allclose(ae.transform(X), code, rtol=0, atol=tol)
    assert ae.transform(X).dtype == np.dtype(dtype) and ae.n_components_ == 4
    rec = np.tanh(code @ W[2] + b[2]) @ W[3] + b[3]
    np.testing.assert_allclose(ae.inverse_transform(code), rec, rtol=0, atol=tol)
    np.testing.assert_allclose(ae.score_samples(X), -np.mean((rec - X) ** 2, axis=1),
                               rtol=0, atol=tol)
    assert ae.score(X) == pytest.approx(np.mean(ae.score_samples(X)))
    assert list(ae.get_feature_names_out()) == [f"autoencoder{i}" for i in range(4)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        np.testing.assert_array_equal(ae.fit_transform(X), ae.transform(X))


def test_binary_crossentropy_reconstructs_through_a_sigmoid(digits):
    X = digits[0][:300]
    ae = _fit(Autoencoder((24, 6), loss="binary_crossentropy", max_iter=30, random_state=0), X)
    assert ae.out_activation_ == "logistic"
    W, b = ae.coefs_, ae.intercepts_
    code = ae.transform(X)
    z = np.maximum(code @ W[2] + b[2], 0) @ W[3] + b[3]
    np.testing.assert_allclose(ae.inverse_transform(code), expit(z), rtol=0, atol=1e-12)
    p = np.clip(expit(z), 1e-300, 1 - 1e-16)
    bce = -(X * np.log(p) + (1 - X) * np.log1p(-p)).mean(axis=1)
    np.testing.assert_allclose(ae.score_samples(X), -bce, rtol=1e-9, atol=1e-12)


def test_codes_feed_a_classifier_and_flag_anomalies(digits):
    X, y = digits
    Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0)
    pipe = make_pipeline(Autoencoder((128, 32), max_iter=100, random_state=0),
                         LogisticRegression(max_iter=3000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(Xtr, ytr)
    assert pipe.score(Xte, yte) > 0.9
    ae = pipe[0]
    noise = np.random.RandomState(0).uniform(0, 1, (50, 64))
    assert ae.score_samples(noise).max() < np.median(ae.score_samples(Xte))


def test_encoder_decoder_and_denoising_layers(digits):
    X = digits[0][:100]
    ae = _fit(Autoencoder(encoder=[Dense(20, "tanh"), BatchNorm(), Dense(5, "relu")],
                          noise=0.2, dropout=0.1, max_iter=3, random_state=0), X)
    specs = ae.network_.specs
    assert isinstance(specs[0], GaussianNoise) and specs[0].stddev == 0.2
    assert [type(s).__name__ for s in specs] == ["GaussianNoise", "Dropout", "Dense",
                                                 "BatchNorm", "Dense", "Dense", "Dense"]
    # the default decoder mirrors the encoder's Dense layers but the code
    assert (specs[5].units, specs[5].activation, specs[6].units) == (20, "tanh", 64)
    assert ae.transform(X).shape == (100, 5) and np.all(ae.transform(X) >= 0)
    ae2 = _fit(Autoencoder(encoder=[Dense(7, "tanh")], decoder=[], max_iter=2, random_state=0), X)
    assert len(ae2.network_.specs) == 2 and ae2.inverse_transform(ae2.transform(X)).shape == \
        (100, 64)


def test_training_vocabulary(digits):
    X = digits[0]
    Xtr, Xva = X[:1400], X[1400:]
    ae = _fit(Autoencoder((32, 8), max_iter=300, early_stopping=True, n_iter_no_change=3, tol=1e-3,
                          random_state=0), Xtr, validation_data=Xva)
    assert ae.validation_scores_ is not None and ae.n_iter_ < 300
    assert ae.best_validation_score_ == pytest.approx(max(ae.validation_scores_))
    assert ae.best_validation_score_ == pytest.approx(ae.score(Xva), rel=1e-9)
    sw = np.linspace(0.5, 2.0, len(Xva))
    ae = _fit(Autoencoder((32, 8), max_iter=3, random_state=0), Xtr, validation_data=(Xva, sw))
    assert len(ae.validation_scores_) == 3
    # partial_fit goes on from where fit left off; warm_start too
    before = ae.score(Xtr)
    for _ in range(5):
        ae.partial_fit(Xtr)
    assert ae.score(Xtr) > before
    ae32 = _fit(Autoencoder((32, 8), max_iter=5, random_state=0), Xtr.astype(np.float32))
    assert ae32.coefs_[0].dtype == np.float32
    assert ae32.transform(Xtr).dtype == np.float32
    again = pickle.loads(pickle.dumps(ae32))
    np.testing.assert_array_equal(again.transform(Xva), ae32.transform(Xva))
    w = ae32.get_weights()
    w[1]["b"] = w[1]["b"] + 1
    again.set_weights(w)
    np.testing.assert_array_equal(again.intercepts_[1], ae32.intercepts_[1] + 1)


def test_bad_input(digits):
    X = digits[0][:50]
    ae = _fit(Autoencoder((8, 3), max_iter=2, random_state=0), X)
    with pytest.raises(ValueError, match=r"codes of shape \(n_samples, 3\)"):
        ae.inverse_transform(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="NaN"):
        ae.inverse_transform(np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match=r"needs inputs in \[0, 1\]"):
        Autoencoder(loss="binary_crossentropy").fit(X * 2 - 0.5)
    for kw, msg in [(dict(loss="mse"), "loss must be"), (dict(noise=-0.1), "noise must"),
                    (dict(dropout=1.0), "dropout must"), (dict(encoder=[]), "at least one"),
                    (dict(encoder=["dense"]), r"encoder\[0\]"),
                    (dict(decoder=[3]), r"decoder\[0\]"),
                    (dict(hidden_layer_sizes=(8, 0)), "hidden_layer_sizes"),
                    (dict(activation="gelu"), "activation must")]:
        with pytest.raises(ValueError, match=msg):
            Autoencoder(**kw).fit(X)
    with pytest.raises(ValueError, match="validation_data"):
        Autoencoder(max_iter=1).fit(X, validation_data=(X, None, None))


def test_pretrained_encoder_starts_a_supervised_network(digits):
    """init=autoencoder puts exactly its encoder weights into the first
    layers; frozen, they stay bitwise; unfrozen by a second warm fit, they
    move."""
    from fastnn import NeuralNetClassifier

    X, y = digits
    ae = _fit(Autoencoder((32, 12), noise=0.1, max_iter=20, random_state=0), X)
    enc = ae.get_weights()[1:3]  # after the input noise layer
    layers = [Dense(32, "relu"), Dense(12, "relu"), Dense(16, "relu")]
    clf = NeuralNetClassifier(layers, init=ae, freeze=[0, 1], max_iter=1, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf._fit(X, y)  # one epoch would move the weights if they were not frozen
        got = clf.get_weights()
        for k in (0, 1):
            for name in ("W", "b"):
                np.testing.assert_array_equal(got[k][name], enc[k][name])
        clf.set_params(freeze=None, warm_start=True, max_iter=3)
        clf.fit(X, y)
    assert not np.array_equal(clf.get_weights()[0]["W"], enc[0]["W"])
    with pytest.raises(ValueError, match="shape"):
        NeuralNetClassifier([Dense(30, "relu")], init=ae, max_iter=1).fit(X, y)


def test_pretrained_encoder_starts_an_mlp(digits):
    """MLP*(init=autoencoder): its encoder's Dense layers become the first
    hidden layers, through batch norm and dropout in between; a list gives
    one {"W", "b"} per hidden layer."""
    from fastnn import MLPClassifier, MLPRegressor

    X, y = digits
    ae = _fit(Autoencoder(encoder=[Dense(32, "relu"), BatchNorm(), Dense(12, "relu")],
                          max_iter=5, random_state=0), X)
    enc = [w for w in ae.get_weights() if "W" in w][:2]
    clf = MLPClassifier((32, 12, 8), batch_norm=True, dropout=0.1, init=ae, max_iter=1,
                        random_state=0, solver="sgd", learning_rate_init=1e-12)
    _fit(clf, X, y=y)
    for k in (0, 1):
        np.testing.assert_allclose(clf.coefs_[k], enc[k]["W"], rtol=0, atol=1e-9)
        np.testing.assert_allclose(clf.intercepts_[k], enc[k]["b"], rtol=0, atol=1e-9)
    W0 = np.full((64, 5), 0.01)
    reg = _fit(MLPRegressor(hidden_layer_sizes=(5, 4), init=[{"W": W0, "b": np.ones(5)}, None],
                            max_iter=1, learning_rate_init=1e-12, solver="sgd",
                            random_state=0), X, y=y.astype(float))
    np.testing.assert_allclose(reg.coefs_[0], W0, rtol=0, atol=1e-9)
    assert not np.allclose(reg.coefs_[1], 0.01)
    for init, msg in [(ae, "shape"), ([None, None, None], "weights for 3 hidden layers"),
                      ("ae", "init must be a fitted fastnn.Autoencoder"),
                      (Autoencoder(), "unfitted")]:
        with pytest.raises(ValueError, match=msg):
            MLPClassifier((16, 12), init=init, max_iter=1).fit(X, y)


def test_greedy_layer_wise_pretraining(digits):
    """pretrain fits one single-layer autoencoder per size, each on the
    codes of the one before, and returns their encoders' weights, which an
    MLP takes as init."""
    from fastnn import MLPClassifier, pretrain

    X, y = digits
    w = pretrain(X, (20, 6), Autoencoder(activation="tanh", max_iter=5, random_state=0))
    first, second = w.estimators
    assert first.n_components_ == 20 and second.n_features_in_ == 20
    assert second.n_components_ == 6
    for est, layer in zip(w.estimators, w):
        enc = est.get_weights()[0]
        np.testing.assert_array_equal(layer["W"], enc["W"])
        np.testing.assert_array_equal(layer["b"], enc["b"])
    np.testing.assert_allclose(second.transform(first.transform(X)),
                               np.tanh(np.tanh(X @ w[0]["W"] + w[0]["b"]) @ w[1]["W"]
                                       + w[1]["b"]), rtol=0, atol=1e-12)
    clf = _fit(MLPClassifier((20, 6), activation="tanh", init=w, max_iter=1, solver="sgd",
                             learning_rate_init=1e-12, random_state=0), X, y=y)
    np.testing.assert_allclose(clf.coefs_[1], w[1]["W"], rtol=0, atol=1e-9)
    with pytest.raises(ValueError, match="at least one size"):
        pretrain(X, ())
    with pytest.raises(ValueError, match="unfitted fastnn.Autoencoder or"):
        pretrain(X, (4,), estimator=MLPClassifier())


def test_pretrain_demo_prints_its_measurements(capsys):
    from fastnn.__main__ import pretrain_demo

    assert pretrain_demo(seeds=(0,)) == 0
    out = capsys.readouterr().out
    for row in ("10% labels, random init", "greedy layer-wise", "greedy RBMs",
                "5-9, hidden layers from 0-4"):
        assert row in out


def test_convolutional_encoder_on_images(digits):
    from fastnn.layers import Conv2D, Flatten, MaxPool2D

    X = digits[0][:300]
    enc = [Conv2D(4, 3, padding="same", activation="relu"), MaxPool2D(2), Flatten(),
           Dense(8, "relu")]
    flat = _fit(Autoencoder(encoder=enc, input_shape=(1, 8, 8), max_iter=5, random_state=0), X)
    assert [type(s).__name__ for s in flat.network_.specs] == \
        ["Conv2D", "MaxPool2D", "Flatten", "Dense", "Dense"]
    assert flat.transform(X).shape == (300, 8)
    assert flat.inverse_transform(flat.transform(X)).shape == (300, 64)
    images = _fit(Autoencoder(encoder=enc, max_iter=5, random_state=0), X.reshape(-1, 1, 8, 8))
    np.testing.assert_allclose(images.transform(X.reshape(-1, 1, 8, 8)), flat.transform(X),
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(images.score_samples(X.reshape(-1, 1, 8, 8)),
                               flat.score_samples(X), rtol=0, atol=1e-12)
