"""Thread counts: the cap at the usable cores, and fits in a child forked after
a multi-threaded fit (GNU OpenMP's pool does not survive fork)."""
import multiprocessing
import queue as queue_module
import sys
import threading
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits

from fastnn import LogisticRegression, MLPClassifier
from fastnn._core import _openmp
from fastnn.utils import available_cpus, effective_n_threads
from fastnn.utils._threads import _threadpool_controller, blas_single_thread

needs_two = pytest.mark.skipif(
    not _openmp.openmp_enabled() or available_cpus() < 2 or _openmp.omp_max_threads() < 2,
    reason="needs OpenMP and two usable cores")


def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def mlp(n_threads):
    # wide enough that the engine really runs a two-thread team
    return MLPClassifier(hidden_layer_sizes=(512,), max_iter=2, random_state=0,
                         n_threads=n_threads)


def test_n_threads_above_the_cores_is_capped_with_a_warning():
    cores = available_cpus()
    with pytest.warns(UserWarning, match=f"n_threads={cores + 62} is more than the {cores}"):
        n = effective_n_threads(cores + 62)
    assert n == (cores if _openmp.openmp_enabled() else 1) or not _openmp.openmp_enabled()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert effective_n_threads(1) == 1
        assert 1 <= effective_n_threads(None) <= cores


@pytest.mark.parametrize("bad", [0, 1.5, "2", True])
def test_bad_n_threads_is_named(bad):
    with pytest.raises(ValueError, match="n_threads"):
        effective_n_threads(bad)


def test_estimators_warn_and_cap():
    X, y = digits()
    with pytest.warns(UserWarning, match="n_threads=64 is more than"):
        MLPClassifier(hidden_layer_sizes=(8,), max_iter=1, n_threads=64).fit(X, y)
    with pytest.warns(UserWarning, match="n_threads=64 is more than"):
        LogisticRegression(n_threads=64).fit(X, y > 4)


def _child_fit(queue, in_thread):
    X, y = digits()
    out = {}

    def fit():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est = mlp(2).fit(X, y)
        out["coef"] = est.coefs_[0]
        out["fork_warning"] = any("forked" in str(w.message) for w in caught)

    if in_thread:
        t = threading.Thread(target=fit)
        t.start()
        t.join()
    else:
        fit()
    queue.put(out)


@needs_two
@pytest.mark.skipif(sys.platform != "linux", reason="the fork start method is Linux's")
@pytest.mark.parametrize("in_thread", [False, True])
def test_fit_in_a_child_forked_after_a_threaded_fit(in_thread):
    X, y = digits()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parent = mlp(2).fit(X, y)  # the parent's libgomp now has a worker pool
        serial = mlp(1).fit(X, y)
    assert parent.network_.net.team_size(200, 2) == 2  # needs_two: OpenMP is there
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child_fit, args=(queue, in_thread))
    proc.start()
    try:
        out = queue.get(timeout=120)  # read before join: the result fills the pipe
    except queue_module.Empty:  # the deadlock this guards against
        proc.kill()
        proc.join()
        pytest.fail("a fit in the forked child did not return within 120 s")
    proc.join(30)
    assert proc.exitcode == 0
    # from the forking thread: one thread and a warning saying why; from a new
    # thread of the child: a fresh pool, two threads, no warning. Either way
    # the same model as in the parent (the engine's result does not depend
    # on the thread count beyond rounding)
    assert out["fork_warning"] is (not in_thread)
    np.testing.assert_allclose(out["coef"], serial.coefs_[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(out["coef"], parent.coefs_[0], rtol=1e-9, atol=1e-12)


def blas_threads():
    return [lib["num_threads"] for lib in _threadpool_controller().info()
            if lib["user_api"] == "blas"]


def test_blas_limit_is_shared_by_concurrent_users():
    """The BLAS limit is process-wide: a user that leaves while another is
    inside must not lift it, and the last one out restores the original."""
    original = blas_threads()
    if not original or max(original) < 2:
        pytest.skip("BLAS already runs on one thread")
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def a():
        with blas_single_thread():
            a_in.set()
            b_in.wait(10)
        a_out.set()

    def b():
        a_in.wait(10)
        with blas_single_thread():
            b_in.set()
            a_out.wait(10)
            seen["inside_after_a_left"] = blas_threads()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(n == 1 for n in seen["inside_after_a_left"]), (seen, original)
    assert blas_threads() == original


def test_concurrent_fits_leave_blas_as_they_found_it():
    original = blas_threads()
    X, y = digits()

    def fit():
        for _ in range(3):
            MLPClassifier(hidden_layer_sizes=(16,), max_iter=1, random_state=0).fit(X, y)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        threads = [threading.Thread(target=fit) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert blas_threads() == original
