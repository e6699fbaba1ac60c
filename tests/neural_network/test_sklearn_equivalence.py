"""MLPClassifier / MLPRegressor against scikit-learn's on the same data and
hyper-parameters: the same initial weights from the same random_state, the
same one-step updates (SGD, Adam) to 1e-10 in float64, the same loss values,
and at least scikit-learn's accuracy on digits."""
import warnings

import numpy as np
import pytest
import sklearn.neural_network as skn
from sklearn.datasets import load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from fastnn import MLPClassifier, MLPRegressor


def _digits():
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0)
    sc = StandardScaler().fit(Xtr)
    return sc.transform(Xtr), sc.transform(Xte), ytr, yte


def _diabetes():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return X, (y - y.mean()) / y.std()


def _fit_both(Fast, Sk, X, y, sample_weight=None, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        f = Fast(**params).fit(X, y, sample_weight=sample_weight)
        s = Sk(**params).fit(X, y, sample_weight=sample_weight)
    return f, s


def _assert_same_weights(f, s, tol):
    assert len(f.coefs_) == len(s.coefs_)
    for a, b in zip(f.coefs_ + f.intercepts_, s.coefs_ + s.intercepts_):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


ONE_STEP = dict(max_iter=1, shuffle=False, random_state=0, alpha=1e-3)


@pytest.mark.parametrize("solver,extra", [
    ("sgd", dict(momentum=0.0, learning_rate_init=0.1)),
    ("sgd", dict(momentum=0.9, nesterovs_momentum=True, learning_rate_init=0.1)),
    ("adam", dict(learning_rate_init=0.01)),
])
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_one_full_batch_step_classifier(solver, extra, activation):
    Xtr, _, ytr, _ = _digits()
    params = dict(ONE_STEP, solver=solver, activation=activation, hidden_layer_sizes=(20, 10),
                  batch_size=len(Xtr), **extra)
    f, s = _fit_both(MLPClassifier, skn.MLPClassifier, Xtr, ytr, **params)
    _assert_same_weights(f, s, 1e-10)
    assert f.loss_ == pytest.approx(s.loss_, rel=1e-10)
    assert f.t_ == s.t_ and f.n_iter_ == s.n_iter_ == 1


@pytest.mark.parametrize("solver,extra", [
    ("sgd", dict(momentum=0.0, learning_rate_init=0.05)),
    ("adam", dict(learning_rate_init=0.01)),
])
@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_one_full_batch_step_regressor(solver, extra, loss):
    X, y = _diabetes()
    if loss == "poisson":
        y = np.exp(y)
    params = dict(ONE_STEP, solver=solver, hidden_layer_sizes=(15,), batch_size=len(X),
                  loss=loss, **extra)
    f, s = _fit_both(MLPRegressor, skn.MLPRegressor, X, y, **params)
    _assert_same_weights(f, s, 1e-10)
    assert f.loss_ == pytest.approx(s.loss_, rel=1e-10)


def test_binary_multilabel_multioutput_and_weights_match_over_epochs():
    """Several mini-batch epochs (shuffled: the same permutations as
    scikit-learn's from the same random_state) with sample weights."""
    rng = np.random.RandomState(0)
    Xtr, _, ytr, _ = _digits()
    sw = rng.uniform(0.5, 2.0, len(Xtr))
    common = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=1, batch_size=64,
                  learning_rate_init=0.01)
    f, s = _fit_both(MLPClassifier, skn.MLPClassifier, Xtr, ytr % 2, sample_weight=sw,
                     **common)
    _assert_same_weights(f, s, 1e-8)
    np.testing.assert_allclose(f.loss_curve_, s.loss_curve_, rtol=1e-9)
    Y = np.column_stack([ytr % 2, ytr > 4, ytr == 3]).astype(int)
    f, s = _fit_both(MLPClassifier, skn.MLPClassifier, Xtr, Y, **common)
    _assert_same_weights(f, s, 1e-8)
    X, y = _diabetes()
    Y = np.column_stack([y, y ** 2])
    f, s = _fit_both(MLPRegressor, skn.MLPRegressor, X, Y, solver="sgd", momentum=0.5,
                     learning_rate="invscaling", learning_rate_init=0.01, power_t=0.25,
                     **{k: v for k, v in common.items() if k != "learning_rate_init"})
    _assert_same_weights(f, s, 1e-8)
    np.testing.assert_allclose(f.loss_curve_, s.loss_curve_, rtol=1e-9)


