"""The network descriptor check: the C runtime refuses a layout whose
offsets disagree with what the optimizer assumes (weights in the decayed
prefix, every trained parameter before n_train, frozen ones after it)."""
import pytest

from fastnn._core._net import Net
from fastnn.layers import Dense
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
