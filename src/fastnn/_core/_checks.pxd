# Argument checks shared by the bridge modules (inline: no module of its own).
from libc.stdint cimport int64_t

from fastnn._core._fnn cimport FNN_EWORK, FNN_OK, fnn_int


cdef inline int check_rows(const int64_t[::1] rows, fnn_int n) except -1:
    """Every row index lies in [0, n)."""
    cdef fnn_int i, bad = 0
    with nogil:
        for i in range(rows.shape[0]):
            if rows[i] < 0 or rows[i] >= n:
                bad = 1
                break
    if bad:
        raise ValueError(f"row indices must lie in [0, {n})")
    return 0


cdef inline int check_status(int status, str what) except -1:
    """Turn a kernel's status into the matching Python error."""
    if status == FNN_EWORK:
        raise RuntimeError(f"fastnn internal error: {what} workspace too small")
    if status != FNN_OK:
        raise ValueError(f"invalid arguments to the {what} kernels "
                         "(e.g. a class index outside [0, n_classes))")
    return 0
