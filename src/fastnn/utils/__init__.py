"""Utilities of the training side: gradient checking, thread counts,
training curves as pictures."""
from fastnn.utils._gradcheck import check_gradients
from fastnn.utils._plot import LearningCurveDisplay, save_curves
from fastnn.utils._threads import available_cpus, effective_n_threads

__all__ = ["LearningCurveDisplay", "available_cpus", "check_gradients", "effective_n_threads",
           "save_curves"]
