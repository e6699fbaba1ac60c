"""LogisticRegression against scikit-learn's (lbfgs, l2)."""
import pickle
import threading
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.linear_model as sk
from sklearn.datasets import load_breast_cancer, load_digits, load_iris
from sklearn.preprocessing import StandardScaler

from fastnn import LogisticRegression


def standardized(loader):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("loader", [load_breast_cancer, load_iris])
@pytest.mark.parametrize("C", [0.1, 1.0, 10.0])
def test_lbfgs_equals_sklearn_optimum(loader, C):
    X, y = standardized(loader)
    a = LogisticRegression(C=C, tol=1e-10, max_iter=10000).fit(X, y)
    b = sk.LogisticRegression(C=C, tol=1e-10, max_iter=10000).fit(X, y)
    # 1e-4 relative to the coefficients' scale: on flat optima (large C) a
    # tiny coefficient moves more, element-wise, than the tolerance of L-BFGS
    scale = np.abs(b.coef_).max()
    assert np.abs(a.coef_ - b.coef_).max() <= 1e-4 * scale
    assert np.abs(a.intercept_ - b.intercept_).max() <= 1e-4 * max(scale, 1.0)
    assert a.score(X, y) >= b.score(X, y)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-5)


def test_default_settings_match_sklearn():
    X, y = standardized(load_breast_cancer)
    a = LogisticRegression().fit(X, y)
    b = sk.LogisticRegression().fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-3, atol=1e-4)
    assert a.n_iter_.shape == b.n_iter_.shape == (1,)
    assert a.coef_.shape == b.coef_.shape and a.intercept_.shape == b.intercept_.shape


def test_sample_and_class_weights_match_sklearn():
    X, y = standardized(load_iris)
    sw = np.random.default_rng(0).uniform(0.1, 3, len(y))
    kw = dict(tol=1e-10, max_iter=10000, class_weight="balanced")
    a = LogisticRegression(**kw).fit(X, y, sample_weight=sw)
    b = sk.LogisticRegression(**kw).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-4, atol=1e-6)


def test_penalty_none_and_no_intercept():
    X, y = standardized(load_breast_cancer)
    X = X[:, :5]
    a = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-10, max_iter=10000).fit(X, y)
    b = sk.LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-10,
                              max_iter=10000).fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-4)
    assert np.all(a.intercept_ == 0)


@pytest.mark.parametrize("solver", ["sgd", "adam", "rmsprop", "adagrad", "adadelta"])
def test_first_order_solvers_reach_the_optimum(solver):
    X, y = standardized(load_iris)
    ref = sk.LogisticRegression(tol=1e-10, max_iter=10000).fit(X, y)
    lr = {"sgd": 0.5, "adam": 0.05, "rmsprop": 0.01, "adagrad": 0.5, "adadelta": 1.0}[solver]
    est = LogisticRegression(solver=solver, learning_rate_init=lr, batch_size=None,
                             max_iter=6000, tol=1e-12, n_iter_no_change=50,
                             learning_rate="adaptive" if solver == "rmsprop" else "constant")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    # stated tolerance for first-order solvers: 1e-2 relative on the coefficients
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-2, atol=1e-2)
    assert est.score(X, y) >= ref.score(X, y)


def test_minibatch_adam_on_digits():
    X, y = standardized(load_digits)
    est = LogisticRegression(solver="adam", learning_rate_init=0.01, batch_size=64,
                             max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X[:1400], y[:1400])
    assert est.score(X[1400:], y[1400:]) > 0.9


def test_sparse_equals_dense():
    X, y = standardized(load_iris)
    a = LogisticRegression(tol=1e-10, max_iter=10000).fit(X, y)
    b = LogisticRegression(tol=1e-10, max_iter=10000).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-6)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(sp.csr_matrix(X)), atol=1e-9)


def test_float32_is_trained_in_float32():
    X, y = standardized(load_breast_cancer)
    X32 = X.astype(np.float32)
    a = LogisticRegression(tol=1e-8, max_iter=1000).fit(X32, y)
    b = sk.LogisticRegression(tol=1e-8, max_iter=1000).fit(X, y)
    assert a.coef_.dtype == np.float32
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-2, atol=1e-3)
    assert a.score(X32, y) >= b.score(X, y) - 0.005


