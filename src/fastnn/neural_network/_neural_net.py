"""NeuralNetClassifier / NeuralNetRegressor: any sequential stack of
fastnn.layers, with the MLP's training vocabulary.

``layers`` are the layers between the input and the output layer; the
output layer (a Dense of the target's width) and the loss follow the target
as in scikit-learn's MLP. Weights come out of ``get_weights()`` in the
layouts documented in fastnn.layers, and go in through ``init=`` (a fitted
fastnn network estimator, or one dict of arrays per layer), with the layers
listed in ``freeze`` kept as given: transfer learning and pre-training.
"""
import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from fastnn.datasets._trees import check_tree_array
from fastnn.layers import Dense, Layer, TreeEncoder
from fastnn.neural_network._base import (
    ClassifierMixinNetwork, RegressorMixinNetwork, store_init_params,
)


def check_layers(name, layers):
    """``layers`` as a list of fastnn.layers layers, or a ValueError naming
    the first entry that is not one."""
    layers = list(layers)
    for i, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise ValueError(f"{name}[{i}] must be a fastnn.layers layer, got {layer!r}")
    return layers


class InputShapeMixin:
    """Samples of any shape: X (n, ...) as it comes, or flat X read through
    ``input_shape``."""

    _allow_nd = True

    def _in_shape(self, X):
        sample = X.shape[1:]
        if self.input_shape is None:
            return tuple(sample)
        shape = self.input_shape
        if not (isinstance(shape, (tuple, list)) and 1 <= len(shape) <= 3 and all(
                isinstance(s, numbers.Integral) and not isinstance(s, bool) and
                (s >= 1 or s == -1) for s in shape) and sum(s == -1 for s in shape) <= 1):
            raise ValueError("input_shape must be a tuple of 1 to 3 positive ints, one of "
                             f"which may be -1 (inferred, as in numpy's reshape); got {shape!r}")
        width = int(np.prod(sample))
        known = int(np.prod([s for s in shape if s != -1]))
        if -1 in shape and width % known == 0 and width // known >= 1:
            shape = tuple(width // known if s == -1 else int(s) for s in shape)
        shape = tuple(int(s) for s in shape)
        if int(np.prod(shape)) != width:
            raise ValueError(f"input_shape {tuple(self.input_shape)} does not hold the {width} "
                             "values of one sample of X")
        return shape


class WeightsMixin:
    """Keras's get_weights / set_weights over a fitted network estimator."""

    def set_weights(self, weights):
        """Replace weights of the fitted model (Keras's set_weights): a list as
        ``get_weights()`` returns, one entry per layer, None to leave a layer
        as it is, a dict naming only some of its tensors to replace only
        those. Checked whole before anything changes (names, shapes,
        finiteness): a rejected call leaves the model as it was."""
        check_is_fitted(self, "coefs_")
        self._sync()
        if self._engine.own_buffers(self._engine.dtype):
            self._publish()
        _assign_weights(self._engine, weights, "set_weights")
        return self

    def get_weights(self):
        """One dict per layer (the output layer last): tensor name -> a copy,
        parameters and statistics (see fastnn.layers for the layouts)."""
        check_is_fitted(self, "coefs_")
        self._sync()
        pv, sv = self.network_.views(self._engine.params), \
            self.network_.stat_views(self._engine.stats)
        return [{**{k: v.copy() for k, v in p.items()}, **{k: v.copy() for k, v in s.items()}}
                for p, s in zip(pv, sv)]


class _NeuralNetLayers(InputShapeMixin, WeightsMixin):

    # a TreeEncoder first: X holds tree tables, checked whole (the kernel only
    # stays in bounds on bad ones)
    def _check_X(self, X, reset):
        return self._check_tables(super()._check_X(X, reset))

    def _check_X_y(self, X, y, reset):
        X, y = super()._check_X_y(X, y, reset)
        return self._check_tables(X), y

    def _check_tables(self, X):
        layers = self.layers
        first = layers[0] if isinstance(layers, (list, tuple)) and layers else None
        if isinstance(first, TreeEncoder) and isinstance(first.n_tokens, numbers.Integral):
            shape = X.shape[1:] if self.input_shape is None else self._in_shape(X)
            check_tree_array(X.reshape((len(X),) + tuple(shape)), first.n_tokens)
        return X

    def _hidden_specs(self, in_shape):
        return [Dense(100, "relu")] if self.layers is None else \
            check_layers("layers", self.layers)

    def _frozen_layers(self, n_layers):
        if self.freeze is None:
            return ()
        frozen = list(self.freeze)
        for i in frozen:
            if not isinstance(i, numbers.Integral) or not -n_layers <= i < n_layers:
                raise ValueError(f"freeze holds layer indices in [0, {n_layers}); got {i!r}")
        return tuple(i % n_layers for i in frozen)

    def _init_from(self, engine):
        init = self.init
        if init is None:
            return
        if hasattr(init, "get_weights"):
            if not hasattr(init, "coefs_"):
                raise ValueError("init is an unfitted estimator (note that clone(), and so "
                                 "GridSearchCV, unfits estimators given as parameters: pass "
                                 "init=fitted.get_weights() there)")
            # an autoencoder's encoder starts the stack; another network is
            # copied whole
            init = init._encoder_weights() if hasattr(init, "_encoder_weights") \
                else init.get_weights()
        _assign_weights(engine, init, "init")


def _rbm_weights(rbm, where):
    """A fitted BernoulliRBM (fastnn's or scikit-learn's) as a Dense layer's
    weights: W = components_.T (visible x hidden), b = intercept_hidden_."""
    if not hasattr(rbm, "components_"):
        raise ValueError(f"{where}: an unfitted BernoulliRBM")
    return {"W": np.asarray(rbm.components_).T, "b": np.asarray(rbm.intercept_hidden_)}


def _assign_weights(engine, weights, where):
    """Copy per-layer dicts of arrays into the engine's buffers, after
    checking all of them."""
    network = engine.network
    if isinstance(weights, (list, tuple)):
        # fastnn's or scikit-learn's
        weights = [_rbm_weights(w, where) if type(w).__name__ == "BernoulliRBM" else w
                   for w in weights]
    if not isinstance(weights, (list, tuple)) or not all(
            w is None or isinstance(w, dict) for w in weights):
        raise ValueError(
            f"{where} must be a fitted fastnn network estimator, or a list with one dict of "
            "arrays (or None, to skip the layer) per layer, as get_weights() returns; "
            f"got {type(weights).__name__}" + (f" {weights!r}" if isinstance(weights, str)
                                               else ""))
    weights = list(weights)
    if len(weights) > len(network.specs):
        raise ValueError(f"{where} has weights for {len(weights)} layers, the network has "
                         f"{len(network.specs)}")
    pviews, sviews = network.views(engine.params), network.stat_views(engine.stats)
    moves = []
    for i, layer in enumerate(weights):
        if layer is None:
            continue
        for name, arr in layer.items():
            target = pviews[i].get(name, sviews[i].get(name))
            if target is None:
                raise ValueError(f"{where}: layer {i} ({type(network.specs[i]).__name__}) "
                                 f"has no tensor {name!r}; it has "
                                 f"{sorted(pviews[i]) + sorted(sviews[i])}")
            arr = np.asarray(arr)
            if arr.shape != target.shape:
                raise ValueError(f"{where}: layer {i} tensor {name!r} has shape {arr.shape}, "
                                 f"expected {target.shape}")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{where}: layer {i} tensor {name!r} is not finite")
            moves.append((target, arr))
    for target, arr in moves:
        target[...] = arr


_COMMON_DOC = """
    Parameters as MLPClassifier/MLPRegressor's training vocabulary, plus
    ``layers`` (list of fastnn.layers; default one Dense(100, 'relu')),
    ``input_shape`` (per-sample shape when X comes flat), ``init`` (a fitted
    fastnn network estimator; a fitted Autoencoder, whose encoder layers
    then start the stack; or per-layer dicts of arrays, fitted
    BernoulliRBMs (a Dense layer's W = components_.T, b = intercept_hidden_:
    give it the logistic activation) or None to skip a layer), ``freeze`` (indices of layers that keep their weights) and
    ``clip_norm`` (the first-order solvers clip each batch gradient's global
    L2 norm to it before the L2 term and the update, as PyTorch's
    ``clip_grad_norm_``; None, the default: no clipping), ``callbacks``
    (per-epoch hooks: fastnn.callbacks).
"""


class NeuralNetClassifier(ClassifierMixin, _NeuralNetLayers, ClassifierMixinNetwork,
                          BaseEstimator):
    __doc__ = "Classifier over any stack of fastnn.layers.\n" + _COMMON_DOC

    def __init__(self, layers=None, *, input_shape=None, init=None, freeze=None, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 class_weight=None, clip_norm=None, n_threads=None,
                 dtype=None, callbacks=None):
        store_init_params(self, locals())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        return tags


class NeuralNetRegressor(RegressorMixin, _NeuralNetLayers, RegressorMixinNetwork,
                         BaseEstimator):
    __doc__ = ("Regressor over any stack of fastnn.layers (``loss`` 'squared_error' or "
               "'poisson').\n" + _COMMON_DOC)

    def __init__(self, layers=None, *, loss="squared_error", input_shape=None, init=None,
                 freeze=None, solver="adam", alpha=0.0001, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.001, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, clip_norm=None, n_threads=None,
                 dtype=None, callbacks=None):
        store_init_params(self, locals())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags
