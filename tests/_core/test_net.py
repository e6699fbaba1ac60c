"""The network descriptor check: the C runtime refuses a layout whose
offsets disagree with what the optimizer assumes (weights in the decayed
prefix, every trained parameter before n_train, frozen ones after it), and
the loss-only pass."""
import numpy as np
import pytest

from fastnn._core._net import Net
from fastnn.layers import Dense, Dropout
from fastnn.nn._network import Network


def _spec(frozen=()):
    # (layers, loss, n_params, n_train, n_decay, n_stats) as the builder made them
    return Network([Dense(5), Dense(3)], (4,), "squared_error", frozen=frozen).net.spec


def test_a_builder_layout_is_accepted():
    for frozen in ((), (0,)):
        Net(*_spec(frozen))


@pytest.mark.parametrize("change", ["weights_past_decay", "bias_in_decay", "frozen_in_train",
                                    "train_past_end"])
def test_inconsistent_offsets_are_refused(change):
    layers, loss, n_params, n_train, n_decay, n_stats = _spec()
    if change == "weights_past_decay":
        n_decay -= 1
    elif change == "bias_in_decay":
        n_decay = layers[0]["b_off"] + 1
    elif change == "frozen_in_train":
        layers[1]["frozen"] = True
    else:
        n_train -= 1
    with pytest.raises(ValueError, match="inconsistent network description"):
        Net(layers, loss, n_params, n_train, n_decay, n_stats)


def test_loss_only_pass_gives_the_loss_of_the_full_pass():
    """grad=None: the train-mode loss without a backward pass (what the
    trainer's reference loss uses), the same value; want_dX needs grad."""
    rng = np.random.RandomState(0)
    net = Network([Dense(16, "relu"), Dropout(0.3), Dense(3)], (8,), "multinomial")
    p = rng.normal(scale=0.3, size=net.n_params)
    X = rng.normal(size=(50, 8))
    y = rng.randint(0, 3, 50).astype(float)
    g = np.empty_like(p)
    full = net.net.loss_grad(X, y, None, p, np.zeros(net.n_stats), g, seed=7)[0]
    only = net.net.loss_grad(X, y, None, p, np.zeros(net.n_stats), None, seed=7)[0]
    assert only == full
    with pytest.raises(ValueError, match="want_dX needs grad"):
        net.net.loss_grad(X, y, None, p, np.zeros(net.n_stats), None, want_dX=True)
