"""Workloads shared by compare.py and the pytest-benchmark files: the same
data and settings for fastnn and its anchors."""
import numpy as np


def regression_data(n=200_000, p=100, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)).astype(dtype)
    w = rng.normal(size=p)
    y = (X @ w + 0.5 * rng.normal(size=n) + 3.0).astype(dtype)
    return X, y


def binary_data(n=200_000, p=100, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)).astype(dtype)
    w = rng.normal(size=p) / np.sqrt(p) * 3
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ w)))).astype(np.int64)
    return X, y
