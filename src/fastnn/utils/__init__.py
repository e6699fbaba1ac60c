"""Utilities of the training side: gradient checking, thread counts."""
from fastnn.utils._gradcheck import check_gradients
from fastnn.utils._threads import available_cpus, effective_n_threads

__all__ = ["available_cpus", "check_gradients", "effective_n_threads"]
