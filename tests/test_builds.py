"""The single-thread build (a compiler without OpenMP) compiles, warns, and
gives the same models as the OpenMP build."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

FIT = """
import json, numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.preprocessing import StandardScaler
import fastnn
from fastnn._core._openmp import openmp_enabled
X, y = load_breast_cancer(return_X_y=True)
X = StandardScaler().fit_transform(X)
lr = fastnn.LogisticRegression(n_threads=2).fit(X, y)
Xd, yd = load_diabetes(return_X_y=True)
ridge = fastnn.LinearRegression(alpha=1.0, n_threads=2).fit(Xd, yd)
print(json.dumps({"openmp": bool(openmp_enabled()), "file": fastnn.__file__,
                  "lr": lr.coef_.ravel().tolist(), "ridge": ridge.coef_.tolist()}))
"""


def _fit_in(python_path):
    env = dict(os.environ, PYTHONPATH=str(python_path))
    out = subprocess.run([sys.executable, "-c", FIT], env=env, capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, cwd=python_path)
    # the child's traceback in the failure message: a bare CalledProcessError hides it
    assert out.returncode == 0, f"fit under {python_path} failed:\n{out.stderr[-4000:]}"
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not (ROOT / "setup.py").exists(), reason="needs the source tree")
def test_no_openmp_build_works_and_matches(tmp_path):
    pytest.importorskip("Cython")
    src = tmp_path / "fastnn-src"
    src.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "csrc", src / "csrc")
    shutil.copytree(ROOT / "src", src / "src",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "*.c", "__pycache__"))
    env = dict(os.environ, FASTNN_NO_OPENMP="1")
    build = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace", "-j", "2"],
                           cwd=src, env=env, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL)
    assert build.returncode == 0, build.stderr[-3000:]
    assert "built for one thread" in build.stderr + build.stdout

    single = _fit_in(src / "src")
    assert single["openmp"] is False
    assert single["file"].startswith(str(src))

    import fastnn  # the build under test (OpenMP where the compiler has it)
    here = _fit_in(Path(fastnn.__file__).parents[1])
    np.testing.assert_allclose(single["lr"], here["lr"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(single["ridge"], here["ridge"], rtol=1e-9)