def test_string_labels_and_pandas_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = load_iris(return_X_y=True, as_frame=True)
    labels = np.array(["setosa", "versicolor", "virginica"])[y.to_numpy()]
    est = LogisticRegression(max_iter=1000).fit(X, labels)
    assert list(est.feature_names_in_) == list(X.columns)
    assert set(est.predict(X)) <= set(labels)
    assert isinstance(X, pd.DataFrame)


def test_n_threads_one_and_two_agree():
    # summation order differs between thread counts, so the iterates differ
    # in the last bits; both must reach the same optimum
    X, y = standardized(load_breast_cancer)
    a = LogisticRegression(n_threads=1, tol=1e-10, max_iter=5000).fit(X, y)
    b = LogisticRegression(n_threads=2, tol=1e-10, max_iter=5000).fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-6, atol=1e-8)
    c = LogisticRegression(n_threads=2, tol=1e-10, max_iter=5000).fit(X, y)
    np.testing.assert_array_equal(b.coef_, c.coef_)  # same n_threads: identical


def test_concurrent_fits_in_threads():
    X, y = standardized(load_digits)
    ref = LogisticRegression(max_iter=300, n_threads=1).fit(X, y).coef_
    out = [None] * 4

    def work(i):
        out[i] = LogisticRegression(max_iter=300, n_threads=1).fit(X, y).coef_

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in out:
        np.testing.assert_allclose(c, ref, rtol=1e-10)


def test_warm_start_continues():
    X, y = standardized(load_iris)
    est = LogisticRegression(warm_start=True, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
        first = est.coef_.copy()
        est.set_params(max_iter=1000, tol=1e-10).fit(X, y)
    ref = sk.LogisticRegression(max_iter=1000, tol=1e-10).fit(X, y)
    assert not np.allclose(first, est.coef_)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-3, atol=1e-3)


def test_pickle_round_trip():
    X, y = standardized(load_iris)
    a = LogisticRegression().fit(X, y)
    b = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_extreme_scores_give_finite_probabilities():
    est = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])
    est.coef_ = np.array([[1e4]])
    p = est.predict_proba(np.array([[-5.0], [5.0]]))
    lp = est.predict_log_proba(np.array([[-5.0], [5.0]]))
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(lp))
    np.testing.assert_allclose(p, [[1, 0], [0, 1]])


def test_partial_fit_is_an_epoch_of_the_first_order_fit():
    """partial_fit (first-order solvers) runs one epoch from the current
    weights and optimizer state: one call equals fit(max_iter=1), and a
    second continues it; classes is required first and may repeat."""
    from sklearn.exceptions import ConvergenceWarning

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    kw = dict(solver="adam", learning_rate_init=0.01, random_state=0, batch_size=64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one = LogisticRegression(max_iter=1, **kw).fit(X, y)
    inc = LogisticRegression(**kw).partial_fit(X, y, classes=np.arange(10))
    np.testing.assert_array_equal(inc.coef_, one.coef_)
    np.testing.assert_array_equal(inc.intercept_, one.intercept_)
    inc.partial_fit(X, y, classes=np.arange(10))  # the same classes again: fine
    assert len(inc.loss_curve_) == 2 and inc.loss_curve_[1] < inc.loss_curve_[0]
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        LogisticRegression(**kw).partial_fit(X, y)
    with pytest.raises(ValueError, match="is not the same as on last call"):
        inc.partial_fit(X, y, classes=np.arange(11))
    with pytest.raises(ValueError, match="has classes not in"):
        LogisticRegression(**kw).partial_fit(X, y, classes=np.arange(5))
    with pytest.raises(ValueError, match="'balanced' is not supported for partial_fit"):
        LogisticRegression(class_weight="balanced", **kw).partial_fit(X, y, classes=range(10))
    assert not hasattr(LogisticRegression(), "partial_fit")  # lbfgs: scikit-learn's rule
    # blocks in turn reach a usable model
    clf = LogisticRegression(**kw)
    for _ in range(10):
        for i in range(0, len(X), 400):
            clf.partial_fit(X[i:i + 400], y[i:i + 400], classes=np.arange(10))
    assert clf.score(X, y) > 0.93
