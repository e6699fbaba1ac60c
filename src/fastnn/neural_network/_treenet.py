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
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils import check_consistent_length
from sklearn.utils.validation import check_array, check_is_fitted

from fastnn.datasets._trees import check_tokens, check_trees, to_array
from fastnn.layers import Dense, TreeEncoder
from fastnn.neural_network._base import (
    ClassifierMixinNetwork, RegressorMixinNetwork, _check_int, store_init_params,
)
from fastnn.neural_network._neural_net import WeightsMixin, check_layers
from fastnn.nn._engine import PREDICT_BATCH
from fastnn.nn._network import Network
from fastnn.utils._threads import blas_single_thread, effective_n_threads


class _NodeTargets:
    """Checked per-node targets: ``values`` every tree's internal nodes'
    targets stacked in tree order (post-order within a tree), ``counts``
    each tree's number of internal nodes."""

    def __init__(self, values, counts):
        self.values, self.counts = values, counts

    def __len__(self):
        return len(self.counts)


def _inner_counts(tables):
    return np.fromiter((len(t.children) for t in tables), np.int64, count=len(tables))


def _node_targets(y, counts, classes):
    """y (a sequence with an entry per tree: its internal nodes' targets in
    post-order, (c,) or for regression (c, n_outputs)) checked against the
    trees' internal node counts."""
    if isinstance(y, (str, bytes)) or not hasattr(y, "__len__"):
        raise ValueError("with node_labels=True, y is a sequence with an entry per tree: the "
                         f"labels of its internal nodes in post-order; got {type(y).__name__}")
    if len(y) != len(counts):
        raise ValueError(f"y has {len(y)} entries for {len(counts)} trees (node_labels=True: "
                         "an entry per tree)")
    parts, width = [], None
    for i, (entry, c) in enumerate(zip(y, counts)):
        a = np.asarray(entry, dtype=None if classes else np.float64)
        if a.ndim == 0 or a.ndim > (1 if classes else 2) or len(a) != c:
            got = "a single value" if a.ndim == 0 else f"shape {a.shape}"
            raise ValueError(f"y[{i}]: tree {i} has {c} internal nodes and needs a label for "
                             f"each, in post-order (node_labels=True); got {got}")
        if c == 0:
            continue
        a = a.reshape(c, -1)
        if width is not None and a.shape[1] != width:
            raise ValueError(f"y[{i}] has {a.shape[1]} outputs per node, the trees before it "
                             f"{width}")
        width = a.shape[1]
        parts.append(a)
    if not parts:  # lone leaves only
        return _NodeTargets(np.empty(0 if classes else (0, 1)), np.asarray(counts))
    values = np.concatenate(parts)
    if not classes:
        return _NodeTargets(check_array(values, input_name="y"), np.asarray(counts))
    return _NodeTargets(values.ravel(), np.asarray(counts))


