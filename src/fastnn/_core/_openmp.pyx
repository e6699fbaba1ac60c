"""OpenMP and SIMD facts of this build (fastnn.utils reads them to resolve
n_threads; show_config prints them)."""

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int fnn_openmp_enabled(void) { return 1; }
    static int fnn_omp_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int fnn_openmp_enabled(void) { return 0; }
    static int fnn_omp_max_threads(void) { return 1; }
    #endif
    """
    int fnn_openmp_enabled() nogil
    int fnn_omp_max_threads() nogil

cdef extern from "fnn_common.h":
    int fnn_simd_level() nogil

SIMD_LEVELS = ("baseline", "avx2", "avx512")


def openmp_enabled():
    """True when the kernels were compiled with OpenMP."""
    return bool(fnn_openmp_enabled())


def omp_max_threads():
    """OpenMP's default team size (honours OMP_NUM_THREADS); 1 without OpenMP."""
    return fnn_omp_max_threads()


def simd_level():
    """The SIMD path of the dispatched kernels: "avx512", "avx2" or "baseline"
    (the best this CPU has, capped by the FASTNN_SIMD environment variable)."""
    return SIMD_LEVELS[fnn_simd_level()]
