"""Binary trees over integer tokens: checking and the table form the tree
networks batch over, and synthetic compositional tasks with exact labels.

A tree is a leaf (an int token id) or a pair ``(left, right)`` of trees,
nested: ``((3, 7), (1, (4, 2)))``. Its table form is a dict
``{"leaves": [...], "children": [[l, r], ...]}``: nodes 0..L-1 are the
leaves (``leaves[i]`` their token ids) and node L + j is internal node j,
whose children are nodes ``children[j]``; every node but one (the root) is
the child of exactly one internal node.
"""
import numbers

import numpy as np
from sklearn.utils import check_random_state


class TreeTable:
    """One checked tree: ``leaves`` (L,) token ids, ``children`` (I, 2) node
    indices in post-order (children before parents, the root last), and
    ``height`` (I,) of each internal node (leaves are height 0)."""

    __slots__ = ("leaves", "children", "height")

    def __init__(self, leaves, children, height):
        self.leaves, self.children, self.height = leaves, children, height

    @property
    def n_nodes(self):
        return len(self.leaves) + len(self.children)

    def __repr__(self):
        return f"TreeTable({len(self.leaves)} leaves, height {self.depth})"

    @property
    def depth(self):
        return int(self.height[-1]) if len(self.height) else 0


def _is_token(x):
    return isinstance(x, (numbers.Integral, np.integer)) and not isinstance(x, (bool, np.bool_))


def _from_nested(tree, index):
    leaves, children, height = [], [], []
    # iterative post-order (deep trees must not hit Python's recursion limit)
    stack = [(tree, False)]
    out = []  # node id of each finished subtree, in order
    while stack:
        node, expanded = stack.pop()
        if _is_token(node):
            leaves.append(int(node))
            out.append(("leaf", len(leaves) - 1, 0))
            continue
        if isinstance(node, (tuple, list)):
            if len(node) != 2:
                raise ValueError(f"tree {index}: a node has {len(node)} children; a binary tree's "
                                 "internal nodes have exactly 2 ((left, right))")
            if not expanded:
                stack.append((node, True))
                stack.append((node[1], False))
                stack.append((node[0], False))
            else:
                right, left = out.pop(), out.pop()
                children.append((left, right))
                height.append(1 + max(left[2], right[2]))
                out.append(("node", len(children) - 1, height[-1]))
            continue
        raise ValueError(f"tree {index}: leaves must be integer token ids, got {node!r} "
                         f"({type(node).__name__})")
    L = len(leaves)
    ch = np.array([[c[1] if c[0] == "leaf" else L + c[1] for c in pair] for pair in children],
                  dtype=np.int64).reshape(-1, 2)
    return TreeTable(np.array(leaves, dtype=np.int64), ch, np.array(height, dtype=np.int64))


