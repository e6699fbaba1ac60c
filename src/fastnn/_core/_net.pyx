"""The network runtime (csrc/fnn_net.h) as one object: ``Net``.

A ``Net`` holds only the C layer descriptors, built from plain dicts by
fastnn.nn._network; every array (parameters, gradients, optimizer state,
running statistics, data) belongs to the caller. Each call checks shapes and
dtypes with the GIL held, allocates its workspace once (a whole epoch runs in
one call), and runs the kernel without the GIL. Calls share no mutable state,
so one Net may serve concurrent predicts and fits in several threads.
"""
import numpy as np

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memset

from fastnn._core._fnn cimport *
from fastnn._core._blas cimport blas_table
from fastnn._core._checks cimport check_rows, check_status
from fastnn._core._optim cimport UpdateRule


LAYER_KINDS = {"dense": FNN_LAYER_DENSE, "activation": FNN_LAYER_ACTIVATION,
               "dropout": FNN_LAYER_DROPOUT, "batchnorm": FNN_LAYER_BATCHNORM,
               "conv2d": FNN_LAYER_CONV2D, "pool2d": FNN_LAYER_POOL2D,
               "noise": FNN_LAYER_NOISE, "affine": FNN_LAYER_AFFINE, "rnn": FNN_LAYER_RNN,
               "tree": FNN_LAYER_TREE}
TREE_CELLS = {"rnn": FNN_TREE_RNN, "lstm": FNN_TREE_LSTM}
CELLS = {"rnn_tanh": FNN_CELL_RNN_TANH, "rnn_relu": FNN_CELL_RNN_RELU, "lstm": FNN_CELL_LSTM,
         "gru": FNN_CELL_GRU}
FILL_MODES = {"reflect": FNN_FILL_REFLECT, "constant": FNN_FILL_CONSTANT,
              "nearest": FNN_FILL_NEAREST, "wrap": FNN_FILL_WRAP}
POOL_MODES = {"max": FNN_POOL_MAX, "avg": FNN_POOL_AVG}
ACTIVATIONS = {"identity": FNN_ACT_IDENTITY, "logistic": FNN_ACT_LOGISTIC,
               "tanh": FNN_ACT_TANH, "relu": FNN_ACT_RELU,
               "leaky_relu": FNN_ACT_LEAKY_RELU, "elu": FNN_ACT_ELU}

STATS_KEEP, STATS_MOVE, STATS_REPLACE = FNN_STATS_KEEP, FNN_STATS_MOVE, FNN_STATS_REPLACE

cdef inline int _check(int status) except -1:
    return check_status(status, "network")


cdef inline void *_ptr_or_null(object arr):
    """Address of a contiguous NumPy array's data, NULL for None or empty."""
    if arr is None or arr.size == 0:
        return NULL
    return <void *><size_t>arr.ctypes.data


