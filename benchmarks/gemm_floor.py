"""The GEMM floor of a dense network's epoch: how long SciPy's BLAS (the
only GEMM fastnn may use) takes for just the products of one epoch, at its
best rate for each exact shape, against this machine's square-GEMM rate.

    python benchmarks/gemm_floor.py --sizes 784 256 32 256 784 --batch 200
    python benchmarks/gemm_floor.py --sizes 784 256 128 10 --batch 32

Per batch of b rows and layer a -> c: the forward product (b x a)(a x c),
the weight gradient (a x b)(b x c) and, except for the first layer, the
input gradient (b x c)(c x a). Each shape is timed warm, back to back,
best of three, in the faster of its two orientations (C = A B or C' =
B' A'), two ways: one call on all the BLAS threads, and one BLAS
thread (the engine's way: its threads split a product's columns, each
calling BLAS on one; the floor then is that time over the thread count,
perfect scaling assumed). An epoch cannot be faster than the smaller of
the two, before any activation, loss or optimizer step: a target below it
is beyond this BLAS on this machine. The last line times the products as
the engine's layout has BLAS compute them (row-major operands: the
transposed product, with its transposition flags): what fastnn's layout
allows, without changing where X, the activations and coefs_ live.

    python benchmarks/gemm_floor.py --sizes 784 256 128 10 --batch 32 --anchor 5

With --anchor R (the sizes of a classifier: inputs, hidden layers, classes),
R alternated rounds also time what the floor is held against: PyTorch's
epoch of the same network (benchmarks/_nn_workloads, fused Adam, as
compare.py) and fastnn's, beside the floor's two parts measured in the same
round: the GEMMs (the one-thread split, as above) and the optimizer alone,
one fastnn Adam step over all the weights and biases per batch. The largest
ratio to PyTorch any epoch could reach that round is PyTorch's epoch over
the sum of those two parts, whatever else the epoch does (in brackets: the
same with the products in the engine's layout).
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np
from scipy.linalg.blas import sgemm
from threadpoolctl import threadpool_limits


def _best_time(call, reps):
    """Seconds per call: warm, back to back, the best of three runs of reps."""
    for _ in range(10):
        call()
    best = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(reps):
            call()
        best.append((time.perf_counter() - start) / reps)
    return min(best)


def _oriented_time(M, K, N, rng, reps):
    A = np.asfortranarray(rng.normal(size=(M, K)).astype(np.float32))
    B = np.asfortranarray(rng.normal(size=(K, N)).astype(np.float32))
    C = np.zeros((M, N), np.float32, order="F")
    return _best_time(lambda: sgemm(1.0, A, B, c=C, overwrite_c=1), reps)


def _product_time(M, K, N, rng, reps=300):
    """The faster of the two ways BLAS can be asked for an (M x K)(K x N)
    product: C = A B, or its transpose C' = B' A' (which operand is BLAS's
    A, packed along M, depends on the layout; OpenBLAS's Haswell kernels run
    the 32 x 784 x 256 product 34% slower one way than the other)."""
    return min(_oriented_time(M, K, N, rng, reps), _oriented_time(N, K, M, rng, reps))


def epoch_products(sizes, batch):
    shapes = []
    for i, (a, c) in enumerate(zip(sizes[:-1], sizes[1:])):
        shapes += [(batch, a, c), (a, batch, c)] + ([(batch, c, a)] if i else [])
    return shapes


def _engine_time(M, K, N, role, rng, reps=300):
    """The (M x K)(K x N) product as the engine asks BLAS for it: its
    operands are row-major (samples by rows, scikit-learn's coefs_), so BLAS
    gets the transposed product, with the transposition flags of the role:
    "forward" in W, "wgrad" in' d, "dgrad" d W'."""
    def F(r, c):
        return np.asfortranarray(rng.normal(size=(r, c)).astype(np.float32))

    if role == "forward":
        A, B, flags = F(N, K), F(K, M), {}
    elif role == "wgrad":
        A, B, flags = F(N, K), F(M, K), {"trans_b": 1}
    else:
        A, B, flags = F(K, N), F(K, M), {"trans_a": 1}
    C = np.zeros((N, M), np.float32, order="F")
    return _best_time(lambda: sgemm(1.0, A, B, c=C, overwrite_c=1, **flags), reps)


def engine_floor(sizes, batch, rng):
    """Per batch, one BLAS thread: the epoch's products in the engine's layout."""
    roles = []
    for i in range(len(sizes) - 1):
        roles += ["forward", "wgrad"] + (["dgrad"] if i else [])
    return sum(_engine_time(M, K, N, r, rng)
               for (M, K, N), r in zip(epoch_products(sizes, batch), roles))


def _anchor_rounds(args, shapes, nt, rng):
    """--anchor: floor parts, PyTorch's and fastnn's epochs, alternated."""
    try:
        import torch  # noqa: F401
    except ImportError:
        print("PyTorch is not installed: --anchor has nothing to hold the floor against")
        return
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import _nn_workloads as nnw

    sizes, steps = args.sizes, -(-args.samples // args.batch)
    X, y = nnw.classification_data(args.samples, sizes[0], sizes[-1])
    hidden = tuple(sizes[1:-1])
    n_params = sum((a + 1) * c for a, c in zip(sizes[:-1], sizes[1:]))
    epochs = {"PyTorch": nnw.torch_epoch(X, y, hidden, args.batch),
              "fastnn": nnw.fastnn_epoch(X, y, hidden, args.batch)}
    adam = nnw.fastnn_adam_step(n_params)
    for run in (*epochs.values(), adam):
        run()

    def epoch_time(run):
        start = time.perf_counter()
        run()
        return time.perf_counter() - start

    def adam_time(reps=2000):
        best = []
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(reps):
                adam()
            best.append((time.perf_counter() - start) / reps)
        return min(best) * steps

    print(f"{args.anchor} alternated rounds; {steps} batches, {n_params} parameters "
          "(ms per epoch; bound = PyTorch / (GEMM floor + Adam), in brackets with the "
          "products in the engine's layout)")
    bounds, in_layout, ratios = [], [], []
    for r in range(args.anchor):
        with threadpool_limits(1):
            gemm = sum(_product_time(M, K, N, rng) for M, K, N in shapes) * steps / nt
            layout = engine_floor(sizes, args.batch, rng) * steps / nt
        opt = adam_time()
        t = {name: epoch_time(run) for name, run in epochs.items()}
        bounds.append(t["PyTorch"] / (gemm + opt))
        in_layout.append(t["PyTorch"] / (layout + opt))
        ratios.append(t["PyTorch"] / t["fastnn"])
        print(f"  round {r + 1}: GEMMs {1000 * gemm:.0f} (engine's layout {1000 * layout:.0f}) "
              f"+ Adam {1000 * opt:.0f}; PyTorch {1000 * t['PyTorch']:.0f}, fastnn "
              f"{1000 * t['fastnn']:.0f}: bound {bounds[-1]:.2f}x ({in_layout[-1]:.2f}x), "
              f"fastnn {ratios[-1]:.2f}x", flush=True)
    print(f"median over rounds: bound {statistics.median(bounds):.2f}x PyTorch (in the "
          f"engine's layout {statistics.median(in_layout):.2f}x), fastnn "
          f"{statistics.median(ratios):.2f}x")


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
    ap.add_argument("--anchor", type=int, default=0, metavar="R",
                    help="R alternated rounds against PyTorch's and fastnn's epochs")
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
    with threadpool_limits(1):
        layout = engine_floor(args.sizes, args.batch, rng) * (args.samples // args.batch) / nt
    print(f"  in the engine's layout (row-major operands as BLAS gets them), one BLAS thread "
          f"split {nt} ways: {1000 * layout:.0f} ms per epoch")
    if args.anchor > 0:
        _anchor_rounds(args, shapes, nt, rng)


if __name__ == "__main__":
    main()
