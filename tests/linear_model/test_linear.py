"""LinearRegression against scikit-learn's LinearRegression / Ridge."""
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.linear_model as sk
from sklearn.datasets import load_diabetes
from sklearn.preprocessing import StandardScaler

from fastnn import LinearRegression
from fastnn.optimizers import SGD


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_ols_equals_sklearn(diabetes, fit_intercept, weighted):
    X, y = diabetes
    sw = np.random.default_rng(0).uniform(0.2, 3, len(y)) if weighted else None
    a = LinearRegression(fit_intercept=fit_intercept).fit(X, y, sample_weight=sw)
    b = sk.LinearRegression(fit_intercept=fit_intercept).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-6)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=1e-6, atol=1e-8)
    assert a.rank_ == b.rank_
    np.testing.assert_allclose(a.singular_, b.singular_, rtol=1e-6)


@pytest.mark.parametrize("alpha", [0.01, 1.0, 100.0])
def test_ridge_equals_sklearn(diabetes, alpha):
    X, y = diabetes
    a = LinearRegression(alpha=alpha).fit(X, y)
    b = sk.Ridge(alpha=alpha).fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-6)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=1e-6)
    assert a.score(X, y) == pytest.approx(b.score(X, y), rel=1e-9)


def test_multi_output_and_sparse_equal_dense(diabetes):
    X, y = diabetes
    Y = np.column_stack([y, 2 * y + 1, X[:, 0]])
    dense = LinearRegression(alpha=0.5).fit(X, Y)
    ref = sk.Ridge(alpha=0.5).fit(X, Y)
    assert dense.coef_.shape == (3, X.shape[1]) and dense.intercept_.shape == (3,)
    np.testing.assert_allclose(dense.coef_, ref.coef_, rtol=1e-6, atol=1e-10)
    sparse = LinearRegression(alpha=0.5).fit(sp.csr_matrix(X), Y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(sparse.predict(sp.csr_matrix(X)), dense.predict(X), rtol=1e-8)


def test_singular_design_gives_min_norm_solution():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    X = np.column_stack([X, X[:, 0] + X[:, 1]])  # rank 3
    y = rng.normal(size=50)
    a = LinearRegression().fit(X, y)
    b = sk.LinearRegression().fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-6, atol=1e-8)
    assert a.rank_ == b.rank_ == 3


def test_float32_trained_in_float32(diabetes):
    X, y = diabetes
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    a = LinearRegression(alpha=1.0).fit(X32, y32)
    assert a.coef_.dtype == np.float32
    np.testing.assert_allclose(a.coef_, sk.Ridge(alpha=1.0).fit(X, y).coef_, rtol=2e-4)


@pytest.mark.parametrize("solver", ["lbfgs", "sgd", "adam", "rmsprop", "adagrad", "adadelta"])
def test_iterative_solvers_reach_ridge_optimum(diabetes, solver):
    X, y = diabetes
    X = StandardScaler().fit_transform(X)
    ref = sk.Ridge(alpha=1.0).fit(X, y)
    lr = {"sgd": 0.1, "adam": 2.0, "rmsprop": 0.05, "adagrad": 20.0, "adadelta": 10.0}
    est = LinearRegression(alpha=1.0, solver=solver, batch_size=None, max_iter=20000, tol=0,
                           n_iter_no_change=200, learning_rate_init=lr.get(solver),
                           learning_rate="adaptive" if solver in ("rmsprop", "adam", "adadelta")
                           else "constant")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    # first-order solvers: looser, stated tolerance (lbfgs: 1e-6)
    rtol = 1e-6 if solver == "lbfgs" else 1e-3
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=rtol, atol=rtol * 10)
    assert est.score(X, y) == pytest.approx(ref.score(X, y), abs=1e-5)


def test_minibatch_sgd_schedule_and_determinism(diabetes):
    X, y = diabetes
    X = StandardScaler().fit_transform(X)
    kw = dict(solver=SGD(0.01, momentum=0.9), batch_size=16, max_iter=60,
              learning_rate="time_based", random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = LinearRegression(**kw).fit(X, y)
        b = LinearRegression(**kw).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.score(X, y) > 0.5
    assert len(a.loss_curve_) == a.n_iter_


def test_pickle_round_trip(diabetes):
    X, y = diabetes
    a = LinearRegression(alpha=0.3).fit(X, y)
    b = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_positive_is_not_supported(diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match="positive=True is not supported"):
        LinearRegression(positive=True).fit(X, y)


def test_divergence_is_a_clear_error(diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match="diverged"):
        LinearRegression(solver="sgd", learning_rate_init=1e6, batch_size=None,
                         max_iter=50).fit(X * 1000, y)
