"""The engine: a built network, the buffers it runs on (parameters,
running statistics) and its training state (optimizer state, history), and
everything that runs there: prediction, the evaluation loss, the L-BFGS fit,
the compiled first-order fit, batch norm's statistics after a full-batch fit.
Estimators validate, encode targets, build an Engine and call it; they never
touch the compiled network themselves. An Engine pickles with its buffers and
state (the compiled network is rebuilt from the layer specs).
"""
import contextlib
import warnings

import numpy as np
import scipy.optimize

from fastnn._core._loss import loss_grad
from fastnn._core._net import STATS_KEEP, STATS_REPLACE, EpochStep
from fastnn.nn import _trainer
from fastnn.nn._network import Network

# rows per block of a prediction (bounds its workspace)
PREDICT_BATCH = 4096
# an epoch workspace up to this size stays with the engine between fits
# (warm starts, partial_fit); a larger one (full-batch fits) is let go
KEEP_WORK_BYTES = 32 << 20

# the open phase_profile() blocks' records (benchmarks only)
_PHASE_RECORDS = []


@contextlib.contextmanager
def phase_profile():
    """Times every compiled epoch that runs inside the block by phase (the
    benchmarks' tool, benchmarks/phases.py). Yields a list that gets, per
    epoch, a dict with "threads" (the team size), "names" (the phases: the
    batches' row gathers, losses and updates, each layer's forward and
    backward) and "work" and "wait" (float64 arrays, one entry per phase: the
    seconds of work and of barrier waits summed over the team's threads).
    Timing does not change what the epoch computes."""
    records = []
    _PHASE_RECORDS.append(records)
    try:
        yield records
    finally:
        _PHASE_RECORDS.remove(records)