def _from_table(table, index):
    try:
        leaves = np.asarray(table["leaves"])
        children = np.asarray(table["children"])
    except (KeyError, TypeError):
        raise ValueError(f"tree {index}: a table must be a dict with 'leaves' and "
                         "'children'") from None
    if leaves.ndim != 1 or len(leaves) == 0:
        raise ValueError(f"tree {index}: 'leaves' must be a non-empty 1-d list of token ids")
    if leaves.dtype.kind not in "iu":
        raise ValueError(f"tree {index}: leaves must be integer token ids, got dtype "
                         f"{leaves.dtype}")
    L = len(leaves)
    if children.size == 0:
        children = np.zeros((0, 2), dtype=np.int64)
    if children.ndim != 2 or children.shape[1] != 2:
        raise ValueError(f"tree {index}: every internal node needs exactly 2 children "
                         f"('children' of shape (n_internal, 2)), got shape {children.shape}")
    if children.dtype.kind not in "iu":
        raise ValueError(f"tree {index}: children must be integer node indices")
    n = L + len(children)
    if len(children) != L - 1:
        raise ValueError(f"tree {index}: a binary tree with {L} leaves has {L - 1} internal "
                         f"nodes, the table has {len(children)}")
    if children.size and (children.min() < 0 or children.max() >= n):
        raise ValueError(f"tree {index}: a child index is outside the {n} nodes")
    parents = np.bincount(children.ravel(), minlength=n)
    if np.any(parents > 1):
        raise ValueError(f"tree {index}: node {int(np.argmax(parents > 1))} has two parents")
    roots = np.flatnonzero(parents == 0)
    if len(roots) != 1:
        raise ValueError(f"tree {index}: the table has a cycle or several roots (nodes without "
                         f"a parent: {roots.tolist()})")
    # post-order from the root; a cycle cannot reach the root's walk twice
    order, stack, seen = [], [(int(roots[0]), False)], np.zeros(n, dtype=bool)
    while stack:
        node, expanded = stack.pop()
        if node < L:
            order.append(node)
            continue
        if expanded:
            order.append(node)
            continue
        if seen[node]:
            raise ValueError(f"tree {index}: the table has a cycle through node {node}")
        seen[node] = True
        stack.append((node, True))
        left, right = children[node - L]
        stack.append((int(right), False))
        stack.append((int(left), False))
    if len(order) != n:
        raise ValueError(f"tree {index}: the table has a cycle (only {len(order)} of {n} "
                         "nodes hang from the root)")
    # renumber: leaves in the order met, internal nodes in post-order
    new = np.empty(n, dtype=np.int64)
    leaf_order = [v for v in order if v < L]
    node_order = [v for v in order if v >= L]
    new[leaf_order] = np.arange(L)
    new[node_order] = L + np.arange(len(node_order))
    ch = new[children[np.array(node_order, dtype=np.int64) - L]] if node_order else \
        np.zeros((0, 2), dtype=np.int64)
    height = np.zeros(n, dtype=np.int64)
    for j, (a, b) in enumerate(ch):
        height[L + j] = 1 + max(height[a], height[b])
    return TreeTable(leaves[leaf_order].astype(np.int64), ch.astype(np.int64), height[L:])


def check_trees(X, n_tokens=None):
    """``X`` (a sequence of trees, nested or tables) as a list of TreeTable,
    or a ValueError naming the first bad tree's index. ``n_tokens``: leaf ids
    must be below it (and never negative)."""
    if isinstance(X, (str, bytes)) or not hasattr(X, "__len__"):
        raise ValueError("X must be a sequence of trees (nested pairs of token ids, or "
                         f"tables), got {type(X).__name__}")
    if len(X) == 0:
        raise ValueError("X holds no tree")
    tables = []
    for i, tree in enumerate(X):
        if isinstance(tree, TreeTable):
            table = tree
        elif isinstance(tree, dict):
            table = _from_table(tree, i)
        elif _is_token(tree) or isinstance(tree, (tuple, list)):
            if isinstance(tree, (tuple, list)) and len(tree) == 0:
                raise ValueError(f"tree {i} is empty")
            table = _from_nested(tree, i)
        else:
            raise ValueError(f"tree {i}: a tree is a token id, a (left, right) pair or a "
                             f"table, got {type(tree).__name__}")
        tables.append(table)
    check_tokens(tables, n_tokens)
    return tables


def check_tokens(tables, n_tokens=None, what=""):
    """A ValueError naming the first tree with a negative leaf id, or one
    >= ``n_tokens`` (when given); ``what`` ends the message. Returns the
    largest leaf id."""
    leaves = np.concatenate([t.leaves for t in tables])
    low, top = int(leaves.min()), int(leaves.max())
    if low < 0:
        i = next(i for i, t in enumerate(tables) if t.leaves.min() < 0)
        raise ValueError(f"tree {i}: leaf id {int(tables[i].leaves.min())} is negative")
    if n_tokens is not None and top >= n_tokens:
        i = next(i for i, t in enumerate(tables) if t.leaves.max() >= n_tokens)
        raise ValueError(f"tree {i}: leaf id {int(tables[i].leaves.max())} >= n_tokens "
                         f"({n_tokens}){what}")
    return top


