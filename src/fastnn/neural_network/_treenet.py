"""TreeNetClassifier / TreeNetRegressor: tree-recursive networks over
binary trees of integer tokens, with the MLP's training vocabulary.

``X`` is a sequence of trees: nested pairs of token ids (``((3, 7), (1, 4))``;
a single leaf is a tree), or tables ``{"leaves": [...], "children": [[l, r],
...]}`` (see fastnn.datasets). The network is a ``TreeEncoder`` (leaf
embeddings composed bottom-up by the ``cell``, level-batched in compiled
code), the ``head`` layers on the root's state, and the output layer and
loss that follow the target, as in scikit-learn's MLP.
"""
import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_consistent_length
from sklearn.utils.validation import check_array, check_is_fitted

from fastnn.datasets._trees import check_tokens, check_trees, to_array
from fastnn.layers import TreeEncoder
from fastnn.neural_network._base import (
    ClassifierMixinNetwork, RegressorMixinNetwork, store_init_params,
)
from fastnn.neural_network._neural_net import WeightsMixin, check_layers
from fastnn.nn._engine import PREDICT_BATCH
from fastnn.nn._network import Network
from fastnn.utils._threads import blas_single_thread, effective_n_threads


def _positive_int(name, value, allow_none=False):
    if value is None and allow_none:
        return
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer{' or None' if allow_none else ''}"
                         f", got {value!r}")


class _TreeNet(WeightsMixin):

    def fit(self, X, y, sample_weight=None, validation_data=None, resume_from=None):
        # the network's node table must hold the validation trees too
        self._extra_nodes = 0
        if isinstance(validation_data, (tuple, list)) and len(validation_data) >= 2:
            tables = self._tables(validation_data[0], "validation_data[0]")
            self._extra_nodes = max(t.n_nodes for t in tables)
        try:
            return super().fit(X, y, sample_weight=sample_weight,
                               validation_data=validation_data, resume_from=resume_from)
        finally:
            del self._extra_nodes

    def _tables(self, X, what="X"):
        try:
            return check_trees(X)
        except ValueError as e:
            raise ValueError(f"{what}: {e}" if what != "X" else str(e)) from None

    def _check_params(self):
        _positive_int("n_tokens", self.n_tokens, allow_none=True)
        _positive_int("embedding_dim", self.embedding_dim)
        _positive_int("hidden_size", self.hidden_size)
        _positive_int("max_nodes", self.max_nodes, allow_none=True)
        if self.cell not in ("rnn", "lstm"):
            raise ValueError(f"cell must be 'rnn' or 'lstm', got {self.cell!r}")
        if not isinstance(self.dropout, numbers.Real) or isinstance(self.dropout, bool) or \
                not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be a float in [0, 1), got {self.dropout!r}")

    def _tree_array(self, X, reset):
        """The trees of X as the encoder's (n, max_nodes, 3) node tables;
        on the first fit, n_tokens_ and max_nodes_ from them."""
        tables = self._tables(X)
        if not reset:
            self._check_tokens(tables)
            return to_array(tables, self._fitted_nodes(tables))
        self._check_params()
        top = check_tokens(tables, self.n_tokens)
        self.n_tokens_ = int(self.n_tokens) if self.n_tokens is not None else top + 1
        need = max(max(t.n_nodes for t in tables), getattr(self, "_extra_nodes", 0))
        self.max_nodes_ = int(self.max_nodes) if self.max_nodes is not None else need
        return to_array(tables, self.max_nodes_)

    def _check_tokens(self, tables):
        check_tokens(tables, self.n_tokens_, " the model was fitted with")

    def _fitted_nodes(self, tables):
        """max_nodes_, or a ValueError naming a larger tree (fit, validation)."""
        sizes = [t.n_nodes for t in tables]
        big = [i for i, s in enumerate(sizes) if s > self.max_nodes_]
        if big:
            raise ValueError(f"tree {big[0]} has {sizes[big[0]]} nodes, more than the "
                             f"{self.max_nodes_} the model was fitted with (max_nodes_); refit "
                             "with a larger max_nodes to train on such trees")
        return self.max_nodes_

    # the base class's hooks: trees instead of arrays
    def _check_X(self, X, reset):
        return self._tree_array(X, reset)

    def _check_X_y(self, X, y, reset):
        Xa = self._tree_array(X, reset)
        y = check_array(y, ensure_2d=False, dtype=None if self._is_classifier else np.float64,
                        input_name="y")
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        check_consistent_length(Xa, y)
        return Xa, y

    def _in_shape(self, X):
        return tuple(X.shape[1:])

    def _hidden_specs(self, in_shape):
        head = [] if self.head is None else check_layers("head", self.head)
        return [TreeEncoder(self.n_tokens_, self.hidden_size, self.embedding_dim,
                            cell=self.cell, dropout=self.dropout)] + head

    def _raw(self, X):
        """Eval-mode outputs; trees larger than the fitted table run through
        a network with a larger one (the weights do not depend on it)."""
        check_is_fitted(self, "coefs_")
        tables = self._tables(X)
        self._check_tokens(tables)
        sizes = [t.n_nodes for t in tables]
        self._sync()
        engine = self._engine
        N = max(max(sizes), self.max_nodes_)
        Xf = to_array(tables, N, engine.dtype).reshape(len(tables), -1)
        if N == self.max_nodes_:
            return self._run(engine, Xf)
        net = self.network_
        wide = Network(net.specs, (N, 3), net.loss, frozen=tuple(sorted(net.frozen)))
        with blas_single_thread():
            return wide.net.predict(Xf, engine.params, engine.stats, PREDICT_BATCH,
                                    effective_n_threads(self.n_threads))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = False
        return tags


