"""Schedules against their formulas; optimizer objects validate and clone."""
import math

import numpy as np
import pytest
from sklearn.base import clone

from fastnn.optimizers import (
    SGD, Adadelta, Adagrad, Adam, Adaptive, Constant, ExponentialDecay, InvScaling, RMSprop,
    StepDecay, TimeBased, get_optimizer, get_schedule,
)


@pytest.mark.parametrize("epoch,seen", [(0, 0), (1, 100), (7, 700), (25, 2500)])
def test_schedules_follow_their_formulas(epoch, seen):
    lr0 = 0.1
    assert Constant()(lr0, epoch, seen) == lr0
    assert InvScaling(0.5)(lr0, epoch, seen) == pytest.approx(lr0 / (seen + 1) ** 0.5)
    assert TimeBased(0.2)(lr0, epoch, seen) == pytest.approx(lr0 / (1 + 0.2 * epoch))
    assert StepDecay(0.5, 10)(lr0, epoch, seen) == pytest.approx(lr0 * 0.5 ** (epoch // 10))
    assert ExponentialDecay(0.3)(lr0, epoch, seen) == pytest.approx(lr0 * math.exp(-0.3 * epoch))
    assert Adaptive()(lr0, epoch, seen) == lr0 and Adaptive().on_plateau(0.5) == 0.1
    # the trainer's interface: adaptive keeps its rate between plateaus and
    # stops below 1e-6; the others follow their formula and stop on a plateau
    assert Adaptive().next_rate(lr0, 0.02, epoch, seen) == 0.02
    assert Adaptive().on_plateau(1e-6) is None
    assert TimeBased(0.2).next_rate(lr0, 0.02, epoch, seen) == TimeBased(0.2)(lr0, epoch, seen)
    assert Constant().on_plateau(lr0) is None


def test_schedule_strings_and_validation():
    assert isinstance(get_schedule("invscaling", 0.25), InvScaling)
    assert get_schedule("invscaling", 0.25).power_t == 0.25
    with pytest.raises(ValueError, match="learning_rate must be one of"):
        get_schedule("cosine")
    with pytest.raises(ValueError, match="drop"):
        get_schedule(StepDecay(drop=1.5))
    with pytest.raises(ValueError, match="epochs_drop"):
        get_schedule(StepDecay(epochs_drop=0))


@pytest.mark.parametrize("cls", [SGD, Adam, RMSprop, Adagrad, Adadelta])
def test_optimizers_clone_and_build_rules(cls):
    opt = cls(learning_rate=0.05)
    back = clone(opt)
    assert back.get_params() == opt.get_params()
    rule = opt._update_rule()
    assert rule.state_per_param in (1, 2)


def test_optimizer_validation_names_the_parameter():
    with pytest.raises(ValueError, match="learning_rate"):
        Adam(learning_rate=-1)._update_rule()
    with pytest.raises(ValueError, match="beta_1"):
        Adam(beta_1=1.0)._update_rule()
    with pytest.raises(ValueError, match="momentum"):
        SGD(momentum=2)._update_rule()
    with pytest.raises(ValueError, match="solver must be one of"):
        get_optimizer("nadam")
    assert get_optimizer("adam", 0.3).learning_rate == 0.3
