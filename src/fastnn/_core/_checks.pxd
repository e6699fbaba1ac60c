# Argument checks shared by the bridge modules (inline: no module of its own).
from libc.stdint cimport int64_t

from fastnn._core._fnn cimport fnn_int


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
