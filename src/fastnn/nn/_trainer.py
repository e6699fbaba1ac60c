"""The first-order training loop shared by every estimator.

Python runs here once per epoch; the epoch itself (gather the shuffled
batches, forward, loss, backward, update) is one compiled call of the model.
A model is any object with

    n_params                      size of its flat parameter buffer
    epoch(perm, batch_size, opt_state, params, grad) -> loss
        one compiled pass over the rows in ``perm`` with the rule, rate and
        state of ``opt_state`` (an OptimizerState, whose step count ``t`` it
        advances); ``grad`` is scratch. Returns the epoch's mean training
        objective.
    reference_loss(params, rows, batch_size) -> float  (optional) the training
        objective at ``params`` (on a sample of ``rows`` is enough): the
        initial weights' loss, which divergence is judged against.
    stats                         (optional) its buffer of running statistics
        (batch norm), which the epoch updates outside ``params``: kept with
        the best parameters, since the model scored is both.

The loop owns what happens between epochs: the permutation, the learning
rate schedule, the stopping rule (scikit-learn's MLP rule: stop after
``n_iter_no_change`` epochs whose loss did not improve on the best by
``tol``; the 'adaptive' schedule divides the rate by 5 instead until it
falls below 1e-6), divergence detection, verbosity and history.

Divergence is judged against the loss of the initial weights, computed once
per call before the first epoch, which a blown-up first epoch cannot set: a
non-finite loss, one EXPLOSION_FACTOR times the initial one, or
DIVERGENCE_FACTOR times the best seen, is a ValueError; a fit that ends with
a loss worse than the initial weights' (by more than max(|initial|, 1)) gets
a ConvergenceWarning that says so.
"""
import signal
import threading
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning


class OptimizerState:
    """What warm_start / partial_fit keep between calls: the rule's state
    (sized to the flat buffer), the step count t, samples seen and the rate."""

    def __init__(self, rule, n_params, dtype, lr):
        self.rule = rule
        self.state = np.zeros(n_params * rule.state_per_param, dtype=dtype)
        self.t = 0
        self.samples_seen = 0
        self.lr = lr
        self.epochs = 0


class History:
    """What the loop records, and what continues across warm-started fits:
    the loss curve, the best loss, the no-improvement count and, when a
    validation set is scored, its scores, losses and the best parameters."""

    def __init__(self):
        self.loss_curve = []
        self.n_iter = 0
        self.best_loss = np.inf
        self.no_improvement = 0
        self.validation_scores = []
        self.validation_loss_curve = []
        self.best_validation_score = -np.inf
        self.best_params = None
        self.best_stats = None
        # the fit in progress: the row order the next shuffle permutes, and
        # the initial weights' loss (a resumed fit continues both)
        self.order = None
        self.initial_loss = np.nan

    # what only resuming the fit in progress needs, O(n_samples) or O(params):
    # a checkpoint saves it beside the pickle (fastnn.callbacks), an ordinary
    # pickle of a fitted estimator stays the size of its model
    FIT_STATE = ("order", "best_params", "best_stats")

    def __getstate__(self):
        state = dict(self.__dict__)
        for name in self.FIT_STATE:
            state[name] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        for name in self.FIT_STATE:  # pickles from before them
            self.__dict__.setdefault(name, None)
        self.__dict__.setdefault("initial_loss", np.nan)


# A loss this many times the best one seen (or than 1, for losses near zero
# or negative, as Poisson's can be) is divergence, even while finite: without
# this rule a blow-up that stops improving would end "converged".
DIVERGENCE_FACTOR = 1e8
# A loss this many times the initial weights' (or than 1) is divergence from
# the first epoch on: a healthy first-order fit never gets there.
EXPLOSION_FACTOR = 1e4


def _check_loss(loss, best_loss, initial_loss, epoch, lr):
    if not np.isfinite(loss) or (np.isfinite(best_loss) and
                                 loss > DIVERGENCE_FACTOR * max(abs(best_loss), 1.0)) or \
            (np.isfinite(initial_loss) and
             loss > EXPLOSION_FACTOR * max(abs(initial_loss), 1.0)):
        raise ValueError(
            f"the training loss became {loss:g} at epoch {epoch + 1}: the fit diverged. "
            f"Lower the learning rate (it was {lr:g}), scale the features, or use "
            "another solver."
        )