cdef int _set_config(fnn_layer *L, dict d) except -1:
    """The kind's own settings from its descriptor (fastnn.layers builds it)."""
    cdef fnn_affine_cfg *a
    if L.kind == FNN_LAYER_DENSE or L.kind == FNN_LAYER_ACTIVATION:
        L.cfg.act.activation = ACTIVATIONS[d.get("activation", "identity")]
        L.cfg.act.param = d.get("act_param", 0.0)
    elif L.kind == FNN_LAYER_DROPOUT:
        L.cfg.dropout.rate = d["rate"]
    elif L.kind == FNN_LAYER_BATCHNORM:
        L.cfg.bn.momentum, L.cfg.bn.eps = d["momentum"], d["eps"]
        L.cfg.bn.channels, L.cfg.bn.spatial = d["channels"], d["spatial"]
    elif L.kind == FNN_LAYER_CONV2D:
        L.cfg.conv.act.activation = ACTIVATIONS[d.get("activation", "identity")]
        L.cfg.conv.act.param = d.get("act_param", 0.0)
        L.cfg.conv.kh, L.cfg.conv.kw = d["kernel"]
        L.cfg.conv.sh, L.cfg.conv.sw = d["stride"]
        L.cfg.conv.pt, L.cfg.conv.pb, L.cfg.conv.pl, L.cfg.conv.pr = d["padding"]
    elif L.kind == FNN_LAYER_POOL2D:
        L.cfg.pool.mode = POOL_MODES[d["mode"]]
        L.cfg.pool.kh, L.cfg.pool.kw = d["pool"]
        L.cfg.pool.sh, L.cfg.pool.sw = d["stride"]
    elif L.kind == FNN_LAYER_NOISE:
        L.cfg.noise.stddev = d["stddev"]
    elif L.kind == FNN_LAYER_AFFINE:
        a = &L.cfg.affine
        a.tx[0], a.tx[1] = d.get("tx", (0.0, 0.0))
        a.ty[0], a.ty[1] = d.get("ty", (0.0, 0.0))
        a.turn[0], a.turn[1] = d.get("turn", (0.0, 0.0))
        a.zy[0], a.zy[1] = d.get("zy", (0.0, 0.0))
        a.zx[0], a.zx[1] = d.get("zx", (0.0, 0.0))
        a.zoom_same = d.get("zoom_same", False)
        a.flip_h, a.flip_v = d.get("flip", (False, False))
        a.fill = FILL_MODES[d.get("fill_mode", "reflect")]
        a.bilinear = d.get("interpolation", "bilinear") == "bilinear"
        a.fill_value = d.get("fill_value", 0.0)
    elif L.kind == FNN_LAYER_RNN:
        L.cfg.rnn.cell = CELLS[d["cell"]]
        L.cfg.rnn.units = d["units"]
        L.cfg.rnn.sequences = d["return_sequences"]
    elif L.kind == FNN_LAYER_TREE:
        L.cfg.tree.cell = TREE_CELLS[d["cell"]]
        L.cfg.tree.tokens, L.cfg.tree.dim = d["tokens"], d["dim"]
        L.cfg.tree.units = d["units"]
        L.cfg.tree.dropout = d.get("dropout", 0.0)
        L.cfg.tree.all_nodes = d.get("all_nodes", False)
    return 0


class EpochStep:
    """The settings one epoch's steps run with: the update ``rule``
    (fastnn._core._optim.UpdateRule) over its ``state`` (the rule's
    per-parameter state, in the parameters' dtype), the learning rate ``lr``,
    the step count ``t`` (the epoch advances it), ``batch_size``, the L2
    strength ``alpha``, ``value_scale`` (reported losses are scaled by it),
    dropout's ``seed`` and ``clip_norm`` (None or 0: no clipping; else the
    batch gradient's global norm is clipped to it before each update)."""

    __slots__ = ("rule", "state", "lr", "t", "batch_size", "alpha", "value_scale", "seed",
                 "clip_norm")

    def __init__(self, rule, state, lr, t, batch_size, alpha=0.0, value_scale=1.0, seed=0,
                 clip_norm=None):
        self.rule, self.state, self.lr, self.t = rule, state, lr, t
        self.batch_size, self.alpha, self.value_scale, self.seed = (batch_size, alpha,
                                                                    value_scale, seed)
        self.clip_norm = clip_norm


