"""A sequential network: layer specs built into C descriptors over one flat
parameter buffer.

Layout of the flat buffer (what the optimizer and L2 rely on):
    [ decayed tensors of trainable layers | other tensors of trainable layers
      | every tensor of frozen layers ]
so params[:n_decay] get L2, params[:n_train] move, the rest stay put. Within
each part a layer's tensors are contiguous, in the layer's declared order.
Running statistics (batch norm) live in a second flat buffer.
"""
import numpy as np

from fastnn._core._loss import LOSS_CLIP, LOSSES, with_steps
from fastnn._core._net import Net


class Network:
    """``specs`` (fastnn.layers), per-sample ``in_shape``, a loss name of
    fastnn._core._loss.LOSSES; ``frozen``: indices of layers that do not train.
    Log-loss values clip probabilities to [eps, 1 - eps] as scikit-learn's
    MLP does (gradients are exact). ``per_step``: the output is a sequence
    (T, K) and the loss applies at each step, with a target per step or none
    (class -1, or a NaN first value), each sample's loss the mean over its
    labelled steps (``steps`` is T; 0 when not per step)."""

    def __init__(self, specs, in_shape, loss, frozen=(), per_step=False):
        self.specs = list(specs)
        self.in_shape = tuple(int(s) for s in in_shape)
        self.loss = loss
        self.per_step = bool(per_step)
        self.frozen = frozenset(int(i) for i in frozen)
        bad = [i for i in self.frozen if not 0 <= i < len(self.specs)]
        if bad:
            raise ValueError(f"frozen layer indices {bad} are out of range for "
                             f"{len(self.specs)} layers")
        self.built, shapes, shape = [], [], self.in_shape
        for i, spec in enumerate(self.specs):
            try:
                b = spec.build(shape)
            except ValueError as e:
                raise ValueError(f"layer {i} ({type(spec).__name__}) on samples of shape "
                                 f"{shape}: {e}") from None
            shapes.append((shape, b.out_shape))
            self.built.append(b)
            shape = b.out_shape
        self.out_shape = shape
        weighted = [i for i, b in enumerate(self.built) if b.params]
        for i, spec in enumerate(self.specs):
            if getattr(spec, "_input_only", False) and weighted and weighted[0] < i:
                j = weighted[0]
                raise ValueError(f"layer {i} ({type(spec).__name__}) must come before the first "
                                 f"layer with weights (layer {j}, {type(self.specs[j]).__name__}):"
                                 " it augments the input images")

        L = len(self.built)
        self.param_slices = [dict() for _ in range(L)]
        self.stat_slices = [dict() for _ in range(L)]
        offset = 0
        trainable = [i for i in range(L) if i not in self.frozen]

        def place(layers, decayed):
            nonlocal offset
            for i in layers:
                for name, (shape_, dec) in self.built[i].params.items():
                    if decayed is None or dec == decayed:
                        self.param_slices[i][name] = (offset, shape_)
                        offset += int(np.prod(shape_))

        place(trainable, True)
        self.n_decay = offset
        place(trainable, False)
        self.n_train = offset
        place(sorted(self.frozen), True)
        place(sorted(self.frozen), False)
        self.n_params = offset
        s_off = 0
        for i, b in enumerate(self.built):
            for name, shape_ in b.stats.items():
                self.stat_slices[i][name] = (s_off, shape_)
                s_off += int(np.prod(shape_))
        self.n_stats = s_off

        descs = []
        for i, (b, (ins, outs)) in enumerate(zip(self.built, shapes)):
            if b.desc is None:
                continue  # a reshape: the next layer reads the same values
            d = dict(b.desc, in_shape=ins, out_shape=outs, frozen=i in self.frozen)
            for key, dec in (("w", True), ("b", False)):
                parts = [self.param_slices[i][n] for n, (_, dd) in b.params.items() if dd == dec]
                if parts:
                    d[key + "_off"] = parts[0][0]
                    d["n_" + key] = sum(int(np.prod(s)) for _, s in parts)
            st = list(self.stat_slices[i].values())
            if st:
                d["s_off"], d["n_s"] = st[0][0], sum(int(np.prod(s)) for _, s in st)
            descs.append(d)
        if not descs:
            raise ValueError("the network has no layer that computes anything")
        code = LOSSES[loss]
        if loss in ("log_loss", "multinomial"):
            code |= LOSS_CLIP  # loss values as scikit-learn's MLP computes them
        self.steps = 0
        if self.per_step:
            if len(self.out_shape) != 2:
                raise ValueError(f"a per-step loss needs a sequence output (steps, width), got "
                                 f"samples of shape {self.out_shape}")
            self.steps = self.out_shape[0]
            code = with_steps(code, self.steps)
        self.net = Net(descs, code, self.n_params, self.n_train, self.n_decay,
                       self.n_stats)

    def __reduce__(self):
        # rebuilt from the specs: the built layers hold initialiser closures
        return (Network, (self.specs, self.in_shape, self.loss, tuple(sorted(self.frozen)),
                          self.per_step))

    @property
    def in_size(self):
        return self.net.in_size

    @property
    def out_size(self):
        return self.net.out_size

    def views(self, flat):
        """Per layer, name -> a view of its tensor in the flat parameter buffer."""
        return [{n: flat[o:o + int(np.prod(s))].reshape(s) for n, (o, s) in sl.items()}
                for sl in self.param_slices]

    def stat_views(self, stats):
        return [{n: stats[o:o + int(np.prod(s))].reshape(s) for n, (o, s) in sl.items()}
                for sl in self.stat_slices]

    def init(self, rng, dtype):
        """(params, stats) initialised layer by layer, in layer order, from
        ``rng`` (a numpy RandomState); draws are float64 and then cast."""
        params = np.zeros(self.n_params, dtype=np.float64)
        stats = np.zeros(self.n_stats, dtype=np.float64)
        pviews, sviews = self.views(params), self.stat_views(stats)
        for b, pv, sv in zip(self.built, pviews, sviews):
            if b.init_params is not None:
                b.init_params(rng, pv)
            if b.init_stats is not None:
                b.init_stats(sv)
        return params.astype(dtype), stats.astype(dtype)
