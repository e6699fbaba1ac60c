"""Layer specs: what each layer is, its shapes, parameters and their init.

Parameter layouts (what ``NeuralNet*.get_weights()`` returns per layer):
  Dense      W (n_in, units) as scikit-learn's ``coefs_``; b (units,)
  BatchNorm  gamma (channels,), beta (channels,); statistics running_mean,
             running_var (channels,)
  Conv2D     W (filters, in_channels, kh, kw) as PyTorch's Conv2d.weight;
             b (filters,)
  SimpleRNN, LSTM, GRU
             weight_ih (G units, features), weight_hh (G units, units),
             bias_ih (G units,), bias_hh (G units,): PyTorch's nn.RNN /
             nn.LSTM / nn.GRU names, layouts and gate orders (G = 1; 4:
             i, f, g, o; 3: r, z, n)
Dense's and Conv2D's ``W`` and the recurrent weights are the decayed (L2)
parameters. Image layers take (channels, height, width) samples (NCHW
batches); recurrent layers (steps, features) samples.
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
    """A layer placed in a network: its C descriptor fields (None: no C
    layer, as Flatten's, which only renames the shape), output shape,
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
    On sequences ((T, F) samples, as a recurrent layer with
    ``return_sequences=True`` gives) the same map at every step, giving
    (T, units) (Keras's and PyTorch's rule: the last axis); on any other
    shape, over the whole sample flattened.

    ``activation``: None/'identity', 'logistic', 'tanh', 'relu', 'leaky_relu'
    (``alpha`` its slope) or 'elu' (``alpha`` its scale). Init: Glorot uniform,
    W then b from the same stream as scikit-learn's MLP draws them, within
    +-sqrt(glorot_factor / (fan_in + fan_out)); ``glorot_factor=None`` is
    scikit-learn's choice: 2 for 'logistic', 6 otherwise.
    """

    _per_step = True  # on (T, F) samples: the same map at every step

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
        steps = self._per_step and len(in_shape) == 2
        n_in = int(in_shape[1]) if steps else _prod(in_shape)
        n_out = int(self.units)
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
        out = (int(in_shape[0]), n_out) if steps else (n_out,)
        return Built(desc, out, {"W": ((n_in, n_out), True), "b": ((n_out,), False)},
                     init_params=init)


class OutputDense(Dense):
    """The estimators' output layer: a Dense over the whole sample, whatever
    its shape (sequences included)."""

    _per_step = False


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


def _pair(value, name, where, low=1):
    """An int or a pair of ints (>= low) as a pair."""
    pair = (value, value) if isinstance(value, numbers.Integral) else value
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and
            all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= low
                for v in pair)) or isinstance(value, bool):
        raise ValueError(f"{where}: {name} must be an int >= {low} or a pair of them, "
                         f"got {value!r}")
    return int(pair[0]), int(pair[1])


def _image_shape(in_shape, where):
    if len(in_shape) != 3:
        raise ValueError(f"{where} takes samples of shape (channels, height, width), got "
                         f"{tuple(in_shape)}: give X as (n, C, H, W), or flat with "
                         "input_shape=(C, H, W)")
    return tuple(int(s) for s in in_shape)


class Conv2D(Layer):
    """2-D convolution over (channels, height, width) samples:
    ``act(b + W * x)`` with ``filters`` output channels.

    ``kernel_size``, ``stride``: an int or a (height, width) pair; ``padding``:
    an int or pair of zero rows/columns on each side, ``"valid"`` (none) or
    ``"same"`` (stride 1 only; output as large as the input, the odd extra
    row/column of an even kernel at the bottom/right, as PyTorch). Output size
    ``(H + 2 p - k) // s + 1``, PyTorch's floor rule. The activation is fused
    after the bias. ``W`` has PyTorch's ``Conv2d.weight`` layout
    (filters, in_channels, kh, kw), so weights move between the two unchanged.
    Init: Glorot uniform W (fans ``in_channels kh kw`` and ``filters kh kw``)
    and zero b, Keras's defaults.
    """

    def __init__(self, filters, kernel_size, stride=1, padding=0, activation=None, alpha=0.01):
        self.filters = filters
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.activation = activation
        self.alpha = alpha

    def _padding(self, kernel, stride):
        p = self.padding
        if isinstance(p, str):
            if p == "valid":
                return (0, 0, 0, 0)
            if p == "same":
                if stride != (1, 1):
                    raise ValueError(f"Conv2D: padding='same' needs stride 1, got stride "
                                     f"{self.stride!r} (as PyTorch)")
                (kh, kw) = kernel
                return ((kh - 1) // 2, kh - 1 - (kh - 1) // 2,
                        (kw - 1) // 2, kw - 1 - (kw - 1) // 2)
            raise ValueError(f"Conv2D: padding must be an int, a pair, 'valid' or 'same', "
                             f"got {p!r}")
        ph, pw = _pair(p, "padding", "Conv2D", low=0)
        if ph >= kernel[0] or pw >= kernel[1]:
            raise ValueError(f"Conv2D: padding {p!r} must be smaller than the kernel "
                             f"{kernel[0]}x{kernel[1]}")
        return (ph, ph, pw, pw)

    def build(self, in_shape):
        C, H, W = _image_shape(in_shape, "Conv2D")
        if not isinstance(self.filters, numbers.Integral) or isinstance(self.filters, bool) \
                or self.filters < 1:
            raise ValueError(f"Conv2D: filters must be a positive integer, got {self.filters!r}")
        kernel = _pair(self.kernel_size, "kernel_size", "Conv2D")
        stride = _pair(self.stride, "stride", "Conv2D")
        pt, pb, pl, pr = self._padding(kernel, stride)
        act = self.activation or "identity"
        _check_activation(act, "Conv2D")
        Hp, Wp = H + pt + pb, W + pl + pr
        if kernel[0] > Hp or kernel[1] > Wp:
            raise ValueError(f"Conv2D: the kernel {kernel[0]}x{kernel[1]} is larger than its "
                             f"input {H}x{W} (padded {Hp}x{Wp})")
        OH, OW = (Hp - kernel[0]) // stride[0] + 1, (Wp - kernel[1]) // stride[1] + 1
        F = int(self.filters)
        fan_in, fan_out = C * kernel[0] * kernel[1], F * kernel[0] * kernel[1]
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        w_shape = (F, C, kernel[0], kernel[1])

        def init(rng, views):
            views["W"][...] = rng.uniform(-bound, bound, w_shape)
            views["b"][...] = 0.0

        desc = {"kind": "conv2d", "activation": act, "act_param": float(self.alpha),
                "kernel": kernel, "stride": stride, "padding": (pt, pb, pl, pr)}
        return Built(desc, (F, OH, OW), {"W": (w_shape, True), "b": ((F,), False)},
                     init_params=init)


class _Pool2D(Layer):
    _mode = None

    def __init__(self, pool_size, stride=None):
        self.pool_size = pool_size
        self.stride = stride

    def build(self, in_shape):
        where = type(self).__name__
        C, H, W = _image_shape(in_shape, where)
        pool = _pair(self.pool_size, "pool_size", where)
        stride = pool if self.stride is None else _pair(self.stride, "stride", where)
        if pool[0] > H or pool[1] > W:
            raise ValueError(f"{where}: the pool {pool[0]}x{pool[1]} is larger than its input "
                             f"{H}x{W}")
        out = (C, (H - pool[0]) // stride[0] + 1, (W - pool[1]) // stride[1] + 1)
        return Built({"kind": "pool2d", "mode": self._mode, "pool": pool, "stride": stride},
                     out)


class MaxPool2D(_Pool2D):
    """Max pooling over ``pool_size`` windows (an int or a pair) every
    ``stride`` (default: the pool size) rows/columns, no padding; output size
    ``(H - k) // s + 1`` (PyTorch's floor rule). Backward sends each
    gradient to the first largest input of its window."""
    _mode = "max"


class AvgPool2D(_Pool2D):
    """Average pooling; windows and sizes as MaxPool2D's."""
    _mode = "avg"


class Flatten(Layer):
    """Any per-sample shape to one vector in C order (PyTorch's
    ``flatten(1)``): a Dense after it takes a PyTorch Linear's weight
    transposed, as Dense's W always is. Costs nothing: no copy is made."""

    def build(self, in_shape):
        return Built(None, (_prod(in_shape),))


class GaussianNoise(Layer):
    """Adds zero-mean Gaussian noise of standard deviation ``stddev`` (in
    [0, 1], Keras's range) to every value in training; the identity at
    predict. May stand anywhere (Keras's GaussianNoise)."""

    def __init__(self, stddev):
        self.stddev = stddev

    def build(self, in_shape):
        s = self.stddev
        if not isinstance(s, numbers.Real) or isinstance(s, bool) or not 0.0 <= s <= 1.0:
            raise ValueError(f"GaussianNoise: stddev must be a float in [0, 1], got {s!r}")
        return Built({"kind": "noise", "stddev": float(s)}, in_shape)


_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")


def _factor(value, name, where):
    """Keras's factor rule: a number f in [-1, 1] means (-|f|, |f|); a pair
    of numbers in [-1, 1] is (lower, upper), in either order."""
    def ok(v):
        return isinstance(v, numbers.Real) and not isinstance(v, bool) and -1.0 <= v <= 1.0

    if isinstance(value, (tuple, list)) and len(value) == 2 and all(ok(v) for v in value):
        return tuple(sorted(float(v) for v in value))
    if ok(value):
        return (-abs(float(value)), abs(float(value)))
    raise ValueError(f"{where}: {name} must be a number (or a pair of numbers) in the range "
                     f"[-1.0, 1.0], got {value!r}")


class _Augmentation(Layer):
    """Random image augmentation in training, the identity at predict: one
    compiled affine resampling (see csrc/fnn_affine_impl.h), each sample its
    own draw, seeded by the estimator's random_state. Only before the first
    layer with weights: it transforms the input images."""

    _input_only = True

    def _resampling(self, where):
        if self.fill_mode not in _FILL_MODES:
            raise ValueError(f"{where}: fill_mode must be one of {_FILL_MODES}, got "
                             f"{self.fill_mode!r}")
        if self.interpolation not in _INTERPOLATIONS:
            raise ValueError(f"{where}: interpolation must be one of {_INTERPOLATIONS}, got "
                             f"{self.interpolation!r}")
        fv = self.fill_value
        if not isinstance(fv, numbers.Real) or isinstance(fv, bool) or not np.isfinite(fv):
            raise ValueError(f"{where}: fill_value must be a finite number, got {fv!r}")
        return {"kind": "affine", "fill_mode": self.fill_mode,
                "interpolation": self.interpolation, "fill_value": float(fv)}

    def build(self, in_shape):
        where = type(self).__name__
        shape = _image_shape(in_shape, where)
        return Built(dict(self._resampling(where), **self._draws(where)), shape)


class RandomFlip(_Augmentation):
    """Flips each image left-right (``"horizontal"``), top-bottom
    (``"vertical"``) or each independently (``"horizontal_and_vertical"``, the
    default), each with probability 1/2 (Keras's RandomFlip)."""

    def __init__(self, mode="horizontal_and_vertical"):
        self.mode = mode

    def _resampling(self, where):
        return {"kind": "affine", "interpolation": "nearest"}

    def _draws(self, where):
        modes = ("horizontal", "vertical", "horizontal_and_vertical")
        if self.mode not in modes:
            raise ValueError(f"RandomFlip: mode must be one of {modes}, got {self.mode!r}")
        return {"flip": (self.mode != "vertical", self.mode != "horizontal")}


class RandomTranslation(_Augmentation):
    """Shifts each image by a random fraction of its height and width
    (Keras's RandomTranslation: ``height_factor`` f or (lower, upper), in
    [-1, 1], positive is down; ``width_factor`` likewise, positive is right).
    Beyond the edges: ``fill_mode`` "reflect" (the default, as Keras's code;
    its docstring says "constant"), "wrap", "nearest" or "constant"
    (``fill_value``); ``interpolation`` "bilinear" or "nearest"."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect",
                 interpolation="bilinear", fill_value=0.0):
        self.height_factor = height_factor
        self.width_factor = width_factor
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = fill_value

    def _draws(self, where):
        return {"ty": _factor(self.height_factor, "height_factor", where),
                "tx": _factor(self.width_factor, "width_factor", where)}


class RandomRotation(_Augmentation):
    """Turns each image about its centre by a random angle of
    U(lower, upper) x 360 degrees, counter-clockwise for positive values
    (Keras's RandomRotation: ``factor`` f or (lower, upper), in [-1, 1]);
    fill and interpolation as RandomTranslation's."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", fill_value=0.0):
        self.factor = factor
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = fill_value

    def _draws(self, where):
        return {"turn": _factor(self.factor, "factor", where)}


class RandomZoom(_Augmentation):
    """Zooms each image about its centre by 1 + U(lower, upper) (Keras's
    RandomZoom: positive zooms out, negative in; ``height_factor`` f or
    (lower, upper), in [-1, 1]; ``width_factor=None`` keeps the aspect ratio,
    one draw for both); fill and interpolation as RandomTranslation's."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", fill_value=0.0):
        self.height_factor = height_factor
        self.width_factor = width_factor
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = fill_value

    def _draws(self, where):
        zy = _factor(self.height_factor, "height_factor", where)
        if self.width_factor is None:
            return {"zy": zy, "zoom_same": True}
        return {"zy": zy, "zx": _factor(self.width_factor, "width_factor", where)}


class _Recurrent(Layer):
    """A recurrent layer over (steps, features) samples; the cell, gates and
    weight layouts are PyTorch's (see csrc/fnn_rnn_impl.h). Output: the last
    step's hidden state (units,), or every step's (steps, units) with
    ``return_sequences=True`` (to feed another recurrent layer, a per-step
    Dense, or Flatten). Init: every tensor U(-1/sqrt(units), 1/sqrt(units)),
    PyTorch's default."""

    _gates = 1

    def _cell(self):  # pragma: no cover - interface
        raise NotImplementedError

    def build(self, in_shape):
        where = type(self).__name__
        cell = self._cell()
        if not isinstance(self.units, numbers.Integral) or isinstance(self.units, bool) \
                or self.units < 1:
            raise ValueError(f"{where}: units must be a positive integer, got {self.units!r}")
        if len(in_shape) != 2:
            hint = (" (the layer before returns only its last state: give it "
                    "return_sequences=True)" if len(in_shape) == 1 else "")
            raise ValueError(f"{where} takes samples of shape (steps, features), got "
                             f"{tuple(in_shape)}{hint}: give X as (n_samples, steps, features), "
                             "or flat with input_shape=(steps, features)")
        T, F = (int(s) for s in in_shape)
        H = int(self.units)
        GH = self._gates * H
        bound = 1.0 / np.sqrt(H)
        shapes = {"weight_ih": (GH, F), "weight_hh": (GH, H), "bias_ih": (GH,),
                  "bias_hh": (GH,)}

        def init(rng, views):
            for name, shape in shapes.items():  # PyTorch's order
                views[name][...] = rng.uniform(-bound, bound, shape)

        desc = {"kind": "rnn", "cell": cell, "units": H,
                "return_sequences": bool(self.return_sequences)}
        out = (T, H) if self.return_sequences else (H,)
        return Built(desc, out, {n: (s, n.startswith("weight")) for n, s in shapes.items()},
                     init_params=init)


class SimpleRNN(_Recurrent):
    """Elman recurrent layer (PyTorch's nn.RNN):
    ``h' = act(W_ih x + b_ih + W_hh h + b_hh)``, ``activation`` 'tanh' or
    'relu', from h = 0."""

    def __init__(self, units, activation="tanh", return_sequences=False):
        self.units = units
        self.activation = activation
        self.return_sequences = return_sequences

    def _cell(self):
        if self.activation not in ("tanh", "relu"):
            raise ValueError(f"SimpleRNN: activation must be 'tanh' or 'relu', got "
                             f"{self.activation!r}")
        return "rnn_" + self.activation


class LSTM(_Recurrent):
    """Long short-term memory (PyTorch's nn.LSTM): gates i, f, g, o in that
    order, ``c' = f c + i g``, ``h' = o tanh(c')``, from h = c = 0."""

    _gates = 4

    def __init__(self, units, return_sequences=False):
        self.units = units
        self.return_sequences = return_sequences

    def _cell(self):
        return "lstm"


class GRU(_Recurrent):
    """Gated recurrent unit (PyTorch's nn.GRU): gates r, z, n in that order,
    the reset gate inside the candidate: ``n = tanh(W_in x + b_in + r (W_hn h
    + b_hn))``, ``h' = (1 - z) n + z h``, from h = 0."""

    _gates = 3

    def __init__(self, units, return_sequences=False):
        self.units = units
        self.return_sequences = return_sequences

    def _cell(self):
        return "gru"


class TreeEncoder(Layer):
    """A tree-recursive encoder: the first layer of a network over binary
    trees (``fastnn.TreeNetClassifier`` and ``TreeNetRegressor`` build it).
    Each sample is a table of ``max_nodes`` rows (left, right, token), the
    children before their parent and the root last, padded with -1 rows
    (``fastnn.datasets.TreeTable.to_array`` writes it). Leaves embed their
    token (``n_tokens`` rows of ``embedding_dim``); ``cell='rnn'`` composes
    ``h = tanh([h_l, h_r] Wc + bc)`` (leaves ``tanh(x Wx + bx)``),
    ``cell='lstm'`` is the binary Tree-LSTM of Tai et al. (2015) with a forget
    gate per child (see csrc/fnn_tree_impl.h). Output: the root's state
    (``units``,), or with ``all_nodes=True`` every internal node's
    (``max(1, (max_nodes - 1) // 2)``, ``units``): row j the j-th internal
    node in the table's post-order (the root the tree's last), zero rows
    after the tree's (layers after it see a sequence, as after a recurrent
    layer with ``return_sequences=True``). ``dropout``: in training, every
    node's state is dropped (inverted dropout) before its parent or the
    output reads it.

    Parameters: ``Wx`` (embedding_dim, G units), ``Wc`` (2 units, G' units),
    ``E`` (n_tokens, embedding_dim), ``bx``, ``bc``; G, G' = 1, 1 for 'rnn'
    and 3 (i, o, u), 5 (i, f_l, f_r, o, u) for 'lstm'. ``Wx`` and ``Wc`` are
    decayed (L2). The embeddings are not, and update sparsely: the
    first-order solvers move an embedding row only in a batch with a leaf of
    its token (as TensorFlow's LazyAdam; momentum and Adam's moments of the
    other rows wait too). Init: ``E`` N(0, 1) (PyTorch's nn.Embedding), the
    rest U(-1/sqrt(units), 1/sqrt(units)) (PyTorch's recurrent layers)."""

    def __init__(self, n_tokens, units=64, embedding_dim=32, cell="rnn", dropout=0.0,
                 all_nodes=False):
        self.n_tokens = n_tokens
        self.units = units
        self.embedding_dim = embedding_dim
        self.cell = cell
        self.dropout = dropout
        self.all_nodes = all_nodes

    def build(self, in_shape):
        where = "TreeEncoder"
        for name in ("n_tokens", "units", "embedding_dim"):
            v = getattr(self, name)
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{where}: {name} must be a positive integer, got {v!r}")
        if self.cell not in ("rnn", "lstm"):
            raise ValueError(f"{where}: cell must be 'rnn' or 'lstm', got {self.cell!r}")
        if not isinstance(self.dropout, numbers.Real) or isinstance(self.dropout, bool) or \
                not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"{where}: dropout must be a float in [0, 1), got {self.dropout!r}")
        if not isinstance(self.all_nodes, (bool, np.bool_)):
            raise ValueError(f"{where}: all_nodes must be a bool, got {self.all_nodes!r}")
        if len(in_shape) != 2 or int(in_shape[1]) != 3:
            raise ValueError(f"{where} takes tree tables of shape (max_nodes, 3), got "
                             f"{tuple(in_shape)}")
        V, D, H = int(self.n_tokens), int(self.embedding_dim), int(self.units)
        gl, gi = (3, 5) if self.cell == "lstm" else (1, 1)
        # the decayed tensors, then the others with the embedding first (the
        # engine's sparse rows: a row moves only in a batch that uses it)
        shapes = {"Wx": (D, gl * H), "Wc": (2 * H, gi * H), "E": (V, D), "bx": (gl * H,),
                  "bc": (gi * H,)}
        bound = 1.0 / np.sqrt(H)

        def init(rng, views):
            views["E"][...] = rng.normal(size=(V, D))
            for name in ("Wx", "Wc", "bx", "bc"):
                views[name][...] = rng.uniform(-bound, bound, shapes[name])

        desc = {"kind": "tree", "cell": self.cell, "tokens": V, "dim": D, "units": H,
                "dropout": float(self.dropout), "sparse_rows": V, "sparse_width": D,
                "all_nodes": bool(self.all_nodes)}
        out = (max(1, (int(in_shape[0]) - 1) // 2), H) if self.all_nodes else (H,)
        return Built(desc, out, {n: (s, n.startswith("W")) for n, s in shapes.items()},
                     init_params=init)
