"""TreeNetClassifier / TreeNetRegressor: learning compositional tasks a bag
of leaves cannot solve, generalising to deeper trees, the estimator API
(clone, pickle, get_params, GridSearchCV, partial_fit, validation_data,
early stopping, float32) and clear errors for bad trees.
parametrize_with_checks does not apply: its checks feed 2-d arrays, and X
here is a sequence of trees; the API is tested directly instead."""
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

from fastnn import NeuralNetClassifier, TreeNetClassifier, TreeNetRegressor
from fastnn.datasets import check_trees, make_tree_expressions
from fastnn.layers import LSTM, Dense


def _leaf_counts(trees, V):
    return np.array([np.bincount(t.leaves, minlength=V) for t in check_trees(trees)])


@pytest.fixture(scope="module")
def sub_mod():
    tr = make_tree_expressions(3000, max_depth=4, n_tokens=3, random_state=0)
    te = make_tree_expressions(600, max_depth=4, n_tokens=3, random_state=1)
    deep = make_tree_expressions(600, max_depth=5, min_depth=5, n_tokens=3, random_state=2)
    return tr, te, deep


def _fit(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_learns_what_a_bag_of_leaves_cannot(sub_mod, cell):
    (X, y), (Xt, yt), (Xd, yd) = sub_mod
    bag = LogisticRegression(max_iter=1000).fit(_leaf_counts(X, 3), y)
    bag_acc = bag.score(_leaf_counts(Xt, 3), yt)
    assert bag_acc < 0.5  # chance is 1/3: (left - right) mod 3 needs the order
    clf = _fit(TreeNetClassifier(hidden_size=32, embedding_dim=8, cell=cell, batch_size=32,
                                 learning_rate_init=3e-3, max_iter=40, random_state=0), X, y)
    assert clf.score(Xt, yt) >= 0.95
    # deeper trees than any it was trained on (31 nodes) go through a wider table
    assert clf.max_nodes_ == 31
    assert clf.score(Xd, yd) >= 0.9


def test_generalises_deeper_than_an_lstm_over_the_leaves():
    """Trained on depth <= 4, tested on depth 5: the Tree-LSTM composes;
    an LSTM reading the same leaves in order (one-hot) fits its training
    set but not the deeper trees."""
    X, y = make_tree_expressions(2000, max_depth=4, n_tokens=5, random_state=0)
    Xd, yd = make_tree_expressions(500, max_depth=5, min_depth=5, n_tokens=5, random_state=2)

    def leaves_in_order(trees):
        out = np.zeros((len(trees), 32, 5))
        for i, t in enumerate(check_trees(trees)):
            out[i, 32 - len(t.leaves) + np.arange(len(t.leaves)), t.leaves] = 1.0
        return out

    common = dict(batch_size=32, learning_rate_init=3e-3, max_iter=40, random_state=0)
    tree = _fit(TreeNetClassifier(hidden_size=32, embedding_dim=8, cell="lstm", **common), X, y)
    seq = _fit(NeuralNetClassifier([LSTM(32)], **common), leaves_in_order(X), y)
    assert seq.score(leaves_in_order(X), y) > 0.6  # it learnt something of depth <= 4
    tree_deep, seq_deep = tree.score(Xd, yd), seq.score(leaves_in_order(Xd), yd)
    assert tree_deep >= 0.9 and tree_deep > seq_deep + 0.3, (tree_deep, seq_deep)


def test_dropout_on_node_states_fits_and_is_reproducible(sub_mod):
    (X, y), (Xt, yt), _ = sub_mod
    make = lambda: TreeNetClassifier(hidden_size=32, embedding_dim=8, cell="lstm", dropout=0.2,
                                     batch_size=32, learning_rate_init=3e-3, max_iter=25,
                                     random_state=0)
    a, b = _fit(make(), X, y), _fit(make(), X, y)
    np.testing.assert_array_equal(a.loss_curve_, b.loss_curve_)
    assert a.score(Xt, yt) >= 0.9


def test_nand_and_single_leaves():
    X, y = make_tree_expressions(1500, max_depth=4, n_tokens=2, task="nand", random_state=0)
    clf = _fit(TreeNetClassifier(hidden_size=16, embedding_dim=4, batch_size=32,
                                 learning_rate_init=3e-3, max_iter=30, random_state=0), X, y)
    assert clf.score(X, y) >= 0.95
    assert clf.predict([0, 1]).tolist() == [0, 1]  # a leaf is its own truth value


def test_regressor_float32_and_tables():
    X, y = make_tree_expressions(1500, max_depth=3, n_tokens=3, random_state=0)
    tables = [{"leaves": t.leaves.tolist(), "children": t.children.tolist()}
              for t in check_trees(X)]
    reg = _fit(TreeNetRegressor(hidden_size=32, embedding_dim=8, batch_size=32,
                                learning_rate_init=3e-3, max_iter=60, random_state=0,
                                dtype="float32"), tables, y.astype(float))
    assert reg._engine.dtype == np.float32
    assert reg.score(X, y.astype(float)) > 0.9
    # the nested and the table form are the same trees
    np.testing.assert_array_equal(reg.predict(X[:50]), reg.predict(tables[:50]))


def test_clone_pickle_params_and_grid_search(sub_mod):
    (X, y), _, _ = sub_mod
    X, y = X[:600], y[:600]
    est = TreeNetClassifier(hidden_size=8, embedding_dim=4, head=[Dense(8, "relu")],
                            max_iter=3, random_state=0)
    params = est.get_params()
    assert params["hidden_size"] == 8 and params["head"][0].units == 8
    c = clone(est)
    assert c.get_params()["cell"] == "rnn" and not hasattr(c, "coefs_")
    _fit(est, X, y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X))
    gs = GridSearchCV(TreeNetClassifier(embedding_dim=4, max_iter=3, random_state=0),
                      {"hidden_size": [4, 8], "cell": ["rnn", "lstm"]}, cv=2)
    _fit(gs, X, y)
    assert set(gs.cv_results_["param_cell"]) == {"rnn", "lstm"}
    assert gs.best_estimator_.max_nodes_ == 31


