"""Thread counts for the kernels, and keeping BLAS from oversubscribing.

``effective_n_threads(n_threads)`` resolves the ``n_threads`` parameter like
scikit-learn's ``_openmp_effective_n_threads``: None or -1 mean every core the
process may use (CPU affinity, cgroup CPU quota and OMP_NUM_THREADS are all
honoured), -k means all but k-1, k > 0 means k; without OpenMP it is 1.

``blas_single_thread()`` limits the BLAS library to one thread while kernels
that call BLAS from their own OpenMP threads run, so OpenMP and BLAS threads
never oversubscribe the cores.
"""
import math
import os
import threading
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


def effective_n_threads(n_threads=None):
    """The number of threads a kernel should use for ``n_threads``."""
    if not _openmp.openmp_enabled():
        return 1
    if n_threads is not None and (not isinstance(n_threads, int) or n_threads == 0):
        raise ValueError(f"n_threads must be None or a non-zero int, got {n_threads!r}")
    cap = min(available_cpus(), _openmp.omp_max_threads())
    if n_threads is None or n_threads == -1:
        return max(1, cap)
    if n_threads < 0:
        return max(1, cap + 1 + n_threads)
    return n_threads


_controller = None
_controller_lock = threading.Lock()


def _threadpool_controller():
    global _controller
    with _controller_lock:
        if _controller is None:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
        return _controller


@contextmanager
def blas_single_thread(active=True):
    """Limit the BLAS library to one thread inside the block (when active)."""
    if not active:
        yield
        return
    with _threadpool_controller().limit(limits=1, user_api="blas"):
        yield


def blas_info():
    """Descriptions of the BLAS libraries loaded in this process."""
    return [
        {k: v for k, v in lib.items() if k in ("internal_api", "version", "num_threads",
                                               "filepath", "threading_layer")}
        for lib in _threadpool_controller().info()
        if lib.get("user_api") == "blas"
    ]
