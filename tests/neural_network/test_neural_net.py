"""NeuralNetClassifier / NeuralNetRegressor: layer stacks, weights out and in,
frozen layers (transfer learning), input_shape."""
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastnn import MLPClassifier, NeuralNetClassifier, NeuralNetRegressor
from fastnn.layers import Activation, BatchNorm, Dense, Dropout

warnings.filterwarnings("ignore", category=ConvergenceWarning)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return train_test_split(X, y, test_size=0.25, random_state=0)


def test_same_stack_as_mlp_gives_the_same_model(digits):
    Xtr, Xte, ytr, yte = digits
    mlp = MLPClassifier(hidden_layer_sizes=(32, 16), max_iter=5, random_state=0).fit(Xtr, ytr)
    net = NeuralNetClassifier([Dense(32, "relu"), Dense(16, "relu")], max_iter=5,
                              random_state=0).fit(Xtr, ytr)
    for a, b in zip(mlp.coefs_ + mlp.intercepts_, net.coefs_ + net.intercepts_):
        np.testing.assert_array_equal(a, b)


def test_layers_train_and_weights_round_trip(digits):
    Xtr, Xte, ytr, yte = digits
    layers = [Dense(64), BatchNorm(), Activation("elu"), Dropout(0.2), Dense(32, "tanh")]
    net = NeuralNetClassifier(layers, max_iter=40, random_state=0, learning_rate_init=0.01)
    net.fit(Xtr, ytr)
    assert net.score(Xte, yte) > 0.95
    w = net.get_weights()
    assert [sorted(d) for d in w] == [["W", "b"], ["beta", "gamma", "running_mean",
                                                   "running_var"], [], [], ["W", "b"],
                                      ["W", "b"]]
    assert w[0]["W"].shape == (64, 64) and w[-1]["W"].shape == (32, 10)
    np.testing.assert_array_equal(w[4]["W"], net.coefs_[1])
    # momentum 0: the copy's one (near-zero) step leaves the running statistics as given
    frozen_stats = [clone(la).set_params(momentum=0.0) if isinstance(la, BatchNorm) else clone(la)
                    for la in layers]
    copy = NeuralNetClassifier(frozen_stats, init=w, max_iter=1, learning_rate_init=1e-12,
                               random_state=1, shuffle=False).fit(Xtr, ytr)
    np.testing.assert_allclose(copy.predict_proba(Xte), net.predict_proba(Xte), rtol=1e-5,
                               atol=1e-7)


def test_transfer_learning_with_frozen_layers(digits):
    Xtr, Xte, ytr, yte = digits
    low = ytr < 5
    base = NeuralNetClassifier([Dense(64, "relu"), Dense(32, "relu")], max_iter=30,
                               learning_rate_init=0.01, random_state=0).fit(Xtr[low], ytr[low])
    weights = base.get_weights()[:2]  # the hidden layers; a new output layer
    new = NeuralNetClassifier([Dense(64, "relu"), Dense(32, "relu")], init=weights,
                              freeze=[0], max_iter=30, learning_rate_init=0.01, random_state=0)
    new.fit(Xtr[~low], ytr[~low])
    np.testing.assert_array_equal(new.get_weights()[0]["W"], weights[0]["W"])
    assert not np.array_equal(new.get_weights()[1]["W"], weights[1]["W"])
    assert new.score(Xte[yte >= 5], yte[yte >= 5]) > 0.9
    with pytest.raises(ValueError, match="shape"):
        NeuralNetClassifier([Dense(10, "relu")], init=weights, max_iter=1).fit(Xtr, ytr)
    with pytest.raises(ValueError, match="unfitted"):
        NeuralNetClassifier([Dense(64, "relu"), Dense(32, "relu")],
                            init=clone(base), max_iter=1).fit(Xtr, ytr)
    with pytest.raises(ValueError, match="freeze"):
        NeuralNetClassifier([Dense(4)], freeze=[5], max_iter=1).fit(Xtr, ytr)


def test_input_shape_and_nd_input():
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)[:, :12]
    flat = NeuralNetRegressor([Dense(8, "tanh")], input_shape=(3, 4), max_iter=20,
                              random_state=0).fit(X, y)
    nd = NeuralNetRegressor([Dense(8, "tanh")], max_iter=20, random_state=0).fit(
        X.reshape(-1, 3, 4), y)
    np.testing.assert_allclose(flat.predict(X), nd.predict(X.reshape(-1, 3, 4)), rtol=1e-10)
    with pytest.raises(ValueError, match="input_shape"):
        NeuralNetRegressor(input_shape=(5, 5), max_iter=1).fit(X, y)


def test_in_pipeline_and_grid_search(digits):
    Xtr, Xte, ytr, yte = digits
    pipe = make_pipeline(StandardScaler(), NeuralNetClassifier([Dense(16, "relu")],
                                                               max_iter=15, random_state=0,
                                                               learning_rate_init=0.01))
    grid = GridSearchCV(pipe, {"neuralnetclassifier__layers": [[Dense(8, "relu")],
                                                               [Dense(32, "relu")]],
                               "neuralnetclassifier__alpha": [1e-4, 1e-2]}, cv=2)
    grid.fit(Xtr, ytr)
    assert grid.best_params_["neuralnetclassifier__layers"][0].units == 32
    assert grid.score(Xte, yte) > 0.9
