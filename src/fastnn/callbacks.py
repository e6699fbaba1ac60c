"""Per-epoch callbacks of the network estimators (``callbacks=[...]``).

A callback is any object with some of these methods (``Callback`` has them
all, doing nothing):

- ``on_fit_begin(estimator)``: before the first epoch of a fit;
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
import numpy as np


class Callback:
    """Does nothing at every point: subclass it and override what you need."""

    def on_fit_begin(self, estimator):
        pass

    def on_epoch_end(self, estimator, logs):
        return False

    def on_fit_end(self, estimator):
        pass


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
