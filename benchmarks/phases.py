"""Where a dense network's epoch goes, phase by phase, beside the GEMM floor
of each layer's products.

    python benchmarks/phases.py --sizes 784 256 128 10 --batch 256
    python benchmarks/phases.py --sizes 784 256 128 10 --batch 32 --epochs 5

Times --epochs warm-started one-epoch fits of fastnn's MLPClassifier (relu,
Adam, shuffled batches: compare.py's MLP workload) on the engine's phase
clock (fastnn.nn._engine.phase_profile) and prints the median over the
epochs, per phase, of its time per thread (the team's work and barrier
waits summed, over the team size) and of its barrier waits. For each
layer's forward and backward also the GEMM work in it, the floor of that
work (gemm_floor.py's: one BLAS thread per product on the same shapes,
split over the team with perfect scaling) and the rate the phase ran at,
against this machine's square-GEMM rate. Then the GEMM phases together
(every layer's forward and backward: its products, its elementwise passes
and its barriers), and the rest of the fit (validation, target encoding,
Python) as the fit's time less the engine's.
"""
import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _nn_workloads as nnw  # noqa: E402
from gemm_floor import _product_time, square_rate  # noqa: E402


def layer_products(sizes, batch):
    """Per layer l: the (M, K, N) products of its forward and its backward."""
    fwd, bwd = [], []
    for i, (a, c) in enumerate(zip(sizes[:-1], sizes[1:])):
        fwd.append([(batch, a, c)])
        bwd.append([(a, batch, c)] + ([(batch, c, a)] if i else []))
    return fwd, bwd


def main():
    import fastnn
    from fastnn.nn._engine import phase_profile
    from fastnn.utils._threads import effective_n_threads

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", required=True,
                    help="inputs, hidden layers, classes")
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--samples", type=int, default=60000)
    ap.add_argument("--epochs", type=int, default=7)
    args = ap.parse_args()
    if len(args.sizes) < 3 or args.epochs < 1:
        ap.error("--sizes needs inputs, at least one hidden layer and classes; --epochs >= 1")
    sizes, b, n = args.sizes, args.batch, args.samples
    rng = np.random.default_rng(0)
    X, y = nnw.classification_data(n, sizes[0], sizes[-1])
    est = fastnn.MLPClassifier(tuple(sizes[1:-1]), batch_size=b, max_iter=1, random_state=0,
                               warm_start=True)
    walls, records = [], []
    with warnings.catch_warnings(), phase_profile() as rec:
        warnings.simplefilter("ignore")
        est.fit(X, y)  # the first fit builds the network
        rec.clear()
        for _ in range(args.epochs):
            start = time.perf_counter()
            est.fit(X, y)
            walls.append(time.perf_counter() - start)
        records = list(rec)
    nt = records[0]["threads"]
    names = records[0]["names"]
    work = np.array([r["work"] for r in records]) / nt  # (epochs, phases), per thread
    wait = np.array([r["wait"] for r in records]) / nt
    total = np.median(work + wait, axis=0)
    waits = np.median(wait, axis=0)

    n_layers = len(sizes) - 1
    fwd, bwd = layer_products(sizes, b)
    batches = n / b
    peak = square_rate(effective_n_threads(None), rng)
    with threadpool_limits(1):
        floors = [sum(_product_time(M, K, N, rng) for M, K, N in shapes) * batches / nt
                  for shapes in fwd + bwd]
    flops = [sum(2.0 * M * K * N for M, K, N in shapes) * batches for shapes in fwd + bwd]

    print(f"{fastnn.__name__} {fastnn.__version__}: MLP {'-'.join(map(str, sizes))} b{b}, "
          f"{n} samples, team of {nt}; square-GEMM rate {peak:.0f} GFLOP/s; "
          f"medians of {args.epochs} epochs (ms per epoch, per thread)")
    print(f"  {'phase':<12} {'time':>7} {'waits':>7} {'GFLOP':>7} {'floor':>7} "
          f"{'GFLOP/s':>8} {'of rate':>8}")
    gemm_time = gemm_flops = gemm_floor = 0.0
    for s, name in enumerate(names):
        row = f"  {name:<12} {1e3 * total[s]:7.1f} {1e3 * waits[s]:7.1f}"
        k = s - 3  # the layers' slots follow gather, loss, update
        if 0 <= k < 2 * n_layers:
            rate = flops[k] / total[s] / 1e9
            row += (f" {flops[k] / 1e9:7.2f} {1e3 * floors[k]:7.1f} {rate:8.0f} "
                    f"{100 * rate / peak:7.0f}%")
            gemm_time += total[s]
            gemm_flops += flops[k]
            gemm_floor += floors[k]
        print(row)
    engine = float(np.median((work + wait).sum(axis=1)))
    wall = statistics.median(walls)
    rate = gemm_flops / gemm_time / 1e9
    print(f"GEMM phases: {gemm_flops / 1e9:.1f} GFLOP in {1e3 * gemm_time:.0f} ms "
          f"(floor {1e3 * gemm_floor:.0f}): {rate:.0f} GFLOP/s, {100 * rate / peak:.0f}% of the "
          "square-GEMM rate")
    print(f"engine {1e3 * engine:.0f} ms (barrier waits {1e3 * waits.sum():.1f}); the fit "
          f"{1e3 * wall:.0f} ms, {1e3 * (wall - engine):.0f} ms outside the engine; whole "
          f"epoch {gemm_flops / wall / 1e9:.0f} GFLOP/s of GEMM, "
          f"{100 * gemm_flops / wall / 1e9 / peak:.0f}% of the rate")


if __name__ == "__main__":
    main()
