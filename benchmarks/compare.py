"""Side-by-side timings of fastnn and its anchors, one run, medians and ratios.

    python benchmarks/compare.py [--repeat 5] [--quick]

For each workload: fastnn's median fit time, each anchor's median, the ratio
(anchor / fastnn, > 1 means fastnn is faster) and the score both reach. Times
are medians over --repeat runs after one warm-up; these machines are noisy,
so read the ratios, not the absolute times. PyTorch rows appear only when
torch is installed (none yet: the network workloads come with the network
estimators).
"""
import argparse
import os
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))

import numpy as np  # noqa: E402

from _workloads import binary_data, regression_data  # noqa: E402


def median_time(fit, repeat):
    fit()  # warm-up (imports, page faults, BLAS thread start)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        est = fit()
        times.append(time.perf_counter() - start)
    return statistics.median(times), est


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="20000 rows instead of 200000")
    args = ap.parse_args()
    n = 20_000 if args.quick else 200_000

    import sklearn
    import sklearn.linear_model as sk

    import fastnn

    fastnn.show_config()
    print(f"scikit-learn {sklearn.__version__}; median of {args.repeat} runs; "
          f"ratio = anchor time / fastnn time\n")
    rows = []

    def bench(workload, fast_fit, anchors, score):
        tf, ef = median_time(fast_fit, args.repeat)
        for name, fit in anchors:
            ta, ea = median_time(fit, args.repeat)
            rows.append((workload, name, tf, ta, ta / tf, score(ef), score(ea)))
            print(f"{workload:38s} vs {name:30s} fastnn {tf * 1e3:8.1f} ms  anchor "
                  f"{ta * 1e3:8.1f} ms  ratio {ta / tf:6.2f}x  score {score(ef):.5f} / "
                  f"{score(ea):.5f}", flush=True)

    warnings.simplefilter("ignore")
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
    return rows


if __name__ == "__main__":
    main()
