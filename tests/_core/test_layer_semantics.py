"""What dropout and batch norm compute in training, checked directly (the
gradient checks reuse one mask forward and backward, and predict runs in
eval mode, so neither sees a wrong dropout scale or a wrong running
variance).

Dropout's training output is read through a Dense output layer with W = 0,
b = 0 and targets -1 under squared error: then d loss / d W[j] is the
dropout output of element j times d loss / d b, for a batch of one row."""
import numpy as np
import pytest

from fastnn import NeuralNetRegressor
from fastnn._core._net import STATS_MOVE
from fastnn.layers import BatchNorm, Dense, Dropout
from fastnn.nn._network import Network


def dropout_train_output(x, rate, seed, dtype):
    """The training-mode output of Dropout(rate) on one row x."""
    F = x.size
    net = Network([Dropout(rate), Dense(1)], (F,), "squared_error")
    params = np.zeros(net.n_params, dtype=dtype)
    stats = np.zeros(net.n_stats, dtype=dtype)
    grad = np.empty_like(params)
    X = np.ascontiguousarray(x[None, :], dtype=dtype)
    y = np.full(1, -1.0, dtype=dtype)
    net.net.loss_grad(X, y, None, params, stats, grad, None, 1.0, seed)
    views = net.views(grad)[1]
    return views["W"][:, 0].astype(np.float64) / float(views["b"][0])


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_training_output_is_zero_or_scaled_up(rate, dtype):
    rng = np.random.default_rng(0)
    F = 20000
    x = rng.uniform(0.5, 2.0, size=F).astype(dtype)  # no zeros: a kept 0 would look dropped
    out = dropout_train_output(x, rate, seed=12345, dtype=dtype)
    kept = out != 0
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    # inverted dropout: kept values are x / (1 - rate), the others 0
    np.testing.assert_allclose(out[kept], x[kept].astype(np.float64) / (1.0 - rate), rtol=rtol)
    # the kept fraction is 1 - rate within 5 standard deviations of a binomial
    sd = np.sqrt(rate * (1 - rate) / F)
    assert abs(kept.mean() - (1 - rate)) < 5 * sd
    # so the expected activation is x (what makes predict's identity right)
    assert abs(out.sum() / x.astype(np.float64).sum() - 1.0) < 5 * sd / (1 - rate) * 1.5


def test_dropout_masks_differ_by_seed_and_not_by_dtype():
    x = np.ones(4096)
    a32 = dropout_train_output(x, 0.5, 7, np.float32) != 0
    a64 = dropout_train_output(x, 0.5, 7, np.float64) != 0
    b64 = dropout_train_output(x, 0.5, 8, np.float64) != 0
    np.testing.assert_array_equal(a32, a64)
    assert (a64 != b64).mean() > 0.3


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("momentum", [0.1, 0.35])
def test_batchnorm_running_statistics_after_one_step(dtype, momentum):
    rng = np.random.default_rng(1)
    m, F = 37, 6
    X = rng.normal(loc=rng.normal(size=F) * 3, scale=rng.uniform(0.5, 2, size=F),
                   size=(m, F)).astype(dtype)
    net = Network([BatchNorm(momentum=momentum), Dense(1)], (F,), "squared_error")
    params, stats = net.init(np.random.RandomState(0), dtype)
    old_mean = rng.normal(size=F)
    old_var = rng.uniform(0.5, 3, size=F)
    sv = net.stat_views(stats)[0]
    sv["running_mean"][...] = old_mean
    sv["running_var"][...] = old_var
    grad = np.empty_like(params)
    y = np.zeros(m, dtype=dtype)
    net.net.loss_grad(np.ascontiguousarray(X), y, None, params, stats, grad, None, 1.0, 0,
                      STATS_MOVE)
    X64 = X.astype(np.float64)
    want_mean = (1 - momentum) * old_mean + momentum * X64.mean(axis=0)
    # PyTorch's convention: the running variance takes the unbiased batch variance
    want_var = (1 - momentum) * old_var + momentum * X64.var(axis=0, ddof=1)
    rtol = 2e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(sv["running_mean"], want_mean, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(sv["running_var"], want_var, rtol=rtol)


def test_batchnorm_running_statistics_over_an_epoch_of_batches():
    """A fit's running statistics: the exponential average over its batches
    in order (BatchNorm on the input: the batches are X's rows)."""
    rng = np.random.default_rng(2)
    X = rng.normal(loc=2.0, scale=1.5, size=(100, 5))
    y = rng.normal(size=100)
    est = NeuralNetRegressor([BatchNorm(momentum=0.2)], batch_size=30, max_iter=1,
                             shuffle=False, random_state=0)
    with pytest.warns(Warning):  # one epoch does not converge
        est.fit(X, y)
    w = est.get_weights()[0]
    mean, var = np.zeros(5), np.ones(5)
    for lo in range(0, 100, 30):
        b = X[lo:lo + 30]
        mean = 0.8 * mean + 0.2 * b.mean(axis=0)
        var = 0.8 * var + 0.2 * b.var(axis=0, ddof=1)
    np.testing.assert_allclose(w["running_mean"], mean, rtol=1e-12)
    np.testing.assert_allclose(w["running_var"], var, rtol=1e-12)


def test_batchnorm_running_statistics_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    batches = [rng.normal(loc=1.0, scale=2.0, size=(16, 8)) for _ in range(4)]
    bn = torch.nn.BatchNorm1d(8, momentum=0.1, eps=1e-5).double().train()
    net = Network([BatchNorm(momentum=0.1, eps=1e-5), Dense(1)], (8,), "squared_error")
    params, stats = net.init(np.random.RandomState(0), np.float64)
    grad = np.empty_like(params)
    for b in batches:
        bn(torch.from_numpy(b))
        net.net.loss_grad(np.ascontiguousarray(b), np.zeros(16), None, params, stats, grad,
                          None, 1.0, 0, STATS_MOVE)
    sv = net.stat_views(stats)[0]
    np.testing.assert_allclose(sv["running_mean"], bn.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(sv["running_var"], bn.running_var.numpy(), rtol=1e-12)


def test_dropout_matches_torch_expected_scale():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(4).uniform(0.5, 2.0, size=50000)
    ours = dropout_train_output(x, 0.3, 99, np.float64)
    theirs = torch.nn.functional.dropout(torch.from_numpy(x), p=0.3, training=True).numpy()
    # the masks differ (different generators); the kept values and the mean scale agree
    np.testing.assert_allclose(ours[ours != 0], x[ours != 0] / 0.7, rtol=1e-14)
    np.testing.assert_allclose(theirs[theirs != 0], x[theirs != 0] / 0.7, rtol=1e-14)
    assert abs(ours.mean() - theirs.mean()) < 0.02
