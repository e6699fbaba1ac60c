"""Learning-rate schedules: they only map (lr0, epoch, samples seen) to a rate.

A schedule holds no state beyond its hyper-parameters (the trainer keeps the
counters), so the same object can be reused and cloned. The trainer talks
to it through two calls: ``next_rate(lr0, lr, epoch, samples_seen)`` after
every epoch (``epoch`` counts completed epochs from 0), and
``on_plateau(lr)`` when the watched loss or score stopped improving: the
rate to go on with, or None to stop (every schedule but ``Adaptive``).
``Adaptive`` is scikit-learn's: the rate is divided by 5 each time the loss
stops improving, and training stops once it falls below 1e-6.
"""
import math

from sklearn.base import BaseEstimator

from fastnn.optimizers._rules import _check_range


class Schedule(BaseEstimator):
    def __call__(self, lr0, epoch, samples_seen):
        raise NotImplementedError

    def next_rate(self, lr0, lr, epoch, samples_seen):
        """The rate of the next epoch, given the current one ``lr``."""
        return self(lr0, epoch, samples_seen)

    def on_plateau(self, lr):
        """The rate to go on with once the fit stopped improving, or None to
        stop."""
        return None

    def _validate(self):
        pass


class Constant(Schedule):
    """lr = lr0."""

    def __call__(self, lr0, epoch, samples_seen):
        return lr0


class InvScaling(Schedule):
    """scikit-learn's 'invscaling': lr = lr0 / (samples_seen + 1) ** power_t."""

    def __init__(self, power_t=0.5):
        self.power_t = power_t

    def _validate(self):
        _check_range("power_t", self.power_t, 0)

    def __call__(self, lr0, epoch, samples_seen):
        return lr0 / (samples_seen + 1) ** self.power_t


class TimeBased(Schedule):
    """Time-based decay: lr = lr0 / (1 + decay * epoch)."""

    def __init__(self, decay=0.01):
        self.decay = decay

    def _validate(self):
        _check_range("decay", self.decay, 0)

    def __call__(self, lr0, epoch, samples_seen):
        return lr0 / (1.0 + self.decay * epoch)


class StepDecay(Schedule):
    """Step decay: lr = lr0 * drop ** floor(epoch / epochs_drop)."""

    def __init__(self, drop=0.5, epochs_drop=10):
        self.drop = drop
        self.epochs_drop = epochs_drop

    def _validate(self):
        _check_range("drop", self.drop, 0, 1, low_open=True)
        if not isinstance(self.epochs_drop, int) or self.epochs_drop < 1:
            raise ValueError(f"epochs_drop must be an int >= 1, got {self.epochs_drop!r}")

    def __call__(self, lr0, epoch, samples_seen):
        return lr0 * self.drop ** math.floor(epoch / self.epochs_drop)


class ExponentialDecay(Schedule):
    """Exponential decay: lr = lr0 * exp(-decay * epoch)."""

    def __init__(self, decay=0.01):
        self.decay = decay

    def _validate(self):
        _check_range("decay", self.decay, 0)

    def __call__(self, lr0, epoch, samples_seen):
        return lr0 * math.exp(-self.decay * epoch)


class Adaptive(Schedule):
    """scikit-learn's 'adaptive': lr0 until the loss stops improving for
    n_iter_no_change epochs, then lr / 5 each time; stop below 1e-6."""

    factor = 5.0
    min_lr = 1e-6

    def __call__(self, lr0, epoch, samples_seen):
        return lr0

    def next_rate(self, lr0, lr, epoch, samples_seen):
        return lr  # only a plateau changes it

    def on_plateau(self, lr):
        return lr / self.factor if lr > self.min_lr else None


SCHEDULES = {"constant": Constant, "invscaling": InvScaling, "adaptive": Adaptive,
             "time_based": TimeBased, "step": StepDecay, "exponential": ExponentialDecay}


def get_schedule(learning_rate, power_t=0.5):
    """A Schedule for a string or object (power_t feeds 'invscaling')."""
    if isinstance(learning_rate, Schedule):
        learning_rate._validate()
        return learning_rate
    if learning_rate not in SCHEDULES:
        raise ValueError(f"learning_rate must be one of {sorted(SCHEDULES)} or a Schedule, "
                         f"got {learning_rate!r}")
    sched = InvScaling(power_t) if learning_rate == "invscaling" else SCHEDULES[learning_rate]()
    sched._validate()
    return sched
