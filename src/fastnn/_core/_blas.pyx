"""The BLAS table handed to the C kernels.

fastnn never writes a GEMM: SciPy exports its Fortran BLAS (LP64) as PyCapsules
in ``scipy.linalg.cython_blas.__pyx_capi__``. This module reads the few
routines the kernels use into one ``fnn_blas`` struct at import; other Cython
modules ``cimport blas_table`` and pass the pointer down. Nothing here runs per
call. Reading the capsules at run time (rather than cimporting cython_blas)
keeps SciPy out of the build requirements.
"""
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_GetName

from fastnn._core._fnn cimport fnn_blas

cdef fnn_blas _TABLE

cdef void *_routine(dict capi, str name) except NULL:
    cap = capi[name]
    return PyCapsule_GetPointer(cap, PyCapsule_GetName(cap))

def _load():
    from scipy.linalg import cython_blas
    cdef dict capi = cython_blas.__pyx_capi__
    _TABLE.sgemm = _routine(capi, "sgemm")
    _TABLE.dgemm = _routine(capi, "dgemm")
    _TABLE.ssyrk = _routine(capi, "ssyrk")
    _TABLE.dsyrk = _routine(capi, "dsyrk")

_load()

cdef const fnn_blas *blas_table() noexcept nogil:
    return &_TABLE