def to_array(tables, max_nodes=None, dtype=np.float64):
    """Checked trees (TreeTable, as ``check_trees`` returns) as the tree
    layer's input: an array (n_trees, max_nodes, 3) of (left, right, token)
    rows, the leaves first, then the internal nodes in post-order (children
    before parents, the root last), padded with -1 rows. ``max_nodes``
    defaults to the largest tree's size; a larger tree raises a ValueError
    naming it."""
    n = len(tables)
    n_leaves = np.fromiter((len(t.leaves) for t in tables), np.int64, count=n)
    n_inner = np.fromiter((len(t.children) for t in tables), np.int64, count=n)
    sizes = n_leaves + n_inner
    if max_nodes is None:
        max_nodes = int(sizes.max())
    if np.any(sizes > max_nodes):
        i = int(np.argmax(sizes > max_nodes))
        raise ValueError(f"tree {i} has {sizes[i]} nodes, more than max_nodes={max_nodes}")
    out = np.full((n, max_nodes, 3), -1.0, dtype=dtype)
    # every leaf's (tree, row), then every internal node's
    tree = np.repeat(np.arange(n), n_leaves)
    row = np.arange(len(tree)) - np.repeat(np.cumsum(n_leaves) - n_leaves, n_leaves)
    out[tree, row, 2] = np.concatenate([t.leaves for t in tables])
    tree = np.repeat(np.arange(n), n_inner)
    if len(tree):
        row = np.arange(len(tree)) - np.repeat(np.cumsum(n_inner) - n_inner, n_inner)
        out[tree, row + n_leaves[tree], :2] = np.concatenate([t.children for t in tables])
    return out


def check_tree_array(X, n_tokens):
    """A ValueError naming the first bad tree of ``X`` (n, max_nodes, 3), the
    tree layer's input as ``to_array`` writes it: rows (-1, -1, token) for
    leaves, then (left, right, -1) for internal nodes whose children come
    earlier, (-1, -1, -1) padding after the tree, every node but the last one the
    child of exactly one node."""
    X = np.asarray(X)
    if X.ndim != 3 or X.shape[2] != 3:
        raise ValueError(f"tree tables must have shape (n_trees, max_nodes, 3), got {X.shape}")
    n, N, _ = X.shape

    def first(bad):
        return int(np.argmax(np.any(bad.reshape(n, -1), axis=1)))

    whole = X == np.round(X)
    if not np.all(whole):
        raise ValueError(f"tree {first(~whole)}: table entries must be integers")
    left, right, tok = X[..., 0], X[..., 1], X[..., 2]
    pad = (left == -1) & (right == -1) & (tok == -1)
    leaf = (left == -1) & (right == -1) & (tok >= 0)
    row = np.arange(N)
    inner = (left >= 0) & (right >= 0) & (tok == -1) & (left < row) & (right < row)
    bad = ~(pad | leaf | inner)
    if np.any(bad):
        i = first(bad)
        k = int(np.argmax(bad[i]))
        raise ValueError(f"tree {i}: row {k} {X[i, k].tolist()} is neither a leaf (-1, -1, "
                         "token), an internal node (left, right, -1) with children at earlier "
                         "rows, nor padding (-1, -1, -1)")
    if np.any(leaf & (tok >= n_tokens)):
        i = first(leaf & (tok >= n_tokens))
        raise ValueError(f"tree {i}: leaf id {int(tok[i][leaf[i]].max())} >= n_tokens "
                         f"({n_tokens})")
    if np.any(pad[:, 0]):
        raise ValueError(f"tree {first(pad[:, :1])} is empty")
    if N > 1 and np.any(pad[:, :-1] & ~pad[:, 1:]):
        raise ValueError(f"tree {first(pad[:, :-1] & ~pad[:, 1:])}: a node after padding")
    late = leaf[:, 1:] & np.logical_or.accumulate(inner, axis=1)[:, :-1]
    if np.any(late):
        raise ValueError(f"tree {first(late)}: a leaf after an internal node (the leaves come "
                         "first)")
    # parents: every node but the root (the last) exactly one
    size = (~pad).sum(axis=1)
    parents = np.zeros((n, N), dtype=np.int64)
    ti, ki = np.nonzero(inner)
    np.add.at(parents, (ti, left[ti, ki].astype(np.int64)), 1)
    np.add.at(parents, (ti, right[ti, ki].astype(np.int64)), 1)
    want = (row < (size - 1)[:, None]).astype(np.int64)
    if np.any(parents != want):
        i = first(parents != want)
        k = int(np.argmax(parents[i] != want[i]))
        raise ValueError(f"tree {i}: node {k} has {int(parents[i, k])} parents (every node but "
                         "the root, the last, has one)")


