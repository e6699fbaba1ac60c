"""Gradient checking: the engine's analytic gradients against float64
central differences, for every parameter tensor and for the input."""
import numpy as np


def _as_network(model):
    """(network, params, stats) from a fitted fastnn network estimator or a
    (Network, params, stats) triple."""
    if isinstance(model, tuple):
        return model
    network = getattr(model, "network_", None)
    if network is None:
        raise TypeError("check_gradients takes a fitted fastnn network estimator "
                        "(MLPClassifier, MLPRegressor, NeuralNet*) or a "
                        "(Network, params, stats) triple")
    return network, model._engine.params, model._engine.stats


def check_gradients(model, X, y, sample_weight=None, *, eps=1e-6, seed=0, max_entries=None,
                    random_state=0):
    """Largest relative error between analytic and numerical gradients.

    ``model``: a fitted fastnn network estimator, whose current weights are
    checked (in float64 whatever it was trained in), or ``(network, params,
    stats)``. ``X``: samples as the network takes them, ``y``: encoded
    targets as the engine takes them (class indices for softmax outputs,
    0/1 or real matrices otherwise; see ``_encode_targets`` of the
    estimators). The function checked is the training-mode loss sum
    ``sum_i sw_i loss_i`` over the rows as one batch, with dropout's mask
    fixed by ``seed`` and batch norm on the batch's statistics.

    Returns a dict: ``"<layer index>.<tensor>"`` and ``"input"`` -> the
    tensor's relative error ``max |analytic - numeric| / max(max |analytic|,
    max |numeric|, 1e-6 max(1, |loss|))`` over its entries (all of them, or
    ``max_entries`` picked at random). The floor keeps a tensor whose true
    gradient is zero (a Dense bias right before BatchNorm) from reporting
    rounding noise as error. Kinks (relu at 0) within ``eps`` of an entry
    show up as large errors: that is finite differences, not the engine.
    """
    network, params, stats = _as_network(model)
    X = np.ascontiguousarray(X, dtype=np.float64).reshape(len(X), -1)
    y = np.ascontiguousarray(y, dtype=np.float64).ravel()
    sw = None if sample_weight is None else np.ascontiguousarray(sample_weight, np.float64)
    p = np.array(params, dtype=np.float64)
    st = np.array(stats, dtype=np.float64)
    net = network.net
    grad = np.empty_like(p)
    rng = np.random.default_rng(random_state)

    def loss_at(pp, xx):
        g = np.empty_like(pp)
        return net.loss_grad(xx, y, sw, pp, st.copy(), g, seed=seed)[0]

    loss0, dX = net.loss_grad(X, y, sw, p, st.copy(), grad, seed=seed, want_dX=True)

    floor = 1e-6 * max(1.0, abs(loss0))

    def compare(analytic, flat_eval, size):
        idx = np.arange(size)
        if max_entries is not None and size > max_entries:
            idx = rng.choice(size, max_entries, replace=False)
        a = analytic[idx]
        num = np.array([(flat_eval(j, eps) - flat_eval(j, -eps)) / (2 * eps) for j in idx])
        scale = max(np.abs(a).max(initial=0.0), np.abs(num).max(initial=0.0), floor)
        return float(np.abs(a - num).max(initial=0.0) / scale)

    def eval_param(j, h):
        q = p.copy()
        q[j] += h
        return loss_at(q, X)

    def eval_input(j, h):
        xx = X.copy().ravel()
        xx[j] += h
        return loss_at(p, xx.reshape(X.shape))

    out = {}
    for i, sl in enumerate(network.param_slices):
        for name, (off, shape) in sl.items():
            size = int(np.prod(shape))
            if i in network.frozen:
                continue
            out[f"{i}.{name}"] = compare(grad[off:off + size],
                                         lambda j, h, off=off: eval_param(off + j, h), size)
    out["input"] = compare(dX.ravel(), eval_input, X.size)
    return out