cdef class Net:
    """C descriptors of a sequential network.

    layers: list of dicts with the fields of fnn_layer (see fnn_net.h):
    kind ('dense', 'activation', 'dropout', 'batchnorm', 'conv2d', 'pool2d',
    'noise', 'affine', 'rnn', 'tree'),
    the kind's settings (activation name, kernel, stride, padding, ...),
    shapes (tuples), parameter/statistics offsets and sizes, frozen.
    """
    cdef fnn_net c
    cdef fnn_layer *layers
    cdef readonly object spec
    cdef readonly fnn_int n_params, n_train, n_decay, n_stats, in_size, out_size
    cdef readonly int loss

    def __cinit__(self):
        self.layers = NULL

    def __init__(self, list layers, int loss, fnn_int n_params, fnn_int n_train,
                 fnn_int n_decay, fnn_int n_stats):
        cdef int i, j
        cdef fnn_layer *L
        if not layers:
            raise ValueError("a network needs at least one layer")
        self.spec = ([dict(d) for d in layers], loss, n_params, n_train, n_decay, n_stats)
        self.layers = <fnn_layer *>PyMem_Malloc(len(layers) * sizeof(fnn_layer))
        if self.layers == NULL:
            raise MemoryError()
        memset(self.layers, 0, len(layers) * sizeof(fnn_layer))
        for i, d in enumerate(layers):
            L = &self.layers[i]
            L.kind = LAYER_KINDS[d["kind"]]
            _set_config(L, d)
            ins, outs = tuple(d["in_shape"]), tuple(d["out_shape"])
            if not 1 <= len(ins) <= 3 or not 1 <= len(outs) <= 3:
                raise ValueError("layer shapes have 1 to 3 dimensions per sample")
            L.in_ndim, L.out_ndim = len(ins), len(outs)
            for j in range(L.in_ndim):
                L.in_shape[j] = ins[j]
            for j in range(L.out_ndim):
                L.out_shape[j] = outs[j]
            L.in_size = int(np.prod(ins))
            L.out_size = int(np.prod(outs))
            L.w_off, L.n_w = d.get("w_off", 0), d.get("n_w", 0)
            L.b_off, L.n_b = d.get("b_off", 0), d.get("n_b", 0)
            L.s_off, L.n_s = d.get("s_off", 0), d.get("n_s", 0)
            L.frozen = bool(d.get("frozen", False))
            L.sp_rows, L.sp_width = d.get("sparse_rows", 0), d.get("sparse_width", 0)
        self.c.n_layers = len(layers)
        self.c.layers = self.layers
        self.c.loss = loss
        self.c.n_params, self.c.n_train, self.c.n_decay = n_params, n_train, n_decay
        self.c.n_stats = n_stats
        if fnn_net_check(&self.c) != FNN_OK:
            raise ValueError("inconsistent network description (sizes or offsets)")
        self.n_params, self.n_train, self.n_decay, self.n_stats = (n_params, n_train, n_decay,
                                                                   n_stats)
        self.in_size = self.layers[0].in_size
        self.out_size = self.layers[len(layers) - 1].out_size
        self.loss = loss

    def __dealloc__(self):
        PyMem_Free(self.layers)

    def __reduce__(self):
        return (Net, self.spec)

    @property
    def phase_slots(self):
        """The phases an epoch's time is split into (Net.epoch's ``phases``)."""
        return fnn_net_phase_slots(&self.c)

    def phase_names(self):
        """The phase slots' names, in order: "gather", "loss", "update", then
        "forward <l>" and "backward <l>" for each layer l."""
        n = self.c.n_layers
        return (["gather", "loss", "update"] + [f"forward {l}" for l in range(n)]
                + [f"backward {l}" for l in range(n)])

    def team_size(self, fnn_int batch, int n_threads):
        """Threads the engine runs batches of ``batch`` rows with when
        ``n_threads`` are allowed (one for small networks)."""
        return fnn_net_team_size(&self.c, batch, n_threads)

    def workspace_size(self, fnn_int batch, dtype, bint training=True, int n_threads=1):
        """Bytes of workspace a call on batches of up to ``batch`` rows with up
        to ``n_threads`` threads needs (training calls, or predict with
        training=False)."""
        f32 = np.dtype(dtype) == np.float32
        return (fnn_net_workspace_f32(&self.c, batch, training, n_threads) if f32
                else fnn_net_workspace_f64(&self.c, batch, training, n_threads))

    cdef object _workspace(self, fnn_int batch, bint f32, int n_threads, object work=None,
                           bint training=True):
        """The caller's ``work`` (a float64 array) when large enough, else a new one."""
        cdef size_t need = (fnn_net_workspace_f32(&self.c, batch, training, n_threads) if f32
                            else fnn_net_workspace_f64(&self.c, batch, training, n_threads))
        if work is not None and work.dtype == np.float64 and work.flags.c_contiguous and \
                work.nbytes >= need:
            return work, need
        return np.empty(need // 8 + 8, dtype=np.float64), need

    cdef int _check_params(self, object params, object stats, object dtype) except -1:
        if params.dtype != dtype or stats.dtype != dtype:
            raise TypeError(f"parameters and statistics must be {dtype}, like X")
        if params.shape[0] != self.n_params:
            raise ValueError(f"params has {params.shape[0]} entries, expected {self.n_params}")
        if stats.shape[0] != self.n_stats:
            raise ValueError(f"stats has {stats.shape[0]} entries, expected {self.n_stats}")
        return 0

    cdef int _check_data(self, object X, object y, object sw) except -1:
        ny = fnn_loss_y_width(self.loss, self.out_size)
        if X.shape[1] != self.in_size:
            raise ValueError(f"X has {X.shape[1]} values per sample, the network takes "
                             f"{self.in_size}")
        if y.dtype != X.dtype or sw is not None and sw.dtype != X.dtype:
            raise TypeError("y and sample_weight must have X's dtype")
        if y.shape[0] != X.shape[0] * ny:
            raise ValueError(f"y has {y.shape[0]} entries, expected {X.shape[0] * ny}")
        if sw is not None and sw.shape[0] != X.shape[0]:
            raise ValueError("sample_weight does not match X's number of rows")
        return 0

    def predict(self, const floating[:, ::1] X, const floating[::1] params,
                const floating[::1] stats, fnn_int batch=1024, int n_threads=1):
        """Eval-mode output of the last layer (before the loss's link), (n, out_size)."""
        cdef bint f32 = floating is float
        dtype = np.float32 if f32 else np.float64
        self._check_params(np.asarray(params), np.asarray(stats), dtype)
        if X.shape[1] != self.in_size:
            raise ValueError(f"X has {X.shape[1]} values per sample, the network takes "
                             f"{self.in_size}")
        cdef fnn_int n = X.shape[0]
        out = np.empty((n, self.out_size), dtype=dtype)
        if n == 0:
            return out
        batch = max(1, min(batch, n))
        work, need = self._workspace(batch, f32, n_threads, None, False)
        cdef void *wp = _ptr_or_null(work)
        cdef void *op = _ptr_or_null(out)
        cdef const void *sp = _ptr_or_null(np.asarray(stats))
        cdef size_t ws = need
        cdef int status
        with nogil:
            if floating is float:
                status = fnn_net_predict_f32(&self.c, &params[0], <const float *>sp, &X[0, 0],
                                             n, <float *>op, batch, wp, ws, blas_table(),
                                             n_threads)
            else:
                status = fnn_net_predict_f64(&self.c, &params[0], <const double *>sp, &X[0, 0],
                                             n, <double *>op, batch, wp, ws, blas_table(),
                                             n_threads)
        _check(status)
        return out

    def loss_grad(self, const floating[:, ::1] X, const floating[::1] y, sample_weight,
                  const floating[::1] params, floating[::1] stats, floating[::1] grad,
                  const int64_t[::1] rows=None, double scale=1.0, uint64_t seed=0,
                  int update_stats=FNN_STATS_KEEP, want_dX=False, int n_threads=1,
                  work=None):
        """Train-mode loss sum over the rows (all when None), one batch; writes
        grad = scale * d(sum_i sw_i loss_i)/d(params) (grad None: the loss only,
        no backward pass). Returns (loss sum, dX or None).
        update_stats: STATS_KEEP, STATS_MOVE (by each layer's momentum) or
        STATS_REPLACE (batch norm's running statistics become this batch's).
        ``work``: an optional float64 workspace of workspace_size(m) bytes, reused."""
        cdef bint f32 = floating is float
        dtype = np.float32 if f32 else np.float64
        Xa = np.asarray(X)
        sw = None if sample_weight is None else np.ascontiguousarray(sample_weight)
        self._check_params(np.asarray(params), np.asarray(stats), dtype)
        self._check_data(Xa, np.asarray(y), sw)
        if grad is None and want_dX:
            raise ValueError("want_dX needs grad (the backward pass)")
        if grad is not None and grad.shape[0] != self.n_params:
            raise ValueError(f"grad has {grad.shape[0]} entries, expected {self.n_params}")
        cdef floating *gp = &grad[0] if grad is not None else NULL
        cdef fnn_int m = X.shape[0] if rows is None else rows.shape[0]
        cdef const int64_t *rp = NULL
        if rows is not None:
            check_rows(rows, X.shape[0])
            if m:
                rp = &rows[0]
        if m < 1:
            raise ValueError("loss_grad needs at least one row")
        dX = np.empty((m, self.in_size), dtype=dtype) if want_dX else None
        work, need = self._workspace(m, f32, n_threads, work)
        cdef void *wp = _ptr_or_null(work)
        cdef void *dxp = _ptr_or_null(dX)
        cdef const void *swp = _ptr_or_null(sw)
        cdef void *stp = _ptr_or_null(np.asarray(stats))
        cdef size_t ws = need
        cdef double loss = 0.0
        cdef int status
        with nogil:
            if floating is float:
                status = fnn_net_loss_grad_f32(&self.c, &params[0], <float *>stp, &X[0, 0],
                                               &y[0], <const float *>swp, <const fnn_int *>rp,
                                               m, scale, seed, update_stats, gp,
                                               <float *>dxp, &loss, wp, ws, blas_table(),
                                               n_threads)
            else:
                status = fnn_net_loss_grad_f64(&self.c, &params[0], <double *>stp, &X[0, 0],
                                               &y[0], <const double *>swp, <const fnn_int *>rp,
                                               m, scale, seed, update_stats, gp,
                                               <double *>dxp, &loss, wp, ws, blas_table(),
                                               n_threads)
        _check(status)
        return loss, dX

    def epoch(self, const floating[:, ::1] X, const floating[::1] y, sample_weight,
              const int64_t[::1] perm, floating[::1] params, floating[::1] grad,
              floating[::1] stats, step, int n_threads=1, work=None, phases=None):
        """One epoch of scikit-learn-style mini-batch steps over the rows
        ``perm`` of (X, y, sample_weight), in place on ``params`` (``grad`` is
        scratch) and ``stats``, with the settings of ``step`` (an EpochStep,
        whose ``t`` and ``state`` advance). ``work``: an optional float64
        workspace of workspace_size(batch_size, dtype, True, n_threads)
        bytes, reused. ``phases``: None, or a float64 array of
        ``2 * phase_slots`` entries the epoch adds its time by phase to (see
        phase_names; benchmarks/phases.py). Returns the epoch's mean loss as
        scikit-learn reports it."""
        cdef bint f32 = floating is float
        dtype = np.float32 if f32 else np.float64
        sw = None if sample_weight is None else np.ascontiguousarray(sample_weight)
        self._check_params(np.asarray(params), np.asarray(stats), dtype)
        self._check_data(np.asarray(X), np.asarray(y), sw)
        if grad.shape[0] != self.n_params:
            raise ValueError(f"grad has {grad.shape[0]} entries, expected {self.n_params}")
        cdef UpdateRule rule = step.rule
        cdef floating[::1] state = step.state
        if state.shape[0] < self.n_train * rule.state_per_param:
            raise ValueError("optimizer state is smaller than the rule needs")
        cdef fnn_int n = perm.shape[0]
        cdef fnn_int batch_size = step.batch_size
        if n < 1 or batch_size < 1:
            raise ValueError("an epoch needs at least one row and batch_size >= 1")
        check_rows(perm, X.shape[0])
        batch_size = min(batch_size, n)
        work, need = self._workspace(batch_size, f32, n_threads, work)
        cdef void *wp = _ptr_or_null(work)
        cdef const void *swp = _ptr_or_null(sw)
        cdef void *stp = _ptr_or_null(np.asarray(stats))
        cdef void *sp = _ptr_or_null(np.asarray(state))
        cdef size_t ws = need
        cdef double loss = 0.0
        cdef int status
        cdef fnn_epoch_step c_step
        c_step.opt = &rule.c
        c_step.lr, c_step.alpha, c_step.value_scale = step.lr, step.alpha, step.value_scale
        c_step.t, c_step.seed = step.t, step.seed
        c_step.clip_norm = 0.0 if step.clip_norm is None else step.clip_norm
        c_step.phases = NULL
        cdef double[::1] ph
        if phases is not None:
            ph = phases
            if ph.shape[0] != 2 * self.phase_slots:
                raise ValueError(f"phases has {ph.shape[0]} entries, expected "
                                 f"{2 * self.phase_slots}")
            c_step.phases = &ph[0]
        if not c_step.clip_norm >= 0.0:
            raise ValueError(f"clip_norm must be None or >= 0, got {step.clip_norm!r}")
        cdef fnn_epoch_data_f32 d32
        cdef fnn_epoch_data_f64 d64
        cdef fnn_epoch_bufs_f32 b32
        cdef fnn_epoch_bufs_f64 b64
        if floating is float:
            d32.X, d32.y, d32.sw = &X[0, 0], &y[0], <const float *>swp
            d32.perm, d32.n, d32.batch = <const fnn_int *>&perm[0], n, batch_size
            b32.params, b32.grad = &params[0], &grad[0]
            b32.state, b32.stats = <float *>sp, <float *>stp
        else:
            d64.X, d64.y, d64.sw = &X[0, 0], &y[0], <const double *>swp
            d64.perm, d64.n, d64.batch = <const fnn_int *>&perm[0], n, batch_size
            b64.params, b64.grad = &params[0], &grad[0]
            b64.state, b64.stats = <double *>sp, <double *>stp
        with nogil:
            if floating is float:
                status = fnn_net_epoch_f32(&self.c, &d32, &b32, &c_step, &loss, wp, ws,
                                           blas_table(), n_threads)
            else:
                status = fnn_net_epoch_f64(&self.c, &d64, &b64, &c_step, &loss, wp, ws,
                                           blas_table(), n_threads)
        step.t = c_step.t
        _check(status)
        return loss
