"""Side-by-side timings of fastnn and its anchors, one run, medians and ratios.

    python benchmarks/compare.py [--repeat 5] [--quick] [--only linear|nn|rnn|rbm|trees]

For each workload: fastnn's median time, each anchor's median, the ratio
(anchor / fastnn, > 1 means fastnn is faster) and, for fits, the score both
reach. Times are medians over --repeat runs after one warm-up, fastnn's and
the anchor's runs alternating, so that both see the same moments of a noisy
machine; read the ratios, not the absolute times. PyTorch rows appear only
when torch is installed; they use torch's CPU build with as many threads as
fastnn (torch.set_num_threads). The network rows also print the epoch's GEMM
rate against this machine's float32 GEMM rate (SciPy's BLAS, measured here).
"""
import argparse
import os
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))

import numpy as np  # noqa: E402

import _nn_workloads as nnw  # noqa: E402
from _workloads import binary_data, regression_data  # noqa: E402


IDLE_GAP = 0.5  # seconds between timed runs


def paired_times(fits, repeat, gap=IDLE_GAP):
    """Medians of each callable's time over `repeat` rounds, one call of each
    per round (`gap` seconds apart), after one warm-up call each (imports,
    page faults, thread start), and each one's last result."""
    results = [fit() for fit in fits]
    times = [[] for _ in fits]
    for _ in range(repeat):
        for i, fit in enumerate(fits):
            # let the previous run's thread pools go idle first: OpenBLAS's
            # workers spin ~0.1 s after a call, and a spinning pool from the
            # anchor's run would take a core from the next run
            time.sleep(gap)
            start = time.perf_counter()
            results[i] = fit()
            times[i].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times], results


def sgemm_rate(n_threads, size=3072, repeat=5, dtype=np.float32):
    """GFLOP/s of SciPy's GEMM on size x size matrices of dtype (float32 by
    default), the BLAS using n_threads: this machine's GEMM rate."""
    from scipy.linalg.blas import dgemm, sgemm
    from threadpoolctl import threadpool_limits

    gemm = sgemm if dtype == np.float32 else dgemm
    rng = np.random.default_rng(0)
    a = np.asfortranarray(rng.normal(size=(size, size)).astype(dtype))
    with threadpool_limits(n_threads):
        (best,), _ = paired_times([lambda: gemm(1.0, a, a)], repeat)
    return 2.0 * size ** 3 / best / 1e9


def quiet_and_busy_times(fit, repeat):
    """Medians of fit's time alone and beside one busy process (a second
    Python spinning on the other core), alternated round by round."""
    import subprocess

    fit()
    quiet, busy = [], []
    for _ in range(repeat):
        time.sleep(IDLE_GAP)
        start = time.perf_counter()
        fit()
        quiet.append(time.perf_counter() - start)
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(0.3)  # the hog is running and scheduled
            start = time.perf_counter()
            fit()
            busy.append(time.perf_counter() - start)
        finally:
            hog.kill()
            hog.wait()
    return statistics.median(quiet), statistics.median(busy)


def mlp_gemm_flops(n, sizes):
    """Multiply-adds x 2 of one epoch's GEMMs: forward and weight gradient
    of every Dense layer, input gradient of all but the first."""
    macs = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return 2.0 * n * (2 * macs + macs - sizes[0] * sizes[1])


