"""Update rules and learning-rate schedules, apart from layers.

Optimizers (``SGD``, ``Adam``, ``RMSprop``, ``Adagrad``, ``Adadelta``) carry
their hyper-parameters and run as one fused C + OpenMP loop over a model's
flat parameter buffer with L2 folded in. Schedules (``Constant``,
``InvScaling``, ``Adaptive``, ``TimeBased``, ``StepDecay``,
``ExponentialDecay``) only return a learning rate per epoch.
"""
from fastnn.optimizers._rules import (
    FIRST_ORDER_SOLVERS, SGD, SOLVERS, Adadelta, Adagrad, Adam, Optimizer, RMSprop,
    get_optimizer, is_first_order,
)
from fastnn.optimizers._schedules import (
    Adaptive, Constant, ExponentialDecay, InvScaling, Schedule, StepDecay, TimeBased,
    get_schedule,
)

__all__ = [
    "Optimizer", "SGD", "Adam", "RMSprop", "Adagrad", "Adadelta",
    "Schedule", "Constant", "InvScaling", "Adaptive", "TimeBased", "StepDecay",
    "ExponentialDecay", "get_optimizer", "get_schedule", "SOLVERS", "FIRST_ORDER_SOLVERS",
    "is_first_order",
]
