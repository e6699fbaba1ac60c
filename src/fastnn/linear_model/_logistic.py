"""LogisticRegression: a drop-in for scikit-learn's with the L2 penalty."""
import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state, compute_class_weight
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import softmax
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from fastnn._core._loss import LOSSES
from fastnn.linear_model._base import (
    LinearObjective, fit_first_order, fit_lbfgs, kernel_matrix, threads_and_blas,
)
from fastnn.optimizers import FIRST_ORDER_SOLVERS, Optimizer, Schedule, is_first_order
from fastnn.utils._labels import encode_labels
from fastnn.utils._validation import validate_data

_SKLEARN_ONLY_SOLVERS = ("liblinear", "newton-cg", "newton-cholesky", "sag", "saga")


def _first_order(est):
    if not is_first_order(est.solver):
        raise AttributeError(f"partial_fit is only available for the first-order solvers; "
                             f"solver={est.solver!r} is not one")
    return True


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression (binary and multinomial) with an L2 penalty.

    Minimises, like scikit-learn's,
    ``sum_i sw_i loss_i / S + ||W||^2 / (2 C S)`` (S = sum of sample weights)
    with a fused C + OpenMP loss-and-gradient kernel that reads X once per
    evaluation. Binary problems fit one logistic output, more classes the full
    softmax (multinomial) model.

    Parameters follow scikit-learn's LogisticRegression; ``penalty`` other than
    'l2'/None, ``l1_ratio`` other than 0, ``dual=True`` and scikit-learn's
    other solvers raise a ValueError at fit. ``intercept_scaling`` only
    matters to liblinear and is ignored, as scikit-learn does for lbfgs.

    Extras: ``solver`` also takes 'sgd', 'adam', 'rmsprop', 'adagrad',
    'adadelta' or a ``fastnn.optimizers`` object; those run compiled
    mini-batch epochs with ``batch_size`` ('auto' = min(200, n), None = full
    batch, 1 = stochastic), ``learning_rate_init`` (None = the optimizer's
    default), ``learning_rate`` (schedule name or object), ``shuffle`` and
    ``n_iter_no_change``, and stop as scikit-learn's MLP does (loss improved
    by less than ``tol`` for ``n_iter_no_change`` epochs). ``n_threads``
    (None = all usable cores) sets the kernel threads; ``n_jobs`` is used
    when ``n_threads`` is None.
    """

    _parameter_constraints = {
        "penalty": [StrOptions({"l1", "l2", "elasticnet", "deprecated"}), None],
        "C": [Interval(numbers.Real, 0, None, closed="right")],
        "l1_ratio": [Interval(numbers.Real, 0, 1, closed="both"), None],
        "dual": ["boolean"],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "intercept_scaling": [Interval(numbers.Real, 0, None, closed="neither")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "random_state": ["random_state"],
        "solver": [StrOptions({"lbfgs", *FIRST_ORDER_SOLVERS, *_SKLEARN_ONLY_SOLVERS}), Optimizer],
        "max_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "n_jobs": [None, numbers.Integral],
        "batch_size": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left"),
                       None],
        "learning_rate_init": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive", "time_based",
                                      "step", "exponential"}), Schedule],
        "shuffle": ["boolean"],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_threads": [None, numbers.Integral],
    }

    def __init__(self, penalty="deprecated", *, C=1.0, l1_ratio=0.0, dual=False, tol=1e-4,
                 fit_intercept=True, intercept_scaling=1, class_weight=None,
                 random_state=None, solver="lbfgs", max_iter=100, verbose=0,
                 warm_start=False, n_jobs=None, batch_size="auto", learning_rate_init=None,
                 learning_rate="constant", shuffle=True, n_iter_no_change=10,
                 n_threads=None):
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.dual = dual
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.class_weight = class_weight
        self.random_state = random_state
        self.solver = solver
        self.max_iter = max_iter
        self.verbose = verbose
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate
        self.shuffle = shuffle
        self.n_iter_no_change = n_iter_no_change
        self.n_threads = n_threads

    def _check_supported(self):
        if self.penalty not in ("deprecated", "l2", None):
            raise ValueError(f"penalty={self.penalty!r} is not supported by fastnn: only the "
                             "L2 penalty ('l2') or none (None / C=np.inf)")
        if self.l1_ratio not in (0, 0.0, None):
            raise ValueError(f"l1_ratio={self.l1_ratio!r} is not supported by fastnn: only "
                             "the L2 penalty (l1_ratio=0)")
        if self.dual:
            raise ValueError("dual=True is not supported by fastnn (only liblinear has it)")
        if isinstance(self.solver, str) and self.solver in _SKLEARN_ONLY_SOLVERS:
            raise ValueError(f"solver={self.solver!r} is not supported by fastnn; use 'lbfgs' "
                             f"(the default) or one of {list(FIRST_ORDER_SOLVERS)}")

    def fit(self, X, y, sample_weight=None):
        """Fit the model; ``sample_weight`` multiplies each sample's loss."""
        self._validate_params()
        self._check_supported()
        n_threads, blas_limit = threads_and_blas(self.n_threads, self.n_jobs)
        # Dense X under L-BFGS is checked for NaN/inf by the objective's
        # first pass (a non-finite entry makes that gradient non-finite),
        # which saves a whole extra read of X.
        defer_finite = not sp.issparse(X) and not is_first_order(self.solver)
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=[np.float64, np.float32],
                             order="C", accept_large_sparse=True,
                             ensure_all_finite=not defer_finite)
        check_classification_targets(y)
        classes, y_enc = encode_labels(y)
        if len(classes) < 2:
            raise ValueError("This solver needs samples of at least 2 classes in the data, "
                             f"but the data contains only one class: {classes[0]!r}")
        dtype = X.dtype
        objective, k = self._objective(X, y, y_enc, classes, sample_weight, n_threads,
                                       X if defer_finite else None)
        p = X.shape[1]

        w0 = np.zeros(objective.n_params)
        warm = self.warm_start and hasattr(self, "coef_") and self.coef_.shape == (k, p) \
            and np.array_equal(getattr(self, "classes_", None), classes)
        if warm:
            w0[: p * k] = self.coef_.T.ravel()
            if self.fit_intercept:
                w0[p * k:] = self.intercept_
        with blas_limit:
            if is_first_order(self.solver):
                rng = check_random_state(self.random_state)
                w, self._opt_state, hist = fit_first_order(
                    self, objective, w0, self.max_iter, self.tol, rng,
                    warm_state=getattr(self, "_opt_state", None) if warm else None)
                n_iter = hist.n_iter
                self.loss_curve_ = hist.loss_curve
            else:
                w, n_iter, converged = fit_lbfgs(objective, w0, self.max_iter, self.tol,
                                                 self.verbose)
                if not converged:
                    warnings.warn(
                        "lbfgs failed to converge after %d iteration(s) (status=1): "
                        "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT. Increase the number "
                        "of iterations (max_iter) or scale the data." % n_iter,
                        ConvergenceWarning)
        self.classes_ = classes
        self._set_weights(w, p, k, dtype)
        self.n_iter_ = np.array([n_iter], dtype=np.int32)
        return self

    def _objective(self, X, y, y_enc, classes, sample_weight, n_threads, check_finite_X):
        """The loss-and-gradient of X, y (encoded against ``classes``) with the
        sample and class weights and the L2 term; and k, the outputs."""
        dtype = X.dtype
        sw = _check_sample_weight(sample_weight, X, dtype=dtype, copy=True)
        if self.class_weight is not None:
            cw = compute_class_weight(self.class_weight, classes=classes, y=y,
                                      sample_weight=sample_weight)
            sw *= cw[y_enc].astype(dtype)
        if not np.all(np.isfinite(sw)) or np.any(sw < 0) or sw.sum() <= 0:
            raise ValueError("sample_weight must be finite, non-negative and not all zero")
        binary = len(classes) == 2
        k = 1 if binary else len(classes)
        target = (y_enc == 1).astype(dtype) if binary else y_enc.astype(dtype)
        C = np.inf if self.penalty is None else self.C
        objective = LinearObjective(
            kernel_matrix(X), target, sw, LOSSES["log_loss" if binary else "multinomial"],
            self.fit_intercept, k, 0.0, n_threads, check_finite_X=check_finite_X,
            estimator=self)
        objective.l2 = 0.0 if np.isinf(C) else 1.0 / (C * objective.S)
        return objective, k

    def _set_weights(self, w, p, k, dtype):
        w = np.asarray(w, dtype=dtype)
        self.coef_ = np.ascontiguousarray(w[: p * k].reshape(p, k).T)
        self.intercept_ = w[p * k:].copy() if self.fit_intercept else np.zeros(k, dtype=dtype)

    @available_if(_first_order)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch of the first-order solver over X, y, continuing from the
        current weights and optimizer state (mini-batches of ``batch_size``
        rows of this block; the L2 term scaled to the block's weight, as fit
        scales it to the data's). ``classes`` (every label) is required on
        the first call and may be passed again on later ones if the same
        (as dask-ml's Incremental does). class_weight='balanced' needs the
        whole data: not supported here, as in scikit-learn's SGDClassifier."""
        self._validate_params()
        self._check_supported()
        if isinstance(self.class_weight, str):
            raise ValueError("class_weight='balanced' is not supported for partial_fit: it "
                             "needs the whole data's class counts; pass a dict instead")
        first = not hasattr(self, "_opt_state") or not hasattr(self, "classes_")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        n_threads, blas_limit = threads_and_blas(self.n_threads, self.n_jobs)
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=[np.float64, np.float32],
                             order="C", accept_large_sparse=True, reset=first)
        check_classification_targets(y)
        if classes is not None:
            classes = unique_labels(classes)
            if not first and not np.array_equal(classes, self.classes_):
                raise ValueError(f"`classes={classes!r}` is not the same as on last call to "
                                 f"partial_fit, was: {self.classes_!r}")
            if len(classes) < 2:
                raise ValueError(f"classes must hold at least 2 labels, got {classes!r}")
        known = classes if first else self.classes_
        unseen = np.setdiff1d(unique_labels(y), known)
        if len(unseen):
            raise ValueError(f"`y` has classes not in `classes`: {unseen!r}; the classes are "
                             f"{known!r}")
        y_enc = np.searchsorted(known, y)
        objective, k = self._objective(X, y, y_enc, known, sample_weight, n_threads, None)
        p = X.shape[1]
        w0 = np.zeros(objective.n_params)
        if not first:
            w0[: p * k] = self.coef_.T.ravel()
            if self.fit_intercept:
                w0[p * k:] = self.intercept_
        with blas_limit:
            w, self._opt_state, hist = fit_first_order(
                self, objective, w0, 1, self.tol, check_random_state(self.random_state),
                warm_state=None if first else self._opt_state, incremental=True)
        self.classes_ = known
        self._set_weights(w, p, k, X.dtype)
        self.n_iter_ = np.array([1], dtype=np.int32)
        self.loss_curve_ = ([] if first else list(getattr(self, "loss_curve_", []))) + \
            list(hist.loss_curve)
        return self

    def decision_function(self, X):
        """Raw scores X @ coef_.T + intercept_: (n,) for binary, (n, n_classes) otherwise."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False,
                          dtype=[np.float64, np.float32])
        scores = X @ self.coef_.T + self.intercept_
        scores = np.asarray(scores)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Class labels."""
        scores = self.decision_function(X)
        idx = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[idx]

    def predict_proba(self, X):
        """Class probabilities (n, n_classes): logistic for binary, softmax otherwise."""
        scores = self.decision_function(X).astype(np.float64)
        if scores.ndim == 1:
            p1 = 0.5 * (1.0 + np.tanh(0.5 * scores))  # stable sigmoid
            return np.column_stack([1.0 - p1, p1])
        return softmax(scores, copy=False)

    def predict_log_proba(self, X):
        """Log of predict_proba, computed stably."""
        scores = self.decision_function(X).astype(np.float64)
        if scores.ndim == 1:
            return np.column_stack([-np.logaddexp(0, scores), -np.logaddexp(0, -scores)])
        m = scores.max(axis=1, keepdims=True)
        return scores - (m + np.log(np.exp(scores - m).sum(axis=1, keepdims=True)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
