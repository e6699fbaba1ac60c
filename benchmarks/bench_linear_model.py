"""pytest-benchmark groups: fastnn and scikit-learn side by side per workload.

    pytest benchmarks/bench_linear_model.py --benchmark-only

Not part of the test suite (timings are never asserted); compare.py prints
the same workloads as ratios.
"""
import os
import sys
import warnings

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from _workloads import binary_data, regression_data  # noqa: E402

sk = pytest.importorskip("sklearn.linear_model")
import fastnn  # noqa: E402

N = int(os.environ.get("FASTNN_BENCH_ROWS", 200_000))


@pytest.fixture(scope="module")
def binary():
    return binary_data(n=N)


@pytest.fixture(scope="module")
def regression():
    return regression_data(n=N)


@pytest.mark.benchmark(group="logistic-binary-f64")
@pytest.mark.parametrize("impl", ["fastnn", "sklearn"])
def bench_logistic_binary(benchmark, binary, impl):
    X, y = binary
    cls = fastnn.LogisticRegression if impl == "fastnn" else sk.LogisticRegression
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = benchmark(lambda: cls().fit(X, y))
    assert est.score(X, y) > 0.8


@pytest.mark.benchmark(group="ols-f64")
@pytest.mark.parametrize("impl", ["fastnn", "sklearn"])
def bench_ols(benchmark, regression, impl):
    X, y = regression
    cls = fastnn.LinearRegression if impl == "fastnn" else sk.LinearRegression
    est = benchmark(lambda: cls().fit(X, y))
    assert est.score(X, y) > 0.99


@pytest.mark.benchmark(group="ridge-f64")
@pytest.mark.parametrize("impl", ["fastnn", "sklearn"])
def bench_ridge(benchmark, regression, impl):
    X, y = regression
    fit = (lambda: fastnn.LinearRegression(alpha=1.0).fit(X, y)) if impl == "fastnn" \
        else (lambda: sk.Ridge(alpha=1.0).fit(X, y))
    est = benchmark(fit)
    assert est.score(X, y) > 0.99
