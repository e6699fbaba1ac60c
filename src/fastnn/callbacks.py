"""Per-epoch callbacks of the network estimators (``callbacks=[...]``).

A callback is any object with some of these methods (``Callback`` has them
all, doing nothing):

- ``on_fit_begin(estimator)``: before the first epoch of a fit;
- ``on_epoch_begin(estimator, epoch)``: before each epoch (1-based);
- ``on_epoch_end(estimator, logs)``: after each epoch; returning True stops
  the fit there (no ConvergenceWarning then). ``logs``: ``epoch`` (1-based,
  within this fit), ``loss`` (the epoch's training loss), ``lr`` (the
  learning rate it ran at), ``seconds``, and where a validation set is
  scored ``val_score`` and ``val_loss``;
- ``on_fit_end(estimator)``: after the last epoch (also after L-BFGS, which
  has no epochs to report).

During a fit the estimator's weights (``coefs_``, ``intercepts_``, and for
NeuralNet* and Autoencoder ``get_weights()``) are the current ones; its
curves (``loss_curve_``...) are set when the fit ends.
"""
import importlib
import os
import pickle
import tempfile

import numpy as np
from sklearn.utils.validation import check_is_fitted


class Callback:
    """Does nothing at every point: subclass it and override what you need."""

    def on_fit_begin(self, estimator):
        pass

    def on_epoch_begin(self, estimator, epoch):
        pass

    def on_epoch_end(self, estimator, logs):
        return False

    def on_fit_end(self, estimator):
        pass


class ProgressBar(Callback):
    """A progress bar over a fit's epochs whose postfix shows the last epoch's
    loss, validation score and loss and learning rate (tqdm, an optional
    extra: ``pip install tqdm``); without tqdm, verbose's line per epoch.
    ``verbose=2`` on an estimator adds one. ``file``: where it writes
    (tqdm's default, stderr, when None)."""

    def __init__(self, file=None):
        self.file = file

    def on_fit_begin(self, estimator):
        try:
            from tqdm.auto import tqdm
        except ImportError:
            self._bar = None
            return
        total = 1 if getattr(estimator, "_fitting_incrementally", False) else \
            estimator.max_iter
        self._bar = tqdm(total=total, unit="epoch", desc=type(estimator).__name__,
                         file=self.file, leave=True, dynamic_ncols=True)

    def on_epoch_end(self, estimator, logs):
        if getattr(self, "_bar", None) is None:
            from fastnn.nn._trainer import _epoch_line
            print(_epoch_line(logs), file=self.file)
            return False
        post = {"loss": f"{logs['loss']:.4g}"}
        for key in ("val_score", "val_loss"):
            if key in logs:
                post[key] = f"{logs[key]:.4g}"
        post["lr"] = f"{logs['lr']:.3g}"
        self._bar.set_postfix(post, refresh=False)
        self._bar.update(1)
        return False

    def on_fit_end(self, estimator):
        if getattr(self, "_bar", None) is not None:
            self._bar.close()
        self._bar = None


class History(Callback):
    """Keeps every epoch's ``logs`` in ``epochs`` (a list of dicts), over
    every fit it takes part in (Keras's History)."""

    def __init__(self):
        self.epochs = []

    def on_epoch_end(self, estimator, logs):
        self.epochs.append(dict(logs))
        return False