def to_nested(table):
    """A TreeTable back to nested pairs."""
    L = len(table.leaves)
    built = [int(t) for t in table.leaves] + [None] * len(table.children)
    for j, (a, b) in enumerate(table.children):
        built[L + j] = (built[a], built[b])
    return built[-1]


TASKS = ("sub_mod", "nand")


def make_tree_expressions(n_samples=1000, max_depth=4, n_tokens=10, task="sub_mod",
                          min_depth=1, random_state=None, node_labels=False):
    """Random binary trees over ``n_tokens`` leaf tokens and the exact value
    of each, composed bottom-up, as class labels:

    - ``"sub_mod"``: a leaf's value is its token (0..n_tokens-1), a node's
      ``(left - right) mod n_tokens``: the order of the leaves matters, so a
      bag of leaves does not tell the value;
    - ``"nand"``: tokens 0/1 (n_tokens must be 2) are false/true, every node
      is NAND of its children.

    Each tree's depth is drawn uniformly in [min_depth, max_depth], and its
    shape grows by splitting each node until that depth (one branch always
    reaching it, the other stopping early with probability 1/3 at each
    level). Returns (trees as nested pairs, y): y the trees' values, or with
    ``node_labels=True`` per tree the values of its internal nodes in
    post-order (children before parents, the root last: the order of
    ``check_trees``' tables), an int array each (empty for a lone leaf).
    The trees do not depend on ``node_labels``."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    for name, value, low in (("n_samples", n_samples, 1), ("max_depth", max_depth, 0),
                             ("n_tokens", n_tokens, 2), ("min_depth", min_depth, 0)):
        if not _is_token(value) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    if min_depth > max_depth:
        raise ValueError(f"min_depth ({min_depth}) must not exceed max_depth ({max_depth})")
    if task == "nand" and n_tokens != 2:
        raise ValueError(f"task='nand' has 2 tokens (false, true): n_tokens must be 2, got "
                         f"{n_tokens}")
    if not isinstance(node_labels, (bool, np.bool_)):
        raise ValueError(f"node_labels must be a bool, got {node_labels!r}")
    rng = check_random_state(random_state)
    inner = []  # the values of the tree's internal nodes, in post-order

    def grow(depth, full):
        if depth == 0:
            t = int(rng.randint(n_tokens))
            return t, t
        if not full and rng.rand() < 1.0 / 3.0:
            return grow(0, False)
        deep_left = rng.rand() < 0.5
        left, lv = grow(depth - 1, full and deep_left)
        right, rv = grow(depth - 1, full and not deep_left)
        value = (lv - rv) % n_tokens if task == "sub_mod" else int(not (lv and rv))
        inner.append(value)
        return (left, right), value

    trees, y, nodes = [], np.empty(n_samples, dtype=np.int64), []
    for i in range(n_samples):
        inner.clear()
        tree, y[i] = grow(int(rng.randint(min_depth, max_depth + 1)), True)
        trees.append(tree)
        nodes.append(np.array(inner, dtype=np.int64))
    return trees, (nodes if node_labels else y)
