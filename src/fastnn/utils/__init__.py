"""Utilities of the training side: thread counts and configuration."""
from fastnn.utils._threads import available_cpus, effective_n_threads

__all__ = ["available_cpus", "effective_n_threads"]
