"""Optimizers: hyper-parameters of one update rule each.

An optimizer object is a plain, clonable description (``get_params`` works,
so it can sit inside an estimator's parameters and a GridSearchCV grid). It
never sees layers: ``_update_rule()`` hands the compiled rule
(csrc/fnn_optim.h) to the engine, which applies it to the model's one flat
parameter buffer. State (velocities, moments) lives in the engine, sized to
that buffer, and is reset unless ``warm_start``.
"""
import numbers

from sklearn.base import BaseEstimator

from fastnn._core._optim import UpdateRule


def _check_range(name, value, low, high=None, low_open=False, high_open=False):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        ok = (value > low if low_open else value >= low) if low is not None else True
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise ValueError(f"{name} must be a real number in {lo}{low}, "
                         f"{high if high is not None else 'inf'}{hi}, got {value!r}")


class Optimizer(BaseEstimator):
    """Base class: ``learning_rate`` is the initial step size (lr0)."""

    _kind = None

    def _validate(self):
        _check_range("learning_rate", self.learning_rate, 0, low_open=True)

    def _update_rule(self):
        self._validate()
        return UpdateRule(self._kind, **self._rule_params())

    def _rule_params(self):
        return {}


class SGD(Optimizer):
    """Stochastic gradient descent with momentum (scikit-learn's form).

    ``v = momentum * v - lr * g``; ``p += v``, or with Nesterov
    ``p += momentum * v - lr * g``. Defaults follow scikit-learn's MLP
    (momentum 0.9, Nesterov on); ``momentum=0`` is plain SGD.
    """

    _kind = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.9, nesterov=True):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov

    def _validate(self):
        super()._validate()
        _check_range("momentum", self.momentum, 0, 1)

    def _rule_params(self):
        return {"momentum": float(self.momentum), "nesterov": bool(self.nesterov)}


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015, arXiv:1412.6980), in scikit-learn's form.

    ``p -= lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)``
    (epsilon added to the uncorrected sqrt(v), as scikit-learn does).
    """

    _kind = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def _validate(self):
        super()._validate()
        _check_range("beta_1", self.beta_1, 0, 1, high_open=True)
        _check_range("beta_2", self.beta_2, 0, 1, high_open=True)
        _check_range("epsilon", self.epsilon, 0, low_open=True)

    def _rule_params(self):
        return {"beta_1": float(self.beta_1), "beta_2": float(self.beta_2),
                "epsilon": float(self.epsilon)}


class RMSprop(Optimizer):
    """RMSprop (Hinton, Lecture 6e): ``s = rho s + (1 - rho) g^2``,
    ``p -= lr g / (sqrt(s) + epsilon)``."""

    _kind = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-8):
        self.learning_rate = learning_rate
        self.rho = rho
        self.epsilon = epsilon

    def _validate(self):
        super()._validate()
        _check_range("rho", self.rho, 0, 1, high_open=True)
        _check_range("epsilon", self.epsilon, 0, low_open=True)

    def _rule_params(self):
        return {"rho": float(self.rho), "epsilon": float(self.epsilon)}


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011): ``s += g^2``, ``p -= lr g / (sqrt(s) + epsilon)``."""

    _kind = "adagrad"

    def __init__(self, learning_rate=0.01, epsilon=1e-10):
        self.learning_rate = learning_rate
        self.epsilon = epsilon

    def _validate(self):
        super()._validate()
        _check_range("epsilon", self.epsilon, 0, low_open=True)

    def _rule_params(self):
        return {"epsilon": float(self.epsilon)}


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012, arXiv:1212.5701), PyTorch's defaults.

    ``s = rho s + (1 - rho) g^2``; ``u = sqrt(d + eps) / sqrt(s + eps) g``;
    ``d = rho d + (1 - rho) u^2``; ``p -= lr u``.
    """

    _kind = "adadelta"

    def __init__(self, learning_rate=1.0, rho=0.9, epsilon=1e-6):
        self.learning_rate = learning_rate
        self.rho = rho
        self.epsilon = epsilon

    def _validate(self):
        super()._validate()
        _check_range("rho", self.rho, 0, 1, high_open=True)
        _check_range("epsilon", self.epsilon, 0, low_open=True)

    def _rule_params(self):
        return {"rho": float(self.rho), "epsilon": float(self.epsilon)}


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adagrad": Adagrad,
              "adadelta": Adadelta}

# The solver registry every estimator reads: the first-order solvers by name
# (the compiled update rules above), and L-BFGS (SciPy's, over an objective).
FIRST_ORDER_SOLVERS = tuple(OPTIMIZERS)
SOLVERS = ("lbfgs", *FIRST_ORDER_SOLVERS)


def is_first_order(solver):
    """A solver trained by the compiled epoch loop: a first-order name or an
    Optimizer object."""
    return isinstance(solver, Optimizer) or solver in FIRST_ORDER_SOLVERS


def get_optimizer(solver, learning_rate_init=None):
    """An Optimizer for a solver string or object; a given learning_rate_init
    overrides the string solver's default step size."""
    if isinstance(solver, Optimizer):
        return solver
    if solver not in OPTIMIZERS:
        raise ValueError(f"solver must be one of {sorted(OPTIMIZERS)} or an Optimizer, "
                         f"got {solver!r}")
    opt = OPTIMIZERS[solver]()
    if learning_rate_init is not None:
        opt.set_params(learning_rate=learning_rate_init)
    return opt
