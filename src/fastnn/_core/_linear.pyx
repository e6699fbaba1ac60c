"""Linear-model kernels (csrc/fnn_linear.h): objective, compiled epoch, Gram.

``LinearProblem`` wraps the data of one fit (dense row-major X or CSR, y,
sample weights) without copying it and keeps the kernels' workspace, sized
once per problem and grown only when a larger batch asks for more. Each call
checks its arguments with the GIL held and runs the kernel without it.
BLAS runs inside the kernels' OpenMP regions: the caller limits the BLAS
library to one thread around these calls (fastnn.utils._threads does).
"""
import numpy as np

from libc.stdint cimport int32_t, int64_t

from fastnn._core._fnn cimport *
from fastnn._core._blas cimport blas_table
from fastnn._core._checks cimport check_rows, check_status
from fastnn._core._optim cimport UpdateRule



cdef inline int _check(int status) except -1:
    return check_status(status, "linear-model")


cdef class LinearProblem:
    """Data of a linear-model fit, as the C kernels see it.

    X: C-contiguous (n, p) float array, or a CSR matrix whose data has the
    same dtype, int32 indices and int64 indptr. y: contiguous 1-D array of
    the same dtype: (n*k) targets, or (n) class indices for the multinomial
    loss. sample_weight: (n) of the same dtype, or None.
    """
    cdef fnn_linear_problem_f32 p32
    cdef fnn_linear_problem_f64 p64
    cdef readonly bint is_f32
    cdef readonly object dtype
    cdef readonly fnn_int n_samples, n_features, n_outputs, n_params
    cdef object _keep
    cdef object _work
    cdef size_t _work_size

    def __init__(self, X, y, sample_weight, int loss, bint fit_intercept, int n_outputs):
        if n_outputs < 1:
            raise ValueError("n_outputs must be >= 1")
        self.dtype = np.dtype(X.dtype)
        self.is_f32 = self.dtype == np.float32
        if self.dtype not in (np.float32, np.float64):
            raise TypeError(f"X must be float32 or float64, got {self.dtype}")
        sparse = hasattr(X, "indptr")
        self.n_samples, self.n_features = X.shape
        self.n_outputs = n_outputs
        self.n_params = self.n_features * n_outputs + (n_outputs if fit_intercept else 0)
        ny = self.n_samples * (1 if loss == FNN_LOSS_MULTINOMIAL else n_outputs)
        if y.shape[0] != ny:
            raise ValueError(f"y has {y.shape[0]} entries, expected {ny}")
        if sample_weight is not None and sample_weight.shape[0] != self.n_samples:
            raise ValueError("sample_weight does not match X's number of rows")
        if self.n_samples < 1 or self.n_features < 1:
            raise ValueError("X must have at least one row and one column")
        if self.is_f32:
            _fill[float](self, X if not sparse else None, X.data if sparse else None,
                         X.indices if sparse else None, X.indptr if sparse else None,
                         y, sample_weight)
            self.p32.loss = loss
            self.p32.fit_intercept = fit_intercept
        else:
            _fill[double](self, X if not sparse else None, X.data if sparse else None,
                          X.indices if sparse else None, X.indptr if sparse else None,
                          y, sample_weight)
            self.p64.loss = loss
            self.p64.fit_intercept = fit_intercept
        self._keep = (X, y, sample_weight)
        self._work = None
        self._work_size = 0

    cdef void *_workspace(self, fnn_int max_rows, int n_threads):
        cdef size_t need
        if self.is_f32:
            need = fnn_linear_workspace_f32(&self.p32, max_rows, n_threads)
        else:
            need = fnn_linear_workspace_f64(&self.p64, max_rows, n_threads)
        if need > self._work_size:
            self._work = np.empty(need // 8 + 8, dtype=np.float64)
            self._work_size = need
        cdef double[::1] w = self._work
        return &w[0]

    def loss_grad(self, floating[::1] params, double scale=1.0, double[::1] grad=None,
                  const int64_t[::1] rows=None, int n_threads=1):
        """Weighted loss sum over the rows (all when rows is None); writes
        grad = scale * d(loss sum)/d(params) when grad is given."""
        cdef fnn_int m = self.n_samples if rows is None else rows.shape[0]
        cdef double loss = 0.0
        cdef int status
        cdef const int64_t *rp = NULL
        if params.shape[0] != self.n_params:
            raise ValueError(f"params has {params.shape[0]} entries, expected {self.n_params}")
        if grad is not None and grad.shape[0] != self.n_params:
            raise ValueError(f"grad has {grad.shape[0]} entries, expected {self.n_params}")
        if floating is float:
            if not self.is_f32:
                raise TypeError("params must have the dtype of X")
        elif self.is_f32:
            raise TypeError("params must have the dtype of X")
        if rows is not None:
            check_rows(rows, self.n_samples)
            if m > 0:
                rp = &rows[0]
        cdef void *work = self._workspace(m, n_threads)
        cdef double *gp = &grad[0] if grad is not None else NULL
        with nogil:
            if floating is float:
                status = fnn_linear_loss_grad_f32(&self.p32, <const fnn_int *>rp, m, &params[0],
                                                  scale, gp, &loss, work, self._work_size,
                                                  blas_table(), n_threads)
            else:
                status = fnn_linear_loss_grad_f64(&self.p64, <const fnn_int *>rp, m, &params[0],
                                                  scale, gp, &loss, work, self._work_size,
                                                  blas_table(), n_threads)
        _check(status)
        return loss

    def epoch(self, const int64_t[::1] perm, fnn_int batch_size, double sw_mean,
              UpdateRule rule, double lr, double l2, int64_t t, floating[::1] params,
              floating[::1] grad, floating[::1] state, int n_threads=1):
        """One epoch of mini-batch steps over ``perm``; returns (loss sum, t)."""
        cdef double loss = 0.0
        cdef int status
        cdef fnn_int n = perm.shape[0]
        if floating is float:
            if not self.is_f32:
                raise TypeError("params must have the dtype of X")
        elif self.is_f32:
            raise TypeError("params must have the dtype of X")
        if params.shape[0] != self.n_params or grad.shape[0] != self.n_params:
            raise ValueError("params and grad must have n_params entries")
        if state.shape[0] != self.n_params * rule.state_per_param:
            raise ValueError("state has the wrong size for this update rule")
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        check_rows(perm, self.n_samples)
        if n == 0:
            return 0.0, t
        cdef void *work = self._workspace(min(batch_size, n), n_threads)
        with nogil:
            if floating is float:
                status = fnn_linear_epoch_f32(&self.p32, <const fnn_int *>&perm[0], n, batch_size,
                                              sw_mean, &rule.c, lr, l2, &t, &params[0],
                                              &grad[0], &state[0], &loss, work,
                                              self._work_size, blas_table(), n_threads)
            else:
                status = fnn_linear_epoch_f64(&self.p64, <const fnn_int *>&perm[0], n, batch_size,
                                              sw_mean, &rule.c, lr, l2, &t, &params[0],
                                              &grad[0], &state[0], &loss, work,
                                              self._work_size, blas_table(), n_threads)
        _check(status)
        return loss, t


cdef int _fill(LinearProblem self, const floating[:, ::1] X, const floating[::1] data,
               const int32_t[::1] indices, const int64_t[::1] indptr, const floating[::1] y,
               const floating[::1] sw) except -1:
    cdef fnn_int i, p = self.n_features
    cdef bint bad = False
    if X is None:
        if (indptr.shape[0] != self.n_samples + 1 or indices.shape[0] != data.shape[0]
                or indptr[0] != 0 or indptr[self.n_samples] > data.shape[0]):
            raise ValueError("malformed CSR matrix")
        with nogil:
            for i in range(self.n_samples):
                if indptr[i + 1] < indptr[i]:
                    bad = True
            for i in range(indices.shape[0]):
                if indices[i] < 0 or indices[i] >= p:
                    bad = True
        if bad:
            raise ValueError("malformed CSR matrix: decreasing indptr or column index out of range")
    cdef const floating *Xp = &X[0, 0] if X is not None else NULL
    cdef const floating *dp = &data[0] if data is not None and data.shape[0] > 0 else NULL
    cdef const int32_t *ip = &indices[0] if indices is not None and indices.shape[0] > 0 else NULL
    cdef const int64_t *pp = &indptr[0] if indptr is not None else NULL
    cdef const floating *swp = &sw[0] if sw is not None else NULL
    if floating is float:
        self.p32.n_samples, self.p32.n_features, self.p32.n_outputs = self.n_samples, p, self.n_outputs
        self.p32.X, self.p32.ldx, self.p32.data, self.p32.indices = Xp, p, dp, ip
        self.p32.indptr, self.p32.y, self.p32.sw = pp, &y[0], swp
    else:
        self.p64.n_samples, self.p64.n_features, self.p64.n_outputs = self.n_samples, p, self.n_outputs
        self.p64.X, self.p64.ldx, self.p64.data, self.p64.indices = Xp, p, dp, ip
        self.p64.indptr, self.p64.y, self.p64.sw = pp, &y[0], swp
    return 0


def gram(const floating[:, ::1] X, const floating[:, ::1] Y, const floating[::1] sw,
         const double[::1] x_mean, const double[::1] y_mean, int n_threads=1):
    """(Xc^T S Xc, Xc^T S Yc) in float64 for centred X, Y and S = diag(sw)."""
    cdef fnn_int n = X.shape[0], p = X.shape[1], k = Y.shape[1]
    cdef size_t need
    cdef int status
    if Y.shape[0] != n or (sw is not None and sw.shape[0] != n):
        raise ValueError("X, Y and sample_weight must have the same number of rows")
    if x_mean.shape[0] != p or y_mean.shape[0] != k:
        raise ValueError("means do not match X and Y")
    if n < 1 or p < 1:
        raise ValueError("X must have at least one row and one column")
    G = np.empty((p, p))
    XtY = np.empty((p, max(k, 1)))
    cdef double[:, ::1] Gv = G
    cdef double[:, ::1] XtYv = XtY
    if floating is float:
        need = fnn_linear_gram_workspace_f32(n, p, k, n_threads)
    else:
        need = fnn_linear_gram_workspace_f64(n, p, k, n_threads)
    work = np.empty(need // 8 + 8)
    cdef double[::1] wv = work
    cdef const floating *swp = &sw[0] if sw is not None else NULL
    cdef const floating *yp = &Y[0, 0] if k > 0 else NULL
    cdef const double *ymp = &y_mean[0] if k > 0 else NULL
    with nogil:
        if floating is float:
            status = fnn_linear_gram_f32(n, p, &X[0, 0], p, yp, k, swp, &x_mean[0], ymp,
                                         &Gv[0, 0], &XtYv[0, 0], &wv[0], need, blas_table(),
                                         n_threads)
        else:
            status = fnn_linear_gram_f64(n, p, &X[0, 0], p, yp, k, swp, &x_mean[0], ymp,
                                         &Gv[0, 0], &XtYv[0, 0], &wv[0], need, blas_table(),
                                         n_threads)
    _check(status)
    iu = np.triu_indices(p, 1)
    G[(iu[1], iu[0])] = G[iu]
    return G, XtY[:, :k]