def cpu_kind():
    """The CPU model, its widest SIMD kind (AVX-512 or AVX2) and the kernels
    SciPy's OpenBLAS chose (its core type), for reading the figures: the
    engine's speed against the anchors differs between the kinds."""
    import platform

    from threadpoolctl import threadpool_info

    model, flags = platform.processor() or "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    kind = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else \
        "no AVX2" if flags else "SIMD unknown"
    cores = sorted({str(lib.get("architecture")) for lib in threadpool_info()
                    if lib.get("internal_api") == "openblas"})
    return f"CPU: {model} ({kind}); OpenBLAS core type: {', '.join(cores) or 'n/a'}"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="a tenth of the rows")
    ap.add_argument("--only", choices=["linear", "nn", "rnn", "rbm", "trees"],
                    help="one family of workloads (rnn, rbm, trees: those rows of nn)")
    args = ap.parse_args()
    n = 20_000 if args.quick else 200_000

    import sklearn

    import fastnn

    fastnn.show_config()
    print(cpu_kind())
    print(f"scikit-learn {sklearn.__version__}; median of {args.repeat} runs; "
          f"ratio = anchor time / fastnn time\n")
    rows = []

    def bench(workload, fast_fit, anchors, score, repeat=None, gap=IDLE_GAP):
        repeat = repeat or args.repeat
        tf = None
        for name, fit in anchors:
            (tf, ta), (ef, ea) = paired_times([fast_fit, fit], repeat, gap)
            sf, sa = (score(ef), score(ea)) if score else (None, None)
            rows.append((workload, name, tf, ta, ta / tf, sf, sa))
            tail = f"  score {sf:.5f} / {sa:.5f}" if score else ""
            print(f"{workload:40s} vs {name:32s} fastnn {tf * 1e3:9.2f} ms  anchor "
                  f"{ta * 1e3:9.2f} ms  ratio {ta / tf:6.2f}x{tail}", flush=True)
        return tf

    bench.rows = rows  # the anchors' times, for rates computed from them
    warnings.simplefilter("ignore")
    if args.only is None or args.only == "linear":
        linear_workloads(n, bench)
    if args.only == "rbm":
        rbm_workloads(args, bench, torch_and_gemm_rate()[1])
    elif args.only == "rnn":
        torch, peak = torch_and_gemm_rate()
        if torch is not None:
            rnn_workloads(args, bench, torch, peak)
    elif args.only == "trees":
        tree_workloads(args, bench)
    elif args.only != "linear":
        nn_workloads(args, bench)
        tree_workloads(args, bench)
    return rows


def tree_workloads(args, bench):
    """Tree networks: an epoch of 1000 trees (~29 nodes) at hidden 128 beside
    the same model in PyTorch, written per node (recursion) and level-batched."""
    import _tree_workloads as tw

    try:
        import torch

        from fastnn.utils import effective_n_threads

        torch.set_num_threads(effective_n_threads(None))
    except ImportError:
        print("PyTorch is not installed: the tree rows are skipped")
        return
    trees, y = tw.tree_data(100 if args.quick else 1000)
    H, D, bs = 128, 64, 25
    for cell in ("rnn", "lstm"):
        name = f"TreeNet {cell} {len(trees)} trees h{H} b{bs} f32 Adam, epoch"
        fast = tw.fastnn_tree_epoch(trees, y, cell, H, D, bs)
        bench(name, fast, [("PyTorch f32 level-batched",
                            tw.torch_tree_epoch(trees, y, cell, H, D, bs, True))], None)
        bench(name, fast, [("PyTorch f32 per-node recursion",
                            tw.torch_tree_epoch(trees, y, cell, H, D, bs, False))], None,
              repeat=min(args.repeat, 3))


def rbm_workloads(args, bench, peak):
    """BernoulliRBM(256) epochs on 60000 x 784 binary rows against scikit-learn's,
    in float32 and float64 (each keeps its input's dtype)."""
    n = 60_000 // (10 if args.quick else 1)
    from fastnn.utils import effective_n_threads
    peak64 = sgemm_rate(effective_n_threads(None), dtype=np.float64)
    print(f"this machine's float64 GEMM rate (SciPy's BLAS): {peak64:.0f} GFLOP/s")
    for dtype in (np.float32, np.float64):
        X = nnw.rbm_data(n, 784, dtype)
        tag = "f32" if dtype == np.float32 else "f64"
        name = f"BernoulliRBM 784-256 b10 {tag}, epoch"
        tf = bench(name, nnw.fastnn_rbm_epoch(X, 256),
                   [(f"sklearn {tag}", nnw.sklearn_rbm_epoch(X, 256))], None,
                   repeat=min(args.repeat, 3))
        rate = nnw.rbm_gemm_flops(n, 784, 256) / tf / 1e9
        top = peak if dtype == np.float32 else peak64
        print(f"{name}: GEMMs at {rate:.0f} GFLOP/s, {100 * rate / top:.0f}% of the machine's "
              f"{'float32' if dtype == np.float32 else 'float64'} GEMM rate", flush=True)


