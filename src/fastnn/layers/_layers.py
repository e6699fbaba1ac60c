"""Layer specs: what each layer is, its shapes, parameters and their init.

Parameter layouts (what ``NeuralNet*.get_weights()`` returns per layer):
  Dense      W (n_in, units) as scikit-learn's ``coefs_``; b (units,)
  BatchNorm  gamma (channels,), beta (channels,); statistics running_mean,
             running_var (channels,)
Dense ``W`` is the only decayed (L2) parameter.
"""
import numbers

import numpy as np
from sklearn.base import BaseEstimator

from fastnn._core._net import ACTIVATIONS as _ACTIVATION_CODES

ACTIVATIONS = tuple(_ACTIVATION_CODES)  # the names the engine knows


def _check_activation(name, where):
    if name not in ACTIVATIONS:
        raise ValueError(f"{where}: activation must be one of {ACTIVATIONS}, got {name!r}")


def _prod(shape):
    return int(np.prod(shape))


class Layer(BaseEstimator):
    """Base class. ``build(in_shape)`` returns a ``Built`` describing the layer."""

    def build(self, in_shape):  # pragma: no cover - interface
        raise NotImplementedError


class Built:
    """A layer placed in a network: its C descriptor fields, output shape,
    parameter tensors (name -> (shape, decayed)), statistics tensors
    (name -> shape) and initialisers."""

    def __init__(self, desc, out_shape, params=(), stats=(), init_params=None, init_stats=None):
        self.desc = desc
        self.out_shape = tuple(out_shape)
        self.params = dict(params)
        self.stats = dict(stats)
        self.init_params = init_params
        self.init_stats = init_stats


class Dense(Layer):
    """Fully connected: ``act(x W + b)``; the activation is fused after the GEMM.

    ``activation``: None/'identity', 'logistic', 'tanh', 'relu', 'leaky_relu'
    (``alpha`` its slope) or 'elu' (``alpha`` its scale). Init: Glorot uniform,
    W then b from the same stream as scikit-learn's MLP draws them, within
    +-sqrt(glorot_factor / (fan_in + fan_out)); ``glorot_factor=None`` is
    scikit-learn's choice: 2 for 'logistic', 6 otherwise.
    """

    def __init__(self, units, activation=None, alpha=0.01, glorot_factor=None):
        self.units = units
        self.activation = activation
        self.alpha = alpha
        self.glorot_factor = glorot_factor

    def build(self, in_shape):
        if not isinstance(self.units, numbers.Integral) or self.units < 1:
            raise ValueError(f"Dense: units must be a positive integer, got {self.units!r}")
        act = self.activation or "identity"
        _check_activation(act, "Dense")
        n_in, n_out = _prod(in_shape), int(self.units)
        factor = self.glorot_factor
        if factor is None:
            factor = 2.0 if act == "logistic" else 6.0
        if not isinstance(factor, (int, float)) or not factor > 0:
            raise ValueError(f"Dense: glorot_factor must be > 0, got {factor!r}")
        bound = np.sqrt(factor / (n_in + n_out))

        def init(rng, views):
            views["W"][...] = rng.uniform(-bound, bound, (n_in, n_out))
            views["b"][...] = rng.uniform(-bound, bound, n_out)

        desc = {"kind": "dense", "activation": act, "act_param": float(self.alpha)}
        return Built(desc, (n_out,), {"W": ((n_in, n_out), True), "b": ((n_out,), False)},
                     init_params=init)


class Activation(Layer):
    """Elementwise activation: 'identity', 'logistic', 'tanh', 'relu',
    'leaky_relu' (``alpha`` its slope), 'elu' (``alpha`` its scale)."""

    def __init__(self, name="relu", alpha=0.01):
        self.name = name
        self.alpha = alpha

    def build(self, in_shape):
        _check_activation(self.name, "Activation")
        return Built({"kind": "activation", "activation": self.name,
                      "act_param": float(self.alpha)}, in_shape)


class Dropout(Layer):
    """Inverted dropout: in training each value is zeroed with probability
    ``rate`` and the rest scaled by 1 / (1 - rate); the identity at predict."""

    def __init__(self, rate=0.5):
        self.rate = rate

    def build(self, in_shape):
        if not isinstance(self.rate, numbers.Real) or not 0.0 <= self.rate < 1.0:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {self.rate!r}")
        return Built({"kind": "dropout", "rate": float(self.rate)}, in_shape)


class BatchNorm(Layer):
    """Batch normalisation: per feature after a Dense layer (per channel on
    (C, H, W) inputs). Training uses the batch's statistics and moves the
    running ones by ``momentum`` (PyTorch's convention:
    running = (1 - momentum) running + momentum batch, unbiased variance);
    predict uses the running statistics. gamma starts at 1, beta at 0."""

    def __init__(self, momentum=0.1, eps=1e-5):
        self.momentum = momentum
        self.eps = eps

    def build(self, in_shape):
        if not isinstance(self.momentum, numbers.Real) or not 0.0 <= self.momentum <= 1.0:
            raise ValueError(f"BatchNorm: momentum must be in [0, 1], got {self.momentum!r}")
        if not isinstance(self.eps, numbers.Real) or not self.eps > 0:
            raise ValueError(f"BatchNorm: eps must be > 0, got {self.eps!r}")
        in_shape = tuple(in_shape)
        channels = in_shape[0]
        spatial = _prod(in_shape[1:]) if len(in_shape) > 1 else 1

        def init(rng, views):
            views["gamma"][...] = 1.0
            views["beta"][...] = 0.0

        def init_stats(stats):
            stats["running_mean"][...] = 0.0
            stats["running_var"][...] = 1.0

        desc = {"kind": "batchnorm", "momentum": float(self.momentum), "eps": float(self.eps),
                "channels": channels, "spatial": spatial}
        return Built(desc, in_shape,
                     {"gamma": ((channels,), False), "beta": ((channels,), False)},
                     {"running_mean": (channels,), "running_var": (channels,)},
                     init_params=init, init_stats=init_stats)
