"""The SIMD dispatch: FASTNN_SIMD caps the path the dispatched kernels run
(batch norm rows, optimizer updates, linear-model rows), every path computes
the same thing within rounding, and the suite itself runs once per path in
.ci/run. Each path runs in a subprocess, since the choice is made once per
process."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler
    from fastnn import LogisticRegression, MLPClassifier
    from fastnn._core import _openmp
    from fastnn._core._optim import UpdateRule

    out = {"level": _openmp.simd_level()}
    rng = np.random.default_rng(0)
    p = rng.normal(size=1001)
    rule = UpdateRule("adam")
    state = np.zeros(2 * p.size)
    for t in range(1, 4):
        rule.step(p, rng.normal(size=p.size), state, 0.01, t, 0.01, 500, 1)
    out["adam"] = p.tolist()
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)[:600]
    y = y[:600]
    mlp = MLPClassifier(hidden_layer_sizes=(33,), batch_norm=True, max_iter=3,
                        random_state=0, n_threads=1).fit(X, y)
    out["mlp"] = mlp.predict_proba(X[:50]).tolist()
    yb = (y > 4).astype(int)
    lr = LogisticRegression(solver="sgd", max_iter=3, random_state=0, n_threads=1).fit(X, yb)
    out["logistic"] = lr.coef_.ravel().tolist()
    json.dump(out, sys.stdout)
""")


def run_with(level):
    env = dict(os.environ)
    if level is None:
        env.pop("FASTNN_SIMD", None)
    else:
        env["FASTNN_SIMD"] = level
    res = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def runs():
    return {level: run_with(level) for level in (None, "avx512", "avx2", "baseline")}


def cpu_level():
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = line
                    break
    except OSError:
        pytest.skip("no /proc/cpuinfo")
    have = set(flags.split())
    import platform

    if platform.machine() not in ("x86_64", "AMD64"):
        return "baseline"
    if {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= have:
        return "avx512"
    if {"avx2", "fma"} <= have:
        return "avx2"
    return "baseline"


def test_environment_caps_the_path(runs):
    order = ["baseline", "avx2", "avx512"]
    best = cpu_level()
    assert runs[None]["level"] == best
    for cap in order:
        want = order[min(order.index(cap), order.index(best))]
        assert runs[cap]["level"] == want


@pytest.mark.parametrize("key", ["adam", "mlp", "logistic"])
def test_every_path_computes_the_same(runs, key):
    ref = np.asarray(runs["baseline"][key])
    for level in ("avx2", "avx512", None):
        # float64 throughout: paths differ only by FMA contraction and the
        # order of SIMD partial sums
        np.testing.assert_allclose(np.asarray(runs[level][key]), ref, rtol=1e-9, atol=1e-11)


def test_unknown_value_warns():
    env = dict(os.environ, FASTNN_SIMD="sse9")
    res = subprocess.run([sys.executable, "-W", "always", "-c", "import fastnn"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0
    assert "FASTNN_SIMD='sse9'" in res.stderr


def test_kernels_leave_the_floating_point_mode_as_they_found_it():
    """The compiled regions flush denormals to zero while they run (x86:
    FTZ/DAZ in MXCSR, per thread) and put the mode back: NumPy in this
    thread still makes subnormals after a fit, on one thread and on two."""
    import warnings

    import numpy as np
    from sklearn.datasets import load_digits

    import fastnn

    X, y = load_digits(return_X_y=True)
    tiny = np.float32(1e-38)
    for n_threads in (1, 2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fastnn.MLPClassifier((8,), max_iter=2, n_threads=n_threads).fit(X, y)
            fastnn.BernoulliRBM(n_components=4, n_iter=1, n_threads=n_threads).fit(X / 16)
            fastnn.LogisticRegression(solver="adam", max_iter=2,
                                      n_threads=n_threads).fit(X / 16, y)
            fastnn.LogisticRegression(max_iter=5, n_threads=n_threads).fit(X / 16, y)
        assert tiny * np.float32(0.5) > 0  # a subnormal, not flushed
        assert np.float32(1e-45) > 0
