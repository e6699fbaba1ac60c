"""Bad input gets a clear error naming the problem, never a crash."""
import numpy as np
import pytest

from fastnn import LinearRegression, LogisticRegression

X = np.random.default_rng(0).normal(size=(20, 3))
y_cls = np.array([0, 1] * 10)
y_reg = np.arange(20.0)

ESTIMATORS = [(LogisticRegression, y_cls), (LinearRegression, y_reg)]


@pytest.mark.parametrize("Est,y", ESTIMATORS)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_inf_in_X(Est, y, bad):
    Xb = X.copy()
    Xb[3, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        Est().fit(Xb, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("case", ["multinomial", "zero_weight_row", "warm_start", "float32"])
def test_nan_inf_in_X_found_by_first_lbfgs_pass(bad, case):
    # Dense L-BFGS fits skip the up-front scan of X and rely on the first
    # objective pass: every route must still raise scikit-learn's error.
    Xb = X.astype(np.float32) if case == "float32" else X.copy()
    Xb[3, 1] = bad
    y = np.arange(20) % 3 if case == "multinomial" else y_cls
    sw = np.ones(20)
    if case == "zero_weight_row":
        sw[3] = 0.0
    est = LogisticRegression(warm_start=case == "warm_start")
    if case == "warm_start":
        est.fit(X * 5, y)  # non-zero starting weights
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        est.fit(Xb, y, sample_weight=sw)


@pytest.mark.parametrize("Est,y", ESTIMATORS)
def test_nan_in_y(Est, y):
    yb = y.astype(float).copy()
    yb[0] = np.nan
    with pytest.raises(ValueError, match="NaN|Input y"):
        Est().fit(X, yb)


@pytest.mark.parametrize("Est,y", ESTIMATORS)
def test_wrong_dimensionality(Est, y):
    with pytest.raises(ValueError, match="2D array"):
        Est().fit(X[:, 0], y)
    with pytest.raises(ValueError, match="dim"):
        Est().fit(X[:, :, None], y)


@pytest.mark.parametrize("Est,y", ESTIMATORS)
def test_wrong_feature_count_at_predict(Est, y):
    est = Est().fit(X, y)
    with pytest.raises(ValueError, match="features"):
        est.predict(X[:, :2])


@pytest.mark.parametrize("Est,y", ESTIMATORS)
def test_empty_input(Est, y):
    with pytest.raises(ValueError, match="0 sample"):
        Est().fit(X[:0], y[:0])


@pytest.mark.parametrize("Est,y", ESTIMATORS)
def test_object_and_complex_arrays(Est, y):
    with pytest.raises((ValueError, TypeError)):
        Est().fit(np.array([["a", "b", "c"]] * 20, dtype=object), y)
    with pytest.raises(ValueError, match="[Cc]omplex"):
        Est().fit(X + 1j, y)


def test_single_class():
    with pytest.raises(ValueError, match="only one class"):
        LogisticRegression().fit(X, np.zeros(20))


@pytest.mark.parametrize("params,match", [
    ({"C": -1.0}, "C"),
    ({"tol": -1}, "tol"),
    ({"max_iter": -5}, "max_iter"),
    ({"solver": "newton-cg"}, "not supported"),
    ({"penalty": "l1"}, "not supported"),
    ({"l1_ratio": 0.5}, "not supported"),
    ({"dual": True}, "not supported"),
    ({"solver": "bogus"}, "solver"),
    ({"batch_size": 0}, "batch_size"),
    ({"solver": "adam", "learning_rate": "cosine"}, "learning_rate"),
    ({"n_threads": 0}, "n_threads"),
])
def test_invalid_hyper_parameters_logistic(params, match):
    est = LogisticRegression(**params)  # never raises in __init__
    with pytest.raises(ValueError, match=match):
        est.fit(X, y_cls)


@pytest.mark.parametrize("params,match", [
    ({"alpha": -1.0}, "alpha"),
    ({"solver": "cholesky"}, "solver"),
    ({"solver": "sgd", "n_iter_no_change": 0}, "n_iter_no_change"),
])
def test_invalid_hyper_parameters_linear(params, match):
    with pytest.raises(ValueError, match=match):
        LinearRegression(**params).fit(X, y_reg)


def test_negative_sample_weight():
    with pytest.raises(ValueError, match="sample_weight"):
        LogisticRegression().fit(X, y_cls, sample_weight=-np.ones(20))
