"""fnn_linear kernels: objective and gradient against NumPy (dense and CSR,
float32/float64, 1/2 threads, row subsets), Gram against NumPy."""
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit, logsumexp, softmax

from fastnn._core._linear import LinearProblem, gram
from fastnn._core._loss import LOSSES
from fastnn.linear_model._base import kernel_matrix


def numpy_objective(kind, X, y, sw, W, b):
    Z = X @ W + b
    if kind == "squared_error":
        Y = y.reshape(Z.shape)
        per, G = 0.5 * ((Z - Y) ** 2).sum(1), Z - Y
    elif kind == "log_loss":
        Y = y.reshape(Z.shape)
        per, G = (np.logaddexp(0, Z) - Y * Z).sum(1), expit(Z) - Y
    else:
        c = y.astype(int)
        per = logsumexp(Z, axis=1) - Z[np.arange(len(c)), c]
        G = softmax(Z, axis=1) - np.eye(Z.shape[1])[c]
    G = sw[:, None] * G
    return (sw * per).sum(), X.T @ G, G.sum(0)


@pytest.mark.parametrize("kind,k", [("squared_error", 2), ("squared_error", 1), ("log_loss", 1),
                                    ("multinomial", 4)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("subset", [False, True])
def test_linear_loss_grad_matches_numpy(kind, k, dtype, sparse, n_threads, subset):
    rng = np.random.default_rng(0)
    n, p = 3000, 37
    X = rng.normal(size=(n, p))
    X[rng.random((n, p)) < 0.7] = 0.0
    y = {"squared_error": rng.normal(size=n * k), "log_loss": rng.integers(0, 2, n * k),
         "multinomial": rng.integers(0, k, n)}[kind].astype(dtype)
    sw = rng.uniform(0.1, 3, n).astype(dtype)
    Xk = kernel_matrix(sp.csr_matrix(X.astype(dtype)) if sparse else X.astype(dtype))
    pb = LinearProblem(Xk, y, sw, LOSSES[kind], True, k)
    params = rng.normal(scale=0.3, size=p * k + k).astype(dtype)
    grad = np.empty(p * k + k)
    rows = rng.permutation(n)[:517].astype(np.int64) if subset else None
    loss = pb.loss_grad(params, 2.0, grad, rows, n_threads)
    idx = rows if subset else np.arange(n)
    ny = 1 if kind == "multinomial" else k
    yy = y.reshape(n, ny)[idx].ravel()
    W = params[: p * k].astype(np.float64).reshape(p, k)
    ref = numpy_objective(kind, X.astype(dtype).astype(np.float64)[idx], yy.astype(np.float64),
                          sw[idx].astype(np.float64), W, params[p * k:].astype(np.float64))
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    assert loss == pytest.approx(ref[0], rel=rtol)
    np.testing.assert_allclose(grad[: p * k], 2.0 * ref[1].ravel(), rtol=rtol, atol=rtol * 10)
    np.testing.assert_allclose(grad[p * k:], 2.0 * ref[2], rtol=rtol, atol=rtol * 10)


def test_linear_gradient_central_differences():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 6))
    y = rng.integers(0, 3, 50).astype(np.float64)
    pb = LinearProblem(X, y, None, LOSSES["multinomial"], True, 3)
    w = rng.normal(size=21)
    grad = np.empty(21)
    pb.loss_grad(w, 1.0, grad)
    h = 1e-6
    num = np.array([(pb.loss_grad(w + h * e) - pb.loss_grad(w - h * e)) / (2 * h)
                    for e in np.eye(21)])
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_gram_matches_numpy(dtype, n_threads):
    rng = np.random.default_rng(0)
    n, p, k = 20011, 13, 2
    X = (rng.normal(size=(n, p)) + 1000.0).astype(dtype)  # large means must not cancel
    Y = rng.normal(size=(n, k)).astype(dtype)
    sw = rng.uniform(0, 2, n).astype(dtype)
    xm = np.average(X.astype(np.float64), axis=0, weights=sw)
    ym = np.average(Y.astype(np.float64), axis=0, weights=sw)
    G, XtY = gram(X, Y, sw, xm, ym, n_threads)
    Xc = (X.astype(np.float64) - xm) * np.sqrt(sw.astype(np.float64))[:, None]
    Yc = (Y.astype(np.float64) - ym) * np.sqrt(sw.astype(np.float64))[:, None]
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(G, Xc.T @ Xc, rtol=rtol, atol=rtol * n)
    np.testing.assert_allclose(XtY, Xc.T @ Yc, rtol=rtol, atol=rtol * n)


def test_malformed_input_is_rejected():
    X = np.zeros((4, 3))
    with pytest.raises(ValueError, match="y has"):
        LinearProblem(X, np.zeros(5), None, LOSSES["squared_error"], True, 1)
    pb = LinearProblem(X, np.zeros(4), None, LOSSES["squared_error"], True, 1)
    with pytest.raises(ValueError, match="row indices"):
        pb.loss_grad(np.zeros(4), 1.0, None, np.array([0, 4], dtype=np.int64))
    with pytest.raises(ValueError, match="params"):
        pb.loss_grad(np.zeros(3))
    bad = sp.csr_matrix(np.eye(3))
    bad.indices = np.array([0, 1, 7], dtype=np.int32)
    bad.indptr = bad.indptr.astype(np.int64)
    with pytest.raises(ValueError, match="malformed CSR"):
        LinearProblem(bad, np.zeros(3), None, LOSSES["squared_error"], True, 1)
