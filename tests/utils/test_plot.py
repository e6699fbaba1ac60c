"""LearningCurveDisplay (scikit-learn's Display convention) and
python -m fastnn --plot, on a non-interactive matplotlib backend."""
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from fastnn import Autoencoder, MLPClassifier, MLPRegressor
from fastnn.utils import LearningCurveDisplay, save_curves


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture
def plt():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg", force=True)
    import matplotlib.pyplot as plt
    yield plt
    plt.close("all")


def _fit(est, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kw)


def test_lines_hold_the_estimators_curves(digits, plt):
    X, y = digits
    clf = _fit(MLPClassifier((16,), max_iter=8, random_state=0), X[:1200], y[:1200],
               validation_data=(X[1200:], y[1200:]))
    disp = LearningCurveDisplay.from_estimator(clf)
    assert set(disp.lines_) == {"loss", "val_loss", "val_score"}
    for key, curve in (("loss", clf.loss_curve_), ("val_loss", clf.validation_loss_curve_),
                       ("val_score", clf.validation_scores_)):
        x, yy = disp.lines_[key].get_data()
        np.testing.assert_array_equal(x, np.arange(1, 9))
        np.testing.assert_array_equal(yy, curve)
    assert disp.score_ax_.get_ylabel() == "validation accuracy"
    assert disp.ax_.get_xlabel() == "epoch" and disp.ax_.get_title() == "MLPClassifier"
    assert disp.figure_ is disp.ax_.figure
    labels = [t.get_text() for t in disp.ax_.get_legend().get_texts()]
    assert labels == ["training loss", "validation loss", "validation accuracy"]


def test_an_existing_axis_and_the_score_names(digits, plt):
    X, y = digits
    _, ax = plt.subplots()
    reg = _fit(MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0,
                            early_stopping=True), X, y / 9.0)
    disp = LearningCurveDisplay.from_estimator(reg, ax=ax, name="reg")
    assert disp.ax_ is ax and ax.get_title() == "reg"
    assert disp.score_ax_.get_ylabel() == "validation R^2"
    ae = _fit(Autoencoder((16, 4), max_iter=4, random_state=0), X)
    disp = LearningCurveDisplay.from_estimator(ae)
    assert set(disp.lines_) == {"loss"} and disp.score_ax_ is None
    np.testing.assert_array_equal(disp.lines_["loss"].get_data()[1], ae.loss_curve_)
    _fit(ae, X[:1200], validation_data=X[1200:])
    disp = LearningCurveDisplay.from_estimator(ae)
    assert disp.score_ax_.get_ylabel() == "validation -reconstruction error"
    # the constructor as scikit-learn's Displays have it
    disp = LearningCurveDisplay(loss_curve=[3, 2, 1]).plot()
    np.testing.assert_array_equal(disp.lines_["loss"].get_ydata(), [3, 2, 1])


def test_unfitted_and_lbfgs_are_refused(digits, plt):
    X, y = digits
    with pytest.raises(ValueError, match="has no loss_curve_"):
        LearningCurveDisplay.from_estimator(MLPClassifier())
    lbfgs = _fit(MLPClassifier((8,), solver="lbfgs", max_iter=5), X, y)
    with pytest.raises(ValueError, match="L-BFGS records no epochs"):
        LearningCurveDisplay.from_estimator(lbfgs)


def test_without_matplotlib_the_error_names_the_extra(digits, monkeypatch):
    X, y = digits
    clf = _fit(MLPClassifier((8,), max_iter=2, random_state=0), X, y)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"matplotlib, an optional extra.*fastnn\[plot\]"):
        LearningCurveDisplay.from_estimator(clf)


def test_save_curves_writes_a_picture(digits, plt, tmp_path):
    X, y = digits
    ests = [(f"seed {s}", _fit(MLPClassifier((8,), max_iter=3, random_state=s), X, y))
            for s in range(4)]
    path = save_curves(ests, tmp_path / "c.png", ncols=3)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="at least one"):
        save_curves([], tmp_path / "d.png")


def test_demo_plot_flag(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "curves.png"
    run = subprocess.run([sys.executable, "-m", "fastnn", "--plot", str(out)],
                         capture_output=True, text=True, stdin=subprocess.DEVNULL,
                         timeout=600, env={**__import__("os").environ, "MPLBACKEND": "Agg"})
    assert run.returncode == 0, run.stderr
    assert "training curves of 6 networks" in run.stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = subprocess.run([sys.executable, "-m", "fastnn", "--plot"], capture_output=True,
                         text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert bad.returncode != 0 and "usage: python -m fastnn [--plot FILE]" in bad.stderr
