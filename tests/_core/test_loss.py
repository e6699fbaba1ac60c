"""fnn_loss kernels against NumPy references and central differences."""
import numpy as np
import pytest
from scipy.special import xlogy, expit, logsumexp, softmax

from fastnn._core._loss import LOSSES, loss_grad, with_steps


def reference(kind, z, y, sw):
    per, g = reference_rows(kind, z, y)
    w = np.ones(z.shape[0]) if sw is None else sw.astype(np.float64)
    return float((w * per).sum()), w[:, None] * g


def reference_rows(kind, z, y):
    """Each row's loss (unweighted) and d loss / d z."""
    z = z.astype(np.float64)
    if kind == "squared_error":
        per, g = 0.5 * (z - y.reshape(z.shape)) ** 2, z - y.reshape(z.shape)
    elif kind == "log_loss":
        yy = y.reshape(z.shape)
        per, g = np.logaddexp(0, z) - yy * z, expit(z) - yy
    elif kind == "poisson":
        yy = y.reshape(z.shape)
        # half Poisson deviance, as scikit-learn's MLPRegressor reports it
        per, g = np.exp(z) - yy * z + xlogy(yy, yy) - yy, np.exp(z) - yy
    else:
        c = y.astype(int)
        per = (logsumexp(z, axis=1) - z[np.arange(len(c)), c])[:, None]
        g = softmax(z, axis=1) - np.eye(z.shape[1])[c]
    return per.sum(axis=1), g


def make(kind, n, k, dtype, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=2, size=(n, k)).astype(dtype)
    if kind == "multinomial":
        y = rng.integers(0, k, n).astype(dtype)
    elif kind == "log_loss":
        y = rng.integers(0, 2, n * k).astype(dtype)
    elif kind == "poisson":
        y = rng.poisson(2.0, n * k).astype(dtype)
    else:
        y = rng.normal(size=n * k).astype(dtype)
    sw = rng.uniform(0.5, 2, n).astype(dtype)
    return z, y, sw


