"""The estimators' finiteness check of X on the kernels' threads
(csrc/fnn_finite_impl.h); fastnn.utils._validation raises scikit-learn's own
error when it finds a NaN or an infinity."""
import numpy as np

from libc.stdint cimport int64_t

cdef extern from *:
    """
    #include "fnn_common.h"
    #define FNN_F32
    #include "fnn_finite_impl.h"
    #define FNN_F64
    #include "fnn_finite_impl.h"
    """
    int fnn_all_finite_f32(const float *x, int64_t n, int n_threads) nogil
    int fnn_all_finite_f64(const double *x, int64_t n, int n_threads) nogil


def all_finite(arr, int n_threads):
    """True when every value of the float32 or float64 array is finite. The
    array must be C- or F-contiguous (its buffer is read in memory order)."""
    cdef const float[::1] f
    cdef const double[::1] d
    cdef int ok
    flat = np.ravel(arr, order="K")  # a view for a C- or F-contiguous array
    if flat.dtype == np.float32:
        f = flat
        with nogil:
            ok = fnn_all_finite_f32(&f[0] if f.shape[0] else NULL, f.shape[0], n_threads)
    elif flat.dtype == np.float64:
        d = flat
        with nogil:
            ok = fnn_all_finite_f64(&d[0] if d.shape[0] else NULL, d.shape[0], n_threads)
    else:
        raise TypeError(f"all_finite takes float32 or float64, not {arr.dtype}")
    return bool(ok)
