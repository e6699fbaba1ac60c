"""verbose's lines, the progress bar (tqdm or lines), on_epoch_begin, and
scikit-learn's own callback protocol (sklearn.callback, scikit-learn >= 1.9)
driving the network estimators: ScoringMonitor per epoch, the stop flag,
inside GridSearchCV and a Pipeline."""
import collections
import io
import re
import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastnn import Autoencoder, MLPClassifier, NeuralNetClassifier
from fastnn.callbacks import Callback, ProgressBar
from fastnn.layers import Dense
from fastnn.neural_network._sklearn_callbacks import HAVE_SKLEARN_CALLBACKS

needs_protocol = pytest.mark.skipif(not HAVE_SKLEARN_CALLBACKS,
                                    reason="scikit-learn < 1.9 has no sklearn.callback")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _quiet_fit(est, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kw)


LINE = re.compile(r"^Iteration (\d+), loss = ([0-9.]+)(, validation loss = ([0-9.]+))?"
                  r"(, validation score = ([0-9.]+))?, lr = ([0-9.e-]+), [0-9.]+ s$")


def test_verbose_prints_a_line_per_epoch_with_the_curves(digits, capsys):
    X, y = digits
    clf = _quiet_fit(MLPClassifier((16,), max_iter=4, random_state=0, verbose=1,
                                   early_stopping=True, n_iter_no_change=50), X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    assert [int(m[1]) for m in parsed] == [1, 2, 3, 4]
    assert [float(m[2]) for m in parsed] == pytest.approx(clf.loss_curve_, abs=1e-8)
    assert [float(m[6]) for m in parsed] == pytest.approx(clf.validation_scores_, abs=1e-6)
    assert [float(m[4]) for m in parsed] == pytest.approx(clf.validation_loss_curve_, abs=1e-8)
    assert all(float(m[7]) == pytest.approx(0.001) for m in parsed)


def test_verbose_reports_the_adaptive_schedule_and_convergence(digits, capsys):
    X, y = digits
    MLPClassifier((8,), solver="sgd", learning_rate="adaptive", max_iter=60, tol=0.5,
                  n_iter_no_change=2, random_state=0, verbose=True).fit(X, y)
    out = capsys.readouterr().out
    assert "did not improve more than tol=0.5 for 2 consecutive epochs. Setting learning " \
           "rate to 0.0002" in out
    assert out.rstrip().endswith("Stopping.")


def test_verbose_2_draws_a_tqdm_bar_over_the_epochs(digits, capsys):
    pytest.importorskip("tqdm")
    X, y = digits
    _quiet_fit(MLPClassifier((16,), max_iter=5, random_state=0, verbose=2), X, y)
    captured = capsys.readouterr()
    assert "Iteration" not in captured.out  # the bar instead of the lines
    last = captured.err.replace("\r", "\n").strip().splitlines()[-1]
    assert "MLPClassifier" in last and "5/5" in last and "loss=" in last and "lr=" in last


def test_progress_bar_without_tqdm_prints_the_lines(digits, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    X, y = digits
    out = io.StringIO()
    clf = _quiet_fit(MLPClassifier((16,), max_iter=3, random_state=0,
                                   callbacks=[ProgressBar(file=out)]), X, y)
    lines = out.getvalue().strip().splitlines()
    assert [float(LINE.match(line)[2]) for line in lines] == pytest.approx(clf.loss_curve_,
                                                                          abs=1e-8)


def test_bad_verbose(digits):
    X, y = digits
    for bad in (-1, "yes", 1.5):
        with pytest.raises(ValueError, match="verbose must be a bool or an int >= 0"):
            MLPClassifier(verbose=bad).fit(X, y)


def test_on_epoch_begin_runs_before_each_epoch(digits):
    X, y = digits
    events = []

    class Both(Callback):
        def on_epoch_begin(self, estimator, epoch):
            events.append(("begin", epoch, estimator.coefs_[0].copy()))

        def on_epoch_end(self, estimator, logs):
            events.append(("end", logs["epoch"], estimator.coefs_[0].copy()))

    _quiet_fit(NeuralNetClassifier([Dense(8, "relu")], max_iter=3, random_state=0,
                                   callbacks=[Both()]), X, y)
    assert [e[:2] for e in events] == [("begin", 1), ("end", 1), ("begin", 2), ("end", 2),
                                       ("begin", 3), ("end", 3)]
    # an epoch begins with the weights the previous one ended with
    np.testing.assert_array_equal(events[2][2], events[1][2])
    assert not np.array_equal(events[0][2], events[1][2])


@needs_protocol
def test_scoring_monitor_scores_every_epoch_of_a_fit(digits):
    from sklearn.callback import ScoringMonitor
    X, y = digits
    mon = ScoringMonitor(scoring="accuracy")

    class Keep(Callback):  # fastnn's hook, to know each epoch's weights
        def __init__(self):
            self.preds = []

        def on_epoch_end(self, estimator, logs):
            self.preds.append(estimator.predict(X))

    keep = Keep()
    clf = _quiet_fit(MLPClassifier((16,), max_iter=6, random_state=0, callbacks=[keep])
                     .set_callbacks(mon), X, y)
    rows = mon.get_logs().data
    epochs = [r for r in rows if r["task_name"] == "epoch"]
    assert [r["task_id"] for r in epochs] == list(range(6))
    assert [r["accuracy"] for r in epochs] == pytest.approx(
        [accuracy_score(y, p) for p in keep.preds], abs=1e-12)
    (fit_row,) = [r for r in rows if r["task_name"] == "fit"]
    assert fit_row["accuracy"] == pytest.approx(clf.score(X, y), abs=1e-12)
    # the accuracy did move between the epochs: the monitor saw each epoch's weights
    assert epochs[0]["accuracy"] < epochs[-1]["accuracy"]


class _StopAt:
    """A scikit-learn FitCallback that asks to stop after epoch ``k``."""

    def __init__(self, k):
        self.k, self.seen = k, []

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        self.seen.append((context.task_name, context.task_id))
        return context.task_name == "epoch" and context.task_id + 1 == self.k


@needs_protocol
@pytest.mark.parametrize("make", [
    lambda: MLPClassifier((16,), max_iter=20, random_state=0),
    lambda: Autoencoder((16, 4), max_iter=20, random_state=0),
])
def test_the_protocols_stop_flag_stops_after_that_epoch(digits, make):
    X, y = digits
    stop = _StopAt(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a requested stop is no failure
        est = make().set_callbacks(stop).fit(X, y)
    assert est.n_iter_ == 3
    assert stop.seen == [("epoch", 0), ("epoch", 1), ("epoch", 2), ("fit", 0)]


@needs_protocol
def test_lbfgs_and_partial_fit_under_the_protocol(digits):
    X, y = digits
    stop = _StopAt(99)
    _quiet_fit(MLPClassifier((8,), solver="lbfgs", max_iter=5).set_callbacks(stop), X, y)
    assert stop.seen == [("fit", 0)]  # a leaf task: no epochs
    stop.seen.clear()
    clf = MLPClassifier((8,), random_state=0).set_callbacks(stop)
    clf.partial_fit(X, y, classes=np.arange(10))
    clf.partial_fit(X, y)
    assert stop.seen == [("epoch", 0), ("fit", 0)] * 2


@needs_protocol
def test_scoring_monitor_inside_grid_search_and_pipeline(digits):
    from sklearn.callback import ScoringMonitor
    X, y = digits
    mon = ScoringMonitor(scoring="accuracy")
    gs = GridSearchCV(MLPClassifier((16,), max_iter=3, random_state=0).set_callbacks(mon),
                      {"alpha": [1e-4, 1e-2]}, cv=2)
    _quiet_fit(gs, X, y)
    rows = [r for log in mon.get_logs(select="all") for r in log.data]
    count = collections.Counter((r["estimator_name"], r["task_name"]) for r in rows)
    # 2 x 2 cross-validation fits and the refit, 3 epochs each
    assert count == {("MLPClassifier", "fit"): 5, ("MLPClassifier", "epoch"): 15}
    mon2 = ScoringMonitor(scoring="accuracy")
    pipe = make_pipeline(StandardScaler(), MLPClassifier((16,), max_iter=3, random_state=0)
                         .set_callbacks(mon2))
    _quiet_fit(pipe, X, y)
    rows = mon2.get_logs().data
    assert sum(r["task_name"] == "epoch" for r in rows) == 3


@needs_protocol
def test_sklearn_progress_bar_draws_the_epochs(digits, capsys):
    pytest.importorskip("rich")
    from sklearn.callback import ProgressBar as SkProgressBar
    X, y = digits
    _quiet_fit(MLPClassifier((16,), max_iter=4, random_state=0).set_callbacks(SkProgressBar()),
               X, y)
    out = capsys.readouterr().out
    assert "MLPClassifier - fit" in out and "100%" in out
    gs = GridSearchCV(MLPClassifier((16,), max_iter=2, random_state=0), {"alpha": [1e-4, 1e-2]},
                      cv=2).set_callbacks(SkProgressBar(max_propagation_depth=None))
    _quiet_fit(gs, X, y)
    out = capsys.readouterr().out
    # the search's bars and, nested under them, each MLPClassifier fit's
    assert out.count("MLPClassifier - fit #") == 5 and "GridSearchCV - fit" in out


def test_without_sklearn_callback_the_estimators_work_as_before():
    """An older scikit-learn has no sklearn.callback (emulated by emptying
    it): the import is guarded, fit runs, fastnn's own callbacks still work
    and set_callbacks is absent."""
    code = """
import warnings
import sklearn.datasets, sklearn.linear_model, sklearn.metrics, sklearn.model_selection
import sklearn.neural_network, sklearn.pipeline, sklearn.preprocessing
try:  # scikit-learn >= 1.9 uses sklearn.callback itself: empty it once it is loaded
    import sklearn.callback as cb
    for name in ("CallbackSupportMixin", "with_callbacks"):
        delattr(cb, name)
except ImportError:
    pass
warnings.simplefilter("ignore")
from sklearn.datasets import load_digits
from fastnn import MLPClassifier
from fastnn.callbacks import History
from fastnn.neural_network._sklearn_callbacks import HAVE_SKLEARN_CALLBACKS
X, y = load_digits(return_X_y=True)
h = History()
clf = MLPClassifier((8,), max_iter=3, random_state=0, callbacks=[h]).fit(X / 16, y)
print(HAVE_SKLEARN_CALLBACKS, hasattr(clf, "set_callbacks"), len(h.epochs), clf.n_iter_)
"""
    import subprocess
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["False", "False", "3", "3"]