class EarlyStopping(Callback):
    """Stops a fit when ``monitor`` ("loss", "val_loss" or "val_score") has
    not improved by more than ``min_delta`` for ``patience`` epochs; with
    ``restore_best`` the weights (and batch norm statistics) of the best
    epoch are put back at the end (Keras's EarlyStopping). ``stopped_epoch``
    and ``best`` tell what happened."""

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, restore_best=True):
        self.monitor = monitor
        self.patience = patience
        self.min_delta = min_delta
        self.restore_best = restore_best

    def on_fit_begin(self, estimator):
        if self.monitor not in ("loss", "val_loss", "val_score"):
            raise ValueError("EarlyStopping: monitor must be 'loss', 'val_loss' or "
                             f"'val_score', got {self.monitor!r}")
        if not isinstance(self.patience, (int, np.integer)) or self.patience < 1:
            raise ValueError(f"EarlyStopping: patience must be an int >= 1, got "
                             f"{self.patience!r}")
        self.best, self.best_epoch, self.stopped_epoch = None, 0, 0
        self._wait, self._saved = 0, None

    def on_epoch_end(self, estimator, logs):
        if self.monitor not in logs:
            raise ValueError(f"EarlyStopping: monitor={self.monitor!r} needs a validation set "
                             "(validation_data, or early_stopping's validation_fraction)")
        value = logs[self.monitor]
        sign = 1.0 if self.monitor == "val_score" else -1.0  # larger is better after sign
        if self.best is None or sign * (value - self.best) > self.min_delta:
            self.best, self.best_epoch, self._wait = value, logs["epoch"], 0
            if self.restore_best:
                engine = estimator._engine
                self._saved = (engine.params.copy(), engine.stats.copy())
            return False
        self._wait += 1
        if self._wait >= self.patience:
            self.stopped_epoch = logs["epoch"]
            return True
        return False

    def on_fit_end(self, estimator):
        if self.restore_best and self._saved is not None:
            engine = estimator._engine
            engine.params[...], engine.stats[...] = self._saved
        self._saved = None


# ------------------------------------------------------------- checkpoints
_FORMAT = "fastnn-checkpoint"
_VERSION = 1
# what may differ between the estimator that wrote a checkpoint and the one
# resuming from it: how long it runs, what it reports, on how many threads
RESUME_MAY_CHANGE = frozenset({"max_iter", "verbose", "callbacks", "n_threads"})
# what an estimator holds for callbacks, not for its model: not saved, and
# kept when a checkpoint is put into an estimator (scikit-learn's protocol)
_NOT_STATE = frozenset({"callbacks", "_skl_callbacks", "_skl_callbacks_to_teardown",
                        "_callback_fit_ctx", "_parent_callback_ctx"})


class ModelCheckpoint(Callback):
    """Saves the whole training state after an epoch: weights, running
    statistics, the optimizer's state (moments, step count), the schedule's
    position, the stopping counters, the random state, the row order and the
    history. ``fit(X, y, resume_from=path)`` goes on from it exactly: 10
    epochs, a checkpoint, and 10 more resumed give bitwise the weights of 20
    epochs in one fit (same ``n_threads``); ``load_checkpoint(path)`` gives
    the estimator of that epoch, ready to predict.

    ``path`` may hold ``str.format`` fields of the epoch's logs
    (``"ckpt-{epoch:03d}.pkl"``). With ``save_best_only`` a checkpoint is
    written only when ``monitor`` ("loss", "val_loss" or "val_score")
    improves on the best so far (Keras's ModelCheckpoint). Every ``every``
    epochs otherwise. A file is written whole or not at all (a temporary
    file renamed over it). Checkpoints are pickles: load only files you
    trust, as with any pickle."""

    def __init__(self, path, save_best_only=False, monitor="val_loss", every=1):
        self.path = path
        self.save_best_only = save_best_only
        self.monitor = monitor
        self.every = every

    def on_fit_begin(self, estimator):
        if not isinstance(self.path, (str, os.PathLike)):
            raise ValueError(f"ModelCheckpoint: path must be a str or a path, got {self.path!r}")
        if self.monitor not in ("loss", "val_loss", "val_score"):
            raise ValueError("ModelCheckpoint: monitor must be 'loss', 'val_loss' or "
                             f"'val_score', got {self.monitor!r}")
        if not isinstance(self.every, (int, np.integer)) or isinstance(self.every, bool) or \
                self.every < 1:
            raise ValueError(f"ModelCheckpoint: every must be an int >= 1, got {self.every!r}")
        self.best, self.saved = None, []

    def on_epoch_end(self, estimator, logs):
        if self.save_best_only:
            if self.monitor not in logs:
                raise ValueError(f"ModelCheckpoint: monitor={self.monitor!r} needs a validation "
                                 "set (validation_data, or early_stopping's "
                                 "validation_fraction)")
            value = logs[self.monitor]
            sign = 1.0 if self.monitor == "val_score" else -1.0
            if self.best is not None and not sign * (value - self.best) > 0:
                return False
            self.best = value
        elif logs["epoch"] % self.every:
            return False
        path = os.fspath(self.path).format(**logs)
        save_checkpoint(estimator, path)
        self.saved.append(path)
        return False


