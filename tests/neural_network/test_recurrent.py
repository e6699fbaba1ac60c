"""Recurrent layers: SimpleRNN, LSTM, GRU and the per-step Dense. float64
gradients (BPTT) against central differences, forward results against a
NumPy transcription of PyTorch's equations, PyTorch's nn.RNN / nn.LSTM /
nn.GRU on the same weights (skipped without torch), and bad input."""
import warnings

import numpy as np
import pytest
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning

from fastnn import NeuralNetClassifier, NeuralNetRegressor
from fastnn.layers import GRU, LSTM, Dense, Dropout, Flatten, SimpleRNN
from fastnn.nn._network import Network
from fastnn.utils import check_gradients
from fastnn.utils._threads import blas_single_thread

TOL = 1e-6


def sigmoid(x):
    return expit(x)


def ref_recurrent(cell, x, p, return_sequences):
    """PyTorch's equations over x (n, T, F) with p's four tensors."""
    Wih, Whh, bih, bhh = p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"]
    n, T, _ = x.shape
    H = Whh.shape[1]
    h, c = np.zeros((n, H)), np.zeros((n, H))
    outs = []
    for t in range(T):
        gi, gh = x[:, t] @ Wih.T + bih, h @ Whh.T + bhh
        if cell == "lstm":
            i, f, g, o = np.split(gi + gh, 4, axis=1)
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
        elif cell == "gru":
            ir, iz, in_ = np.split(gi, 3, axis=1)
            hr, hz, hn = np.split(gh, 3, axis=1)
            r, z = sigmoid(ir + hr), sigmoid(iz + hz)
            nn = np.tanh(in_ + r * hn)
            h = (1 - z) * nn + z * h
        elif cell == "rnn_relu":
            h = np.maximum(gi + gh, 0)
        else:
            h = np.tanh(gi + gh)
        outs.append(h)
    return np.stack(outs, axis=1) if return_sequences else h


def _layer(cell, units, seq):
    if cell == "lstm":
        return LSTM(units, return_sequences=seq)
    if cell == "gru":
        return GRU(units, return_sequences=seq)
    return SimpleRNN(units, activation=cell[4:], return_sequences=seq)


CELLS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


def _forward(specs, in_shape, X, params, dtype=np.float64, n_threads=1):
    net = Network(specs, in_shape, "squared_error")
    stats = np.zeros(net.n_stats, dtype)
    with blas_single_thread():
        out = net.net.predict(np.ascontiguousarray(X.reshape(len(X), -1), dtype),
                              params.astype(dtype), stats, len(X), n_threads)
    return net, out


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("seq", [False, True])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_forward_matches_numpy_reference(cell, seq, n_threads):
    rng = np.random.RandomState(0)
    n, T, F, H = 7, 5, 3, 4
    X = rng.randn(n, T, F)
    net = Network([_layer(cell, H, seq)], (T, F), "squared_error")
    p = rng.normal(scale=0.6, size=net.n_params)
    _, out = _forward([_layer(cell, H, seq)], (T, F), X, p, n_threads=n_threads)
    ref = ref_recurrent(cell, X, net.views(p)[0], seq)
    np.testing.assert_allclose(out.reshape(ref.shape), ref, rtol=1e-12, atol=1e-13)
    _, out32 = _forward([_layer(cell, H, seq)], (T, F), X, p, np.float32, n_threads)
    np.testing.assert_allclose(out32.reshape(ref.shape), ref, rtol=0, atol=2e-6)


def test_gates_saturate_without_overflow():
    # pre-activations of +-1e4: sigmoid and tanh stay finite and exact at the ends
    rng = np.random.RandomState(1)
    X = rng.choice([-1e4, 1e4], size=(4, 3, 2))
    for cell in CELLS:
        net = Network([_layer(cell, 3, True)], (3, 2), "squared_error")
        p = rng.choice([-1.0, 1.0], size=net.n_params)
        for dtype in (np.float32, np.float64):
            _, out = _forward([_layer(cell, 3, True)], (3, 2), X, p, dtype)
            ref = ref_recurrent(cell, X, net.views(p)[0], True)
            assert np.all(np.isfinite(out))
            if cell != "rnn_relu":
                np.testing.assert_allclose(out.reshape(ref.shape), ref, atol=1e-6)


