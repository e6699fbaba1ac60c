"""The GEMM floor of a dense network's epoch: how long SciPy's BLAS (the
only GEMM fastnn may use) takes for just the products of one epoch, at its
best rate for each exact shape, against this machine's square-GEMM rate.

    python benchmarks/gemm_floor.py --sizes 784 256 32 256 784 --batch 200
    python benchmarks/gemm_floor.py --sizes 784 256 128 10 --batch 32

Per batch of b rows and layer a -> c: the forward product (b x a)(a x c),
the weight gradient (a x b)(b x c) and, except for the first layer, the
input gradient (b x c)(c x a). Each shape is timed warm, back to back,
best of three, two ways: one call on all the BLAS threads, and one BLAS
thread (the engine's way: its threads split a product's columns, each
calling BLAS on one; the floor then is that time over the thread count,
perfect scaling assumed). An epoch cannot be faster than the smaller of
the two, before any activation, loss or optimizer step: a target below it
is beyond this BLAS on this machine.
"""
import argparse
import time

import numpy as np
from scipy.linalg.blas import sgemm
from threadpoolctl import threadpool_limits


def _product_time(M, K, N, rng, reps=300):
    A = np.asfortranarray(rng.normal(size=(M, K)).astype(np.float32))
    B = np.asfortranarray(rng.normal(size=(K, N)).astype(np.float32))
    C = np.zeros((M, N), np.float32, order="F")
    for _ in range(10):
        sgemm(1.0, A, B, c=C, overwrite_c=1)
    best = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(reps):
            sgemm(1.0, A, B, c=C, overwrite_c=1)
        best.append((time.perf_counter() - start) / reps)
    return min(best)


def epoch_products(sizes, batch):
    shapes = []
    for i, (a, c) in enumerate(zip(sizes[:-1], sizes[1:])):
        shapes += [(batch, a, c), (a, batch, c)] + ([(batch, c, a)] if i else [])
    return shapes


def square_rate(n_threads, rng, size=3072):
    a = np.asfortranarray(rng.normal(size=(size, size)).astype(np.float32))
    with threadpool_limits(n_threads):
        sgemm(1.0, a, a)
        start = time.perf_counter()
        sgemm(1.0, a, a)
        sgemm(1.0, a, a)
        return 4.0 * size ** 3 / (time.perf_counter() - start) / 1e9


def main():
    from fastnn.utils._threads import effective_n_threads

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--samples", type=int, default=60000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    nt = effective_n_threads(None)
    shapes = epoch_products(args.sizes, args.batch)
    flops = sum(2.0 * M * K * N for M, K, N in shapes) * (args.samples // args.batch)
    peak = square_rate(nt, rng)
    print(f"sizes {args.sizes}, batch {args.batch}, {args.samples} samples: "
          f"{flops / 1e9:.1f} GFLOP of GEMM per epoch; square-GEMM rate {peak:.0f} GFLOP/s "
          f"on {nt} threads")
    floors = {}
    for threads in sorted({1, nt}):
        with threadpool_limits(threads):
            per_batch = sum(_product_time(M, K, N, rng) for M, K, N in shapes)
        epoch = per_batch * (args.samples // args.batch) / (nt if threads == 1 else 1)
        floors[threads] = epoch
        how = (f"one BLAS thread, split {nt} ways" if threads == 1 and nt > 1 else
               f"one call on {threads} BLAS thread{'s' if threads > 1 else ''}")
        print(f"  {how}: GEMMs alone {1000 * epoch:.0f} ms per epoch, "
              f"{flops / epoch / 1e9:.0f} GFLOP/s ({100 * flops / epoch / 1e9 / peak:.0f}% of "
              "the square rate)")
    print(f"floor: {1000 * min(floors.values()):.0f} ms per epoch")


if __name__ == "__main__":
    main()
