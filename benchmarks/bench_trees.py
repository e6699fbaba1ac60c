"""pytest-benchmark groups for the tree networks: a TreeNetClassifier epoch
beside the same model in PyTorch written per node (recursion) and
level-batched (skipped without torch).

    pytest benchmarks/bench_trees.py --benchmark-only

FASTNN_BENCH_SCALE=10 divides the number of trees by 10. Timings are never
asserted; compare.py --only trees prints the same workloads as ratios.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import _tree_workloads as tw  # noqa: E402

SCALE = int(os.environ.get("FASTNN_BENCH_SCALE", 1))
H, D, BATCH = 128, 64, 25


@pytest.fixture(scope="module")
def trees():
    return tw.tree_data(1000 // SCALE)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize("impl", ["fastnn", "torch-level-batched", "torch-recursive"])
def bench_tree_epoch(benchmark, trees, cell, impl):
    X, y = trees
    benchmark.group = f"treenet-{cell}-h{H}-b{BATCH}-{len(X)}trees-epoch"
    if impl == "fastnn":
        epoch = tw.fastnn_tree_epoch(X, y, cell, H, D, BATCH)
    else:
        torch = pytest.importorskip("torch")
        from fastnn.utils import effective_n_threads

        torch.set_num_threads(effective_n_threads(None))
        epoch = tw.torch_tree_epoch(X, y, cell, H, D, BATCH, impl == "torch-level-batched")
    epoch()  # warm-up
    benchmark.pedantic(epoch, rounds=3, iterations=1)