def _grad_errors(specs, in_shape, n=3, k=3, seed=0, loss="multinomial"):
    rng = np.random.RandomState(seed)
    net = Network(specs, in_shape, loss)
    p = rng.normal(scale=0.5, size=net.n_params)
    s = np.zeros(net.n_stats)
    X = rng.randn(n, int(np.prod(in_shape)))
    y = rng.randint(0, k, n).astype(float) if loss == "multinomial" else rng.randn(n * k)
    return check_gradients((net, p, s), X, y, rng.uniform(0.5, 2.0, n), seed=3)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("T", [1, 2, 7])
@pytest.mark.parametrize("seq", [False, True])
def test_gradients(cell, T, seq):
    specs = [_layer(cell, 4, seq)] + ([Flatten()] if seq else []) + [Dense(3)]
    errors = _grad_errors(specs, (T, 3))
    assert {"0.weight_ih", "0.weight_hh", "0.bias_ih", "0.bias_hh", "input"} <= set(errors)
    assert max(errors.values()) < TOL, errors


def test_gradients_stacked_lstm_gru_with_a_per_step_dense():
    specs = [LSTM(4, return_sequences=True), Dropout(0.0), GRU(3, return_sequences=True),
             Dense(2, "tanh"), Flatten(), Dense(3)]
    errors = _grad_errors(specs, (6, 2), n=4)
    assert {"0.weight_hh", "2.weight_hh", "3.W", "5.W", "input"} <= set(errors)
    assert max(errors.values()) < TOL, errors


def test_gradients_of_a_regression_on_the_last_state():
    errors = _grad_errors([GRU(5), Dense(4, "relu")], (4, 3), loss="squared_error", k=4)
    assert max(errors.values()) < TOL, errors


def test_per_step_dense_is_the_same_map_at_every_step():
    rng = np.random.RandomState(2)
    X = rng.randn(5, 4, 3)
    net = Network([Dense(2, "tanh")], (4, 3), "squared_error")
    assert net.out_shape == (4, 2)
    p = rng.randn(net.n_params)
    _, out = _forward([Dense(2, "tanh")], (4, 3), X, p)
    v = net.views(p)[0]
    np.testing.assert_allclose(out.reshape(5, 4, 2), np.tanh(X @ v["W"] + v["b"]), rtol=1e-12)


def test_threads_give_the_same_result_as_one():
    rng = np.random.RandomState(3)
    X = rng.randn(33, 6, 5)
    specs = [LSTM(8, return_sequences=True), GRU(6)]
    net = Network(specs, (6, 5), "squared_error")
    p = rng.normal(scale=0.4, size=net.n_params)
    _, one = _forward(specs, (6, 5), X, p, n_threads=1)
    _, two = _forward(specs, (6, 5), X, p, n_threads=2)
    np.testing.assert_allclose(one, two, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("seq", [False, True])
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-11), (np.float32, 2e-5)])
def test_training_on_a_team_matches_one_thread(seq, dtype, tol):
    """Training on two threads (each its samples' recurrence, then the
    weight gradients split by gate rows over the whole batch) gives one
    thread's loss, parameter gradients and input gradient: an LSTM of 40
    units into a GRU of 24, sample weights, an uneven split of 70 rows."""
    rng = np.random.RandomState(4)
    specs = [LSTM(40, return_sequences=True), GRU(24, return_sequences=seq)] + \
        ([Flatten()] if seq else []) + [Dense(3)]
    net = Network(specs, (9, 6), "multinomial")
    m = 70
    assert net.net.team_size(m, 2) == 2  # the team runs
    p = rng.normal(scale=0.4, size=net.n_params).astype(dtype)
    X = rng.randn(m, 9 * 6).astype(dtype)
    y = (np.arange(m) % 3).astype(dtype)
    sw = rng.uniform(0.5, 2.0, m).astype(dtype)
    res = []
    for nt in (1, 2):
        g = np.empty_like(p)
        with blas_single_thread():
            loss, dX = net.net.loss_grad(X, y, sw, p, np.zeros(net.n_stats, dtype), g,
                                         want_dX=True, n_threads=nt)
        res.append((loss, g, dX))
    (l1, g1, d1), (l2, g2, d2) = res
    assert abs(l1 - l2) <= tol * abs(l1)
    np.testing.assert_allclose(g2, g1, rtol=0, atol=tol * np.abs(g1).max())
    np.testing.assert_allclose(d2, d1, rtol=0, atol=tol * np.abs(d1).max())


# ------------------------------------------------------------------ PyTorch


def _torch_module(cell, F, H, seed):
    torch = pytest.importorskip("torch")
    torch.manual_seed(seed)
    if cell == "lstm":
        m = torch.nn.LSTM(F, H, batch_first=True)
    elif cell == "gru":
        m = torch.nn.GRU(F, H, batch_first=True)
    else:
        m = torch.nn.RNN(F, H, nonlinearity=cell[4:], batch_first=True)
    return torch, m.double()


def _torch_weights(m):
    return {n: getattr(m, n + "_l0").detach().numpy().copy()
            for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}


@pytest.mark.parametrize("cell", CELLS)
def test_pytorch_weights_give_pytorchs_outputs(cell):
    torch, m = _torch_module(cell, 3, 5, 0)
    rng = np.random.RandomState(0)
    X = rng.randn(6, 7, 3)
    with torch.no_grad():
        ref = m(torch.from_numpy(X))[0].numpy()
    layer = _layer(cell, 5, True)
    net = Network([layer], (7, 3), "squared_error")
    p = np.zeros(net.n_params)
    for name, arr in _torch_weights(m).items():
        net.views(p)[0][name][...] = arr
    for dtype, tol in ((np.float64, 1e-10), (np.float32, 1e-5)):
        _, out = _forward([layer], (7, 3), X, p, dtype)
        np.testing.assert_allclose(out.reshape(ref.shape), ref, rtol=0, atol=tol)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
@pytest.mark.parametrize("clip_norm, alpha, batch", [(None, 0.0, 16), (0.05, 0.0, 16),
                                                     (0.05, 0.3, 8), (1e3, 0.3, 8)])
def test_sgd_steps_match_pytorch(cell, clip_norm, alpha, batch):
    """SGD steps as PyTorch's, clipping by clip_grad_norm_ over all
    parameters before the update, L2 (on the weight matrices only, alpha /
    batch) as the optimizer's weight_decay after it."""
    torch, m = _torch_module(cell, 3, 4, 1)
    head = torch.nn.Linear(4, 3).double()
    rng = np.random.RandomState(1)
    X = rng.randn(16, 5, 3)
    y = np.arange(16) % 3
    lr = 0.1
    params = list(m.parameters()) + list(head.parameters())
    weights = [p for n, p in list(m.named_parameters()) + list(head.named_parameters())
               if "weight" in n]
    biases = [p for n, p in list(m.named_parameters()) + list(head.named_parameters())
              if "bias" in n]
    opt = torch.optim.SGD([{"params": weights, "weight_decay": alpha / batch},
                           {"params": biases, "weight_decay": 0.0}], lr=lr)
    init = [_torch_weights(m), {"W": head.weight.detach().numpy().T.copy(),
                                "b": head.bias.detach().numpy().copy()}]
    norms = []
    for b0 in range(0, 16, batch):
        out = head(m(torch.from_numpy(X[b0:b0 + batch]))[0][:, -1])
        loss = torch.nn.functional.cross_entropy(out, torch.from_numpy(y[b0:b0 + batch]))
        opt.zero_grad()
        loss.backward()
        if clip_norm is not None:
            norms.append(float(torch.nn.utils.clip_grad_norm_(params, clip_norm)))
        opt.step()
    if clip_norm == 0.05:
        assert min(norms) > 2 * clip_norm  # the clipping acted
    clf = NeuralNetClassifier([_layer(cell, 4, False)], init=init, max_iter=1, solver="sgd",
                              momentum=0.0, alpha=alpha, learning_rate_init=lr,
                              batch_size=batch, shuffle=False, random_state=0,
                              clip_norm=clip_norm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    w = clf.get_weights()
    for name, arr in _torch_weights(m).items():
        np.testing.assert_allclose(w[0][name], arr, rtol=0, atol=1e-9)
    np.testing.assert_allclose(w[1]["W"], head.weight.detach().numpy().T, rtol=0, atol=1e-9)
    np.testing.assert_allclose(w[1]["b"], head.bias.detach().numpy(), rtol=0, atol=1e-9)


# ---------------------------------------------------------------- bad input


def test_bad_input_names_the_layer():
    X = np.zeros((4, 5))
    with pytest.raises(ValueError, match="LSTM takes samples of shape"):
        NeuralNetClassifier([LSTM(3)], max_iter=1).fit(X, [0, 1, 0, 1])
    with pytest.raises(ValueError, match="return_sequences=True"):
        NeuralNetClassifier([LSTM(3), GRU(2)], max_iter=1).fit(np.zeros((4, 3, 2)),
                                                               [0, 1, 0, 1])
    with pytest.raises(ValueError, match="units must be a positive integer"):
        NeuralNetClassifier([GRU(0)], max_iter=1).fit(np.zeros((4, 3, 2)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="activation must be 'tanh' or 'relu'"):
        NeuralNetClassifier([SimpleRNN(2, "logistic")], max_iter=1).fit(
            np.zeros((4, 3, 2)), [0, 1, 0, 1])
    clf = NeuralNetClassifier([GRU(2)], max_iter=2).fit(
        np.random.RandomState(0).randn(8, 3, 2), [0, 1] * 4)
    with pytest.raises(ValueError):
        clf.predict(np.zeros((2, 3, 3)))
    with pytest.raises(ValueError):
        clf.predict(np.full((2, 3, 2), np.nan))


def _memory_task(n, seed=0, T=10):
    """The label is the sign of the first of T standard-normal steps: only a
    layer that carries it through T - 1 steps of noise can tell."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n, T, 1)
    return X, (X[:, 0, 0] > 0).astype(int)


def _digit_sequences():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).reshape(-1, 8, 8)  # 8 steps of 8 pixels (one row per step)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


@pytest.mark.parametrize("layer", [LSTM, GRU])
def test_digits_as_sequences(layer):
    Xtr, Xte, ytr, yte = _digit_sequences()
    clf = NeuralNetClassifier([layer(64)], max_iter=30, learning_rate_init=0.01,
                              batch_size=64, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(Xtr, ytr)
    assert clf.score(Xte, yte) >= 0.95


def test_long_range_memory_gated_cells_remember_a_dense_net_cannot():
    from fastnn import MLPClassifier

    X, y = _memory_task(3000)
    Xtr, Xte, ytr, yte = X[:2000], X[2000:], y[:2000], y[2000:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for layer in (LSTM, GRU):
            # clipped as recurrent nets usually are: unclipped at lr 0.01 the LSTM's loss
            # spikes off its plateau for some seeds, and which seeds depends on the BLAS
            # kernels' rounding (SkylakeX vs Haswell). Clipped at 0.005 every one of seeds
            # 0-9 reaches >= 0.987 on both kernels and every SIMD path.
            clf = NeuralNetClassifier([layer(16)], max_iter=40, learning_rate_init=0.005,
                                      clip_norm=1.0, batch_size=32,
                                      random_state=0).fit(Xtr, ytr)
            assert clf.score(Xte, yte) >= 0.95, layer.__name__
        dense = MLPClassifier((64,), max_iter=200, random_state=0).fit(Xtr[:, -1], ytr)
    # chance is 0.5; 1000 test rows put 0.56 beyond four standard deviations
    assert dense.score(Xte[:, -1], yte) < 0.56


@pytest.mark.parametrize("solver", ["sgd", "adam", "rmsprop", "adagrad", "adadelta", "lbfgs"])
def test_every_solver_trains_a_recurrent_net(solver):
    X, y = _memory_task(600, seed=1, T=4)
    lr = {"sgd": 0.1, "adagrad": 0.05, "adadelta": 1.0}.get(solver, 0.01)
    clf = NeuralNetClassifier([GRU(8)], solver=solver, learning_rate_init=lr,
                              max_iter=60, batch_size=32, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    if solver != "lbfgs":  # lbfgs keeps no per-epoch curve, as scikit-learn's
        assert clf.loss_curve_[-1] < 0.5 * clf.loss_curve_[0]
    assert clf.score(X, y) > 0.9


@pytest.mark.parametrize("learning_rate", ["invscaling", "adaptive", "time", "step", "exp"])
def test_schedules_with_recurrent_layers(learning_rate):
    from fastnn.optimizers import ExponentialDecay, StepDecay, TimeBased

    schedule = {"time": TimeBased(0.05), "step": StepDecay(0.5, 10),
                "exp": ExponentialDecay(0.05)}.get(learning_rate, learning_rate)
    X, y = _memory_task(600, seed=2, T=4)
    clf = NeuralNetClassifier([LSTM(8)], solver="sgd", learning_rate=schedule,
                              learning_rate_init=0.2, power_t=0.1, max_iter=40,
                              batch_size=32, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.score(X, y) > 0.9


def test_early_stopping_validation_data_class_weight_and_float32():
    X, y = _memory_task(1200, seed=3, T=6)
    Xtr, ytr, Xv, yv = X[:900], y[:900], X[900:], y[900:]
    kw = dict(max_iter=60, learning_rate_init=0.01, batch_size=32, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # early stopping on a held-out fraction keeps the best scored model
        es = NeuralNetClassifier([LSTM(12)], early_stopping=True, n_iter_no_change=5,
                                 **kw).fit(Xtr, ytr)
        assert es.n_iter_ < 60 and len(es.validation_scores_) == es.n_iter_
        assert es.best_validation_score_ == max(es.validation_scores_) >= 0.9
        # validation_data is scored every epoch and not trained on
        vd = NeuralNetClassifier([GRU(12)], **kw).fit(Xtr, ytr, validation_data=(Xv, yv))
        assert len(vd.validation_scores_) == vd.n_iter_
        assert vd.validation_scores_[-1] == pytest.approx(vd.score(Xv, yv))
        # class_weight is the sample weights it stands for
        cw = NeuralNetClassifier([GRU(6)], class_weight={1: 3.0}, **kw).fit(Xtr[:300],
                                                                           ytr[:300])
        sw = NeuralNetClassifier([GRU(6)], **kw).fit(Xtr[:300], ytr[:300],
                                                  sample_weight=np.where(ytr[:300] == 1,
                                                                         3.0, 1.0))
        for a, b in zip(cw.get_weights(), sw.get_weights()):
            for name in a:
                np.testing.assert_allclose(a[name], b[name], rtol=1e-9, atol=1e-12)
        # float32 stays float32 and learns as float64 does
        f32 = NeuralNetClassifier([LSTM(12)], dtype="float32", **kw).fit(Xtr, ytr)
        assert f32.get_weights()[0]["weight_hh"].dtype == np.float32
        assert f32.predict_proba(Xv).dtype == np.float32
        assert f32.score(Xv, yv) >= 0.9


def test_regressor_and_pickle():
    import pickle

    rng = np.random.RandomState(4)
    X = rng.randn(400, 6, 2)
    y = X[:, :, 0].sum(axis=1) * 0.3 + X[:, -1, 1]
    reg = NeuralNetRegressor([LSTM(16)], max_iter=200, random_state=0,
                             learning_rate_init=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X[:300], y[:300])
    assert reg.score(X[300:], y[300:]) > 0.9  # held-out rows
    again = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(again.predict(X), reg.predict(X))
    # the unpickled model trains on as the original does
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.partial_fit(X[:300], y[:300])
        again.partial_fit(X[:300], y[:300])
    np.testing.assert_array_equal(again.predict(X), reg.predict(X))
