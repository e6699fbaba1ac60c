from fastnn._core._fnn cimport fnn_optim

cdef class UpdateRule:
    cdef fnn_optim c
    cdef readonly str name
