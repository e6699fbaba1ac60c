"""TreeNet* with node_labels=True: a target per internal node (as in a
sentiment treebank). Learning every node, the loss as the mean over the
labelled nodes (against NumPy), a tree's weight on each of its nodes,
per-tree predictions, the estimator API and clear errors."""
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from fastnn import TreeNetClassifier, TreeNetRegressor
from fastnn.datasets import check_trees, make_tree_expressions


def _fit(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)


def _inner(trees):
    return [len(t.children) for t in check_trees(trees)]


@pytest.fixture(scope="module")
def nodes():
    tr = make_tree_expressions(1500, max_depth=4, n_tokens=3, random_state=0, node_labels=True)
    te = make_tree_expressions(400, max_depth=4, n_tokens=3, random_state=1, node_labels=True)
    deep = make_tree_expressions(300, max_depth=5, min_depth=5, n_tokens=3, random_state=2,
                                 node_labels=True)
    return tr, te, deep


def test_node_labels_of_make_tree_expressions():
    trees, roots = make_tree_expressions(200, max_depth=4, n_tokens=5, random_state=3)
    same, y = make_tree_expressions(200, max_depth=4, n_tokens=5, random_state=3,
                                    node_labels=True)
    assert same == trees
    assert [len(v) for v in y] == _inner(trees)
    for t, v, r in zip(trees, y, roots):
        assert (v[-1] if len(v) else t) == r  # the root last (a lone leaf: its token)
    # post-order values, recomputed from the nested tree
    def walk(t, out):
        if not isinstance(t, tuple):
            return t
        a, b = walk(t[0], out), walk(t[1], out)
        out.append((a - b) % 5)
        return out[-1]
    for t, v in zip(trees, y):
        out = []
        walk(t, out)
        np.testing.assert_array_equal(v, out)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_learns_every_node_and_predicts_per_tree(nodes, cell):
    (X, y), (Xt, yt), (Xd, yd) = nodes
    clf = _fit(TreeNetClassifier(hidden_size=32, embedding_dim=8, cell=cell, batch_size=32,
                                 learning_rate_init=3e-3, max_iter=25, random_state=0,
                                 node_labels=True), X, y)
    assert clf.n_outputs_ == 3 and clf.out_activation_ == "softmax"
    assert clf.score(Xt, yt) >= 0.95
    pred = clf.predict(Xt)
    assert [len(p) for p in pred] == _inner(Xt)
    flat = np.concatenate(pred)
    assert np.mean(flat == np.concatenate(yt)) == pytest.approx(clf.score(Xt, yt))
    proba = clf.predict_proba(Xt)
    assert all(p.shape == (c, 3) for p, c in zip(proba, _inner(Xt)))
    np.testing.assert_allclose(np.concatenate(proba).sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(clf.classes_[np.concatenate(proba).argmax(1)], flat)
    # deeper trees than any it was trained on: every node of them
    assert clf.score(Xd, yd) >= 0.9
    # a tree's predictions do not depend on the others in the call
    for i in (0, 5, 17):
        np.testing.assert_array_equal(clf.predict([Xt[i]])[0], pred[i])


def test_validation_loss_is_the_mean_over_labelled_nodes(nodes):
    """The engine's validation loss against NumPy on predict_proba: the
    cross-entropy averaged over every labelled node, plus alpha / 2 |W|^2
    over that count; the validation score is score()."""
    (X, y), (Xv, yv), _ = nodes
    alpha = 0.01
    clf = _fit(TreeNetClassifier(hidden_size=8, embedding_dim=4, max_iter=2, alpha=alpha,
                                 random_state=0, node_labels=True), X[:300], y[:300],
               validation_data=(Xv, yv))
    proba = np.concatenate(clf.predict_proba(Xv))
    truth = np.searchsorted(clf.classes_, np.concatenate(yv))
    ce = -np.log(proba[np.arange(len(truth)), truth])
    W = clf._engine.params[:clf.network_.n_decay]
    want = ce.mean() + 0.5 * alpha * float(W @ W) / len(truth)
    assert clf.validation_loss_curve_[-1] == pytest.approx(want, rel=1e-10)
    assert clf.validation_scores_[-1] == pytest.approx(clf.score(Xv, yv))


def test_a_trees_weight_is_on_each_of_its_nodes(nodes):
    """sample_weight 2 on a tree is that tree twice (full-batch SGD)."""
    (X, y), _, _ = nodes
    X, y = X[:60], y[:60]
    kw = dict(hidden_size=8, embedding_dim=4, solver="sgd", momentum=0.0, batch_size=None,
              shuffle=False, max_iter=3, learning_rate_init=0.1, random_state=0,
              node_labels=True)
    sw = np.ones(60)
    sw[:10] = 2.0
    a = _fit(TreeNetClassifier(**kw), X, y, sample_weight=sw)
    b = _fit(TreeNetClassifier(**kw), X + X[:10], y + y[:10])
    np.testing.assert_allclose(a._engine.params, b._engine.params, rtol=1e-10, atol=1e-12)
    assert not np.allclose(a._engine.params, _fit(TreeNetClassifier(**kw), X, y)._engine.params)
    assert a.loss_ == pytest.approx(b.loss_, rel=1e-10)


def test_regressor_per_node_one_and_two_outputs():
    X, y = make_tree_expressions(1200, max_depth=3, n_tokens=2, task="nand", random_state=0,
                                 node_labels=True)
    Xt, yt = make_tree_expressions(300, max_depth=3, n_tokens=2, task="nand", random_state=1,
                                   node_labels=True)
    reg = _fit(TreeNetRegressor(hidden_size=16, embedding_dim=4, max_iter=40,
                                learning_rate_init=1e-2, random_state=0, node_labels=True),
               X, [v.astype(float) for v in y])
    assert reg.score(Xt, yt) >= 0.9
    assert [p.shape for p in reg.predict(Xt)] == [(c,) for c in _inner(Xt)]
    two = [np.column_stack([v, 1 - v]).astype(float) for v in y]
    reg2 = _fit(TreeNetRegressor(hidden_size=16, embedding_dim=4, max_iter=40,
                                 learning_rate_init=1e-2, random_state=0, node_labels=True,
                                 dtype="float32"), X, two)
    pred = reg2.predict(Xt)
    assert [p.shape for p in pred] == [(c, 2) for c in _inner(Xt)]
    assert pred[0].dtype == np.float32
    assert reg2.score(Xt, [np.column_stack([v, 1 - v]) for v in yt]) >= 0.9


def test_api_clone_pickle_grid_search_partial_fit_early_stopping(nodes):
    (X, y), (Xt, yt), _ = nodes
    X, y = X[:400], y[:400]
    est = TreeNetClassifier(hidden_size=8, embedding_dim=4, max_iter=3, random_state=0,
                            node_labels=True)
    assert clone(est).get_params()["node_labels"] is True
    _fit(est, X, y)
    again = pickle.loads(pickle.dumps(est))
    for p, q in zip(again.predict(Xt), est.predict(Xt)):
        np.testing.assert_array_equal(p, q)
    assert est.transform(Xt).shape == (len(Xt), (est.max_nodes_ - 1) // 2 * 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gs = GridSearchCV(est, {"hidden_size": [4, 8]}, cv=2).fit(X, y)
    assert gs.best_params_["hidden_size"] in (4, 8)
    inc = TreeNetClassifier(hidden_size=8, embedding_dim=4, random_state=0, node_labels=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        inc.partial_fit(X[:200], y[:200], classes=[0, 1, 2]).partial_fit(X[200:], y[200:])
    assert inc.t_ == 400 and inc.n_iter_ == 1  # scikit-learn: the last call's epoch
    es = _fit(TreeNetClassifier(hidden_size=8, embedding_dim=4, max_iter=30, random_state=0,
                                early_stopping=True, n_iter_no_change=2, node_labels=True),
              X, y)
    assert len(es.validation_scores_) == es.n_iter_
    assert es.best_validation_score_ == max(es.validation_scores_)


def test_bad_node_targets_are_clear_errors(nodes):
    (X, y), _, _ = nodes
    X, y = X[:20], list(y[:20])
    est = TreeNetClassifier(hidden_size=4, embedding_dim=2, max_iter=1, node_labels=True)
    with pytest.raises(ValueError, match="y has 19 entries for 20 trees"):
        est.fit(X, y[:19])
    c = _inner(X)
    i = int(np.argmax(np.array(c) > 1))
    bad = y[:i] + [y[i][:-1]] + y[i + 1:]
    with pytest.raises(ValueError, match=fr"y\[{i}\]: tree {i} has {c[i]} internal nodes"):
        est.fit(X, bad)
    with pytest.raises(ValueError, match="with node_labels=True, y is a sequence"):
        est.fit(X, 3)
    with pytest.raises(ValueError, match="every tree is a single leaf"):
        est.fit([1, 2, 0], [[], [], []])
    with pytest.raises(ValueError, match="class_weight is not supported with node_labels"):
        est.set_params(class_weight="balanced").fit(X, y)
    with pytest.raises(ValueError, match="node_labels must be a bool"):
        TreeNetClassifier(node_labels="yes").fit(X, y)
    with pytest.raises(ValueError, match="outputs per node"):
        TreeNetRegressor(node_labels=True, max_iter=1).fit(
            [(1, 2), (0, (1, 2))], [[0.5], [[1.0, 2.0], [3.0, 4.0]]])


def test_head_dropout_float32_and_lbfgs_per_node(nodes):
    """head layers and the output run on every node's state (a Dense head
    maps each node alike), dropout on node states, float32, and L-BFGS."""
    from fastnn.layers import Dense

    (X, y), (Xt, yt), _ = nodes
    clf = _fit(TreeNetClassifier(hidden_size=32, embedding_dim=8, cell="lstm",
                                 head=[Dense(16, "relu")], dropout=0.1, dtype="float32",
                                 batch_size=32, learning_rate_init=3e-3, max_iter=25,
                                 random_state=0, node_labels=True), X, y)
    assert [type(s).__name__ for s in clf.network_.specs] == ["TreeEncoder", "Dense", "Dense"]
    assert clf.network_.out_shape == ((clf.max_nodes_ - 1) // 2, 3)
    assert clf.predict_proba(Xt)[0].dtype == np.float32
    assert clf.score(Xt, yt) >= 0.9
    lb = _fit(TreeNetClassifier(hidden_size=16, embedding_dim=4, solver="lbfgs", max_iter=30,
                                random_state=0, node_labels=True), X[:300], y[:300])
    assert np.isfinite(lb.loss_) and lb.score(X[:300], y[:300]) > 0.5
