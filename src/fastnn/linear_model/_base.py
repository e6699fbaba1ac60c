"""What both linear estimators share: data handed to the kernels without
copies, the objective L-BFGS and the first-order solvers minimise, and the
two ways of minimising it.

The objective, as scikit-learn's LinearModelLoss defines it:

    f(W, b) = sum_i sw_i loss(x_i W + b, y_i) / S  +  0.5 * l2 * ||W||^2,

with S = sum_i sw_i. LogisticRegression uses l2 = 1 / (C S); the iterative
LinearRegression uses l2 = alpha / S, whose minimiser is Ridge's.
"""
import numbers

import numpy as np
import scipy.sparse as sp
from scipy import optimize
from sklearn.utils import assert_all_finite

from fastnn._core._linear import LinearProblem
from fastnn.nn import _trainer
from fastnn.optimizers import get_optimizer, get_schedule
from fastnn.utils._threads import blas_single_thread, effective_n_threads



def kernel_matrix(X):
    """X as the kernels take it: C-contiguous dense, or CSR with int32 column
    indices and int64 row pointers (the values are never copied)."""
    if sp.issparse(X):
        X = X.tocsr()
        if not X.has_canonical_format:
            X = X.copy()
            X.sum_duplicates()
        out = sp.csr_matrix((X.data, X.indices, X.indptr), shape=X.shape, copy=False)
        out.indices = np.ascontiguousarray(X.indices, dtype=np.int32)
        out.indptr = np.ascontiguousarray(X.indptr, dtype=np.int64)
        out.data = np.ascontiguousarray(X.data)
        return out
    return np.ascontiguousarray(X)


class LinearObjective:
    """f and its gradient over a flat parameter vector [W (p x k) row-major, b (k)]."""

    def __init__(self, X, y_flat, sample_weight, loss, fit_intercept, n_outputs, l2, n_threads,
                 check_finite_X=None, estimator=None):
        self.problem = LinearProblem(X, y_flat, sample_weight, loss, fit_intercept, n_outputs)
        self.dtype = self.problem.dtype
        self.n_samples = X.shape[0]
        self.n_params = self.problem.n_params
        self.n_w = X.shape[1] * n_outputs
        self.S = float(sample_weight.sum()) if sample_weight is not None else float(X.shape[0])
        self.l2 = float(l2)
        self.n_threads = n_threads
        # X not yet checked for NaN/inf: the first evaluation checks it.
        # Any non-finite x_ij makes gradient entry j non-finite whatever the
        # weights (x_ij * r_i with r_i finite, or NaN when r_i is 0), so only a
        # non-finite first pass needs the full scan, which then raises
        # scikit-learn's error naming X (and the estimator, as its own does).
        self._unchecked_X = check_finite_X
        self._estimator_name = type(estimator).__name__ if estimator is not None else None

    def value_grad(self, w):
        """For scipy: float64 in, (float, float64 gradient) out."""
        params = np.asarray(w, dtype=self.dtype)
        grad = np.empty(self.n_params)
        loss = self.problem.loss_grad(params, 1.0 / self.S, grad, None, self.n_threads) / self.S
        W = w[: self.n_w]
        loss += 0.5 * self.l2 * float(W @ W)
        grad[: self.n_w] += self.l2 * W
        if self._unchecked_X is not None:
            if not (np.isfinite(loss) and np.isfinite(grad).all()):
                assert_all_finite(self._unchecked_X, input_name="X",
                                  estimator_name=self._estimator_name)
            self._unchecked_X = None
        return loss, grad

    def reference_loss(self, params, rows, batch_size):
        """The objective at params, over every row (one pass, as an epoch's
        cost): what divergence is judged against."""
        return self.value_grad(np.asarray(params, dtype=np.float64))[0]

    def epoch(self, perm, batch_size, opt, params, grad):
        loss, opt.t = self.problem.epoch(perm, batch_size, self.S / self.n_samples, opt.rule,
                                         opt.lr, self.l2, opt.t, params, grad, opt.state,
                                         self.n_threads)
        W = params[: self.n_w].astype(np.float64)
        return loss / self.S + 0.5 * self.l2 * float(W @ W)


def fit_lbfgs(objective, w0, max_iter, tol, verbose):
    """scikit-learn's L-BFGS-B settings; returns (w, n_iter, converged)."""
    iprint = [-1, 50, 1, 100, 101][np.searchsorted(np.array([0, 1, 2, 3]), verbose)]
    options = {"maxiter": max_iter, "maxls": 50, "gtol": tol,
               "ftol": 64 * np.finfo(float).eps}
    if verbose:
        options["iprint"] = iprint
    res = optimize.minimize(objective.value_grad, np.asarray(w0, dtype=np.float64),
                            method="L-BFGS-B", jac=True, options=options)
    if not np.all(np.isfinite(res.x)):
        raise ValueError("L-BFGS produced non-finite coefficients: the data or C is "
                         "out of range")
    return res.x, int(res.nit), res.status == 0


class FirstOrderParams:
    """Validation of the extra parameters of the first-order solvers."""

    @staticmethod
    def resolve(est, n_samples):
        opt = get_optimizer(est.solver, est.learning_rate_init)
        opt._validate()
        schedule = get_schedule(est.learning_rate, getattr(est, "power_t", 0.5))
        bs = est.batch_size
        if bs is None:
            bs = n_samples
        elif bs == "auto":
            bs = min(200, n_samples)
        elif isinstance(bs, numbers.Integral) and not isinstance(bs, bool) and bs >= 1:
            bs = min(int(bs), n_samples)
        else:
            raise ValueError(f"batch_size must be None, 'auto' or an int >= 1, got {bs!r}")
        n_iter_no_change = est.n_iter_no_change
        if not isinstance(n_iter_no_change, numbers.Integral) or n_iter_no_change < 1:
            raise ValueError(f"n_iter_no_change must be an int >= 1, got {n_iter_no_change!r}")
        return opt, schedule, bs


def fit_first_order(est, objective, w0, max_iter, tol, rng, warm_state=None,
                    incremental=False):
    """Train with est's first-order solver; returns (w, opt_state, history).
    ``incremental``: one epoch of partial_fit (no max-iteration warning)."""
    opt, schedule, bs = FirstOrderParams.resolve(est, objective.n_samples)
    params = np.array(w0, dtype=objective.dtype)
    opt_state, history = _trainer.train(
        objective, params, opt, schedule, n_samples=objective.n_samples, batch_size=bs,
        max_iter=max_iter, tol=tol, n_iter_no_change=est.n_iter_no_change,
        shuffle=est.shuffle, rng=rng, verbose=est.verbose, opt_state=warm_state,
        incremental=incremental,
    )
    return params, opt_state, history


def threads_and_blas(n_threads, n_jobs=None):
    """Resolve the thread count (n_jobs is accepted as scikit-learn's name) and
    the BLAS limit that goes with running BLAS inside OpenMP threads."""
    n = effective_n_threads(n_threads if n_threads is not None else n_jobs)
    return n, blas_single_thread(n > 1)