@pytest.mark.parametrize("kind", list(LOSSES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("readonly", [False, True])
def test_loss_grad_matches_numpy(kind, dtype, n_threads, weighted, readonly):
    n, k = 40000, 3  # large enough for two threads to split the rows
    z, y, sw = make(kind, n, k, dtype)
    sw = sw if weighted else None
    if readonly:
        for a in (z, y) + ((sw,) if sw is not None else ()):
            a.flags.writeable = False
    grad = np.empty((n, k), dtype=dtype)
    loss = loss_grad(LOSSES[kind], z, y, sw, 0.5, grad, n_threads)
    ref_loss, ref_grad = reference(kind, z, y, sw)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert loss == pytest.approx(ref_loss, rel=rtol)
    np.testing.assert_allclose(grad, 0.5 * ref_grad, rtol=rtol * 10, atol=rtol)


@pytest.mark.parametrize("kind", list(LOSSES))
def test_loss_gradient_central_differences(kind):
    z, y, sw = make(kind, 7, 4, np.float64, seed=1)
    grad = np.empty_like(z)
    loss_grad(LOSSES[kind], z, y, sw, 1.0, grad)
    h = 1e-6
    num = np.empty_like(z)
    for idx in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += h
        zm[idx] -= h
        num[idx] = (loss_grad(LOSSES[kind], zp, y, sw) - loss_grad(LOSSES[kind], zm, y, sw)) / (2 * h)
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-8)


def test_loss_in_place_gradient():
    z, y, sw = make("multinomial", 100, 5, np.float64)
    expected = np.empty_like(z)
    loss = loss_grad(LOSSES["multinomial"], z, y, sw, 1.0, expected)
    zz = z.copy()
    assert loss_grad(LOSSES["multinomial"], zz, y, sw, 1.0, zz) == loss
    np.testing.assert_array_equal(zz, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_logits_are_finite(dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], dtype=dtype)
    grad = np.empty_like(z)
    loss = loss_grad(LOSSES["multinomial"], z, np.array([1, 0], dtype=dtype), None, 1.0, grad)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    assert loss == pytest.approx(4e4 + np.log(2), rel=1e-6)  # row 2 has two tied maxima
    zb = np.array([[1e4], [-1e4]], dtype=dtype)
    gb = np.empty_like(zb)
    loss = loss_grad(LOSSES["log_loss"], zb, np.array([0, 1], dtype=dtype), None, 1.0, gb)
    assert loss == pytest.approx(2e4, rel=1e-6)
    np.testing.assert_allclose(gb.ravel(), [1.0, -1.0])


def test_bad_class_index_is_an_error():
    z = np.zeros((3, 2))
    with pytest.raises(ValueError, match="class index"):
        loss_grad(LOSSES["multinomial"], z, np.array([0.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match="class index"):
        loss_grad(LOSSES["multinomial"], z, np.array([0.0, 0.5, 1.0]))


def test_shape_errors_name_the_argument():
    z = np.zeros((3, 2))
    with pytest.raises(ValueError, match="y has"):
        loss_grad(LOSSES["squared_error"], z, np.zeros(5))
    with pytest.raises(ValueError, match="sample_weight"):
        loss_grad(LOSSES["squared_error"], z, np.zeros(6), np.ones(2))
    with pytest.raises(ValueError, match="grad"):
        loss_grad(LOSSES["squared_error"], z, np.zeros(6), None, 1.0, np.zeros((2, 2)))



@pytest.mark.parametrize("kind", list(LOSSES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_per_step_loss_is_the_mean_over_labelled_steps(kind, dtype, n_threads):
    """with_steps: each row is T steps of K outputs, a target per step or
    none (class -1 / a NaN first value: zero gradient), a row's loss the
    mean over its labelled steps; a row with none adds nothing."""
    n, T, K = 20000, 4, 3
    z, y, sw = make(kind, n * T, K, dtype, seed=1)
    w = sw[:n].astype(np.float64)
    yw = 1 if kind == "multinomial" else K
    y = y.reshape(n * T, yw).copy()
    on = np.random.default_rng(2).random(n * T) > 0.3
    on[:5 * T] = False  # rows with no label at all
    y[~on, 0] = -1 if kind == "multinomial" else np.nan
    grad = np.empty((n, T * K), dtype=dtype)
    loss = loss_grad(with_steps(LOSSES[kind], T), z.reshape(n, T * K), y.ravel(), sw[:n],
                     0.5, grad, n_threads)
    per, g = reference_rows(kind, z[on], y[on].ravel())
    steps = np.zeros(n * T)
    steps[on] = per
    cnt = on.reshape(n, T).sum(axis=1)
    scale = w / np.maximum(cnt, 1)
    ref_loss = float((scale * steps.reshape(n, T).sum(axis=1)).sum())
    ref_grad = np.zeros((n * T, K))
    ref_grad[on] = g * np.repeat(scale, T)[on][:, None]
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert loss == pytest.approx(ref_loss, rel=rtol)
    np.testing.assert_allclose(grad, 0.5 * ref_grad.reshape(n, T * K), rtol=rtol * 10,
                               atol=rtol)
    assert np.all(grad[:5] == 0)


def test_per_step_kinds_are_checked():
    z = np.zeros((2, 6))
    with pytest.raises(ValueError, match="invalid loss kind"):
        loss_grad(with_steps(LOSSES["squared_error"], 4), z, np.zeros(12))  # 4 does not divide 6
    with pytest.raises(ValueError, match="steps must be in"):
        with_steps(LOSSES["squared_error"], 0)
    with pytest.raises(ValueError, match="y has 2 entries, expected 6"):
        loss_grad(with_steps(LOSSES["multinomial"], 3), z, np.zeros(2))
    with pytest.raises(ValueError, match="class index"):  # -1 means unlabelled, -2 is bad
        loss_grad(with_steps(LOSSES["multinomial"], 3), z, np.full(6, -2.0))
