"""callbacks=[...] on the network estimators: the order of the hooks, the
logs they get, the stop flag, History and EarlyStopping."""
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from fastnn import Autoencoder, MLPClassifier, MLPRegressor, NeuralNetClassifier
from fastnn.callbacks import Callback, EarlyStopping, History
from fastnn.layers import Dense


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


class Recorder(Callback):
    def __init__(self, stop_at=None):
        self.stop_at = stop_at
        self.events, self.logs, self.weights = [], [], []

    def on_fit_begin(self, estimator):
        self.events.append("begin")

    def on_epoch_end(self, estimator, logs):
        self.events.append(f"epoch {logs['epoch']}")
        self.logs.append(dict(logs))
        self.weights.append(estimator.coefs_[0].copy())  # the current weights
        return logs["epoch"] == self.stop_at

    def on_fit_end(self, estimator):
        self.events.append("end")


@pytest.mark.parametrize("make", [
    lambda cbs: MLPClassifier((16,), max_iter=4, random_state=0, callbacks=cbs),
    lambda cbs: MLPRegressor(hidden_layer_sizes=(16,), max_iter=4, random_state=0,
                             callbacks=cbs),
    lambda cbs: NeuralNetClassifier([Dense(16, "relu")], max_iter=4, random_state=0,
                                    callbacks=cbs),
    lambda cbs: Autoencoder((16, 4), max_iter=4, random_state=0, callbacks=cbs),
])
def test_hooks_run_in_order_with_the_epochs_logs(digits, make):
    X, y = digits
    rec = Recorder()
    est = make([rec])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert rec.events == ["begin", "epoch 1", "epoch 2", "epoch 3", "epoch 4", "end"]
    assert [lg["loss"] for lg in rec.logs] == pytest.approx(est.loss_curve_, rel=1e-12)
    assert all(lg["lr"] == pytest.approx(0.001) and lg["seconds"] > 0 for lg in rec.logs)
    assert all("val_score" not in lg for lg in rec.logs)
    # the weights an epoch hands to its callback are that epoch's
    assert not np.array_equal(rec.weights[0], rec.weights[-1])
    np.testing.assert_array_equal(rec.weights[-1], est.coefs_[0])


def test_validation_logs_and_the_stop_flag(digits):
    X, y = digits
    rec, hist = Recorder(stop_at=3), History()
    clf = MLPClassifier((16,), max_iter=20, random_state=0, callbacks=[rec, hist])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # stopping is not a failure
        clf.fit(X[:1500], y[:1500], validation_data=(X[1500:], y[1500:]))
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 3
    assert [lg["val_score"] for lg in rec.logs] == pytest.approx(clf.validation_scores_)
    assert [lg["val_loss"] for lg in rec.logs] == pytest.approx(clf.validation_loss_curve_)
    assert hist.epochs == rec.logs  # every callback saw the last epoch
    clf.set_params(callbacks=[hist], max_iter=2, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert [lg["epoch"] for lg in hist.epochs] == [1, 2, 3, 1, 2]


def test_early_stopping_callback_restores_the_best_epoch(digits):
    X, y = digits
    rec = Recorder()
    stop = EarlyStopping(monitor="val_loss", patience=2)
    # a learning rate high enough that the validation loss turns back up
    clf = MLPClassifier((64,), learning_rate_init=0.05, max_iter=200, random_state=0,
                        callbacks=[rec, stop])
    clf.fit(X[:1000], y[:1000], validation_data=(X[1000:], y[1000:]))
    losses = [lg["val_loss"] for lg in rec.logs]
    best = int(np.argmin(losses))
    assert stop.stopped_epoch == len(losses) < 200
    assert stop.best_epoch == best + 1 and stop.best == losses[best]
    assert len(losses) - 1 - best == 2  # patience epochs after the best
    np.testing.assert_array_equal(clf.coefs_[0], rec.weights[best])
    keep = EarlyStopping(monitor="loss", patience=1, restore_best=False)
    last = Recorder()
    clf.set_params(callbacks=[last, keep], max_iter=40, learning_rate_init=0.2)
    clf.fit(X, y)
    np.testing.assert_array_equal(clf.coefs_[0], last.weights[-1])


def test_lbfgs_runs_begin_and_end_only(digits):
    X, y = digits
    rec = Recorder()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifier((8,), solver="lbfgs", max_iter=5, callbacks=[rec]).fit(X, y)
    assert rec.events == ["begin", "end"]


def test_bad_callbacks(digits):
    X, y = digits
    for bad in ("History", [object()], History()):
        with pytest.raises(ValueError, match="callbacks must be a list of callback objects"):
            MLPClassifier(max_iter=1, callbacks=bad).fit(X, y)
    with pytest.raises(ValueError, match="needs a validation set"):
        MLPClassifier(max_iter=2, callbacks=[EarlyStopping()]).fit(X, y)
    with pytest.raises(ValueError, match="monitor must be"):
        MLPClassifier(max_iter=2, callbacks=[EarlyStopping(monitor="acc")]).fit(X, y)
    with pytest.raises(ValueError, match="patience must be"):
        MLPClassifier(max_iter=2, callbacks=[EarlyStopping(patience=0)]).fit(X, y)


def test_ctrl_c_stops_after_the_running_epoch(digits):
    """SIGINT from another thread while compiled epochs run: the fit ends
    after the epoch, warns, and leaves a usable estimator whose curves hold
    the epochs run; the process's SIGINT handler is put back."""
    import os
    import signal
    import threading

    X, y = digits

    class SignalSoon(Callback):
        def on_epoch_end(self, estimator, logs):
            if logs["epoch"] == 1:
                threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()

    before = signal.getsignal(signal.SIGINT)
    clf = MLPClassifier((128, 128), max_iter=10**6, tol=0.0, n_iter_no_change=10**9,
                        random_state=0, callbacks=[SignalSoon()])
    with pytest.warns(UserWarning, match=r"interrupted \(Ctrl-C\) after epoch"):
        clf.fit(X, y)
    assert 2 <= clf.n_iter_ < 10**6 and len(clf.loss_curve_) == clf.n_iter_
    assert clf.score(X, y) > 0.8  # a usable model (chance: 0.1); how many epochs ran before
    # the signal depends on the machine's load (0.891 seen in CI after 2 epochs)
    assert signal.getsignal(signal.SIGINT) is before
