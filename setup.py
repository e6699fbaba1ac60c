"""Build the C kernels (csrc/) and the Cython bridge (src/fastnn/_core/).

OpenMP: a tiny OpenMP program is compiled first; when the compiler accepts
it the kernels are built with OpenMP, otherwise they are built for one thread
and a warning says so. FASTNN_NO_OPENMP=1 forces the single-thread build.
FASTNN_CYTHON_DEBUG=1 turns Cython's bounds/wraparound checks back on.
No -march=native: what is built must run on any x86-64/ARM machine.
"""
import os
import shutil
import sys
import tempfile
import textwrap
import warnings

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

CSRC = "csrc"

# extension -> the C sources it links (headers are included from csrc/)
EXTENSIONS = {
    "fastnn._core._blas": [],
    "fastnn._core._openmp": [],
    "fastnn._core._finite": [],
    "fastnn._core._loss": ["fnn_loss.c"],
    "fastnn._core._optim": ["fnn_optim.c"],
    "fastnn._core._linear": ["fnn_linear.c", "fnn_optim.c"],
    "fastnn._core._net": ["fnn_net.c", "fnn_loss.c", "fnn_optim.c"],
    "fastnn._core._rbm": ["fnn_rbm.c"],
}


def _openmp_flags(compiler):
    """(compile, link) flags for OpenMP, or None when the compiler has none."""
    if os.environ.get("FASTNN_NO_OPENMP"):
        return None
    if compiler.compiler_type == "msvc":
        candidates = [(["/openmp"], [])]
    elif sys.platform == "darwin":
        candidates = [(["-Xpreprocessor", "-fopenmp"], ["-lomp"]), (["-fopenmp"], ["-fopenmp"])]
    else:
        candidates = [(["-fopenmp"], ["-fopenmp"])]
    code = textwrap.dedent("""
        #include <omp.h>
        int main(void) {
            int n = 0;
            #pragma omp parallel reduction(+:n)
            n += 1;
            return n > 0 ? 0 : 1;
        }
    """)
    tmp = tempfile.mkdtemp()
    try:
        src = os.path.join(tmp, "omp_test.c")
        with open(src, "w") as f:
            f.write(code)
        for cflags, lflags in candidates:
            try:
                objs = compiler.compile([src], output_dir=tmp, extra_postargs=cflags)
                compiler.link_executable(objs, "omp_test", output_dir=tmp, extra_postargs=lflags)
                return cflags, lflags
            except Exception:
                continue
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return None


class BuildExt(build_ext):
    def build_extensions(self):
        flags = _openmp_flags(self.compiler)
        if flags is None:
            warnings.warn("fastnn: this compiler has no OpenMP (or FASTNN_NO_OPENMP is set); "
                          "the kernels are built for one thread.")
            cflags, lflags = [], []
        else:
            cflags, lflags = flags
        opt = ["/O2"] if self.compiler.compiler_type == "msvc" else [
            "-O3", "-fno-math-errno", "-Wno-unused-function", "-Wno-unreachable-code"]
        for ext in self.extensions:
            ext.extra_compile_args = opt + cflags
            ext.extra_link_args = lflags
        super().build_extensions()


HEADERS = sorted(os.path.join(CSRC, f) for f in os.listdir(CSRC) if f.endswith(".h"))


def extensions():
    from Cython.Build import cythonize

    debug = bool(os.environ.get("FASTNN_CYTHON_DEBUG"))
    exts = [
        Extension(
            name,
            sources=["src/" + name.replace(".", "/") + ".pyx"]
            + [os.path.join(CSRC, c) for c in csources],
            include_dirs=[CSRC],
            # every kernel header: editing a shared body rebuilds its users
            depends=HEADERS,
        )
        for name, csources in EXTENSIONS.items()
    ]
    return cythonize(
        exts,
        compiler_directives={
            "language_level": 3,
            "boundscheck": debug,
            "wraparound": debug,
            "initializedcheck": debug,
            "cdivision": not debug,
            "embedsignature": True,
        },
        include_path=["src"],
    )


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
