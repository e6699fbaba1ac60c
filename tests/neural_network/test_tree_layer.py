"""The tree-recursive layer (TreeEncoder, csrc/fnn_tree_impl.h): forward
results against a plain recursive NumPy transcription, batching and the
team size change nothing, and float64 gradients (embeddings included)
against central differences on trees of depth 1 to 6, unbalanced trees and
single leaves."""
import numpy as np
import pytest
from scipy.special import expit

from fastnn.datasets import check_trees, make_tree_expressions, to_array
from fastnn.layers import Dense, TreeEncoder
from fastnn.nn._network import Network
from fastnn.utils import check_gradients
from fastnn.utils._threads import blas_single_thread


def ref_node(tree, p, cell, inner=None):
    """(h, c) of a nested tree, by recursion over its nodes; each internal
    node's h appended to ``inner`` in post-order."""
    H = p["Wc"].shape[0] // 2
    if not isinstance(tree, tuple):
        z = p["E"][tree] @ p["Wx"] + p["bx"]
        if cell == "rnn":
            return np.tanh(z), None
        i, o, u = expit(z[:H]), expit(z[H:2 * H]), np.tanh(z[2 * H:])
        c = i * u
        return o * np.tanh(c), c
    (hl, cl), (hr, cr) = ref_node(tree[0], p, cell, inner), ref_node(tree[1], p, cell, inner)
    z = np.concatenate([hl, hr]) @ p["Wc"] + p["bc"]
    if cell == "rnn":
        h, c = np.tanh(z), None
    else:
        i, fl, fr, o = (expit(z[j * H:(j + 1) * H]) for j in range(4))
        u = np.tanh(z[4 * H:])
        c = i * u + fl * cl + fr * cr
        h = o * np.tanh(c)
    if inner is not None:
        inner.append(h)
    return h, c


def random_tree(rng, depth, V, full=False):
    if depth == 0 or (not full and rng.rand() < 0.3):
        return int(rng.randint(V))
    return (random_tree(rng, depth - 1, V, full), random_tree(rng, depth - 1, V, full))


def comb(depth, V):
    """The most unbalanced tree: a left comb."""
    t = 0
    for d in range(depth):
        t = (t, (d + 1) % V)
    return t


def _trees(rng, V, n=7):
    out = [3 % V, (1, 2 % V), comb(6, V), random_tree(rng, 6, V, full=True)]
    out += [random_tree(rng, int(rng.randint(1, 6)), V) for _ in range(n - len(out))]
    return out


def _predict(specs, X, p, dtype=np.float64, n_threads=1, batch=None):
    net = Network(specs, X.shape[1:], "squared_error")
    with blas_single_thread():
        return net.net.predict(np.ascontiguousarray(X.reshape(len(X), -1), dtype),
                               p.astype(dtype), np.zeros(net.n_stats, dtype),
                               batch or len(X), n_threads)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_forward_matches_recursive_numpy(cell, n_threads):
    rng = np.random.RandomState(0)
    V, H, D = 6, 40, 16  # wide enough that two threads share the batch
    trees = _trees(rng, V, 24)
    X = to_array(check_trees(trees), max_nodes=130)
    spec = [TreeEncoder(V, H, D, cell=cell)]
    net = Network(spec, X.shape[1:], "squared_error")
    assert net.net.team_size(len(X), n_threads) == n_threads
    p = rng.normal(scale=0.6, size=net.n_params)
    views = net.views(p)[0]
    ref = np.array([ref_node(t, views, cell)[0] for t in trees])
    out = _predict(spec, X, p, n_threads=n_threads)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-13)
    out32 = _predict(spec, X, p, np.float32, n_threads)
    np.testing.assert_allclose(out32, ref, rtol=0, atol=1e-4)  # 64-leaf trees
    # a tree's state is the same alone, in any batch and in any order (to
    # rounding: a BLAS that packs (OpenBLAS's Haswell kernels) sums a level's
    # rows in an order that depends on how many there are)
    alone = np.vstack([_predict(spec, X[i:i + 1], p) for i in range(len(X))])
    np.testing.assert_allclose(alone, out, rtol=1e-12, atol=1e-13)
    perm = rng.permutation(len(X))
    np.testing.assert_allclose(_predict(spec, X[perm], p, batch=3), out[perm], rtol=1e-12,
                               atol=1e-13)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_all_nodes_output_matches_recursive_numpy(cell, n_threads):
    """all_nodes=True: every internal node's state, in post-order, zero rows
    after the tree's (a lone leaf: all zeros)."""
    rng = np.random.RandomState(3)
    V, H, D = 6, 40, 16
    trees = _trees(rng, V, 24) + [4]
    X = to_array(check_trees(trees), max_nodes=130)
    spec = [TreeEncoder(V, H, D, cell=cell, all_nodes=True)]
    net = Network(spec, X.shape[1:], "squared_error")
    assert net.out_shape == (64, H)
    p = rng.normal(scale=0.6, size=net.n_params)
    views = net.views(p)[0]
    ref = np.zeros((len(trees), 64, H))
    for i, t in enumerate(trees):
        inner = []
        ref_node(t, views, cell, inner)
        ref[i, :len(inner)] = np.reshape(inner, (-1, H))
    out = _predict(spec, X, p, n_threads=n_threads).reshape(ref.shape)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(_predict(spec, X, p, np.float32, n_threads).reshape(ref.shape),
                               ref, rtol=0, atol=1e-4)
    # a tree's last row is its root's state, the root-only layer's output
    roots = _predict([TreeEncoder(V, H, D, cell=cell)], X, p, n_threads=n_threads)
    counts = np.array([len(t.children) for t in check_trees(trees)])
    inner = np.flatnonzero(counts)
    np.testing.assert_array_equal(out[inner, counts[inner] - 1], roots[inner])
    alone = np.vstack([_predict(spec, X[i:i + 1], p) for i in range(len(X))])
    np.testing.assert_allclose(alone, out.reshape(len(X), -1), rtol=1e-12, atol=1e-13)