def test_partial_fit_validation_data_and_early_stopping(sub_mod):
    (X, y), (Xt, yt), _ = sub_mod
    est = TreeNetClassifier(hidden_size=8, embedding_dim=4, random_state=0)
    for _ in range(3):
        est.partial_fit(X[:500], y[:500], classes=[0, 1, 2])
    assert est.t_ == 1500  # samples seen (n_iter_ stays 1, as scikit-learn's MLP)
    est = _fit(TreeNetClassifier(hidden_size=8, embedding_dim=4, max_iter=5, random_state=0),
               X[:500], y[:500], validation_data=(Xt[:100], yt[:100]))
    assert len(est.validation_scores_) == 5
    est = _fit(TreeNetClassifier(hidden_size=8, embedding_dim=4, max_iter=4, random_state=0,
                                 early_stopping=True), X[:500], y[:500])
    assert len(est.validation_scores_) == est.n_iter_


def test_validation_trees_larger_than_training_trees():
    X, y = make_tree_expressions(200, max_depth=2, n_tokens=3, random_state=0)
    Xv, yv = make_tree_expressions(50, max_depth=4, min_depth=4, n_tokens=3, random_state=1)
    est = _fit(TreeNetClassifier(hidden_size=8, embedding_dim=4, max_iter=2, random_state=0),
               X, y, validation_data=(Xv, yv))
    assert est.max_nodes_ == max(t.n_nodes for t in check_trees(Xv))


@pytest.mark.parametrize("trees, match", [
    ([(1, 2), (3, 9)], r"tree 1: leaf id 9 >= n_tokens \(5\)"),
    ([(1, 2), (1, 2, 3)], "tree 1: a node has 3 children"),
    ([(1, (2,))], "tree 0: a node has 1 children"),
    ([(1, 2), ()], "tree 1 is empty"),
    ([(1, 2.5)], "tree 0: leaves must be integer token ids"),
    ([(1, -2)], "tree 0: leaf id -2 is negative"),
    ([{"leaves": [1, 2], "children": [[2, 1]]}, 1], "tree 0: the table has a cycle"),
])
def test_bad_trees_name_the_tree(trees, match):
    est = TreeNetClassifier(n_tokens=5, hidden_size=4, embedding_dim=2, max_iter=1)
    with pytest.raises(ValueError, match=match):
        est.fit(trees, [0, 1][:len(trees)] if len(trees) > 1 else [0])


def test_bad_parameters_and_predict_tokens():
    X, y = make_tree_expressions(100, max_depth=2, n_tokens=3, random_state=0)
    for kw, match in [({"cell": "gru"}, "cell must be"), ({"hidden_size": 0}, "hidden_size"),
                      ({"dropout": 1.0}, r"dropout must be a float in \[0, 1\)"),
                      ({"max_nodes": 3}, "tree .* has .* nodes, more than max_nodes=3"),
                      ({"n_tokens": 2}, r"leaf id 2 >= n_tokens \(2\)")]:
        with pytest.raises(ValueError, match=match):
            TreeNetClassifier(**kw).fit(X, y)
    est = _fit(TreeNetClassifier(hidden_size=4, embedding_dim=2, max_iter=1), X, y)
    with pytest.raises(ValueError, match=r"tree 1: leaf id 7 >= n_tokens \(3\)"):
        est.predict([1, (7, 0)])


def test_to_onnx_says_trees_cannot_be_exported():
    pytest.importorskip("onnx")
    import fastnn

    X, y = make_tree_expressions(50, max_depth=2, n_tokens=3, random_state=0)
    est = _fit(TreeNetClassifier(hidden_size=4, embedding_dim=2, max_iter=1), X, y)
    with pytest.raises(ValueError, match="TreeNetClassifier reads trees"):
        fastnn.to_onnx(est)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_embedding_rows_move_only_when_used(solver):
    """Lazy sparse updates: an embedding row a batch does not use keeps its
    value, though Adam's moments or SGD's momentum from an earlier batch that
    used it would move it in a dense update; the embeddings get no L2."""
    X, y = make_tree_expressions(300, max_depth=3, n_tokens=3, random_state=0)
    est = TreeNetClassifier(n_tokens=5, max_nodes=15, hidden_size=8, embedding_dim=4,
                            solver=solver, alpha=1.0, batch_size=16, learning_rate_init=0.01, random_state=0)
    est.partial_fit([(3, 0), (1, 3)] * 8, [0, 1] * 8, classes=[0, 1, 2])  # uses token 3
    E0 = est.get_weights()[0]["E"]
    for _ in range(3):
        est.partial_fit(X, y)  # tokens 0-2 only
    E1 = est.get_weights()[0]["E"]
    np.testing.assert_array_equal(E1[3:], E0[3:])  # 3: momentum waits; 4: never used
    assert np.all(np.abs(E1[:3] - E0[:3]).max(axis=1) > 0)


def test_trees_demo_prints_its_measurements(capsys):
    from fastnn.__main__ import trees_demo

    assert trees_demo(n_train=300, n_small=200) == 0
    out = capsys.readouterr().out
    for row in ("bag of leaves", "LSTM(64) over the leaves", "TreeNetClassifier(cell='lstm')",
                "TreeNetClassifier(cell='rnn', node_labels=True)", "   nodes 0."):
        assert row in out