def _class_name(estimator):
    return f"{type(estimator).__module__}.{type(estimator).__qualname__}"


def save_checkpoint(estimator, path):
    """Write ``estimator``'s training state to ``path`` (what ModelCheckpoint
    does after an epoch; between fits it saves the fitted estimator, from
    which ``fit(..., resume_from=path)`` with a larger ``max_iter`` goes on)."""
    check_is_fitted(estimator, "coefs_")
    state = {k: v for k, v in estimator.__getstate__().items() if k not in _NOT_STATE}
    history = estimator._engine.history
    # what a plain pickle leaves out (History.FIT_STATE, the validation split)
    fit_state = {name: getattr(history, name) for name in history.FIT_STATE}
    fit_state["split_rows"] = getattr(estimator, "_split_rows", None)
    payload = {"format": _FORMAT, "version": _VERSION,
               "class": _class_name(estimator),
               "state": state, "fit_state": fit_state}
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".fastnn-ckpt-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(payload, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _read(path):
    try:
        with open(os.fspath(path), "rb") as f:
            payload = pickle.load(f)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as e:
        raise ValueError(f"{os.fspath(path)!r} is not a fastnn checkpoint ({e})") from None
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise ValueError(f"{os.fspath(path)!r} is not a fastnn checkpoint")
    if payload["version"] > _VERSION:
        raise ValueError(f"{os.fspath(path)!r} was written by a newer fastnn (checkpoint "
                         f"version {payload['version']}; this one reads {_VERSION})")
    return payload


def load_checkpoint(path):
    """The estimator a checkpoint holds, fitted up to its epoch: it predicts,
    pickles, and ``fit(X, y, resume_from=path)`` on it (or on a clone with a
    larger ``max_iter``) goes on training. Its curves (``loss_curve_``,
    ``n_iter_``...) are those up to the checkpoint; ``callbacks`` is None."""
    payload = _read(path)
    module, _, name = payload["class"].rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    est = cls.__new__(cls)
    est.__setstate__(dict(payload["state"]))
    _put_fit_state(est, payload)
    est.callbacks = None
    est._set_curves(est._engine.history)
    return est


def restore_into(estimator, path):
    """Put the training state of the checkpoint at ``path`` into
    ``estimator`` (fit's ``resume_from``): the checkpoint must come from the
    same class with the same parameters, but for those in RESUME_MAY_CHANGE."""
    payload = _read(path)
    cls = _class_name(estimator)
    if payload["class"] != cls:
        raise ValueError(f"resume_from: the checkpoint holds a {payload['class']}, not a {cls}")
    state = payload["state"]
    mine = estimator.get_params(deep=False)
    for name, value in mine.items():
        if name in RESUME_MAY_CHANGE:
            continue
        if name not in state or not _same(state[name], value):
            raise ValueError(f"resume_from: the checkpoint was written with {name}="
                             f"{state.get(name, '(absent)')!r}, this estimator has {name}="
                             f"{value!r}; only {sorted(RESUME_MAY_CHANGE)} may change")
    if "_engine" not in state or payload["fit_state"]["order"] is None:
        raise ValueError("resume_from: the checkpoint holds no first-order fit in progress "
                         "(write it with ModelCheckpoint or save_checkpoint after such a fit)")
    for key in [k for k in estimator.__dict__ if k not in mine and k not in _NOT_STATE]:
        del estimator.__dict__[key]
    kept = {name: mine[name] for name in RESUME_MAY_CHANGE if name in mine}
    estimator.__setstate__({**state, **kept})
    _put_fit_state(estimator, payload)


def _put_fit_state(estimator, payload):
    fit_state = payload["fit_state"]
    history = estimator._engine.history
    for name in history.FIT_STATE:
        setattr(history, name, fit_state[name])
    if fit_state["split_rows"] is not None:
        estimator._split_rows = fit_state["split_rows"]


def _same(a, b):
    """Parameter equality for the resume check (arrays, estimators, layers)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if hasattr(a, "get_params"):
        return _same(a.get_params(deep=False), b.get_params(deep=False))
    if hasattr(a, "__dict__") and not isinstance(a, type):
        return _same(vars(a), vars(b))
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return repr(a) == repr(b)