def _grad_errors(cell, trees, seed=0, dropout=0.0, all_nodes=False):
    rng = np.random.RandomState(seed)
    V = 5
    X = to_array(check_trees(trees))
    specs = [TreeEncoder(V, 3, 2, cell=cell, dropout=dropout, all_nodes=all_nodes), Dense(3)]
    net = Network(specs, X.shape[1:], "multinomial", per_step=all_nodes)
    p = rng.normal(scale=0.5, size=net.n_params)
    if all_nodes:
        # a class per internal node, some unlabelled (-1), -1 past the tree
        counts = [len(t.children) for t in check_trees(trees)]
        y = rng.randint(-1, 3, (len(trees), net.steps)).astype(float)
        y[np.arange(net.steps) >= np.array(counts)[:, None]] = -1
    else:
        y = rng.randint(0, 3, len(trees)).astype(float)
    return check_gradients((net, p, np.zeros(net.n_stats)), X, y,
                           rng.uniform(0.5, 2.0, len(trees)), seed=3)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_gradients_with_a_label_per_node(cell, dropout):
    """all_nodes=True under a per-step softmax: every internal node's state
    gets its own loss's gradient, on top of its parent's."""
    rng = np.random.RandomState(7)
    trees = [random_tree(rng, 4, 5, full=True), comb(5, 5), 3, (1, 2), random_tree(rng, 6, 5)]
    errors = _grad_errors(cell, trees, seed=7, dropout=dropout, all_nodes=True)
    assert {"0.E", "0.Wx", "0.Wc", "0.bx", "0.bc", "1.W", "1.b"} <= set(errors)
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize("depth", [1, 2, 4, 6])
def test_gradients_random_trees(cell, depth):
    rng = np.random.RandomState(depth)
    trees = [random_tree(rng, depth, 5, full=True), random_tree(rng, depth, 5)]
    errors = _grad_errors(cell, trees, seed=depth)
    assert {"0.E", "0.Wx", "0.Wc", "0.bx", "0.bc", "input"} <= set(errors)
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_gradients_unbalanced_and_single_leaves(cell):
    # a comb, single leaves (no internal node: Wc gets no gradient), a repeated token
    errors = _grad_errors(cell, [comb(6, 5), 2, (4, 4), 2])
    assert max(errors.values()) < 1e-6, errors
    errors = _grad_errors(cell, [1, 3])
    assert max(errors.values()) < 1e-6, errors