def test_lbfgs_matches():
    Xtr, _, ytr, _ = _digits()
    f, s = _fit_both(MLPClassifier, skn.MLPClassifier, Xtr[:400], ytr[:400], solver="lbfgs",
                     hidden_layer_sizes=(10,), max_iter=30, random_state=0)
    assert f.n_iter_ == s.n_iter_
    assert f.loss_ == pytest.approx(s.loss_, rel=1e-6)
    _assert_same_weights(f, s, 1e-5)


def test_early_stopping_matches():
    Xtr, _, ytr, _ = _digits()
    f, s = _fit_both(MLPClassifier, skn.MLPClassifier, Xtr, ytr, early_stopping=True,
                     hidden_layer_sizes=(16,), max_iter=40, random_state=0,
                     n_iter_no_change=3)
    assert f.n_iter_ == s.n_iter_
    np.testing.assert_allclose(f.validation_scores_, s.validation_scores_)
    assert f.best_validation_score_ == s.best_validation_score_
    assert f.best_loss_ is None and s.best_loss_ is None
    _assert_same_weights(f, s, 1e-8)  # best weights restored, as scikit-learn does


def test_digits_accuracy_at_least_sklearn():
    Xtr, Xte, ytr, yte = _digits()
    f, s = _fit_both(MLPClassifier, skn.MLPClassifier, Xtr, ytr, random_state=0)
    fa, sa = f.score(Xte, yte), s.score(Xte, yte)
    assert fa >= sa - 1e-12
    assert fa > 0.95


@pytest.mark.parametrize("learning_rate", ["invscaling", "constant"])
def test_warm_started_fit_restarts_the_schedule_as_scikit_learn(learning_rate):
    """scikit-learn starts every fit with a new optimizer: its first epoch
    runs at learning_rate_init, and 'invscaling' then decays by the
    cumulative t_ (which a warm start keeps)."""
    Xtr, _, ytr, _ = _digits()
    X, y = Xtr[:100], ytr[:100]
    params = dict(solver="sgd", learning_rate=learning_rate, learning_rate_init=0.05,
                  power_t=0.5, momentum=0.0, hidden_layer_sizes=(12,), batch_size=25,
                  max_iter=3, shuffle=False, random_state=0, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        f, s = MLPClassifier(**params), skn.MLPClassifier(**params)
        for est in (f, s):
            est.fit(X, y)
            est.set_params(max_iter=2)
            est.fit(X, y)
    assert f.t_ == s.t_ == 500
    _assert_same_weights(f, s, 1e-10)


def test_float32_model_predicts_float32_probabilities_as_scikit_learn():
    Xtr, Xte, ytr, _ = _digits()
    X32 = Xtr.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        f = MLPClassifier(max_iter=3, random_state=0).fit(X32, ytr)
        s = skn.MLPClassifier(max_iter=3, random_state=0).fit(X32, ytr)
        fb = MLPClassifier(max_iter=3, random_state=0).fit(X32, ytr > 4)
    Xq = Xte.astype(np.float32)
    assert f.predict_proba(Xq).dtype == s.predict_proba(Xq).dtype == np.float32
    assert fb.predict_proba(Xq).dtype == np.float32
    np.testing.assert_allclose(f.predict_proba(Xq).sum(axis=1), 1.0, rtol=1e-5)


def test_partial_fit_with_other_classes_raises_as_scikit_learn():
    Xtr, _, ytr, _ = _digits()
    for Est in (MLPClassifier, skn.MLPClassifier):
        est = Est(random_state=0)
        est.partial_fit(Xtr[:50], ytr[:50], classes=np.arange(10))
        est.partial_fit(Xtr[50:100], ytr[50:100], classes=np.arange(10))  # the same: fine
        with pytest.raises(ValueError, match="is not the same as on last call to partial_fit"):
            est.partial_fit(Xtr[100:150], ytr[100:150], classes=np.arange(11))
    # classes given in another order are the same set, sorted as scikit-learn sorts them
    f = MLPClassifier(random_state=0)
    f.partial_fit(Xtr[:50], ytr[:50], classes=np.arange(10)[::-1])
    s = skn.MLPClassifier(random_state=0)
    s.partial_fit(Xtr[:50], ytr[:50], classes=np.arange(10)[::-1])
    np.testing.assert_array_equal(f.classes_, s.classes_)
    _assert_same_weights(f, s, 1e-10)
