"""Persistent contrastive divergence for a Bernoulli RBM (csrc/fnn_rbm.h).

``rbm_fit`` runs one pass over the rows of X in place on W, the two biases
and the persistent chains, with the GIL released; the caller limits the BLAS
library to one thread around it (the C team calls BLAS from its threads).
"""
import numpy as np

from libc.stdint cimport uint64_t

from fastnn._core._fnn cimport *
from fastnn._core._blas cimport blas_table
from fastnn._core._checks cimport check_status


def rbm_team_size(fnn_int F, fnn_int K, fnn_int B, fnn_int C, int n_threads):
    """Threads the pass would use."""
    return fnn_rbm_team_size(F, K, B, C, n_threads)


def rbm_fit(const floating[:, ::1] X, floating[:, ::1] W, floating[::1] bh,
            floating[::1] bv, floating[:, ::1] H, double learning_rate, fnn_int batch_size,
            uint64_t seed, uint64_t batch0, int n_threads, u_vis=None, u_hid=None):
    """One pass of PCD over X's batches of ``batch_size`` rows (see fnn_rbm.h).

    The uniforms of batch b are a hash of (seed, batch0 + b, element) unless
    u_vis (n_batches x C x F) and u_hid (n_batches x C x K) give them."""
    cdef fnn_int n = X.shape[0], F = X.shape[1], K = W.shape[0], C = H.shape[0]
    cdef fnn_int nb = (n + batch_size - 1) // batch_size if batch_size > 0 else 0
    cdef const double[::1] uv, uh
    cdef const double *puv = NULL
    cdef const double *puh = NULL
    cdef floating[::1] work
    cdef double[::1] acc
    cdef fnn_int ws
    cdef int status
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    if W.shape[1] != F or bh.shape[0] != K or bv.shape[0] != F or H.shape[1] != K or C < 1:
        raise ValueError(f"shapes do not agree: X {n}x{F}, W {K}x{W.shape[1]}, "
                         f"bh {bh.shape[0]}, bv {bv.shape[0]}, H {C}x{H.shape[1]}")
    if (u_vis is None) != (u_hid is None):
        raise ValueError("give both u_vis and u_hid, or neither")
    if u_vis is not None:
        uv = np.ascontiguousarray(u_vis, dtype=np.float64).ravel()
        uh = np.ascontiguousarray(u_hid, dtype=np.float64).ravel()
        if uv.shape[0] != nb * C * F or uh.shape[0] != nb * C * K:
            raise ValueError(f"u_vis needs {nb * C * F} uniforms and u_hid {nb * C * K}")
        if nb > 0:
            puv = &uv[0]
            puh = &uh[0]
    if n == 0:
        return
    ws = fnn_rbm_work_size(F, K, batch_size, C)
    work = np.empty(ws, dtype=np.float32 if floating is float else np.float64)
    acc = np.empty(F + K)
    with nogil:
        if floating is float:
            status = fnn_rbm_fit_f32(blas_table(), n, F, K, batch_size, C, &X[0, 0], &W[0, 0],
                                     &bh[0], &bv[0], &H[0, 0], learning_rate, seed, batch0,
                                     puv, puh, &work[0], ws, &acc[0],
                                     n_threads)
        else:
            status = fnn_rbm_fit_f64(blas_table(), n, F, K, batch_size, C, &X[0, 0], &W[0, 0],
                                     &bh[0], &bv[0], &H[0, 0], learning_rate, seed, batch0,
                                     puv, puh, &work[0], ws, &acc[0],
                                     n_threads)
    check_status(status, "RBM")
