"""Per-epoch training curves as a picture (matplotlib, an optional extra)."""
import numpy as np
from sklearn.base import is_classifier


def _matplotlib(what):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(f"{what} needs matplotlib, an optional extra of fastnn: "
                          "pip install 'fastnn[plot]' (or pip install matplotlib)") from None


class LearningCurveDisplay:
    """A network's curves per epoch: the training loss, and where a
    validation set was scored (``validation_data`` or ``early_stopping``)
    the validation loss and the validation score (accuracy for classifiers,
    R^2 for regressors, minus the reconstruction error for autoencoders) on
    a second y axis.

    scikit-learn's Display convention: ``LearningCurveDisplay.from_estimator
    (est)`` or ``LearningCurveDisplay(loss_curve=...).plot(ax=None)``; after
    ``plot``, ``ax_`` (the loss axis), ``score_ax_`` (None without scores),
    ``figure_`` and ``lines_`` (a dict: "loss", "val_loss", "val_score").
    Unlike scikit-learn's LearningCurveDisplay (score against training-set
    size, over many fits), this is one fit against its epochs."""

    def __init__(self, *, loss_curve, validation_loss_curve=None, validation_scores=None,
                 score_name="score", estimator_name=None):
        self.loss_curve = loss_curve
        self.validation_loss_curve = validation_loss_curve
        self.validation_scores = validation_scores
        self.score_name = score_name
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None):
        """The curves of a fitted first-order fit (``loss_curve_`` and, where
        scored, ``validation_loss_curve_`` / ``validation_scores_``), plotted."""
        curve = getattr(estimator, "loss_curve_", None)
        if curve is None:
            raise ValueError(f"{type(estimator).__name__} has no loss_curve_: fit it first, "
                             "with a first-order solver (L-BFGS records no epochs)")
        from fastnn.neural_network import Autoencoder

        if is_classifier(estimator):
            score_name = "accuracy"
        elif isinstance(estimator, Autoencoder):
            score_name = "-reconstruction error"
        else:
            score_name = "R^2"
        scores = getattr(estimator, "validation_scores_", None)
        val_loss = getattr(estimator, "validation_loss_curve_", None) if scores else None
        display = cls(loss_curve=list(curve),
                      validation_loss_curve=list(val_loss) if val_loss else None,
                      validation_scores=list(scores) if scores else None,
                      score_name=score_name, estimator_name=name or type(estimator).__name__)
        return display.plot(ax=ax)

    def plot(self, ax=None, *, name=None):
        """Draw on ``ax`` (a new figure's when None); returns self."""
        _matplotlib("LearningCurveDisplay")
        if ax is None:
            import matplotlib.pyplot as plt
            _, ax = plt.subplots()
        name = name or self.estimator_name
        epochs = np.arange(1, len(self.loss_curve) + 1)
        lines = {"loss": ax.plot(epochs, self.loss_curve, label="training loss")[0]}
        if self.validation_loss_curve:
            lines["val_loss"] = ax.plot(np.arange(1, len(self.validation_loss_curve) + 1),
                                        self.validation_loss_curve,
                                        label="validation loss")[0]
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        score_ax = None
        if self.validation_scores:
            score_ax = ax.twinx()
            lines["val_score"] = score_ax.plot(
                np.arange(1, len(self.validation_scores) + 1), self.validation_scores,
                color="C2", linestyle="--", label=f"validation {self.score_name}")[0]
            score_ax.set_ylabel(f"validation {self.score_name}")
        handles = list(lines.values())
        ax.legend(handles, [h.get_label() for h in handles], loc="center right")
        if name:
            ax.set_title(name)
        self.ax_, self.score_ax_, self.figure_, self.lines_ = ax, score_ax, ax.figure, lines
        return self


def save_curves(estimators, path, *, ncols=3):
    """One LearningCurveDisplay per ``(name, estimator)`` in a grid, written
    to ``path`` (any format matplotlib writes: png, svg, pdf). No pyplot and
    no display needed. Returns the path."""
    _matplotlib("save_curves")
    from matplotlib.figure import Figure

    estimators = list(estimators)
    if not estimators:
        raise ValueError("save_curves needs at least one (name, estimator) pair")
    ncols = min(ncols, len(estimators))
    nrows = -(-len(estimators) // ncols)
    fig = Figure(figsize=(5.2 * ncols, 3.6 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (name, est) in zip(axes, estimators):
        LearningCurveDisplay.from_estimator(est, ax=ax, name=name)
        ax.title.set_fontsize(9)
    for ax in axes[len(estimators):]:
        ax.set_visible(False)
    fig.savefig(path)
    return path
