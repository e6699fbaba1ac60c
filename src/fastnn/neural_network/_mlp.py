"""MLPClassifier and MLPRegressor: drop-ins for scikit-learn's, trained by
the compiled network engine.

Every constructor parameter of scikit-learn 1.9's MLP is accepted with the
same meaning and default. Extras (new names, off by default): solvers
'rmsprop', 'adagrad', 'adadelta' or an optimizer object; schedule objects as
``learning_rate``; ``dropout`` (rate after each hidden activation);
``batch_norm`` (BatchNorm between each hidden Dense and its activation);
activations 'leaky_relu' and 'elu'; ``class_weight``; ``clip_norm`` (the
first-order solvers clip each batch gradient's global L2 norm to it before
the L2 term and the update, as PyTorch's ``clip_grad_norm_``; None: off);
``n_threads``; ``dtype``; ``fit(..., validation_data=(X_val, y_val[, sw_val]))``;
``init`` (a fitted Autoencoder, whose encoder's Dense layers start the
hidden layers, or one dict {"W", "b"}, fitted BernoulliRBM or None per hidden
layer: pre-training);
``callbacks`` (per-epoch hooks: fastnn.callbacks).
"""
import numbers

from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from fastnn.layers import ACTIVATIONS, Activation, BatchNorm, Dense, Dropout
from fastnn.neural_network._base import (
    ClassifierMixinNetwork, RegressorMixinNetwork, store_init_params,
)
from fastnn.neural_network._neural_net import _assign_weights




class _MLPLayers:
    """The hidden layers of an MLP from hidden_layer_sizes and the extras."""

    def _hidden_specs(self, in_shape):
        sizes = self.hidden_layer_sizes
        if not hasattr(sizes, "__iter__"):
            sizes = [sizes]
        sizes = list(sizes)
        if any(not isinstance(h, numbers.Integral) or isinstance(h, bool) for h in sizes):
            raise ValueError(f"hidden_layer_sizes must be integers, got {sizes}")
        if any(h <= 0 for h in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got "
                             f"{self.activation!r}")
        if not isinstance(self.dropout, numbers.Real) or not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be a rate in [0, 1), got {self.dropout!r}")
        specs = []
        for h in sizes:
            if self.batch_norm:
                specs += [Dense(int(h)), BatchNorm(), Activation(self.activation)]
            else:
                specs.append(Dense(int(h), self.activation))
            if self.dropout > 0:
                specs.append(Dropout(self.dropout))
        return specs

    def _init_from(self, engine):
        """init=: a fitted Autoencoder (its encoder's Dense layers start the
        hidden layers) or one dict {"W", "b"} (None: keep the random draw)
        per hidden layer, from the first."""
        init = self.init
        if init is None:
            return
        if hasattr(init, "_encoder_weights"):
            if not hasattr(init, "coefs_"):
                raise ValueError("init is an unfitted Autoencoder")
            entries = [w for w in init._encoder_weights() if "W" in w]
        elif isinstance(init, (list, tuple)):
            entries = list(init)
        else:
            raise ValueError("init must be a fitted fastnn.Autoencoder or a list with one dict "
                             "{'W': ..., 'b': ...}, fitted BernoulliRBM or None per hidden "
                             "layer, got "
                             f"{type(init).__name__}")
        dense = [i for i, s in enumerate(engine.network.specs[:-1]) if isinstance(s, Dense)]
        if len(entries) > len(dense):
            raise ValueError(f"init has weights for {len(entries)} hidden layers, the network "
                             f"has {len(dense)}")
        weights = [None] * len(engine.network.specs)
        for k, entry in enumerate(entries):
            weights[dense[k]] = entry
        _assign_weights(engine, weights, "init")

    def _hidden_ends(self):
        # each hidden layer: its Dense, [BatchNorm, Activation], [Dropout]
        specs = self.network_.specs[:-1]
        starts = [i for i, s in enumerate(specs) if isinstance(s, Dense)]
        return [j - 1 for j in starts[1:]] + ([len(specs) - 1] if starts else [])

    def _output_spec(self, n_outputs):
        # scikit-learn draws every layer's init with the hidden activation's bound
        return Dense(n_outputs, glorot_factor=2.0 if self.activation == "logistic" else 6.0)


class MLPClassifier(ClassifierMixin, _MLPLayers, ClassifierMixinNetwork, BaseEstimator):
    """Multi-layer perceptron classifier (scikit-learn's parameters and
    attributes), trained by fastnn's compiled engine.

    Binary targets get one logistic output, multiclass a softmax, multilabel
    indicator matrices one logistic output per label; the loss is the log
    loss. Fitted attributes as scikit-learn's: ``coefs_``, ``intercepts_``,
    ``classes_``, ``loss_``, ``best_loss_``, ``loss_curve_``,
    ``validation_scores_``, ``best_validation_score_``, ``n_iter_``, ``t_``,
    ``n_layers_``, ``n_outputs_``, ``out_activation_``; plus
    ``validation_loss_curve_`` when a validation set is scored.
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dropout=0.0, batch_norm=False, class_weight=None, clip_norm=None,
                 n_threads=None, dtype=None, init=None, callbacks=None):
        store_init_params(self, locals())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _MLPLayers, RegressorMixinNetwork, BaseEstimator):
    """Multi-layer perceptron regressor (scikit-learn's parameters and
    attributes), trained by fastnn's compiled engine.

    ``loss='squared_error'`` (identity output) or ``'poisson'`` (exp output,
    half Poisson deviance). Multi-output targets are supported.
    """

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dropout=0.0, batch_norm=False, clip_norm=None, n_threads=None,
                 dtype=None, init=None, callbacks=None):
        store_init_params(self, locals())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags
