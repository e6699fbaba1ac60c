"""LinearRegression: scikit-learn's LinearRegression, plus Ridge's alpha."""
import numbers
import warnings

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from fastnn._core._linear import gram
from fastnn._core._loss import LOSSES
from fastnn.linear_model._base import (
    LinearObjective, fit_first_order, fit_lbfgs, kernel_matrix, threads_and_blas,
)
from fastnn.optimizers import FIRST_ORDER_SOLVERS, Optimizer, Schedule, is_first_order
from fastnn.utils._validation import validate_data


def _centred_gram(X, Y, sw, n_threads):
    """(Xc^T S Xc, Xc^T S Yc, x_mean, y_mean), float64, Xc/Yc centred by the
    weighted means. Dense X: one compiled pass (blocks centred then SYRK);
    sparse X: X^T S X minus the mean correction, X never densified."""
    S = float(sw.sum()) if sw is not None else float(X.shape[0])
    if sp.issparse(X):
        w = np.ones(X.shape[0]) if sw is None else sw.astype(np.float64)
        x_mean = np.asarray(X.T @ w, dtype=np.float64).ravel() / S
        y_mean = (w @ Y.astype(np.float64)) / S
        XtW = X.T.multiply(w).tocsr() if sw is not None else X.T.tocsr()
        G = np.asarray((XtW @ X).toarray(), dtype=np.float64) - S * np.outer(x_mean, x_mean)
        XtY = np.asarray(XtW @ Y, dtype=np.float64) - S * np.outer(x_mean, y_mean)
        return G, XtY, x_mean, y_mean
    w = None if sw is None else sw
    x_mean = (np.asarray(X.mean(axis=0, dtype=np.float64)) if w is None
              else (w.astype(np.float64) @ X) / S).astype(np.float64)
    y_mean = (Y.mean(axis=0, dtype=np.float64) if w is None
              else (w.astype(np.float64) @ Y) / S).astype(np.float64)
    G, XtY = gram(X, np.ascontiguousarray(Y), w, np.ascontiguousarray(x_mean),
                  np.ascontiguousarray(y_mean), n_threads)
    return G, XtY, x_mean, y_mean


def _solve_normal(G, XtY, alpha):
    """Solve (G + alpha I) W = XtY: Cholesky, or the minimum-norm least-squares
    solution through an eigendecomposition when the system is singular or too
    ill-conditioned for Cholesky to be accurate."""
    p = G.shape[0]
    A = G + alpha * np.eye(p)
    try:
        c, low = scipy.linalg.cho_factor(A, check_finite=False)
        d = np.abs(np.diag(c))
        if d.min() ** 2 > d.max() ** 2 * p * np.finfo(float).eps * 10:
            return scipy.linalg.cho_solve((c, low), XtY, check_finite=False)
    except np.linalg.LinAlgError:
        pass
    lam, V = scipy.linalg.eigh(A, check_finite=False)
    cutoff = max(lam.max(), 0.0) * p * np.finfo(float).eps
    inv = np.where(lam > cutoff, 1.0 / np.where(lam > cutoff, lam, 1.0), 0.0)
    return V @ (inv[:, None] * (V.T @ XtY))