def linear_workloads(n, bench):
    import sklearn.linear_model as sk

    import fastnn

    for dtype in (np.float64, np.float32):
        tag = "f64" if dtype == np.float64 else "f32"
        X, y = binary_data(n=n, dtype=dtype)
        bench(f"LogisticRegression {n}x100 {tag}",
              lambda: fastnn.LogisticRegression().fit(X, y),
              [("sklearn LogisticRegression lbfgs", lambda: sk.LogisticRegression().fit(X, y))],
              lambda e: e.score(X, y))
    for dtype in (np.float64, np.float32):
        tag = "f64" if dtype == np.float64 else "f32"
        X, y = regression_data(n=n, dtype=dtype)
        bench(f"LinearRegression {n}x100 {tag}",
              lambda: fastnn.LinearRegression().fit(X, y),
              [("sklearn LinearRegression", lambda: sk.LinearRegression().fit(X, y))],
              lambda e: e.score(X, y))
        bench(f"LinearRegression(alpha=1) {n}x100 {tag}",
              lambda: fastnn.LinearRegression(alpha=1.0).fit(X, y),
              [("sklearn Ridge(alpha=1)", lambda: sk.Ridge(alpha=1.0).fit(X, y))],
              lambda e: e.score(X, y))


def nn_workloads(args, bench):
    """Seconds per epoch (per step for the kernels), fastnn vs PyTorch and
    scikit-learn on the same architecture, optimizer and data."""
    torch, peak = torch_and_gemm_rate()
    scale = 10 if args.quick else 1
    nt = torch.get_num_threads() if torch is not None else None
    cases = [("MLP 784-256-128-10 b256", 60_000 // scale, 784, (256, 128), 256, True),
             ("MLP 784-256-128-10 b32", 60_000 // scale, 784, (256, 128), 32, True),
             ("MLP 20-64-10 b32", 100_000 // scale, 20, (64,), 32, False)]
    for name, n, p, hidden, bs, with_sklearn_f32 in cases:
        X, y = nnw.classification_data(n, p, 10)
        anchors = []
        if torch is not None:
            anchors.append(("PyTorch f32 (fused Adam)", nnw.torch_epoch(X, y, hidden, bs)))
        X64 = X.astype(np.float64)
        anchors.append(("sklearn f64", nnw.sklearn_epoch(X64, y, hidden, bs)))
        if with_sklearn_f32:
            anchors.append(("sklearn f32", nnw.sklearn_epoch(X, y, hidden, bs)))
        tf = bench(f"{name} f32, epoch", nnw.fastnn_epoch(X, y, hidden, bs), anchors, None)
        rate = mlp_gemm_flops(n, [p, *hidden, 10]) / tf / 1e9
        print(f"{name} f32, epoch: GEMMs at {rate:.0f} GFLOP/s, {100 * rate / peak:.0f}% of "
              f"the machine's float32 GEMM rate", flush=True)
    if torch is not None:
        n, sizes = 60_000 // scale, (256, 32)
        X, _ = nnw.classification_data(n, 784, 10)
        name = "Autoencoder 784-256-32-256-784 b200 f32, epoch"
        tf = bench(name, nnw.fastnn_autoencoder_epoch(X, sizes, 200),
                   [("PyTorch f32 (fused Adam)", nnw.torch_autoencoder_epoch(X, sizes, 200))],
                   None)
        rate = mlp_gemm_flops(n, [784, *sizes, 256, 784]) / tf / 1e9
        print(f"{name}: GEMMs at {rate:.0f} GFLOP/s, {100 * rate / peak:.0f}% of the machine's "
              "float32 GEMM rate", flush=True)
        n = 12_800 // scale
        X, y = nnw.image_data(n, (1, 28, 28), 10)
        tf = bench("LeNet-5 28x28 b64 f32, epoch", nnw.fastnn_lenet_epoch(X, y, 64),
                   [("PyTorch f32 (fused Adam)", nnw.torch_lenet_epoch(X, y, 64))], None)
        rate = nnw.lenet_gemm_flops(n) / tf / 1e9
        print(f"LeNet-5 28x28 b64 f32, epoch: GEMMs at {rate:.0f} GFLOP/s, "
              f"{100 * rate / peak:.0f}% of the machine's float32 GEMM rate", flush=True)
        conv = (64, 16, 32, 5, 28)
        tf = bench("Conv2D 16->32 5x5 same, 64x16x28x28 f32, fwd+bwd", nnw.fastnn_conv(*conv),
                   [("PyTorch Conv2d", nnw.torch_conv(*conv))], None, gap=0.0)
        rate = nnw.conv_gemm_flops(*conv[:4], 28 * 28) / tf / 1e9
        print(f"Conv2D 16->32 5x5 same fwd+bwd: GEMMs at {rate:.0f} GFLOP/s, "
              f"{100 * rate / peak:.0f}% of the machine's float32 GEMM rate", flush=True)
        # one thread each: fastnn, and the bare GEMM calls any im2col conv over
        # SciPy's BLAS must make, against PyTorch (oneDNN's direct convolution)
        torch.set_num_threads(1)
        one = "Conv2D 16->32 5x5 same fwd+bwd, 1 thread"
        bench(one, nnw.fastnn_conv(*conv, n_threads=1),
              [("PyTorch Conv2d, 1 thread", nnw.torch_conv(*conv))], None, gap=0.0)
        bench(f"{one}: its 3 SciPy sgemm calls alone", nnw.conv_gemm_calls(*conv),
              [("PyTorch Conv2d, 1 thread", nnw.torch_conv(*conv))], None, gap=0.0)
        torch.set_num_threads(nt)
        rnn_workloads(args, bench, torch, peak)
    rbm_workloads(args, bench, peak)
    contention_workloads(args, scale)
    if torch is not None:
        n = 10_000_000 // scale
        bench(f"Adam step {n} f32 params", nnw.fastnn_adam_step(n),
              [("PyTorch fused Adam", nnw.torch_adam_step(n))], None, repeat=50, gap=0.0)
        bench("BatchNorm fwd+bwd 256x1024 f32", nnw.fastnn_batchnorm(256, 1024),
              [("PyTorch BatchNorm1d", nnw.torch_batchnorm(256, 1024))], None, repeat=200,
              gap=0.0)


def torch_and_gemm_rate():
    """PyTorch (None without it) set to fastnn's thread count, and the
    machine's float32 GEMM rate, printed."""
    from fastnn.utils import effective_n_threads

    nt = effective_n_threads(None)
    try:
        import torch

        torch.set_num_threads(nt)
    except ImportError:
        torch = None
        print("PyTorch is not installed: its rows are skipped")
    peak = sgemm_rate(nt)
    print(f"this machine's float32 GEMM rate (SciPy's BLAS, {nt} threads): {peak:.0f} GFLOP/s")
    return torch, peak


def rnn_workloads(args, bench, torch, peak):
    """LSTM and GRU epochs at the issue's shape beside PyTorch, and the GEMM
    rate each side reaches on the same least count of multiply-adds."""
    scale = 10 if args.quick else 1
    n, (T, F, H) = 10_000 // scale, (50, 32, 128)
    X, y = nnw.sequence_data(n, T, F, 10)
    for cell in ("lstm", "gru"):
        name = f"{cell.upper()} {H} T={T} F={F} b64 f32 Adam, epoch"
        tf = bench(name, nnw.fastnn_rnn_epoch(X, y, cell, H, 64),
                   [("PyTorch f32 (oneDNN, fused Adam)",
                     nnw.torch_rnn_epoch(X, y, cell, H, 64))], None)
        ta = bench.rows[-1][3]
        flops = nnw.rnn_gemm_flops(n, T, F, H, cell)
        rf, ra = flops / tf / 1e9, flops / ta / 1e9
        print(f"{name}: GEMM work at {rf:.0f} GFLOP/s ({100 * rf / peak:.0f}% of the "
              f"machine's float32 GEMM rate); PyTorch at {ra:.0f} GFLOP/s "
              f"({100 * ra / peak:.0f}%)", flush=True)


def contention_workloads(args, scale):
    """Sharing the machine: each fit's median time beside a busy process over
    its quiet median (DESIGN asks <= 2.5x), with the threads fastnn picks."""
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    from fastnn import MLPClassifier

    Xd, yd = load_digits(return_X_y=True)
    Xd = StandardScaler().fit_transform(Xd)

    def digits_fit():
        return MLPClassifier(random_state=0).fit(Xd, yd)

    cases = [("MLPClassifier() digits fit", digits_fit)]
    for name, n, p, hidden, bs in [("MLP 784-256-128-10 b32 epoch", 60_000 // scale, 784,
                                    (256, 128), 32),
                                   ("MLP 784-256-128-10 b256 epoch", 60_000 // scale, 784,
                                    (256, 128), 256)]:
        X, y = nnw.classification_data(n, p, 10)
        cases.append((name, nnw.fastnn_epoch(X, y, hidden, bs)))
    for name, fit in cases:
        quiet, busy = quiet_and_busy_times(fit, args.repeat)
        print(f"{name:40s} beside a busy process: quiet {quiet * 1e3:9.2f} ms  busy "
              f"{busy * 1e3:9.2f} ms  slowdown {busy / quiet:5.2f}x (target <= 2.5x)",
              flush=True)


if __name__ == "__main__":
    main()
