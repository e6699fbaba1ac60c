"""The engine's phase clock (fastnn.nn._engine.phase_profile, what
benchmarks/phases.py reads): one record per compiled epoch, every phase of
every layer accounted, nothing counted twice, and the fit unchanged by it."""
import time
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from fastnn import MLPClassifier, MLPRegressor
from fastnn._core import _openmp
from fastnn.nn._engine import phase_profile

warnings.filterwarnings("ignore", category=ConvergenceWarning)

# wide enough that the engine splits every phase between two threads
SIZES = (256, 160)
NAMES = ["gather", "loss", "update", "forward 0", "forward 1", "forward 2", "backward 0",
         "backward 1", "backward 2"]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _fit(X, y, n_threads, **kw):
    kw = {**dict(hidden_layer_sizes=SIZES, max_iter=3, random_state=0, batch_size=100,
                 n_threads=n_threads), **kw}
    return MLPClassifier(**kw).fit(X, y)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_one_record_per_epoch_with_every_phase(digits, n_threads):
    X, y = digits
    start = time.perf_counter()
    with phase_profile() as records:
        clf = _fit(X, y, n_threads)
    wall = time.perf_counter() - start
    assert len(records) == clf.n_iter_ == 3
    team = 2 if n_threads == 2 and _openmp.openmp_enabled() else 1
    for r in records:
        assert r["threads"] == team
        assert r["names"] == NAMES
        assert r["work"].shape == r["wait"].shape == (len(NAMES),)
        assert np.all(np.isfinite(r["work"])) and np.all(np.isfinite(r["wait"]))
        assert np.all(r["wait"] >= 0)
        assert np.all(r["work"] > 0), dict(zip(r["names"], r["work"]))  # every phase ran
    # each thread's timed spans are disjoint parts of the fit: summed over the
    # team and the epochs they cannot exceed the team's time in the fit
    engine = sum(float(r["work"].sum() + r["wait"].sum()) for r in records)
    assert engine <= team * wall


def test_the_phase_names_follow_the_layers(digits):
    X, y = digits
    with phase_profile() as records:
        clf = _fit(X, y, 2, batch_norm=True, max_iter=1)
    names = records[0]["names"]
    n = len(clf.network_.net.phase_names()) - 3
    assert names[:3] == ["gather", "loss", "update"]
    assert names[3:] == [f"forward {i}" for i in range(n // 2)] + \
        [f"backward {i}" for i in range(n // 2)]
    assert np.all(records[0]["work"] > 0)


def test_timing_changes_nothing(digits):
    X, y = digits
    plain = _fit(X, y, 2, batch_norm=True, dropout=0.1)
    with phase_profile():
        timed = _fit(X, y, 2, batch_norm=True, dropout=0.1)
    for a, b in zip(plain.coefs_ + plain.intercepts_, timed.coefs_ + timed.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert plain.loss_curve_ == timed.loss_curve_


def test_only_epochs_inside_the_block_are_recorded_and_blocks_nest(digits):
    X, y = digits
    reg_y = y.astype(float)
    with phase_profile() as outer:
        _fit(X, y, 2, max_iter=1)
        with phase_profile() as inner:
            MLPRegressor(hidden_layer_sizes=SIZES, max_iter=2, random_state=0,
                         batch_size=100).fit(X, reg_y)
        _fit(X, y, 2, max_iter=1)
    _fit(X, y, 2, max_iter=1)
    assert len(inner) == 2 and len(outer) == 4
    assert outer[1] is inner[0] and outer[2] is inner[1]


def test_a_wrong_phases_buffer_is_refused(digits):
    X, y = digits
    net = _fit(X, y, 1, max_iter=1).network_.net
    slots = net.phase_slots
    assert slots == len(net.phase_names()) == 9
    from fastnn._core._net import EpochStep
    from fastnn.optimizers import Adam

    rule = Adam()._update_rule()
    p = np.zeros(net.n_params)
    state = np.zeros(net.n_train * rule.state_per_param)
    step = EpochStep(rule, state, 1e-3, 0, 50, 0.0, 1.0, 0, None)
    Xc = np.ascontiguousarray(X[:50])
    yc = y[:50].astype(float)
    perm = np.arange(50, dtype=np.int64)
    args = (Xc, yc, None, perm, p, np.empty_like(p), np.zeros(net.n_stats), step, 1)
    with pytest.raises(ValueError, match="phases has 5 entries, expected 18"):
        net.epoch(*args, None, np.zeros(5))
    phases = np.zeros(2 * slots)
    net.epoch(*args, None, phases)
    assert np.all(phases[0::2] > 0)