def _per_tree(values, counts):
    """Stacked per-node values split into a list with an array per tree."""
    return np.split(values, np.cumsum(counts)[:-1])


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
        for name, none_ok in (("n_tokens", True), ("embedding_dim", False),
                              ("hidden_size", False), ("max_nodes", True)):
            value = getattr(self, name)
            if not (none_ok and value is None):
                _check_int(name, value, 1)
        if self.cell not in ("rnn", "lstm"):
            raise ValueError(f"cell must be 'rnn' or 'lstm', got {self.cell!r}")
        if not isinstance(self.dropout, numbers.Real) or isinstance(self.dropout, bool) or \
                not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be a float in [0, 1), got {self.dropout!r}")
        if not isinstance(self.node_labels, (bool, np.bool_)):
            raise ValueError(f"node_labels must be a bool, got {self.node_labels!r}")

    def _tree_array(self, X, reset):
        """The trees of X (TreeTables) and the encoder's (n, max_nodes, 3)
        node tables of them; on the first fit, n_tokens_ and max_nodes_ from
        them."""
        tables = self._tables(X)
        if not reset:
            self._check_tokens(tables)
            return tables, to_array(tables, self._fitted_nodes(tables))
        self._check_params()
        top = check_tokens(tables, self.n_tokens)
        self.n_tokens_ = int(self.n_tokens) if self.n_tokens is not None else top + 1
        need = max(max(t.n_nodes for t in tables), getattr(self, "_extra_nodes", 0))
        self.max_nodes_ = int(self.max_nodes) if self.max_nodes is not None else need
        return tables, to_array(tables, self.max_nodes_)

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
        return self._tree_array(X, reset)[1]

    def _check_X_y(self, X, y, reset):
        tables, Xa = self._tree_array(X, reset)
        if self.node_labels:
            return Xa, _node_targets(y, _inner_counts(tables), self._is_classifier)
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
                            cell=self.cell, dropout=self.dropout,
                            all_nodes=bool(self.node_labels))] + head

    # ----------------------------------------------- a label per internal node
    def _per_step(self):
        return bool(self.node_labels)

    def _output_spec(self, n_outputs):
        # per node: the same map on every internal node's row
        return Dense(n_outputs) if self.node_labels else super()._output_spec(n_outputs)

    def _encode_targets(self, y, n, first_pass, incremental, classes):
        if not self.node_labels:
            return super()._encode_targets(y, n, first_pass, incremental, classes)
        if len(y.values) == 0:
            raise ValueError("node_labels=True needs a tree with an internal node to label; "
                             "every tree is a single leaf")
        values, loss, k = super()._encode_targets(y.values, len(y.values), first_pass,
                                                  incremental, classes)
        if self._is_classifier:
            # a softmax per node, two classes included
            loss, k = "multinomial", len(self.classes_)
        return self._padded(values, y.counts), loss, k

    def _node_rows(self):
        """T, the internal-node rows of the fitted table (the encoder's
        output rows, the per-step loss's steps)."""
        return max(1, (self.max_nodes_ - 1) // 2)

    def _padded(self, values, counts):
        """Encoded per-node targets (M, w) as the per-step loss reads them:
        (n, T w), a tree's nodes first, the rest -1 (a class) or NaN."""
        T = self._node_rows()
        w = values.shape[1]
        Y = np.full((len(counts), T, w), -1.0 if self._is_classifier else np.nan)
        Y[np.arange(T) < counts[:, None]] = values
        return Y.reshape(len(counts), T * w)

    def _node_counts(self, Y):
        """Labelled nodes per row of padded targets."""
        n = Y.shape[0]
        first = Y.reshape(n, self._node_rows(), -1)[:, :, 0]
        return np.sum(first != -1 if self._is_classifier else ~np.isnan(first), axis=1)

    def _sample_weight(self, sample_weight, X, Y, loss, dtype):
        if not self.node_labels:
            return super()._sample_weight(sample_weight, X, Y, loss, dtype)
        if getattr(self, "class_weight", None) is not None:
            raise ValueError("class_weight is not supported with node_labels=True (weights are "
                             "per tree: sample_weight)")
        sw = super()._sample_weight(sample_weight, X, Y, loss, np.float64)
        return self._tree_weights(sw, self._node_counts(Y), dtype)

    @staticmethod
    def _tree_weights(sw, counts, dtype):
        """A tree's weight times its labelled nodes: the engine's mean over
        trees becomes the mean over labelled nodes, as PyTorch's and Keras's
        losses with ignored/masked steps average."""
        w = counts.astype(np.float64) if sw is None else np.asarray(sw, np.float64) * counts
        return np.ascontiguousarray(w, dtype=dtype)

    def _validator(self, Xv, yv, swv, encoded):
        if not self.node_labels:
            return super()._validator(Xv, yv, swv, encoded)
        if encoded:
            Yv = yv
        else:
            inner = np.sum(Xv.reshape(len(Xv), -1, 3)[:, :, 0] >= 0, axis=1)  # internal rows
            t = _node_targets(yv, inner, self._is_classifier)
            Yv = self._padded(self._encode_known(t.values), inner)
        counts = self._node_counts(Yv)
        sw = self._tree_weights(swv, counts, self._engine.dtype)
        Y3 = Yv.reshape(len(Yv), self._node_rows(), -1)
        mask = np.arange(Y3.shape[1]) < counts[:, None]
        truth = self._decode(Y3[mask])
        node_sw = None if swv is None else np.repeat(np.asarray(swv, np.float64), counts)
        score_fn = accuracy_score if self._is_classifier else r2_score
        engine = self._engine

        def validate(params):
            raw = engine.predict(Xv, params)
            pred = self._raw_to_prediction(raw.reshape(len(raw), Y3.shape[1], -1)[mask])
            score = float(score_fn(truth, pred, sample_weight=node_sw))
            return score, engine.eval_loss(raw, Yv, sw, self.alpha, params)

        return validate

    def _node_raw(self, X):
        """Eval-mode raw outputs of every tree's internal nodes, stacked
        (M, n_outputs_), and each tree's number of them."""
        check_is_fitted(self, "coefs_")
        tables = self._tables(X)
        counts = _inner_counts(tables)
        raw = self._raw(X, tables)
        raw = raw.reshape(len(raw), -1, self.n_outputs_)
        return raw[np.arange(raw.shape[1]) < counts[:, None]], counts

    def predict(self, X):
        """Predictions per tree; with node_labels=True a list with an array
        per tree: its internal nodes' predictions in post-order (the root
        last; empty for a lone leaf)."""
        if not self.node_labels:
            return super().predict(X)
        raw, counts = self._node_raw(X)
        return _per_tree(self._raw_to_prediction(raw), counts)

    def _node_score(self, X, y, sample_weight, metric):
        """``metric`` over every labelled node (a tree's weight on each of
        its nodes)."""
        raw, counts = self._node_raw(X)
        truth = _node_targets(y, counts, self._is_classifier).values
        truth = truth.ravel() if truth.ndim == 2 and truth.shape[1] == 1 else truth
        sw = None if sample_weight is None else np.repeat(np.asarray(sample_weight), counts)
        return float(metric(truth, self._raw_to_prediction(raw), sample_weight=sw))

    def _raw(self, X, tables=None):
        """Eval-mode outputs; trees larger than the fitted table run through
        a network with a larger one (the weights do not depend on it)."""
        check_is_fitted(self, "coefs_")
        tables = self._tables(X) if tables is None else tables
        self._check_tokens(tables)
        sizes = [t.n_nodes for t in tables]
        self._sync()
        engine = self._engine
        N = max(max(sizes), self.max_nodes_)
        Xf = to_array(tables, N, engine.dtype).reshape(len(tables), -1)
        if N == self.max_nodes_:
            return self._run(engine, Xf)
        net = self.network_
        wide = Network(net.specs, (N, 3), net.loss, frozen=tuple(sorted(net.frozen)),
                       per_step=net.per_step)
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
    ``node_labels=True``: a target per internal node (as in a sentiment
    treebank): ``y`` has an entry per tree, its internal nodes' targets in
    post-order (children before parents, the root last; empty for a lone
    leaf; ``make_tree_expressions(..., node_labels=True)`` gives them). The
    output layer (and ``head``) then run on every node's state, the loss is
    the mean over all labelled nodes (a tree's ``sample_weight`` on each of
    its nodes; the L2 term is divided by the labelled nodes' count as it is
    by the samples' otherwise), ``predict`` gives a list with an array per
    tree, ``score`` is over all nodes, and classes get a softmax each (two
    included). ``transform`` then gives every internal node's features,
    flattened.
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
                 clip_norm=None, n_threads=None, dtype=None, callbacks=None,
                 node_labels=False):
        store_init_params(self, locals())

    def predict_proba(self, X):
        """Class probabilities (n, n_classes); with node_labels=True a list
        with an array (internal nodes, n_classes) per tree."""
        if not self.node_labels:
            return super().predict_proba(X)
        raw, counts = self._node_raw(X)
        return _per_tree(self._link(raw), counts)

    def predict_log_proba(self, X):
        """``log(predict_proba(X))`` (per tree with node_labels=True)."""
        if not self.node_labels:
            return super().predict_log_proba(X)
        with np.errstate(divide="ignore"):
            return [np.log(p) for p in self.predict_proba(X)]

    def score(self, X, y, sample_weight=None):
        """Accuracy; with node_labels=True over every labelled node."""
        if not self.node_labels:
            return super().score(X, y, sample_weight=sample_weight)
        return self._node_score(X, y, sample_weight, accuracy_score)


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
                 clip_norm=None, n_threads=None, dtype=None, callbacks=None,
                 node_labels=False):
        store_init_params(self, locals())

    def score(self, X, y, sample_weight=None):
        """R^2; with node_labels=True over every labelled node."""
        if not self.node_labels:
            return super().score(X, y, sample_weight=sample_weight)
        return self._node_score(X, y, sample_weight, r2_score)