def _by_team(net, X, y, p, seed=0, teams=(1, 2)):
    """(loss, gradient) of one training batch of all of X, per team size."""
    out = []
    for nt in teams:
        g = np.empty_like(p)
        with blas_single_thread():
            loss = net.net.loss_grad(X.reshape(len(X), -1), y, None, p, np.zeros(0), g,
                                     seed=seed, n_threads=nt)[0]
        out.append((loss, g))
    return out


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_gradients_do_not_depend_on_the_team(cell):
    """Two threads give one thread's gradients (the weight gradients are
    GEMMs over the whole batch in sample order, the embedding rows split by
    token)."""
    rng = np.random.RandomState(1)
    trees, _ = make_tree_expressions(40, max_depth=4, n_tokens=5, random_state=0)
    X = to_array(check_trees(trees))
    specs = [TreeEncoder(5, 64, 32, cell=cell), Dense(3)]
    net = Network(specs, X.shape[1:], "multinomial")
    assert net.net.team_size(len(X), 2) == 2
    p = rng.normal(scale=0.5, size=net.n_params)
    y = rng.randint(0, 3, len(trees)).astype(float)
    grads = _by_team(net, X, y, p)
    # to rounding: a level's GEMM has as many rows as the thread has nodes
    # there, and BLAS may pick another kernel for another size
    assert grads[0][0] == pytest.approx(grads[1][0], rel=1e-13)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_node_label_gradients_do_not_depend_on_the_team(cell):
    rng = np.random.RandomState(4)
    trees, y = make_tree_expressions(40, max_depth=4, n_tokens=5, random_state=3,
                                     node_labels=True)
    X = to_array(check_trees(trees))
    specs = [TreeEncoder(5, 64, 32, cell=cell, all_nodes=True), Dense(5)]
    net = Network(specs, X.shape[1:], "multinomial", per_step=True)
    assert net.net.team_size(len(X), 2) == 2
    Y = np.full((len(X), net.steps), -1.0)
    for i, v in enumerate(y):
        Y[i, :len(v)] = v
    p = rng.normal(scale=0.5, size=net.n_params)
    grads = _by_team(net, X, Y.ravel(), p)
    assert grads[0][0] == pytest.approx(grads[1][0], rel=1e-13)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_gradients_with_dropout_on_node_states(cell):
    # the mask is fixed by the seed: the checked loss is a smooth function
    rng = np.random.RandomState(5)
    trees = [random_tree(rng, 4, 5, full=True), comb(5, 5), 3]
    errors = _grad_errors(cell, trees, seed=5, dropout=0.3)
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_dropout_trains_only_and_does_not_depend_on_the_team(cell):
    rng = np.random.RandomState(2)
    trees, _ = make_tree_expressions(40, max_depth=4, n_tokens=5, random_state=1)
    X = to_array(check_trees(trees))
    plain = [TreeEncoder(5, 64, 32, cell=cell), Dense(3)]
    dropped = [TreeEncoder(5, 64, 32, cell=cell, dropout=0.5), Dense(3)]
    net = Network(dropped, X.shape[1:], "multinomial")
    p = rng.normal(scale=0.5, size=net.n_params)
    # predict: no dropout
    np.testing.assert_allclose(_predict(dropped, X, p), _predict(plain, X, p), rtol=1e-13)
    y = rng.randint(0, 3, len(trees)).astype(float)
    out = _by_team(net, X, y, p, seed=11)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-11, atol=1e-12)
    plain_net = Network(plain, X.shape[1:], "multinomial")
    loss0 = _by_team(plain_net, X, y, p, seed=11, teams=(1,))[0][0]
    assert abs(loss0 - out[0][0]) > 1e-3  # training saw dropped states


def _bad(A, i, how):
    B = A.copy()
    if how == "fraction":
        B[i, 0, 2] = 0.5
    elif how == "token":
        B[i, 0, 2] = 7
    elif how == "child later":
        k = int(np.argmax(B[i, :, 0] >= 0))
        B[i, k, 0] = k
    elif how == "empty":
        B[i] = -1
    elif how == "after padding":
        B[i, -1] = [-1, -1, 1]
    elif how == "two parents":
        k = int(np.argmax(B[i, :, 0] >= 0))
        B[i, k, 1] = B[i, k, 0]
    elif how == "one child":
        k = int(np.argmax(B[i, :, 0] >= 0))
        B[i, k, 1] = -1
    elif how == "late leaf":
        # ((0, 1), 2) with the leaf 2 after the first internal node
        B[i] = -1
        B[i, :5] = [[-1, -1, 0], [-1, -1, 1], [0, 1, -1], [-1, -1, 2], [2, 3, -1]]
    return B


@pytest.mark.parametrize("how, match", [
    ("fraction", "tree 3: table entries must be integers"),
    ("token", r"tree 3: leaf id 7 >= n_tokens \(3\)"),
    ("child later", "tree 3: row .* is neither a leaf"),
    ("one child", "tree 3: row .* is neither a leaf"),
    ("empty", "tree 3 is empty"),
    ("after padding", "tree 3: a node after padding"),
    ("two parents", "tree 3: node .* has 2 parents"),
    ("late leaf", "tree 3: a leaf after an internal node"),
])
def test_neural_net_over_tree_tables_names_the_bad_tree(how, match):
    from fastnn import NeuralNetClassifier

    trees, y = make_tree_expressions(20, max_depth=3, min_depth=2, n_tokens=3, random_state=0)
    A = to_array(check_trees(trees), max_nodes=20)  # depth 3: at most 15 nodes, then padding
    est = NeuralNetClassifier([TreeEncoder(3, 4, 2)], max_iter=1)
    with pytest.raises(ValueError, match=match):
        est.fit(_bad(A, 3, how), y)
    est.fit(A, y)
    with pytest.raises(ValueError, match=match):
        est.predict(_bad(A, 3, how))
