from fastnn._core._fnn cimport fnn_blas

cdef const fnn_blas *blas_table() noexcept nogil
