"""transform(X, layer=-1) of the network estimators: a hidden layer's
activations (inference mode), against NumPy references and the estimators'
own predictions, in a Pipeline, and bad values of ``layer``."""
import warnings

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from fastnn import MLPClassifier, MLPRegressor, NeuralNetClassifier, NeuralNetRegressor
from fastnn.layers import GRU, LSTM, BatchNorm, Conv2D, Dense, Dropout, Flatten, MaxPool2D


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _quiet_fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 1e-5)])
def test_mlp_layers_match_numpy(digits, dtype, tol):
    X, y = digits
    clf = _quiet_fit(MLPClassifier((24, 12, 8), activation="tanh", max_iter=5,
                                   random_state=0, dtype=dtype), X, y)
    h, layers = X, []
    for W, b in zip(clf.coefs_[:-1], clf.intercepts_[:-1]):
        h = np.tanh(h @ W.astype(np.float64) + b)
        layers.append(h)
    for k in range(3):
        np.testing.assert_allclose(clf.transform(X, layer=k), layers[k], rtol=0, atol=tol)
        np.testing.assert_allclose(clf.transform(X, layer=k - 3), layers[k], rtol=0, atol=tol)
    assert clf.transform(X).dtype == np.dtype(dtype)
    np.testing.assert_array_equal(clf.transform(X), clf.transform(X, layer=2))


def test_last_hidden_layer_feeds_the_output_layer(digits):
    """With batch norm (running statistics) and dropout (off) between them,
    the output layer applied to transform(X) is the estimator's prediction."""
    X, y = digits
    clf = _quiet_fit(MLPClassifier((32, 16), batch_norm=True, dropout=0.2, max_iter=20,
                                   random_state=0), X, y)
    assert clf.transform(X, layer=0).shape == (len(X), 32)
    z = clf.transform(X) @ clf.coefs_[-1] + clf.intercepts_[-1]
    np.testing.assert_allclose(softmax(z, axis=1), clf.predict_proba(X), rtol=0, atol=1e-10)
    Y = np.c_[X[:, :4].sum(1), X[:, 4:9].mean(1)]
    reg = _quiet_fit(MLPRegressor(hidden_layer_sizes=(20,), batch_norm=True, max_iter=20,
                                  random_state=0), X, Y)
    np.testing.assert_allclose(reg.transform(X) @ reg.coefs_[-1] + reg.intercepts_[-1],
                               reg.predict(X), rtol=0, atol=1e-10)


def test_neural_net_layers_index_the_layers_list(digits):
    X, y = digits
    layers = [Conv2D(4, 3, padding="same", activation="relu"), MaxPool2D(2), Flatten(),
              Dropout(0.1), Dense(16, "relu"), BatchNorm()]
    clf = _quiet_fit(NeuralNetClassifier(layers, input_shape=(1, 8, 8), max_iter=5,
                                         random_state=0), X, y)
    shapes = [clf.transform(X[:7], layer=k).shape for k in range(len(layers))]
    assert shapes == [(7, 4 * 8 * 8), (7, 4 * 4 * 4), (7, 64), (7, 64), (7, 16), (7, 16)]
    # the pooling layer's output is the maximum over 2x2 blocks of the conv layer's
    conv = clf.transform(X[:7], layer=0).reshape(7, 4, 4, 2, 4, 2)
    np.testing.assert_array_equal(clf.transform(X[:7], layer=1),
                                  conv.max(axis=(3, 5)).reshape(7, -1))
    # Flatten and Dropout (off at inference) pass the values through
    np.testing.assert_array_equal(clf.transform(X, layer=2), clf.transform(X, layer=3))
    z = clf.transform(X) @ clf.coefs_[-1] + clf.intercepts_[-1]
    np.testing.assert_allclose(softmax(z, axis=1), clf.predict_proba(X), rtol=0, atol=1e-10)


def test_recurrent_layers_give_every_step_or_the_last_state(digits):
    X, y = digits
    reg = _quiet_fit(NeuralNetRegressor([LSTM(6, return_sequences=True), GRU(5)],
                                        input_shape=(8, 8), max_iter=3, random_state=0),
                     X, X[:, :3])
    assert reg.transform(X[:4], layer=0).shape == (4, 8 * 6)
    last = reg.transform(X[:4])
    assert last.shape == (4, 5) and np.all(np.abs(last) < 1)
    np.testing.assert_allclose(last @ reg.coefs_[-1] + reg.intercepts_[-1], reg.predict(X[:4]),
                               rtol=0, atol=1e-10)


def test_a_network_as_a_pipeline_step(digits):
    X, y = digits
    Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0)
    pipe = Pipeline([("features", MLPClassifier((64,), max_iter=200, random_state=0)),
                     ("head", LogisticRegression(max_iter=2000))])
    _quiet_fit(pipe, Xtr, ytr)
    assert pipe.score(Xte, yte) > 0.93


def test_bad_layer_and_unfitted(digits):
    X, y = digits
    with pytest.raises(NotFittedError):
        MLPClassifier().transform(X)
    clf = _quiet_fit(MLPClassifier((8, 4), max_iter=2, random_state=0), X, y)
    for bad in (2, -3, 1.0, True, "0", None):
        with pytest.raises(ValueError, match=r"layer must be an integer in \[-2, 2\)"):
            clf.transform(X, layer=bad)
    with pytest.raises(ValueError, match="features"):
        clf.transform(X[:, :10])
    flat = _quiet_fit(NeuralNetRegressor([], max_iter=2, random_state=0), X, X[:, 0])
    with pytest.raises(ValueError, match="transform needs a hidden layer"):
        flat.transform(X)
