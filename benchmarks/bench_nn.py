"""pytest-benchmark groups for the network engine: fastnn, PyTorch (skipped
without torch) and scikit-learn side by side per workload.

    pytest benchmarks/bench_nn.py --benchmark-only

FASTNN_BENCH_SCALE=10 divides the data sizes by 10. Timings are never
asserted; compare.py prints the same workloads as ratios.
"""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
import _nn_workloads as nnw  # noqa: E402

SCALE = int(os.environ.get("FASTNN_BENCH_SCALE", 1))
MLPS = {
    "mlp784-b256": (60_000 // SCALE, 784, (256, 128), 256),
    "mlp784-b32": (60_000 // SCALE, 784, (256, 128), 32),
    "mlp20-b32": (100_000 // SCALE, 20, (64,), 32),
}
IMPLS = ["fastnn", "torch", "sklearn-f64"]


def _torch():
    torch = pytest.importorskip("torch")
    from fastnn.utils import effective_n_threads

    torch.set_num_threads(effective_n_threads(None))
    return torch


@pytest.fixture(scope="module", params=sorted(MLPS))
def mlp_case(request):
    n, p, hidden, bs = MLPS[request.param]
    X, y = nnw.classification_data(n, p, 10)
    return request.param, X, y, hidden, bs


@pytest.mark.parametrize("impl", IMPLS)
def bench_mlp_epoch(benchmark, mlp_case, impl):
    name, X, y, hidden, bs = mlp_case
    benchmark.group = f"{name}-epoch"
    if impl == "fastnn":
        epoch = nnw.fastnn_epoch(X, y, hidden, bs)
    elif impl == "torch":
        _torch()
        epoch = nnw.torch_epoch(X, y, hidden, bs)
    else:
        epoch = nnw.sklearn_epoch(X.astype(np.float64), y, hidden, bs)
    epoch()  # warm-up
    benchmark.pedantic(epoch, rounds=3, iterations=1)


@pytest.mark.benchmark(group="adam-step-10M-f32")
@pytest.mark.parametrize("impl", ["fastnn", "torch"])
def bench_adam_10m(benchmark, impl):
    n = 10_000_000 // SCALE
    if impl == "torch":
        _torch()
    step = nnw.fastnn_adam_step(n) if impl == "fastnn" else nnw.torch_adam_step(n)
    benchmark(step)


@pytest.mark.benchmark(group="batchnorm-256x1024-f32")
@pytest.mark.parametrize("impl", ["fastnn", "torch"])
def bench_batchnorm(benchmark, impl):
    if impl == "torch":
        _torch()
    step = nnw.fastnn_batchnorm(256, 1024) if impl == "fastnn" else \
        nnw.torch_batchnorm(256, 1024)
    benchmark(step)


@pytest.mark.parametrize("impl", ["fastnn", "torch"])
def bench_lenet_epoch(benchmark, impl):
    benchmark.group = "lenet5-28x28-b64-epoch"
    X, y = nnw.image_data(12_800 // SCALE, (1, 28, 28), 10)
    if impl == "torch":
        _torch()
        epoch = nnw.torch_lenet_epoch(X, y, 64)
    else:
        epoch = nnw.fastnn_lenet_epoch(X, y, 64)
    epoch()  # warm-up
    benchmark.pedantic(epoch, rounds=3, iterations=1)


@pytest.mark.benchmark(group="conv2d-16to32-5x5-64x28x28-f32")
@pytest.mark.parametrize("impl", ["fastnn", "torch"])
def bench_conv2d(benchmark, impl):
    if impl == "torch":
        _torch()
    step = nnw.fastnn_conv(64, 16, 32, 5, 28) if impl == "fastnn" else \
        nnw.torch_conv(64, 16, 32, 5, 28)
    benchmark(step)


@pytest.mark.parametrize("impl", ["fastnn", "torch"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def bench_rnn_epoch(benchmark, cell, impl):
    benchmark.group = f"{cell}128-T50-F32-b64-epoch"
    X, y = nnw.sequence_data(10_000 // SCALE, 50, 32, 10)
    if impl == "torch":
        _torch()
        epoch = nnw.torch_rnn_epoch(X, y, cell, 128, 64)
    else:
        epoch = nnw.fastnn_rnn_epoch(X, y, cell, 128, 64)
    epoch()  # warm-up
    benchmark.pedantic(epoch, rounds=3, iterations=1)


@pytest.mark.parametrize("impl", ["fastnn", "sklearn"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def bench_rbm_epoch(benchmark, impl, dtype):
    benchmark.group = f"rbm784-256-b10-epoch-{dtype}"
    X = nnw.rbm_data(60_000 // SCALE, 784, np.dtype(dtype))
    epoch = (nnw.sklearn_rbm_epoch if impl == "sklearn" else nnw.fastnn_rbm_epoch)(X, 256)
    epoch()  # warm-up
    benchmark.pedantic(epoch, rounds=3, iterations=1)


@pytest.mark.parametrize("impl", ["fastnn", "torch"])
def bench_autoencoder_epoch(benchmark, impl):
    benchmark.group = "autoencoder784-256-32-b200-epoch"
    X, _ = nnw.classification_data(60_000 // SCALE, 784, 10)
    if impl == "torch":
        _torch()
        epoch = nnw.torch_autoencoder_epoch(X, (256, 32), 200)
    else:
        epoch = nnw.fastnn_autoencoder_epoch(X, (256, 32), 200)
    epoch()  # warm-up
    benchmark.pedantic(epoch, rounds=3, iterations=1)
