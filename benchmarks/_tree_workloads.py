"""Tree-network workloads shared by compare.py and bench_trees.py: one epoch
of the same model (embeddings, the rnn or Tree-LSTM cell, a linear output,
cross entropy, Adam, shuffled batches of trees) in fastnn and in PyTorch
written the two usual ways: per-node recursion, and level batching (each
level of a batch's trees as one gather, one matmul, one cell)."""
import warnings

import numpy as np

from fastnn.datasets import check_trees, make_tree_expressions


def tree_data(n=1000, n_tokens=10, seed=0):
    """``n`` sub_mod trees of depth 5 (29 nodes on average, at most 63)."""
    trees, y = make_tree_expressions(n, max_depth=5, min_depth=5, n_tokens=n_tokens,
                                     random_state=seed)
    return trees, y


def mean_nodes(trees):
    return float(np.mean([t.n_nodes for t in check_trees(trees)]))


def fastnn_tree_epoch(trees, y, cell, H, D, batch):
    """One epoch of TreeNetClassifier (float32, warm-started) per call, the
    trees handed over as check_trees' tables (converted once, as a user
    keeping them would)."""
    from fastnn import TreeNetClassifier

    from _nn_workloads import _fastnn_warm_epoch

    est = TreeNetClassifier(hidden_size=H, embedding_dim=D, cell=cell, batch_size=batch,
                            max_iter=1, warm_start=True, random_state=0, dtype="float32",
                            tol=0.0)
    return _fastnn_warm_epoch(est, check_trees(trees), y)


class _Cells:
    """The model's tensors in PyTorch: E, Wx, Wc (as Linear layers) and the
    output layer; leaf and internal cells on batches of rows."""

    def __init__(self, torch, V, D, H, k, cell):
        nn = torch.nn
        g_leaf, g_int = (3, 5) if cell == "lstm" else (1, 1)
        self.torch, self.H, self.cell = torch, H, cell
        self.emb = nn.Embedding(V, D)
        self.wx = nn.Linear(D, g_leaf * H)
        self.wc = nn.Linear(2 * H, g_int * H)
        self.out = nn.Linear(H, k)
        self.params = [p for m in (self.emb, self.wx, self.wc, self.out) for p in m.parameters()]

    def leaf(self, tokens):
        z = self.wx(self.emb(tokens))
        if self.cell == "rnn":
            return self.torch.tanh(z), None
        i, o, u = z.chunk(3, dim=-1)
        c = self.torch.sigmoid(i) * self.torch.tanh(u)
        return self.torch.sigmoid(o) * self.torch.tanh(c), c

    def node(self, hl, hr, cl, cr):
        z = self.wc(self.torch.cat([hl, hr], dim=-1))
        if self.cell == "rnn":
            return self.torch.tanh(z), None
        s = self.torch.sigmoid
        i, fl, fr, o, u = z.chunk(5, dim=-1)
        c = s(i) * self.torch.tanh(u) + s(fl) * cl + s(fr) * cr
        return s(o) * self.torch.tanh(c), c


def torch_tree_epoch(trees, y, cell, H, D, batch, level_batched):
    """One epoch of the same model in PyTorch: ``level_batched=False`` runs
    every tree by recursion over its nodes (one small op per node, the way
    tree networks are usually written); True runs a batch's trees level by
    level, the level order computed per batch with NumPy."""
    import torch

    tables = check_trees(trees)
    V = max(int(t.leaves.max()) for t in tables) + 1
    k = int(np.max(y)) + 1
    m = _Cells(torch, V, D, H, k, cell)
    opt = torch.optim.Adam(m.params, lr=1e-3, fused=True)
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
    loss_fn = torch.nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)

    def recursive_batch(idx):
        return torch.cat([recursive_root_nodes(tables[i]) for i in idx])

    def recursive_root_nodes(t):
        # per node: a leaf's embedding and cell, an internal node's cell
        L = len(t.leaves)

        def visit(node):
            if node < L:
                h, c = m.leaf(torch.tensor([int(t.leaves[node])]))
                return h, c
            a, b = t.children[node - L]
            (hl, cl), (hr, cr) = visit(int(a)), visit(int(b))
            return m.node(hl, hr, cl, cr)
        return visit(t.n_nodes - 1)[0]

    def batched(idx):
        # nodes of the batch numbered globally: leaves first per tree, as tables
        toks, lefts, rights, heights, roots = [], [], [], [], []
        base = 0
        for i in idx:
            t = tables[i]
            L = len(t.leaves)
            toks.append(t.leaves)
            heights.append(np.concatenate([np.zeros(L, np.int64), t.height]))
            lefts.append(t.children[:, 0] + base)
            rights.append(t.children[:, 1] + base)
            base += t.n_nodes
            roots.append(base - 1)
        height = np.concatenate(heights)
        is_leaf = np.concatenate([np.r_[np.ones(len(a), bool), np.zeros(len(b), bool)]
                                  for a, b in zip(toks, lefts)])
        leaf_ids = np.flatnonzero(is_leaf)
        node_ids = np.flatnonzero(~is_leaf)
        left = np.empty(base, np.int64)
        right = np.empty(base, np.int64)
        left[node_ids] = np.concatenate(lefts)
        right[node_ids] = np.concatenate(rights)
        h_all = torch.zeros(base, H)
        c_all = torch.zeros(base, H) if cell == "lstm" else None
        hl_, cl_ = m.leaf(torch.from_numpy(np.concatenate(toks)))
        ids = torch.from_numpy(leaf_ids)
        h_all = h_all.index_copy(0, ids, hl_)
        if c_all is not None:
            c_all = c_all.index_copy(0, ids, cl_)
        for lev in range(1, int(height.max()) + 1 if base else 1):
            at = node_ids[height[node_ids] == lev]
            li, ri = torch.from_numpy(left[at]), torch.from_numpy(right[at])
            hn, cn = m.node(h_all[li], h_all[ri], None if c_all is None else c_all[li],
                            None if c_all is None else c_all[ri])
            at_t = torch.from_numpy(at)
            h_all = h_all.index_copy(0, at_t, hn)
            if c_all is not None:
                c_all = c_all.index_copy(0, at_t, cn)
        return h_all[torch.from_numpy(np.array(roots))]

    def epoch():
        perm = rng.permutation(len(tables))
        for s in range(0, len(perm), batch):
            idx = perm[s:s + batch]
            roots = batched(idx) if level_batched else recursive_batch(idx)
            opt.zero_grad()
            loss = loss_fn(m.out(roots), yt[idx])
            loss.backward()
            opt.step()
        return m

    return epoch
