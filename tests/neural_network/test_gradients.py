"""float64 gradient checks of the network engine: every layer, activation and
loss, whole networks, dropout with its mask fixed and batch norm in training
mode, parameters and input, through fastnn.utils.check_gradients."""
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning

from fastnn import MLPClassifier, MLPRegressor
from fastnn.layers import Activation, BatchNorm, Dense, Dropout
from fastnn.nn._network import Network
from fastnn.utils import check_gradients

TOL = 1e-6
LOSS_TARGETS = {
    "multinomial": lambda rng, n, k: rng.randint(0, k, n).astype(float),
    "log_loss": lambda rng, n, k: rng.randint(0, 2, n * k).astype(float),
    "squared_error": lambda rng, n, k: rng.randn(n * k),
    "poisson": lambda rng, n, k: rng.poisson(1.5, n * k).astype(float),
}
ACTS = ["identity", "logistic", "tanh", "relu", "leaky_relu", "elu"]


def _random_params(net, rng, scale=0.5):
    """Random parameters (not the init: batch norm's beta = 0 would put relu
    right on its kink) and random running statistics."""
    p = rng.normal(scale=scale, size=net.n_params)
    s = np.abs(rng.normal(size=net.n_stats)) + 0.5
    return p, s


def _check(specs, loss, k=3, n=11, n_in=4, seed=0, sw=True, dropout_seed=7):
    rng = np.random.RandomState(seed)
    net = Network(specs, (n_in,), loss)
    p, s = _random_params(net, rng)
    X = rng.randn(n, n_in)
    y = LOSS_TARGETS[loss](rng, n, k)
    w = rng.uniform(0.2, 2.0, n) if sw else None
    errors = check_gradients((net, p, s), X, y, w, seed=dropout_seed)
    assert set(errors) >= {"input"}
    return errors


@pytest.mark.parametrize("loss", sorted(LOSS_TARGETS))
@pytest.mark.parametrize("act", ACTS)
def test_dense_fused_activation_and_loss(loss, act):
    errors = _check([Dense(6, act, alpha=0.3), Dense(3)], loss)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("act", ACTS)
def test_activation_layer(act):
    errors = _check([Dense(5), Activation(act, alpha=0.2), Dense(3)], "squared_error")
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("rate", [0.0, 0.3, 0.7])
def test_dropout_with_fixed_mask(rate):
    errors = _check([Dense(8, "tanh"), Dropout(rate), Dense(3)], "multinomial")
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("where", ["after_activation", "before_activation"])
def test_batchnorm_training_mode(where):
    if where == "after_activation":
        specs = [Dense(6, "tanh"), BatchNorm(), Dense(3)]
    else:
        specs = [Dense(6), BatchNorm(), Activation("elu"), Dense(3)]
    errors = _check(specs, "log_loss")
    if where == "before_activation":
        # the Dense bias right before batch norm has no effect: its true
        # gradient is zero and the checker compares against its noise floor
        assert errors.pop("0.b") < 1e-3
    assert max(errors.values()) < TOL, errors


def test_deep_network_with_everything():
    specs = [Dense(7, "relu"), BatchNorm(momentum=0.3), Dropout(0.25), Dense(6, "leaky_relu"),
             Activation("tanh"), Dense(5, "logistic"), BatchNorm(), Dense(4)]
    errors = _check(specs, "multinomial", k=4, n=13, n_in=5, seed=3)
    assert max(errors.values()) < TOL, errors
    assert {"0.W", "0.b", "1.gamma", "1.beta", "3.W", "5.W", "6.gamma", "7.W", "7.b",
            "input"} <= set(errors)


def test_a_wrong_gradient_is_caught():
    """The checker itself can fail: a network whose loss is computed with a
    different weight vector than its gradient must report a large error."""
    rng = np.random.RandomState(0)
    net = Network([Dense(4, "tanh"), Dense(2)], (3,), "squared_error")
    p, s = _random_params(net, rng)
    X, y = rng.randn(6, 3), rng.randn(12)

    class Skewed:  # the engine's gradient of a different (scaled) loss
        def __init__(self, inner):
            self.inner = inner

        def loss_grad(self, *args, **kwargs):
            loss, dX = self.inner.loss_grad(*args, **kwargs)
            args[5][...] *= 1.5  # the grad buffer
            return loss, dX

    class Wrapped:
        def __init__(self, network):
            self.net = Skewed(network.net)
            self.param_slices, self.frozen = network.param_slices, network.frozen

    errors = check_gradients((Wrapped(net), p, s), X, y)
    assert min(v for k, v in errors.items() if k != "input") > 0.1


@pytest.mark.parametrize("Est,kwargs", [
    (MLPClassifier, dict(hidden_layer_sizes=(6, 5), activation="tanh", batch_norm=True)),
    (MLPClassifier, dict(hidden_layer_sizes=(6,), activation="logistic", dropout=0.2)),
    (MLPRegressor, dict(hidden_layer_sizes=(5,), activation="elu", loss="poisson")),
])
def test_estimators_networks(Est, kwargs):
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    if Est is MLPRegressor:
        y = X[:, 0] ** 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = Est(max_iter=3, random_state=0, **kwargs).fit(X, y)
    Y = y if Est is MLPRegressor else np.searchsorted(est.classes_, y)
    errors = check_gradients(est, X[:20], Y[:20], max_entries=30)
    if kwargs.get("batch_norm"):  # hidden Dense biases feed batch norm: zero gradient
        specs = est.network_.specs
        for i in range(len(specs) - 1):
            if isinstance(specs[i + 1], BatchNorm):
                assert errors.pop(f"{i}.b") < 1e-3
    assert max(errors.values()) < TOL, errors