_DOC = """
    ``X``: a sequence of binary trees (nested pairs of int token ids, or
    tables; see fastnn.datasets.check_trees), each row's label in ``y``.
    ``n_tokens`` (None: the largest leaf id in the first fit's X plus one),
    ``embedding_dim``, ``hidden_size``, ``cell`` ('rnn': h = tanh([h_l, h_r]
    Wc + bc), Socher's composition; 'lstm': the binary Tree-LSTM of Tai et
    al. 2015, a forget gate per child), ``dropout`` (on every node's state in
    training, before its parent reads it), ``head`` (fastnn.layers on the root
    state, before the output layer), ``max_nodes`` (the node table the
    network trains on; None: the largest training or validation tree;
    predict takes larger trees). The rest is MLPClassifier/MLPRegressor's
    training vocabulary (see NeuralNetClassifier), ``dtype`` None meaning
    float64.
    Fitted: ``n_tokens_``, ``max_nodes_``, the MLP's attributes;
    ``get_weights()[0]`` the encoder's tensors (E, Wx, Wc, bx, bc).
"""


class TreeNetClassifier(ClassifierMixin, _TreeNet, ClassifierMixinNetwork, BaseEstimator):
    __doc__ = "Classifier over binary trees, a tree-recursive network.\n" + _DOC
    _is_classifier = True

    def __init__(self, n_tokens=None, *, embedding_dim=32, hidden_size=64, cell="rnn",
                 dropout=0.0, head=None, max_nodes=None, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001,
                 power_t=0.5, max_iter=200, shuffle=True, random_state=None, tol=1e-4,
                 verbose=False, warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, class_weight=None,
                 clip_norm=None, n_threads=None, dtype=None, callbacks=None):
        store_init_params(self, locals())


class TreeNetRegressor(RegressorMixin, _TreeNet, RegressorMixinNetwork, BaseEstimator):
    __doc__ = ("Regressor over binary trees, a tree-recursive network (``loss`` "
               "'squared_error' or 'poisson').\n" + _DOC)
    _is_classifier = False

    def __init__(self, n_tokens=None, *, embedding_dim=32, hidden_size=64, cell="rnn",
                 dropout=0.0, head=None, max_nodes=None, loss="squared_error", solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 clip_norm=None, n_threads=None, dtype=None, callbacks=None):
        store_init_params(self, locals())