class _CtrlC:
    """Ctrl-C (SIGINT) during a fit is noted and the loop stops after the
    epoch that is running (the compiled epoch holds no GIL, so Python sees
    the signal once it returns); a second Ctrl-C interrupts at once. Only
    in the main thread, where Python delivers signals."""

    def __enter__(self):
        self.hit, self._installed, self._old = False, False, None
        if threading.current_thread() is threading.main_thread():
            try:
                self._old = signal.signal(signal.SIGINT, self._note)
                self._installed = True
            except ValueError:  # an embedding interpreter without signals
                pass
        return self

    def _note(self, signum, frame):
        if self.hit:
            raise KeyboardInterrupt
        self.hit = True

    def __exit__(self, *exc):
        if self._installed:
            signal.signal(signal.SIGINT, signal.SIG_DFL if self._old is None else self._old)
        return False


def train(model, params, optimizer, schedule, *, n_samples, batch_size, max_iter, tol,
          n_iter_no_change, shuffle, rng, verbose=0, opt_state=None, history=None,
          validate=None, early_stopping=False, incremental=False, rows=None, callbacks=(),
          owner=None, resume=False):
    """Run up to ``max_iter`` epochs in place on ``params``.

    ``validate(params) -> (score, loss or None)`` scores a validation set
    after every epoch (higher score is better); with ``early_stopping`` the
    stopping rule watches that score instead of the training loss, and the
    best parameters seen are kept in ``history.best_params`` (scikit-learn's
    MLP rule). ``rows``: the model's rows to train on (n_samples of them,
    in this order before shuffling), all n_samples rows when None.
    ``incremental`` runs one epoch without the max-iteration
    warning (partial_fit). ``callbacks``: objects whose ``on_epoch_begin(owner,
    epoch)`` runs before each epoch and ``on_epoch_end(owner, logs)`` after
    it; True from any on_epoch_end stops the fit (see fastnn.callbacks).
    Returns (opt_state, history); pass them back to continue (warm start).
    ``resume``: ``opt_state`` and ``history`` are
    those of a fit stopped between two epochs (a checkpoint): go on with it
    up to ``max_iter`` epochs in all, as if it had never stopped.
    """
    lr0 = float(optimizer.learning_rate)
    if opt_state is None or opt_state.state.shape[0] != model.n_params * \
            opt_state.rule.state_per_param:
        opt_state = OptimizerState(optimizer._update_rule(), model.n_params, params.dtype,
                                   schedule(lr0, 0, 0))
    history = History() if history is None else history
    grad = np.empty_like(params)
    if resume:
        if history.order is None or len(history.order) != n_samples:
            done = 0 if history.order is None else len(history.order)
            raise ValueError(f"the fit to resume trained on {done} rows; this data has "
                             f"{n_samples}")
    else:
        history.n_iter = 0
        history.order = np.arange(n_samples, dtype=np.int64) if rows is None else \
            np.ascontiguousarray(rows, dtype=np.int64)
        if len(history.order) != n_samples:
            raise ValueError("rows must hold n_samples row indices")
        history.initial_loss = np.nan
        if hasattr(model, "reference_loss") and max_iter > 0:
            history.initial_loss = float(model.reference_loss(params, history.order,
                                                              batch_size))
    initial_loss = history.initial_loss
    with _CtrlC() as ctrl_c:
        stopped, interrupted, converged = _epochs(
            model, params, schedule, lr0, opt_state, history, grad, initial_loss,
            n_samples=n_samples, batch_size=batch_size, max_iter=max_iter, tol=tol,
            n_iter_no_change=n_iter_no_change, shuffle=shuffle, rng=rng, verbose=verbose,
            validate=validate, early_stopping=early_stopping, incremental=incremental,
            callbacks=callbacks, owner=owner, ctrl_c=ctrl_c)
    if interrupted:
        warnings.warn(f"fit interrupted (Ctrl-C) after epoch {history.n_iter}: the estimator "
                      "keeps that epoch's weights (with early stopping, the best epoch's)",
                      UserWarning)
    if history.n_iter and np.isfinite(initial_loss) and \
            history.loss_curve[-1] > initial_loss + max(abs(initial_loss), 1.0):
        warnings.warn(
            f"the training loss ended at {history.loss_curve[-1]:g}, above that of the initial "
            f"weights ({initial_loss:g}): the fit went the wrong way, most likely because the "
            f"learning rate ({lr0:g}) is too high for this data. Lower it, or scale the "
            "features.", ConvergenceWarning)
    if not converged and not stopped and not incremental and max_iter > 0 and \
            history.n_iter == max_iter:
        warnings.warn(
            f"Stochastic Optimizer: Maximum iterations ({max_iter}) reached and the "
            "optimization hasn't converged yet.",
            ConvergenceWarning,
        )
    return opt_state, history


