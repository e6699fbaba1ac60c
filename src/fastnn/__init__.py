"""fastnn: linear models and neural networks trained on the CPU by compiled
C + OpenMP kernels, behind the scikit-learn estimator API."""
__version__ = "0.1.0"

import os as _os
import warnings as _warnings

from fastnn._core._openmp import SIMD_LEVELS as _SIMD_LEVELS  # noqa: E402

if _os.environ.get("FASTNN_SIMD", "") not in ("", *_SIMD_LEVELS):
    _warnings.warn(f"FASTNN_SIMD={_os.environ['FASTNN_SIMD']!r} is not one of "
                   f"{', '.join(map(repr, _SIMD_LEVELS))}; it is ignored (the best SIMD path "
                   "is used)", RuntimeWarning, stacklevel=2)

from fastnn._onnx import register_skl2onnx, to_onnx  # noqa: E402
from fastnn.linear_model import LinearRegression, LogisticRegression  # noqa: E402
from fastnn.neural_network import (  # noqa: E402
    Autoencoder, BernoulliRBM, MLPClassifier, MLPRegressor, NeuralNetClassifier, NeuralNetRegressor,
    TreeNetClassifier, TreeNetRegressor, pretrain,
)


def _cpu_has_avx512():
    """True when /proc/cpuinfo lists avx512f (False where it cannot be read)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return "avx512f" in line.split()
    except OSError:
        pass
    return False


def show_config(file=None):
    """Print the version, OpenMP status, thread count and the BLAS in use."""
    import os
    import platform

    import numpy
    import scipy
    import sklearn

    from fastnn._core import _blas, _openmp
    from fastnn.utils._threads import available_cpus, blas_info, effective_n_threads

    lines = [
        f"fastnn {__version__}",
        f"python {platform.python_version()}, numpy {numpy.__version__}, "
        f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}",
        f"OpenMP: {'enabled' if _openmp.openmp_enabled() else 'disabled (one thread)'}",
        f"SIMD kernels: {_openmp.simd_level()} (FASTNN_SIMD="
        f"{os.environ.get('FASTNN_SIMD', '') or 'unset'})",
        f"threads: {effective_n_threads(None)} (usable cores {available_cpus()}, "
        f"OpenMP max {_openmp.omp_max_threads()})",
    ]
    core, panels = _blas.gemm_info()
    lines.append(f"small GEMMs in column panels: {'yes' if panels else 'no'} (OpenBLAS core "
                 f"type of SciPy's BLAS: {core or 'n/a'})")
    if core.lower() in ("haswell", "zen") and _cpu_has_avx512():
        forced = os.environ.get("OPENBLAS_CORETYPE")
        why = (f"OPENBLAS_CORETYPE={forced} in the environment makes" if forced else
               "OpenBLAS chose")
        lines.append(f"note: this CPU has AVX-512, but {why} SciPy's OpenBLAS run its {core} "
                     "(AVX2) kernels; its SkylakeX ones (OPENBLAS_CORETYPE=SkylakeX, set "
                     "before Python starts) multiply 1.5-2x faster on the AVX-512 CPUs measured")
    for lib in blas_info() or [{"internal_api": "unknown", "filepath": ""}]:
        folder = os.path.basename(os.path.dirname(str(lib.get("filepath", ""))))
        role = ("used by the kernels (SciPy's, via scipy.linalg.cython_blas)"
                if folder.lower().startswith("scipy") else "also loaded")
        lines.append(f"BLAS {role}: " + ", ".join(f"{k}={v}" for k, v in lib.items()))
    print("\n".join(lines), file=file)


__all__ = ["Autoencoder", "BernoulliRBM", "LinearRegression", "LogisticRegression",
           "MLPClassifier", "MLPRegressor", "NeuralNetClassifier", "NeuralNetRegressor",
           "TreeNetClassifier", "TreeNetRegressor", "pretrain", "register_skl2onnx",
           "show_config", "to_onnx", "__version__"]
