"""Peak memory of a fit: the training data is never copied (no float64 copy
of float32 data, no contiguous copy of C-ordered data). NumPy reports its
buffers to tracemalloc, and the kernels' workspaces are NumPy buffers, so the
traced peak is everything a fit allocates beside the caller's arrays."""
import tracemalloc

import warnings

import numpy as np
import pytest

from fastnn import LinearRegression, LogisticRegression

N, P = 40_000, 50


def peak_during(fn):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", [
    lambda: LogisticRegression(),
    lambda: LogisticRegression(solver="adam", batch_size=256, max_iter=2, tol=0),
    lambda: LinearRegression(),
    lambda: LinearRegression(alpha=1.0, solver="lbfgs"),
], ids=["logistic-lbfgs", "logistic-adam", "linear-normal", "ridge-lbfgs"])
def test_fit_does_not_copy_the_data(make, dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, P)).astype(dtype)
    y = (X[:, 0] > 0).astype(np.int64)
    if "Linear" in type(make()).__name__:
        y = X[:, 0].astype(dtype) * 2.0
    warnings.simplefilter("ignore")  # max_iter=2 does not converge
    est = make()
    est.fit(X, y)  # warm-up: imports and one-off caches are not the fit's cost
    peak = peak_during(lambda: make().fit(X, y))
    # Per-sample vectors (targets, weights, shuffling order: a few bytes a
    # row) and the workspaces are allowed; a copy of X is not.
    assert peak < 0.35 * X.nbytes, (peak, X.nbytes)