def _epochs(model, params, schedule, lr0, opt_state, history, grad, initial_loss, *,
            n_samples, batch_size, max_iter, tol, n_iter_no_change, shuffle, rng, verbose,
            validate, early_stopping, incremental, callbacks, owner, ctrl_c):
    """train's epochs; returns whether the fit was stopped (by a callback or
    Ctrl-C), interrupted (Ctrl-C) and converged (the stopping rule).

    Everything an epoch changes (the history, the stopping counters, the
    next epoch's rate) is settled before the callbacks see it, so that what
    a callback saves (fastnn.callbacks.ModelCheckpoint) is the whole state
    between two epochs and a fit resumed from it runs the same epochs."""
    stopped = interrupted = converged = False
    begins = [cb for cb in callbacks if hasattr(cb, "on_epoch_begin")]
    for _ in range(max_iter - history.n_iter):
        start = time.perf_counter()
        for cb in begins:
            cb.on_epoch_begin(owner, history.n_iter + 1)
        if shuffle:
            # shuffle the previous order (scikit-learn's MLP composes its
            # shuffles this way: the same random_state gives the same batches)
            history.order = history.order[rng.permutation(n_samples)]
        lr = opt_state.lr
        loss = model.epoch(history.order, batch_size, opt_state, params, grad)
        _check_loss(loss, history.best_loss, initial_loss, opt_state.epochs, lr)
        opt_state.epochs += 1
        opt_state.samples_seen += n_samples
        history.n_iter += 1
        history.loss_curve.append(loss)
        logs = {"epoch": history.n_iter, "loss": loss, "lr": lr}
        if validate is not None:
            score, val_loss = validate(params)
            history.validation_scores.append(score)
            if val_loss is not None:
                history.validation_loss_curve.append(val_loss)
                logs["val_loss"] = val_loss
            logs["val_score"] = score
            if early_stopping:
                if score < history.best_validation_score + tol:
                    history.no_improvement += 1
                else:
                    history.no_improvement = 0
            if score > history.best_validation_score:
                history.best_validation_score = score
                if early_stopping:
                    history.best_params = params.copy()
                    stats = getattr(model, "stats", None)
                    history.best_stats = None if stats is None else stats.copy()
        if not early_stopping:
            if loss > history.best_loss - tol:
                history.no_improvement += 1
            else:
                history.no_improvement = 0
        history.best_loss = min(history.best_loss, loss)
        opt_state.lr = schedule.next_rate(lr0, opt_state.lr, opt_state.epochs,
                                          opt_state.samples_seen)
        plateau = None
        if history.no_improvement > n_iter_no_change:
            what = "Validation score" if early_stopping else "Training loss"
            reduced = schedule.on_plateau(opt_state.lr)
            plateau = f"{what} did not improve more than tol={tol} for " \
                      f"{n_iter_no_change} consecutive epochs. "
            if reduced is not None:
                opt_state.lr = reduced
                history.no_improvement = 0
                plateau += f"Setting learning rate to {opt_state.lr:g}"
            else:
                converged = True
                plateau += "Stopping."
        logs["seconds"] = time.perf_counter() - start
        if verbose:
            print(_epoch_line(logs))
            if plateau is not None:
                print(plateau)
        if callbacks:
            # every callback sees the epoch, then any of them may stop the fit
            votes = [bool(cb.on_epoch_end(owner, logs)) for cb in callbacks
                     if hasattr(cb, "on_epoch_end")]
            stopped = any(votes)
        if ctrl_c.hit:
            stopped = interrupted = True
        if stopped or converged or incremental:
            break
    return stopped, interrupted, converged


def _epoch_line(logs):
    """verbose's line for an epoch (scikit-learn's MLP starts its lines so)."""
    line = f"Iteration {logs['epoch']}, loss = {logs['loss']:.8f}"
    if "val_loss" in logs:
        line += f", validation loss = {logs['val_loss']:.8f}"
    if "val_score" in logs:
        line += f", validation score = {logs['val_score']:.6f}"
    return f"{line}, lr = {logs['lr']:.3g}, {logs['seconds']:.3f} s"