class LinearRegression(RegressorMixin, BaseEstimator):
    """Ordinary least squares, or ridge regression with ``alpha > 0``.

    A drop-in for scikit-learn's LinearRegression (same parameters and fitted
    attributes; ``positive=True`` raises a ValueError). ``alpha`` adds Ridge's
    L2 penalty ``alpha * ||w||^2`` to ``||y - Xw - b||^2`` (intercept not
    penalised), so ``alpha > 0`` gives scikit-learn's Ridge solution.

    ``solver``: 'auto'/'normal' solve the normal equations: one compiled pass
    builds the centred Gram matrix X^T X (SYRK, accumulated in double), then a
    Cholesky solve, falling back to the minimum-norm least-squares solution
    when the system is singular. 'lbfgs' and the first-order solvers ('sgd',
    'adam', 'rmsprop', 'adagrad', 'adadelta' or an optimizer object) minimise
    ``sum_i sw_i (x_i w + b - y_i)^2 / (2 S) + alpha ||w||^2 / (2 S)``, which
    has the same minimiser, for ``max_iter`` epochs (default 200) with
    ``batch_size``, ``learning_rate_init``, ``learning_rate``, ``shuffle``,
    ``n_iter_no_change`` and ``tol`` as in fastnn's LogisticRegression.

    ``rank_`` and ``singular_`` are those of the centred, weight-scaled X
    (computed from the Gram matrix's eigenvalues; scikit-learn sets them for
    dense X only, fastnn for dense X too).
    """

    _parameter_constraints = {
        "fit_intercept": ["boolean"],
        "copy_X": ["boolean"],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "n_jobs": [None, numbers.Integral],
        "positive": ["boolean"],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "solver": [StrOptions({"auto", "normal", "lbfgs", *FIRST_ORDER_SOLVERS}), Optimizer],
        "max_iter": [Interval(numbers.Integral, 0, None, closed="left"), None],
        "batch_size": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left"),
                       None],
        "learning_rate_init": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive", "time_based",
                                      "step", "exponential"}), Schedule],
        "shuffle": ["boolean"],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "n_threads": [None, numbers.Integral],
    }

    def __init__(self, *, fit_intercept=True, copy_X=True, tol=1e-6, n_jobs=None,
                 positive=False, alpha=0.0, solver="auto", max_iter=None,
                 batch_size="auto", learning_rate_init=None, learning_rate="constant",
                 shuffle=True, n_iter_no_change=10, random_state=None, verbose=0,
                 warm_start=False, n_threads=None):
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.tol = tol
        self.n_jobs = n_jobs
        self.positive = positive
        self.alpha = alpha
        self.solver = solver
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate
        self.shuffle = shuffle
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.n_threads = n_threads

    def fit(self, X, y, sample_weight=None):
        """Fit; y may be (n,) or (n, n_targets). X is never modified or copied
        (copy_X is accepted for compatibility)."""
        self._validate_params()
        if self.positive:
            raise ValueError("positive=True is not supported by fastnn's LinearRegression")
        n_threads, blas_limit = threads_and_blas(self.n_threads, self.n_jobs)
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=[np.float64, np.float32],
                             order="C", multi_output=True, y_numeric=True,
                             accept_large_sparse=True)
        dtype = X.dtype
        y = np.asarray(y, dtype=dtype)
        y_1d = y.ndim == 1
        Y = y.reshape(-1, 1) if y_1d else y
        n, p = X.shape
        k = Y.shape[1]
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, X, dtype=dtype)
            if np.any(sw < 0) or sw.sum() <= 0:
                raise ValueError("sample_weight must be non-negative and not all zero")
        solver = self.solver
        with blas_limit:
            if isinstance(solver, str) and solver in ("auto", "normal"):
                W, b = self._fit_normal(X, Y, sw, n_threads)
                self.n_iter_ = 1  # one pass over the data builds the normal equations
            else:
                W, b = self._fit_iterative(kernel_matrix(X), Y, sw, n_threads)
        coef = np.ascontiguousarray(W.T, dtype=dtype)  # (k, p)
        self.coef_ = coef.ravel() if y_1d else coef
        b = np.asarray(b, dtype=dtype)
        self.intercept_ = (b[0] if y_1d else b) if self.fit_intercept else (
            dtype.type(0.0) if y_1d else np.zeros(k, dtype=dtype))
        return self

    def _fit_normal(self, X, Y, sw, n_threads):
        p = X.shape[1]
        if self.fit_intercept:
            G, XtY, x_mean, y_mean = _centred_gram(X, Y, sw, n_threads)
        else:
            z_x, z_y = np.zeros(p), np.zeros(Y.shape[1])
            if sp.issparse(X):
                XtW = X.T.multiply(sw).tocsr() if sw is not None else X.T.tocsr()
                G = np.asarray((XtW @ X).toarray(), dtype=np.float64)
                XtY = np.asarray(XtW @ Y, dtype=np.float64)
            else:
                G, XtY = gram(X, np.ascontiguousarray(Y), sw, z_x, z_y, n_threads)
            x_mean, y_mean = z_x, z_y
        W = _solve_normal(G, XtY, float(self.alpha))
        b = y_mean - x_mean @ W
        lam = np.clip(scipy.linalg.eigvalsh(G, check_finite=False), 0, None)[::-1]
        self.singular_ = np.sqrt(lam).astype(X.dtype)
        # The Gram's eigenvalues are the squared singular values, known to
        # ~eps * lam_max: rank counts those above the solver's cutoff.
        self.rank_ = int(np.sum(lam > lam[0] * max(X.shape) * np.finfo(X.dtype).eps))
        return W, b

    def _fit_iterative(self, X, Y, sw, n_threads):
        n, p = X.shape
        k = Y.shape[1]
        objective = LinearObjective(X, np.ascontiguousarray(Y).ravel(), sw,
                                    LOSSES["squared_error"], self.fit_intercept, k, 0.0,
                                    n_threads)
        objective.l2 = float(self.alpha) / objective.S
        max_iter = 200 if self.max_iter is None else self.max_iter
        w0 = np.zeros(objective.n_params)
        warm = self.warm_start and hasattr(self, "coef_") and \
            np.asarray(self.coef_).reshape(-1, p).shape == (k, p)
        if warm:
            w0[: p * k] = np.asarray(self.coef_).reshape(k, p).T.ravel()
            if self.fit_intercept:
                w0[p * k:] = np.ravel(self.intercept_)
        if is_first_order(self.solver):
            rng = check_random_state(self.random_state)
            w, self._opt_state, hist = fit_first_order(
                self, objective, w0, max_iter, self.tol, rng,
                warm_state=getattr(self, "_opt_state", None) if warm else None)
            self.n_iter_ = hist.n_iter
            self.loss_curve_ = hist.loss_curve
        else:
            w, self.n_iter_, converged = fit_lbfgs(objective, w0, max_iter, self.tol,
                                                   self.verbose)
            if not converged:
                from sklearn.exceptions import ConvergenceWarning
                warnings.warn(f"lbfgs did not converge in {max_iter} iterations",
                              ConvergenceWarning)
        W = np.asarray(w[: p * k]).reshape(p, k)
        b = np.asarray(w[p * k:]) if self.fit_intercept else np.zeros(k)
        return W, b

    def predict(self, X):
        """X @ coef_.T + intercept_."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False,
                          dtype=[np.float64, np.float32])
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags
