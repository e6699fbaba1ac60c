"""Each update rule's step against its closed form (as scikit-learn's
test_stochastic_optimizers does), float32 and float64, 1 and 2 threads."""
import numpy as np
import pytest

from fastnn._core._optim import UpdateRule


def run(rule, p, g, steps, lr, l2, n_decay, n_threads, dtype):
    p = p.astype(dtype).copy()
    state = np.zeros(p.size * rule.state_per_param, dtype=dtype)
    for t in range(1, steps + 1):
        rule.step(p, g[t - 1].astype(dtype), state, lr, t, l2, n_decay, n_threads)
    return p


def reference(kind, p, g, steps, lr, l2, n_decay, hp):
    p = p.copy()
    a = np.zeros_like(p)
    b = np.zeros_like(p)
    for t in range(1, steps + 1):
        gi = g[t - 1].copy()
        gi[:n_decay] += l2 * p[:n_decay]
        if kind == "sgd":
            a = hp["momentum"] * a - lr * gi
            p += hp["momentum"] * a - lr * gi if hp["nesterov"] else a
        elif kind == "adagrad":
            a += gi ** 2
            p -= lr * gi / (np.sqrt(a) + hp["epsilon"])
        elif kind == "rmsprop":
            a = hp["rho"] * a + (1 - hp["rho"]) * gi ** 2
            p -= lr * gi / (np.sqrt(a) + hp["epsilon"])
        elif kind == "adadelta":
            a = hp["rho"] * a + (1 - hp["rho"]) * gi ** 2
            u = np.sqrt(b + hp["epsilon"]) / np.sqrt(a + hp["epsilon"]) * gi
            b = hp["rho"] * b + (1 - hp["rho"]) * u ** 2
            p -= lr * u
        elif kind == "adam":
            a = hp["beta_1"] * a + (1 - hp["beta_1"]) * gi
            b = hp["beta_2"] * b + (1 - hp["beta_2"]) * gi ** 2
            lr_t = lr * np.sqrt(1 - hp["beta_2"] ** t) / (1 - hp["beta_1"] ** t)
            p -= lr_t * a / (np.sqrt(b) + hp["epsilon"])
    return p


CASES = [
    ("sgd", {"momentum": 0.0, "nesterov": False}),
    ("sgd", {"momentum": 0.9, "nesterov": False}),
    ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("adagrad", {"epsilon": 1e-10}),
    ("rmsprop", {"rho": 0.9, "epsilon": 1e-8}),
    ("adadelta", {"rho": 0.9, "epsilon": 1e-6}),
    ("adam", {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8}),
]


@pytest.mark.parametrize("kind,hp", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("n", [7, 100003])
def test_update_rule_matches_closed_form(kind, hp, dtype, n_threads, n):
    rng = np.random.default_rng(0)
    p0 = rng.normal(size=n)
    g = rng.normal(size=(3, n))
    rule = UpdateRule(kind, **hp)
    got = run(rule, p0, g, 3, 0.1, 0.01, n // 2, n_threads, dtype)
    want = reference(kind, p0, g, 3, 0.1, 0.01, n // 2, hp)
    rtol = 2e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)


def test_one_thread_equals_two_threads_bitwise():
    rng = np.random.default_rng(1)
    p0 = rng.normal(size=200001).astype(np.float32)
    g = rng.normal(size=(2, 200001))
    rule = UpdateRule("adam")
    a = run(rule, p0, g, 2, 0.01, 0.001, 1000, 1, np.float32)
    b = run(rule, p0, g, 2, 0.01, 0.001, 1000, 2, np.float32)
    np.testing.assert_array_equal(a, b)


def test_update_rule_pickles():
    import pickle

    rule = UpdateRule("sgd", momentum=0.5, nesterov=True)
    back = pickle.loads(pickle.dumps(rule))
    p1, p2 = np.ones(4), np.ones(4)
    s1, s2 = np.zeros(4), np.zeros(4)
    rule.step(p1, np.arange(4.0), s1, 0.1, 1)
    back.step(p2, np.arange(4.0), s2, 0.1, 1)
    np.testing.assert_array_equal(p1, p2)


def test_bad_arguments_raise():
    rule = UpdateRule("adam")
    with pytest.raises(ValueError, match="grads"):
        rule.step(np.zeros(3), np.zeros(2), np.zeros(6), 0.1, 1)
    with pytest.raises(ValueError, match="state"):
        rule.step(np.zeros(3), np.zeros(3), np.zeros(3), 0.1, 1)
    with pytest.raises(ValueError, match="n_decay"):
        rule.step(np.zeros(3), np.zeros(3), np.zeros(6), 0.1, 1, 0.0, 4)
    with pytest.raises(ValueError, match="unknown update rule"):
        UpdateRule("nadam")
