"""The GEMM column panels (csrc/fnn_blas.h fnn_gemm_panel): the engine cuts
small products into column panels only for a BLAS with unpacked small-matrix
kernels (OpenBLAS's AVX-512 cores). Whichever way the machine decides, both
ways are run here on the layers that use them, and must give the same numbers
(only the BLAS kernel changes, so float64 agrees to rounding)."""
import numpy as np
import pytest
from threadpoolctl import threadpool_info

from fastnn import BernoulliRBM
from fastnn._core import _blas
from fastnn.datasets import check_trees, to_array
from fastnn.layers import Dense, TreeEncoder
from fastnn.nn._network import Network
from fastnn.utils._threads import blas_single_thread


@pytest.fixture
def panels():
    yield _blas._set_gemm_panels
    _blas._set_gemm_panels(None)


def test_the_core_type_is_scipys_openblas():
    core, on = _blas.gemm_info()
    scipy_libs = [lib for lib in threadpool_info() if lib.get("internal_api") == "openblas"
                  and "scipy" in str(lib.get("filepath", "")).lower()
                  and "numpy" not in str(lib.get("filepath", "")).lower()]
    if len(scipy_libs) == 1:
        assert core == scipy_libs[0].get("architecture")
    assert on == (core.lower() in {"skylakex", "cooperlake", "sapphirerapids"})


def _grads(panels, net, X, y, p, n_threads, on):
    panels(on)
    g = np.zeros_like(p)
    with blas_single_thread():
        loss = net.net.loss_grad(X, y, None, p, np.zeros(net.n_stats, X.dtype), g,
                                 n_threads=n_threads)[0]
    return loss, g


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("batch", [10, 32, 64])
def test_dense_layers_give_the_same_gradient_either_way(panels, dtype, n_threads, batch):
    # 784 -> 256 at batch 10: 112-column panels, 32: 32-column, 64: whole (256 -> 96: 48)
    rng = np.random.RandomState(0)
    net = Network([Dense(256, "relu"), Dense(96, "tanh"), Dense(5)], (784,), "multinomial")
    p = (rng.normal(scale=0.1, size=net.n_params)).astype(dtype)
    X = rng.normal(size=(batch, 784)).astype(dtype)
    y = rng.randint(0, 5, batch).astype(dtype)
    l1, g1 = _grads(panels, net, X, y, p, n_threads, True)
    l0, g0 = _grads(panels, net, X, y, p, n_threads, False)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    assert abs(l1 - l0) <= tol * abs(l0)
    np.testing.assert_allclose(g1, g0, rtol=tol * 10, atol=tol * np.abs(g0).max())


def _random_tree(rng, depth, V):
    if depth == 0 or rng.rand() < 0.2:
        return int(rng.randint(V))
    return (_random_tree(rng, depth - 1, V), _random_tree(rng, depth - 1, V))


@pytest.mark.parametrize("n_threads", [1, 2])
def test_tree_levels_give_the_same_gradient_either_way(panels, n_threads):
    # hidden 160: a level of a few dozen nodes multiplies (rows x 320)(320 x 800)
    # in 32-column-multiple panels
    rng = np.random.RandomState(0)
    X = to_array(check_trees([_random_tree(rng, 5, 10) for _ in range(40)]))
    X = np.ascontiguousarray(X.reshape(len(X), -1), dtype=np.float64)
    y = rng.randint(0, 5, len(X)).astype(np.float64)
    net = Network([TreeEncoder(10, 160, 16, cell="lstm"), Dense(5)], (X.shape[1] // 3, 3),
                  "multinomial")
    p = rng.normal(scale=0.1, size=net.n_params)
    l1, g1 = _grads(panels, net, X, y, p, n_threads, True)
    l0, g0 = _grads(panels, net, X, y, p, n_threads, False)
    assert abs(l1 - l0) <= 1e-12 * abs(l0)
    np.testing.assert_allclose(g1, g0, rtol=1e-10, atol=1e-12 * np.abs(g0).max())


def test_rbm_fits_the_same_either_way(panels):
    rng = np.random.RandomState(0)
    X = (rng.uniform(size=(100, 784)) < 0.3).astype(np.float64)  # 112-column panels
    fits = []
    for on in (True, False):
        panels(on)
        fits.append(BernoulliRBM(n_components=256, n_iter=2, random_state=0).fit(X))
    np.testing.assert_allclose(fits[0].components_, fits[1].components_, rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(fits[0].intercept_hidden_, fits[1].intercept_hidden_,
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("core, avx512, env, panels_line, note", [
    ("SkylakeX", True, None, "yes", None), ("Haswell", True, "Haswell", "no", "in the env"),
    ("Haswell", True, None, "no", "OpenBLAS chose"), ("Haswell", False, None, "no", None),
    ("Zen", True, None, "no", "OpenBLAS chose"), ("", True, None, "no", None)])
def test_show_config_says_the_panel_choice_and_when_avx512_goes_unused(
        monkeypatch, core, avx512, env, panels_line, note):
    import io

    import fastnn

    monkeypatch.setattr(_blas, "gemm_info", lambda: (core, panels_line == "yes"))
    monkeypatch.setattr(fastnn, "_cpu_has_avx512", lambda: avx512)
    if env is None:
        monkeypatch.delenv("OPENBLAS_CORETYPE", raising=False)
    else:
        monkeypatch.setenv("OPENBLAS_CORETYPE", env)
    out = io.StringIO()
    fastnn.show_config(file=out)
    text = out.getvalue()
    assert f"small GEMMs in column panels: {panels_line} " in text
    assert ("OPENBLAS_CORETYPE=SkylakeX" in text) == (note is not None)
    if note is not None:
        assert note in text
