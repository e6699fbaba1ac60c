"""Thread counts for the kernels, and keeping BLAS from oversubscribing.

``effective_n_threads(n_threads)`` resolves the ``n_threads`` parameter like
scikit-learn's ``_openmp_effective_n_threads``: None or -1 mean every core the
process may use (CPU affinity, cgroup CPU quota and OMP_NUM_THREADS are all
honoured), -k means all but k-1, k > 0 means k; without OpenMP it is 1.

n_threads above the usable cores is capped to them with a warning (threads
beyond the cores only wait for each other at every barrier).

Fork: GNU OpenMP's (libgomp's) worker pool does not survive ``fork``. A child
forked after this process ran a multi-threaded kernel inherits a pool whose
threads do not exist, and its first multi-threaded region in the forking
thread would wait for them for ever. So in such a child, kernels called from
that thread run on one thread (with a warning, once); other threads of the
child get a fresh pool and keep every core. The 'spawn' and 'forkserver'
start methods avoid the question.

``blas_single_thread()`` limits the BLAS library to one thread while kernels
that call BLAS from their own OpenMP threads run, so OpenMP and BLAS threads
never oversubscribe the cores.
"""
import math
import numbers
import os
import threading
import warnings
from contextlib import contextmanager

from fastnn._core import _openmp


def _cgroup_cpu_limit():
    """CPUs allowed by a cgroup v2/v1 quota, or None when unlimited."""
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            return max(1, math.ceil(int(quota) / int(period)))
        return None
    except (OSError, ValueError):
        pass
    try:
        with open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") as f:
            quota = int(f.read())
        with open("/sys/fs/cgroup/cpu/cpu.cfs_period_us") as f:
            period = int(f.read())
        if quota > 0 and period > 0:
            return max(1, math.ceil(quota / period))
    except (OSError, ValueError):
        pass
    return None


def available_cpus():
    """Cores this process may run on (affinity and cgroup quota)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    limit = _cgroup_cpu_limit()
    return min(n, limit) if limit else n


# Set once a multi-threaded kernel may have run (libgomp then has a pool);
# in a forked child, the ident of the thread that forked while it was set.
_pool_started = False
_forked_thread = None
_fork_warned = False


def _after_fork_in_child():
    global _forked_thread, _fork_warned
    _fork_warned = False
    if _pool_started:
        _forked_thread = threading.get_ident()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _fork_limited():
    """True in the thread of a forked child whose libgomp pool is stale."""
    global _fork_warned
    if _forked_thread is None or threading.get_ident() != _forked_thread:
        return False
    if not _fork_warned:
        _fork_warned = True
        warnings.warn(
            "fastnn: this process was forked after fastnn ran OpenMP threads, and GNU "
            "OpenMP's thread pool does not survive fork: kernels called from this thread "
            "run on one thread. Use the 'spawn' or 'forkserver' start method (or fit in "
            "another thread) for multi-threaded fits in worker processes.",
            RuntimeWarning, stacklevel=3)
    return True


def effective_n_threads(n_threads=None):
    """The number of threads a kernel should use for ``n_threads``."""
    global _pool_started
    if not _openmp.openmp_enabled():
        return 1
    if n_threads is not None and (not isinstance(n_threads, numbers.Integral)
                                  or isinstance(n_threads, bool) or n_threads == 0):
        raise ValueError(f"n_threads must be None or a non-zero int, got {n_threads!r}")
    cores = max(1, available_cpus())
    cap = max(1, min(cores, _openmp.omp_max_threads()))
    if n_threads is None or n_threads == -1:
        n = cap
    elif n_threads < 0:
        n = max(1, cap + 1 + int(n_threads))
    elif n_threads > cores:
        warnings.warn(f"n_threads={n_threads} is more than the {cores} cores this process may "
                      f"use; using {cores} (more threads than cores only wait for each other "
                      "at every barrier)", UserWarning, stacklevel=3)
        n = cores
    else:
        n = int(n_threads)
    if n > 1:
        if _fork_limited():
            return 1
        _pool_started = True
    return n


_controller = None
_controller_lock = threading.Lock()


def _threadpool_controller():
    global _controller
    with _controller_lock:
        if _controller is None:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
        return _controller


# One BLAS limit for the whole process while any kernel runs: the setting is
# process-wide, so nested or concurrent users share it (a count), and the
# last one out restores the original. Without the count, a fit finishing in
# one Python thread restored the BLAS threads while another thread's kernels
# still ran (their GEMMs then split differently: results 1 ulp apart), and
# the last one out could leave the process's BLAS on one thread for good.
_blas_lock = threading.Lock()
_blas_users = 0
_blas_limiter = None


def _reset_blas_limit_in_child():
    global _blas_lock, _blas_users, _blas_limiter
    _blas_lock = threading.Lock()
    _blas_users = 0
    _blas_limiter = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_blas_limit_in_child)


def _release_openblas_control():
    """threadpoolctl >= 3.6 lets one Python thread at a time set OpenBLAS's
    (process-wide) limit and silently ignores the others: a fit in a second
    thread ran its GEMMs on BLAS's threads inside the engine's, and a limit
    restored by another thread than the one that set it was lost. The count
    above decides instead, so no thread keeps that control."""
    try:
        from threadpoolctl import OpenBLASController
    except ImportError:  # pragma: no cover - older threadpoolctl: no such policy
        return
    clear = getattr(OpenBLASController, "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)


@contextmanager
def blas_single_thread(active=True):
    """Limit the BLAS library to one thread inside the block (when active)."""
    global _blas_users, _blas_limiter
    if not active:
        yield
        return
    controller = _threadpool_controller()
    with _blas_lock:
        if _blas_users == 0:
            _release_openblas_control()
            _blas_limiter = controller.limit(limits=1, user_api="blas")
            _release_openblas_control()
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0 and _blas_limiter is not None:
                _release_openblas_control()
                _blas_limiter.restore_original_limits()
                _release_openblas_control()
                _blas_limiter = None


def blas_info():
    """Descriptions of the BLAS libraries loaded in this process."""
    return [
        {k: v for k, v in lib.items() if k in ("internal_api", "version", "architecture",
                                               "num_threads", "filepath", "threading_layer")}
        for lib in _threadpool_controller().info()
        if lib.get("user_api") == "blas"
    ]
