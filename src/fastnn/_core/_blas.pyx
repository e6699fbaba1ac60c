"""The BLAS table handed to the C kernels.

fastnn never writes a GEMM: SciPy exports its Fortran BLAS (LP64) as PyCapsules
in ``scipy.linalg.cython_blas.__pyx_capi__``. This module reads the few
routines the kernels use into one ``fnn_blas`` struct at import; other Cython
modules ``cimport blas_table`` and pass the pointer down. Nothing here runs per
call. Reading the capsules at run time (rather than cimporting cython_blas)
keeps SciPy out of the build requirements.

The table also says whether the BLAS multiplies small products without packing
its operands (``small_mnk``, see ``fnn_gemm_panel`` in csrc/fnn_blas.h): true of
OpenBLAS's AVX-512 kernels only. The core OpenBLAS chose is asked of the library
that SciPy's ``cython_blas`` is linked to, so another BLAS loaded in the process
(NumPy's, say) cannot answer for it.
"""
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_GetName

from fastnn._core._fnn cimport fnn_blas

cdef extern from *:
    """
    #if defined(__unix__) || defined(__APPLE__)
    #include <dlfcn.h>
    /* OpenBLAS's core name, asked of the library that defines sym or one it
     * links to (dlsym on a handle searches its dependencies); NULL if none */
    static const char *fnn_openblas_corename(void *sym)
    {
        static const char *names[] = {"openblas_get_corename", "scipy_openblas_get_corename",
                                      "scipy_openblas_get_corename64_",
                                      "openblas_get_corename64_"};
        Dl_info info;
        const char *name = NULL;
        if (!sym || !dladdr(sym, &info) || !info.dli_fname) return NULL;
        void *lib = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);
        if (!lib) return NULL;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !name; ++i) {
            char *(*get)(void) = (char *(*)(void))dlsym(lib, names[i]);
            if (get) name = get();
        }
        dlclose(lib);
        return name;
    }
    #else
    static const char *fnn_openblas_corename(void *sym) { (void)sym; return NULL; }
    #endif
    """
    const char *fnn_openblas_corename(void *sym)

cdef fnn_blas _TABLE
cdef str _CORE = ""

# OpenBLAS cores with the unpacked small-matrix GEMM kernels (OpenBLAS's
# SMALL_MATRIX_OPT, AVX-512 only), and the size they take (M N K <= 1e6)
_SMALL_GEMM_CORES = {"skylakex", "cooperlake", "sapphirerapids"}
_SMALL_MNK = 1000000

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
    global _CORE
    cdef const char *core = fnn_openblas_corename(_TABLE.sgemm)
    _CORE = core.decode("ascii", "replace") if core != NULL else ""
    _set_gemm_panels(None)


def gemm_info():
    """(OpenBLAS core type or "" for another BLAS, whether the engine cuts small
    products into column panels for the BLAS's unpacked kernels)"""
    return _CORE, _TABLE.small_mnk > 0


def _set_gemm_panels(on):
    """Force the column panels on or off (tests: both ways give the same
    numbers); None restores the choice made from the core type."""
    if on is None:
        on = _CORE.lower() in _SMALL_GEMM_CORES
    _TABLE.small_mnk = _SMALL_MNK if on else 0


_load()

cdef const fnn_blas *blas_table() noexcept nogil:
    return &_TABLE
