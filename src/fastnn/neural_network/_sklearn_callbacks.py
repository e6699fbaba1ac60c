"""scikit-learn's callback protocol (``sklearn.callback``, experimental since
scikit-learn 1.9) on the network estimators: ``est.set_callbacks(...)``
with scikit-learn's own ``ScoringMonitor`` or ``ProgressBar``, also on
estimators inside ``GridSearchCV`` or a ``Pipeline``.

A fit is one task whose subtasks are its epochs ("epoch", one each; L-BFGS
fits are a leaf task). ``on_fit_task_end`` of an epoch may ask for the
``fitted_estimator``: a copy holding that epoch's weights, built only when
a callback asks for it. True from an epoch's ``on_fit_task_end`` stops the
fit after that epoch. With an older scikit-learn none of this exists and
the estimators work as before.
"""
try:
    from sklearn.callback import CallbackSupportMixin, with_callbacks
    HAVE_SKLEARN_CALLBACKS = True
except ImportError:  # scikit-learn < 1.9
    HAVE_SKLEARN_CALLBACKS = False

    class CallbackSupportMixin:
        """Stands in for sklearn.callback.CallbackSupportMixin (absent)."""

    def with_callbacks(method):
        return method

def begin_fit(estimator, X, y, sample_weight, max_epochs):
    """Open the fit's task (after the input is checked); returns the bridge
    to pass among the per-epoch callbacks (None when it has nothing to do)."""
    if not HAVE_SKLEARN_CALLBACKS:
        return None
    ctx = estimator._init_callback_context(max_subtasks=max_epochs)
    bridge = EpochTasks(ctx, X, y, sample_weight)
    ctx.call_on_fit_task_begin(estimator=estimator, X=X, y=y, metadata=bridge.metadata)
    return bridge


class EpochTasks:
    """A fastnn per-epoch callback that runs an "epoch" subtask of the fit's
    task around each epoch."""

    def __init__(self, ctx, X, y, sample_weight):
        self.ctx, self.X, self.y = ctx, X, y
        self.metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        self._epoch = None

    def on_epoch_begin(self, estimator, epoch):
        self._epoch = self.ctx.subcontext(task_name="epoch")
        self._epoch.call_on_fit_task_begin(estimator=estimator, X=self.X, y=self.y,
                                           metadata=self.metadata,
                                           reconstruction_attributes=estimator._snapshot)

    def on_epoch_end(self, estimator, logs):
        return self._epoch.call_on_fit_task_end(estimator=estimator, X=self.X, y=self.y,
                                                metadata=self.metadata,
                                                reconstruction_attributes=estimator._snapshot)

    def end_fit(self, estimator):
        self.ctx.call_on_fit_task_end(estimator=estimator, X=self.X, y=self.y,
                                      metadata=self.metadata, reconstruction_attributes={})
