"""Tree input (nested pairs and tables) and make_tree_expressions: exact
labels, shapes, the bag-of-leaves baseline at chance, and bad trees as
ValueErrors naming the tree."""
import sys

import numpy as np
import pytest

from fastnn import LogisticRegression
from fastnn.datasets import TreeTable, check_trees, make_tree_expressions, to_nested


def _value(tree, task, k):
    """An independent recursive evaluation of a nested tree."""
    if isinstance(tree, int):
        return tree
    a, b = _value(tree[0], task, k), _value(tree[1], task, k)
    return (a - b) % k if task == "sub_mod" else int(not (a and b))


def _depth(tree):
    return 0 if isinstance(tree, int) else 1 + max(_depth(tree[0]), _depth(tree[1]))


@pytest.mark.parametrize("task, k", [("sub_mod", 10), ("sub_mod", 3), ("nand", 2)])
def test_labels_are_the_trees_values(task, k):
    trees, y = make_tree_expressions(500, max_depth=5, n_tokens=k, task=task, min_depth=2,
                                     random_state=0)
    assert len(trees) == len(y) == 500
    assert [_value(t, task, k) for t in trees] == y.tolist()
    depths = [_depth(t) for t in trees]
    assert min(depths) == 2 and max(depths) == 5
    assert set(np.unique(y)) == set(range(k))
    again, y2 = make_tree_expressions(500, max_depth=5, n_tokens=k, task=task, min_depth=2,
                                      random_state=0)
    assert again == trees and np.array_equal(y, y2)


def test_a_bag_of_leaves_does_not_tell_the_value():
    trees, y = make_tree_expressions(4000, max_depth=4, random_state=0)
    counts = np.array([np.bincount(t.leaves, minlength=10) for t in check_trees(trees)])
    clf = LogisticRegression(max_iter=2000).fit(counts[:3000], y[:3000])
    assert clf.score(counts[3000:], y[3000:]) < 0.2  # chance is 0.1


def test_tables_nested_and_back():
    nested = ((3, 7), (1, (4, 2)))
    (t,) = check_trees([nested], n_tokens=8)
    assert t.leaves.tolist() == [3, 7, 1, 4, 2]
    # post-order: children before parents, the root last
    assert t.children.tolist() == [[0, 1], [3, 4], [2, 6], [5, 7]]
    assert t.height.tolist() == [1, 1, 2, 3] and t.depth == 3 and t.n_nodes == 9
    assert to_nested(t) == nested
    # the same tree as a table numbered another way
    table = {"leaves": [4, 2, 3, 7, 1],
             "children": [[8, 7], [0, 1], [4, 6], [2, 3]]}  # nodes 5..8
    (u,) = check_trees([table])
    assert to_nested(u) == nested
    (leaf,) = check_trees([5])
    assert leaf.leaves.tolist() == [5] and leaf.children.shape == (0, 2) and leaf.depth == 0
    (single,) = check_trees([{"leaves": [5], "children": []}])
    assert to_nested(single) == 5
    assert check_trees([t])[0] is t
    # deep trees do not recurse in Python
    deep = 0
    for i in range(5000):
        deep = (deep, i % 7)
    (d,) = check_trees([deep])
    assert d.depth == 5000


@pytest.mark.parametrize("X, match", [
    ([(1, 2), (1, 12)], r"tree 1: leaf id 12 >= n_tokens \(10\)"),
    ([(1, 2), ((1,), 2)], "tree 1: a node has 1 children"),
    ([(1, (2, 3, 4))], "tree 0: a node has 3 children"),
    ([(1, 2), ()], "tree 1 is empty"),
    ([(1.5, 2)], "tree 0: leaves must be integer token ids, got 1.5"),
    ([(True, 2)], "tree 0: leaves must be integer token ids"),
    ([(1, -2)], "tree 0: leaf id -2 is negative"),
    ([(1, 2), "ab"], "tree 1: a tree is a token id"),
    ([], "X holds no tree"),
    ([{"leaves": [1, 2], "children": [[0, 1, 2]]}], "tree 0: every internal node needs "
                                                    "exactly 2 children"),
    ([{"leaves": [1, 2, 3], "children": [[0, 1], [3, 4]]}], "tree 0: node 3 .*|cycle"),
    ([{"leaves": [1, 2, 3], "children": [[0, 4], [1, 3]]}], "tree 0: the table has a cycle"),
    ([{"leaves": [1, 2, 3], "children": [[0, 1], [0, 2]]}], "tree 0: node 0 has two parents"),
    ([{"leaves": [1, 2], "children": []}], "tree 0: a binary tree with 2 leaves has 1"),
    ([{"leaves": [1.0, 2.0], "children": [[0, 1]]}], "tree 0: leaves must be integer"),
    ([{"leaves": [1, 2]}], "tree 0: a table must be a dict with 'leaves' and 'children'"),
])
def test_bad_trees_name_the_tree(X, match):
    with pytest.raises(ValueError, match=match):
        check_trees(X, n_tokens=10)


def test_bad_generator_parameters():
    for kw, match in ((dict(task="sum"), "task must be one of"),
                      (dict(n_samples=0), "n_samples must be an int >= 1"),
                      (dict(n_tokens=1), "n_tokens must be an int >= 2"),
                      (dict(min_depth=5, max_depth=3), "must not exceed max_depth"),
                      (dict(task="nand", n_tokens=3), "n_tokens must be 2")):
        with pytest.raises(ValueError, match=match):
            make_tree_expressions(**kw)
    assert sys.getrecursionlimit() >= 1000  # the generator recurses max_depth deep
