"""What the training loop promises around the epochs: early stopping returns
the model it scored (running statistics included), divergence is caught
from the first epoch, validation history, and messages that name the
problem."""
import warnings

import numpy as np
import pytest
from sklearn.datasets import (
    load_diabetes, load_digits, load_iris, make_classification, make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import StandardScaler

from fastnn import (
    LinearRegression, LogisticRegression, MLPClassifier, MLPRegressor, NeuralNetClassifier,
)
from fastnn.layers import Activation, BatchNorm, Dense


def digits(n=None):
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return (X, y) if n is None else (X[:n], y[:n])


def split_digits():
    X, y = digits()
    return X[:1200], y[:1200], X[1200:], y[1200:]


@pytest.mark.parametrize("make", [
    lambda seed: MLPClassifier(hidden_layer_sizes=(32,), batch_norm=True, early_stopping=True,
                               n_iter_no_change=3, max_iter=100, learning_rate_init=0.01,
                               random_state=seed),
    lambda seed: NeuralNetClassifier([Dense(32), BatchNorm(), Activation("relu")],
                                     early_stopping=True, n_iter_no_change=3, max_iter=100,
                                     learning_rate_init=0.01, random_state=seed),
])
def test_early_stopping_returns_the_scored_model_with_its_running_statistics(make):
    Xtr, ytr, Xv, yv = split_digits()
    stats_moved = 0
    for seed in range(6):
        est = make(seed).fit(Xtr, ytr, validation_data=(Xv, yv))
        # the model returned is the one that scored best_validation_score_ ...
        assert accuracy_score(yv, est.predict(Xv)) == est.best_validation_score_
        assert est.best_validation_score_ == max(est.validation_scores_)
        # ... which is not the last epoch's in some of these runs: with the
        # last epoch's statistics the score would differ (the defect)
        best = int(np.argmax(est.validation_scores_))
        stats_moved += best < len(est.validation_scores_) - 1
    assert stats_moved > 0


def test_early_stopping_restores_running_statistics_of_the_best_epoch():
    """The statistics restored are the best epoch's, not the last's: train
    once, then replay the same fit epoch by epoch and compare."""
    Xtr, ytr, Xv, yv = split_digits()
    kw = dict(hidden_layer_sizes=(32,), batch_norm=True, random_state=3,
              learning_rate_init=0.01)
    full = MLPClassifier(early_stopping=True, n_iter_no_change=3, max_iter=100, **kw).fit(
        Xtr, ytr, validation_data=(Xv, yv))
    best = int(np.argmax(full.validation_scores_)) + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        replay = MLPClassifier(max_iter=best, n_iter_no_change=10**6, tol=0.0, **kw).fit(
            Xtr, ytr, validation_data=(Xv, yv))
    assert best < len(full.validation_scores_)  # the last epoch was not the best
    # MLPClassifier has no get_weights: compare the engine's buffers
    np.testing.assert_array_equal(full._engine.stats, replay._engine.stats)
    np.testing.assert_array_equal(full._engine.params, replay._engine.params)


def test_validation_data_without_early_stopping_sets_the_best_score():
    Xtr, ytr, Xv, yv = split_digits()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0).fit(
            Xtr, ytr, validation_data=(Xv, yv))
    assert len(est.validation_scores_) == 5
    assert est.best_validation_score_ == max(est.validation_scores_)
    assert est.best_loss_ == min(est.loss_curve_)  # the loss rule still stops the fit


@pytest.mark.parametrize("est,data", [
    (MLPClassifier(solver="adam", learning_rate_init=1e6, random_state=0), "digits"),
    (MLPClassifier(solver="sgd", learning_rate_init=1e3, random_state=0), "digits"),
    (LinearRegression(solver="adam", learning_rate_init=1e9, random_state=0), "regression"),
])
def test_divergence_from_the_first_epoch_raises(est, data):
    if data == "digits":
        X, y = digits()
    else:
        X, y = make_regression(n_samples=2000, n_features=20, noise=1.0, random_state=0)
    with pytest.raises(ValueError, match="diverged"):
        est.fit(X, y)


def test_a_fit_that_ends_worse_than_it_started_warns():
    X, y = digits()
    est = LogisticRegression(solver="sgd", learning_rate_init=100, random_state=0)
    with pytest.warns(ConvergenceWarning, match="above that of the initial weights"):
        est.fit(X, y > 4)


