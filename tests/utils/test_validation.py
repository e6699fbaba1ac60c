"""The finiteness scan of dense X on fastnn's threads: every NaN and
infinity found wherever it sits, nothing else refused, and the error the
estimators raise is scikit-learn's own, word for word."""
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.utils.validation import check_array

from fastnn import (Autoencoder, BernoulliRBM, LinearRegression, LogisticRegression,
                    MLPClassifier, MLPRegressor)
from fastnn._core._finite import all_finite
from fastnn.utils._validation import check_finite

SIZES = [1, 15, 16, 17, 65535, 65536, 65537, 200003]
BAD = [np.nan, np.inf, -np.inf]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("n", SIZES)
def test_scan_finds_every_non_finite_value(dtype, n_threads, n):
    rng = np.random.default_rng(n)
    info = np.finfo(dtype)
    x = rng.normal(size=n).astype(dtype)
    # the extremes of the finite range are finite
    x[rng.integers(n, size=4)] = [info.max, -info.max, info.smallest_subnormal, -0.0]
    assert all_finite(x, n_threads)
    for bad in BAD:
        for at in sorted({0, n // 2, n - 1, int(rng.integers(n))}):
            y = x.copy()
            y[at] = bad
            assert not all_finite(y, n_threads), (bad, at)


def test_scan_of_nothing_and_of_other_dtypes():
    assert all_finite(np.empty(0, np.float32), 2)
    assert all_finite(np.empty((0, 3)), 2)
    with pytest.raises(TypeError, match="float32 or float64"):
        all_finite(np.zeros(3, np.int64), 1)


def _sklearn_message(X, est):
    with pytest.raises(ValueError) as err:
        check_array(X, estimator=est, input_name="X", dtype=[np.float64, np.float32],
                    allow_nd=True)
    return str(err.value)


@pytest.mark.parametrize("layout", ["C", "F", "strided", "3d"])
@pytest.mark.parametrize("bad", BAD)
def test_check_finite_raises_sklearns_error(layout, bad):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 40))
    X[123, 17] = bad
    if layout == "F":
        X = np.asfortranarray(X)
    elif layout == "strided":
        X = X[:, ::2]
        X[5, 3] = bad
    elif layout == "3d":
        X = X.reshape(300, 8, 5)
    est = MLPClassifier()
    with pytest.raises(ValueError) as err:
        check_finite(X, est)
    assert str(err.value) == _sklearn_message(X, est)
    check_finite(np.nan_to_num(X, posinf=1.0, neginf=-1.0), est)  # finite: silent


ESTIMATORS = [
    lambda: MLPClassifier(hidden_layer_sizes=(8,), max_iter=2),
    lambda: MLPRegressor(hidden_layer_sizes=(8,), max_iter=2),
    lambda: Autoencoder((4,), max_iter=2),
    lambda: BernoulliRBM(n_components=4, n_iter=1),
    lambda: LinearRegression(),
    lambda: LogisticRegression(),
    lambda: LogisticRegression(solver="sgd", max_iter=2),
]


@pytest.mark.parametrize("make", ESTIMATORS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", BAD)
def test_fit_and_predict_refuse_non_finite_x_as_sklearn_does(make, dtype, bad):
    rng = np.random.default_rng(1)
    X = rng.uniform(size=(60, 5)).astype(dtype)
    y = (X[:, 0] > 0.5).astype(int)
    est = make()
    Xbad = X.copy()
    Xbad[59, 4] = bad
    with pytest.raises(ValueError) as err:
        est.fit(Xbad, y)
    assert str(err.value) == _sklearn_message(Xbad, est)
    est.fit(X, y)
    method = next(m for m in ("predict", "transform") if hasattr(est, m))
    with pytest.raises(ValueError) as err:
        getattr(est, method)(Xbad)
    assert str(err.value) == _sklearn_message(Xbad, est)


def test_sparse_x_is_still_checked_by_sklearn():
    X = sp.random(50, 6, density=0.5, format="csr", random_state=0)
    X.data[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LinearRegression().fit(X, np.arange(50.0))