class Engine:
    """``network`` (a fastnn.nn.Network) over the flat ``params`` and
    ``stats`` it owns (see fastnn.nn._network for their layout).

    Settings of the current fit: ``n_threads`` (prediction takes its own),
    ``seed`` of dropout's masks. Reported squared-error losses are divided by
    the number of outputs, as scikit-learn's MLP reports them.
    """

    def __init__(self, network, params, stats):
        self.network = network
        self.params = params
        self.stats = stats
        self.opt_state = None       # a first-order optimizer's, kept for partial_fit
        self.history = _trainer.History()
        self.n_threads = 1
        self.seed = 0
        self.work = None            # the epochs' workspace, kept between fits

    def __getstate__(self):
        state = dict(self.__dict__)
        state["work"] = None        # scratch: never pickled
        return state

    def workspace(self, nbytes):
        """A float64 array of at least ``nbytes`` bytes, reused from call to
        call (a fresh one every epoch cost page faults: 12% of a LeNet epoch)."""
        if self.work is None or self.work.nbytes < nbytes:
            self.work = np.empty(nbytes // 8 + 8)
        return self.work

    @classmethod
    def initialized(cls, network, rng, dtype):
        """A new engine over ``network`` with its layers' initial weights,
        drawn from ``rng`` (a numpy RandomState)."""
        params, stats = network.init(rng, dtype)
        return cls(network, params, stats)

    @property
    def net(self):
        return self.network.net

    @property
    def value_scale(self):
        # the squared error's mean over the outputs (of a step, per step)
        width = self.net.out_size // max(1, self.network.steps)
        return 1.0 / width if self.network.loss == "squared_error" else 1.0

    @property
    def dtype(self):
        return self.params.dtype

    def own_buffers(self, dtype):
        """Make the buffers writable arrays of ``dtype`` before training (a
        model loaded read-only, as joblib memory-maps it, trains on its own
        copy; a new dtype starts a new optimizer). True when they are new
        arrays."""
        new = False
        if not (self.params.flags.writeable and self.stats.flags.writeable):
            self.params, self.stats = self.params.copy(), self.stats.copy()
            new = True
        if self.params.dtype != dtype:
            self.params, self.stats = self.params.astype(dtype), self.stats.astype(dtype)
            self.opt_state = None
            new = True
        return new

    def part(self, start, stop):
        """An engine over layers [start, stop) of the network with copies of
        their weights and statistics: it takes what layer ``start`` takes,
        and its raw outputs are layer ``stop - 1``'s activations."""
        net = self.network
        in_shape = net.in_shape if start == 0 else net.built[start - 1].out_shape
        return self._moved(Network(net.specs[start:stop], in_shape, "squared_error"), start)

    def refrozen(self, frozen):
        """The same network, weights and statistics with the layers in
        ``frozen`` frozen instead (the flat layout changes: a new optimizer)."""
        net = self.network
        engine = self._moved(Network(net.specs, net.in_shape, net.loss, frozen=frozen,
                                     per_step=net.per_step), 0)
        engine.history, engine.n_threads, engine.seed = self.history, self.n_threads, self.seed
        return engine

    def _moved(self, network, start):
        """A new engine over ``network``, whose layer i is this one's layer
        start + i, with copies of their tensors."""
        params = np.empty(network.n_params, self.dtype)
        stats = np.empty(network.n_stats, self.dtype)
        net = self.network
        for src, dst in ((net.views(self.params), network.views(params)),
                         (net.stat_views(self.stats), network.stat_views(stats))):
            for i, layer in enumerate(dst):
                for name, view in layer.items():
                    view[...] = src[start + i][name]
        return Engine(network, params, stats)

    # ----------------------------------------------------------- inference
    def predict(self, X, params=None, n_threads=None):
        """Eval-mode raw outputs (before the loss's link) of the flat X."""
        return self.net.predict(X, self.params if params is None else params, self.stats,
                                PREDICT_BATCH, self.n_threads if n_threads is None else n_threads)

    def eval_loss(self, raw, Y, sw, alpha, params=None):
        """The data loss (as loss_ reports it) plus the L2 term, on raw
        outputs, by the engine's own loss kernel."""
        params = self.params if params is None else params
        dtype = raw.dtype
        Yf = np.ascontiguousarray(Y, dtype=dtype).ravel()
        swf = None if sw is None else np.ascontiguousarray(sw, dtype=dtype)
        S = float(np.sum(swf)) if swf is not None else float(raw.shape[0])
        data = loss_grad(self.net.loss, raw, Yf, swf) * self.value_scale / S
        W = params[: self.network.n_decay].astype(np.float64)
        return data + 0.5 * float(alpha) * float(W @ W) / S

    def team_size(self, batch, n_threads=None):
        """Threads the engine splits batches of ``batch`` rows between."""
        return self.net.team_size(batch, self.n_threads if n_threads is None else n_threads)

    # -------------------------------------------------------- full batch
    def fit_lbfgs(self, X, Y, sw, alpha, max_iter, max_fun, tol, verbose):
        """SciPy's L-BFGS-B over the trainable parameters (scikit-learn's MLP
        settings), in place; then batch norm's running statistics become the
        whole training set's. Returns SciPy's result."""
        S = float(sw.sum()) if sw is not None else float(X.shape[0])
        nd, n_train = self.network.n_decay, self.network.n_train
        grad = np.empty(self.network.n_params, dtype=self.params.dtype)
        params = self.params

        def fun(w):
            params[:n_train] = w
            loss, _ = self.net.loss_grad(X, Y, sw, params, self.stats, grad, None, 1.0 / S,
                                         self.seed, STATS_KEEP, False, self.n_threads)
            W = w[:nd]
            g = grad[:n_train].astype(np.float64)
            g[:nd] += (alpha / S) * W
            return self.value_scale * loss / S + 0.5 * alpha * float(W @ W) / S, g

        options = {"maxfun": max_fun, "maxiter": max_iter, "gtol": tol}
        if verbose:
            options["iprint"] = 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # iprint on new SciPy
            res = scipy.optimize.minimize(fun, params[:n_train].astype(np.float64),
                                          method="L-BFGS-B", jac=True, options=options)
        params[:n_train] = res.x
        self.set_running_stats(X, Y, sw)
        return res

    def set_running_stats(self, X, Y, sw):
        """Batch norm after full-batch training: running statistics = the
        whole training set's (one pass that replaces them)."""
        if self.network.n_stats == 0:
            return
        grad = np.empty(self.network.n_params, dtype=self.params.dtype)
        self.net.loss_grad(X, Y, sw, self.params, self.stats, grad, None, 1.0, 0,
                           STATS_REPLACE, False, self.n_threads)

    # ---------------------------------------------------------- mini-batch
    def fit_epochs(self, X, Y, sw, alpha, optimizer, schedule, *, samples_seen,
                   incremental=False, restore_best=False, clip_norm=None, resume=False,
                   **train_args):
        """The compiled first-order fit (fastnn.nn._trainer.train's
        ``train_args``) in place on the parameters, continuing the engine's
        history. A new optimizer state per fit, as scikit-learn's: its first
        epoch runs at the optimizer's learning rate, and schedules count samples
        from ``samples_seen``; ``incremental`` (partial_fit) continues the
        state of the previous call instead. With ``restore_best`` the best
        validation epoch's parameters and running statistics are put back.
        ``clip_norm``: clip each batch gradient's global norm to it (None:
        no clipping). ``resume``: go on with the fit in progress whose state
        the engine holds (a checkpoint's). Returns the history."""
        if resume:
            if self.opt_state is None:
                raise ValueError("resume_from: the checkpoint holds no optimizer state")
        elif self.opt_state is None or not incremental:
            self.opt_state = _trainer.OptimizerState(
                optimizer._update_rule(), self.network.n_params, self.params.dtype,
                schedule(float(optimizer.learning_rate), 0, 0))
            self.opt_state.samples_seen = samples_seen
        if not resume:
            self.history.best_params = self.history.best_stats = None
        self.opt_state, hist = _trainer.train(
            self.epoch_model(X, Y, sw, alpha, clip_norm), self.params, optimizer, schedule,
            opt_state=self.opt_state, history=self.history, incremental=incremental,
            resume=resume, **train_args)
        if restore_best and hist.best_params is not None:
            self.params[...] = hist.best_params
            if hist.best_stats is not None:
                self.stats[...] = hist.best_stats
        if self.work is not None and self.work.nbytes > KEEP_WORK_BYTES:
            self.work = None
        return hist

    def epoch_model(self, X, Y, sw, alpha, clip_norm=None):
        """The trainer's view of this network on one data set."""
        return EpochModel(self, X, Y, sw, alpha, clip_norm)


class EpochModel:
    """What fastnn.nn._trainer.train runs: compiled epochs over X's rows,
    the initial weights' loss, and the running statistics to keep with the
    best parameters."""

    # rows the initial weights' loss is measured on: a reference for
    # divergence, not an estimate, so one forward and backward of at least
    # this many rows (a training batch, when larger), in the epochs' workspace
    REFERENCE_ROWS = 64

    def __init__(self, engine, X, y, sw, alpha, clip_norm=None):
        self.engine = engine
        self.clip_norm = clip_norm
        self.net = engine.net
        self.n_params = self.net.n_params
        self.X, self.y, self.sw = X, y, sw
        self.alpha = float(alpha)
        self.stats = engine.stats

    def reference_loss(self, params, rows, batch_size):
        """The training objective at params over the first rows of ``rows``
        (the running statistics are left alone)."""
        e = self.engine
        rows = np.ascontiguousarray(rows[: max(self.REFERENCE_ROWS, batch_size)],
                                    dtype=np.int64)
        S = float(rows.size) if self.sw is None else float(np.sum(self.sw[rows]))
        if S <= 0:
            return np.nan
        # in batches of the epoch's size: the epoch's workspace serves (one
        # sized for more rows would be reallocated by every warm-started fit)
        work = e.workspace(self.net.workspace_size(min(batch_size, len(rows)), params.dtype,
                                                   True, e.n_threads))
        loss = 0.0
        for r0 in range(0, len(rows), batch_size):
            loss += self.net.loss_grad(self.X, self.y, self.sw, params, self.stats, None,
                                       rows[r0:r0 + batch_size], 1.0, e.seed, STATS_KEEP,
                                       False, e.n_threads, work)[0]
        W = params[: e.network.n_decay].astype(np.float64)
        # the L2 term as one batch of these rows would report it
        return e.value_scale * loss / S + 0.5 * self.alpha * float(W @ W) / S

    def epoch(self, perm, batch_size, opt, params, grad):
        e = self.engine
        step = EpochStep(opt.rule, opt.state, opt.lr, opt.t, batch_size, self.alpha,
                         e.value_scale, e.seed, self.clip_norm)
        work = e.workspace(self.net.workspace_size(min(batch_size, len(perm)), params.dtype,
                                                   True, e.n_threads))
        phases = np.zeros(2 * self.net.phase_slots) if _PHASE_RECORDS else None
        loss = self.net.epoch(self.X, self.y, self.sw, perm, params, grad, self.stats, step,
                              e.n_threads, work, phases)
        opt.t = step.t
        if phases is not None:
            record = {"threads": self.net.team_size(min(batch_size, len(perm)), e.n_threads),
                      "names": self.net.phase_names(), "work": phases[0::2],
                      "wait": phases[1::2]}
            for records in _PHASE_RECORDS:
                records.append(record)
        return loss