@pytest.mark.parametrize("est", [
    MLPClassifier(random_state=0, max_iter=300),
    LogisticRegression(solver="sgd", random_state=0),
    LogisticRegression(solver="adam", learning_rate_init=0.05, random_state=0),
])
def test_healthy_fits_do_not_warn_about_divergence(est):
    X, y = make_classification(n_samples=600, n_features=20, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    assert not [w for w in caught if "initial weights" in str(w.message)]


def test_init_that_is_not_weights_is_named():
    X, y = load_iris(return_X_y=True)
    for bad in ["weights.h5", 5, {"W": np.zeros((4, 4))}]:
        with pytest.raises(ValueError, match="init must be a fitted fastnn network estimator"):
            NeuralNetClassifier([Dense(4)], init=bad, max_iter=2).fit(X, y)


@pytest.mark.parametrize("bad,what", [
    ("X", "got ndarray"), ("X,", "of length 1"), ("X,y,None,1", "of length 4"),
])
def test_validation_data_that_is_not_a_tuple_is_named(bad, what):
    X, y = load_iris(return_X_y=True)
    value = {"X": X, "X,": (X,), "X,y,None,1": (X, y, None, 1)}[bad]
    with pytest.raises(ValueError, match=f"validation_data must be a tuple.*{what}"):
        MLPClassifier(max_iter=2).fit(X, y, validation_data=value)


def test_class_weight_keys_are_labels_and_unknown_keys_are_named():
    X, y = load_iris(return_X_y=True)
    ys = np.array(["setosa", "versicolor", "virginica"])[y]
    kw = dict(hidden_layer_sizes=(8,), max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # string labels as keys (scikit-learn's meaning); absent classes weigh 1
        a = MLPClassifier(class_weight={"virginica": 3.0}, **kw).fit(X, ys)
        b = MLPClassifier(**kw).fit(X, ys, sample_weight=np.where(y == 2, 3.0, 1.0))
        np.testing.assert_allclose(a.coefs_[0], b.coefs_[0], rtol=1e-10, atol=1e-12)
        # integer labels that are not 0..K-1 codes
        yi = y + 5
        c = MLPClassifier(class_weight={7: 3.0}, **kw).fit(X, yi)
        np.testing.assert_allclose(c.coefs_[0], b.coefs_[0], rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="class_weight has the key 'cat', which is not a class"):
        MLPClassifier(class_weight={"cat": 2.0}, **kw).fit(X, ys)
    with pytest.raises(ValueError, match="class_weight has the key 9"):
        MLPClassifier(class_weight={0: 1.0, 9: 2.0}, **kw).fit(X, y)


def test_every_layer_frozen_warns():
    X, y = load_iris(return_X_y=True)
    with pytest.warns(UserWarning, match="every layer with weights is frozen"):
        NeuralNetClassifier([Dense(4)], freeze=[0, 1], max_iter=2).fit(X, y)


def test_clip_norm_tames_a_diverging_fit_and_a_large_one_changes_nothing():
    X, y = load_diabetes(return_X_y=True)
    kw = dict(solver="sgd", learning_rate_init=50.0, momentum=0.0, max_iter=20,
              random_state=0, hidden_layer_sizes=(8,))
    with pytest.raises(ValueError, match="diverged|non-finite"):
        MLPRegressor(**kw).fit(X, y * 1e3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # each step moves the weights by at most lr * clip_norm
        clipped = MLPRegressor(clip_norm=1e-3, **kw).fit(X, y * 1e3)
        assert np.all(np.isfinite(clipped.loss_curve_))
        assert clipped.loss_curve_[-1] < clipped.loss_curve_[0]
        kw.update(learning_rate_init=1e-3, n_threads=2)
        # a norm no gradient reaches: the same steps, bit for bit
        a = MLPRegressor(clip_norm=1e12, **kw).fit(X, y)
        b = MLPRegressor(**kw).fit(X, y)
        for ca, cb in zip(a.coefs_, b.coefs_):
            np.testing.assert_array_equal(ca, cb)


def test_clip_norm_over_many_update_chunks_does_not_depend_on_threads():
    """The norm is summed over every trainable parameter (here 3 of the
    update's chunks), float32 and float64, on one thread or two."""
    X, y = load_digits(return_X_y=True)
    for dtype, tol in (("float64", 1e-10), ("float32", 2e-4)):
        fits = []
        for nt in (1, 2):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                fits.append(MLPClassifier(hidden_layer_sizes=(100, 100), max_iter=3,
                                          solver="sgd", learning_rate_init=0.5,
                                          clip_norm=0.1, random_state=0, dtype=dtype,
                                          n_threads=nt).fit(X, y))
        assert fits[0].coefs_[0].dtype == np.dtype(dtype)
        for ca, cb in zip(fits[0].coefs_, fits[1].coefs_):
            np.testing.assert_allclose(ca, cb, rtol=0, atol=tol)
    assert fits[0].loss_curve_[-1] < 0.5 * fits[0].loss_curve_[0]
    # the same steps without clipping diverge
    with pytest.raises(ValueError, match="diverged"):
        MLPClassifier(hidden_layer_sizes=(100, 100), max_iter=3, solver="sgd",
                      learning_rate_init=0.5, random_state=0, n_threads=1).fit(X, y)


@pytest.mark.parametrize("bad", [0, -1.0, np.nan, np.inf, "1", True])
def test_bad_clip_norm_is_named(bad):
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="clip_norm must be a real number in \\(0, inf\\)"):
        NeuralNetClassifier([Dense(4)], clip_norm=bad, max_iter=2).fit(X, y)
