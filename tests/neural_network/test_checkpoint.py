"""ModelCheckpoint, load_checkpoint and fit(..., resume_from=): a fit
stopped after any epoch and resumed gives bitwise the weights, curves and
optimizer state of the same fit run in one go."""
import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from fastnn import Autoencoder, MLPClassifier, MLPRegressor, NeuralNetClassifier
from fastnn.callbacks import ModelCheckpoint, load_checkpoint, save_checkpoint
from fastnn.layers import Activation, BatchNorm, Dense, Dropout
from fastnn.optimizers import RMSprop


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:600] / 16.0).astype(np.float32), y[:600]


def _fit(make, X, y, max_iter, **fit_kw):
    est = make(max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **fit_kw) if y is not None else est.fit(X, **fit_kw)


def _state(est):
    e = est._engine
    return (e.params.copy(), e.stats.copy(), e.opt_state.state.copy(), e.opt_state.t,
            e.opt_state.lr, e.opt_state.samples_seen, list(est.loss_curve_),
            None if est.validation_scores_ is None else list(est.validation_scores_),
            est.n_iter_, est.t_)


def _assert_same(a, b):
    for x, y in zip(_state(a), _state(b)):
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y)
        else:
            assert x == y


CASES = {
    "sgd-nesterov-invscaling": lambda m, cbs=None: MLPClassifier(
        (24,), solver="sgd", learning_rate="invscaling", learning_rate_init=0.2,
        momentum=0.9, batch_size=50, max_iter=m, random_state=0, callbacks=cbs),
    "adam-early-stopping": lambda m, cbs=None: MLPClassifier(
        (24,), solver="adam", early_stopping=True, n_iter_no_change=50, batch_size=64,
        max_iter=m, random_state=1, callbacks=cbs),
    "rmsprop-adaptive": lambda m, cbs=None: MLPRegressor(
        hidden_layer_sizes=(16,), solver=RMSprop(learning_rate=0.003), learning_rate="adaptive",
        n_iter_no_change=2, tol=1e-2, batch_size=32, max_iter=m, random_state=2,
        callbacks=cbs),
    "batchnorm-dropout": lambda m, cbs=None: NeuralNetClassifier(
        [Dense(32), BatchNorm(), Activation("relu"), Dropout(0.3), Dense(16, "relu")],
        solver="adam", batch_size=40, max_iter=m, random_state=3, callbacks=cbs),
    "autoencoder": lambda m, cbs=None: Autoencoder(
        (24, 8), solver="adam", batch_size=64, max_iter=m, random_state=4, callbacks=cbs),
}


@pytest.mark.parametrize("name", list(CASES))
def test_resume_after_a_checkpoint_is_bitwise_the_uninterrupted_fit(digits, tmp_path, name):
    X, y = digits
    if name == "autoencoder":
        y = None
    elif name.startswith("rmsprop"):
        y = y.astype(np.float64) / 9.0
    make = CASES[name]
    whole = _fit(make, X, y, 20)
    path = tmp_path / "ckpt.pkl"
    first = _fit(lambda m: make(m, [ModelCheckpoint(path)]), X, y, 10)
    assert first.n_iter_ == 10
    resumed = _fit(make, X, y, 20, resume_from=path)
    assert resumed.n_iter_ == whole.n_iter_ == 20
    _assert_same(resumed, whole)
    if name == "rmsprop-adaptive":  # the schedule did move: its position was resumed
        assert whole._engine.opt_state.lr < 0.003


def test_any_epochs_checkpoint_resumes_and_a_resumed_fit_can_checkpoint_again(digits,
                                                                             tmp_path):
    X, y = digits
    make = CASES["batchnorm-dropout"]
    whole = _fit(make, X, y, 12)
    cp = ModelCheckpoint(tmp_path / "e{epoch:02d}.pkl")
    _fit(lambda m: make(m, [cp]), X, y, 12)
    assert [p[-7:] for p in cp.saved] == [f"e{k:02d}.pkl" for k in range(1, 13)]
    for k in (1, 5, 11):
        _assert_same(_fit(make, X, y, 12, resume_from=cp.saved[k - 1]), whole)
    # resume 3 -> 7 writing checkpoints, then 7 -> 12
    cp2 = ModelCheckpoint(tmp_path / "r{epoch:02d}.pkl")
    _fit(lambda m: make(m, [cp2]), X, y, 7, resume_from=cp.saved[2])
    assert [p[-7:] for p in cp2.saved] == ["r04.pkl", "r05.pkl", "r06.pkl", "r07.pkl"]
    _assert_same(_fit(make, X, y, 12, resume_from=cp2.saved[-1]), whole)


def test_load_checkpoint_gives_the_epochs_estimator(digits, tmp_path):
    X, y = digits
    path = tmp_path / "c.pkl"
    est = _fit(lambda m: CASES["batchnorm-dropout"](m, [ModelCheckpoint(path)]), X, y, 6)
    back = load_checkpoint(path)
    assert type(back) is NeuralNetClassifier and back.callbacks is None
    assert back.n_iter_ == 6 and back.loss_curve_ == est.loss_curve_
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(back)).predict(X), est.predict(X))


def test_save_best_only_and_every(digits, tmp_path):
    X, y = digits
    make = CASES["adam-early-stopping"]
    best = ModelCheckpoint(tmp_path / "best-{epoch}.pkl", save_best_only=True,
                           monitor="val_score")
    est = _fit(lambda m: make(m, [best]), X, y, 15)
    scores = est.validation_scores_
    improved = [k + 1 for k in range(len(scores)) if scores[k] > max(scores[:k], default=-1)]
    assert [int(p.split("-")[-1][:-4]) for p in best.saved] == improved
    by_loss = ModelCheckpoint(tmp_path / "l.pkl", save_best_only=True, monitor="loss")
    _fit(lambda m: make(m, [by_loss]), X, y, 15)
    curve = est.loss_curve_
    assert len(by_loss.saved) == sum(curve[k] < min(curve[:k], default=np.inf)
                                     for k in range(len(curve)))
    every = ModelCheckpoint(tmp_path / "x{epoch}.pkl", every=4)
    _fit(lambda m: make(m, [every]), X, y, 15)
    assert [p[-6:] for p in every.saved] == ["x4.pkl", "x8.pkl", "/x12.pkl"[-6:]]


def test_between_fits_save_checkpoint_resumes_with_a_larger_max_iter(digits, tmp_path):
    X, y = digits
    make = CASES["sgd-nesterov-invscaling"]
    whole = _fit(make, X, y, 16)
    path = save_checkpoint(_fit(make, X, y, 9), tmp_path / "s.pkl")
    _assert_same(_fit(make, X, y, 16, resume_from=path), whole)


def test_resume_refuses_what_cannot_continue(digits, tmp_path):
    X, y = digits
    path = tmp_path / "c.pkl"
    _fit(lambda m: CASES["sgd-nesterov-invscaling"](m, [ModelCheckpoint(path)]), X, y, 3)
    with pytest.raises(ValueError, match="learning_rate_init=0.2.*learning_rate_init=0.1"):
        MLPClassifier((24,), solver="sgd", learning_rate="invscaling", learning_rate_init=0.1,
                      momentum=0.9, batch_size=50, random_state=0).fit(X, y, resume_from=path)
    with pytest.raises(ValueError, match="holds a fastnn.*MLPClassifier, not a .*Regressor"):
        MLPRegressor().fit(X, y, resume_from=path)
    with pytest.raises(ValueError, match="lbfgs"):
        MLPClassifier(solver="lbfgs").fit(X, y, resume_from=path)
    with pytest.raises(ValueError, match="trained on 600 rows; this data has 300"):
        CASES["sgd-nesterov-invscaling"](6).fit(X[:300], y[:300], resume_from=path)
    with pytest.raises(ValueError, match="expecting 64 features"):
        CASES["sgd-nesterov-invscaling"](6).fit(X[:, :10], y, resume_from=path)
    junk = tmp_path / "junk.pkl"
    junk.write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="is not a fastnn checkpoint"):
        load_checkpoint(junk)
    other = tmp_path / "other.pkl"
    other.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ValueError, match="is not a fastnn checkpoint"):
        CASES["sgd-nesterov-invscaling"](6).fit(X, y, resume_from=other)
    with pytest.raises(ValueError, match="monitor"):
        CASES["sgd-nesterov-invscaling"](2, [ModelCheckpoint(path, monitor="acc")]).fit(X, y)
    with pytest.raises(ValueError, match="every"):
        CASES["sgd-nesterov-invscaling"](2, [ModelCheckpoint(path, every=0)]).fit(X, y)
    with pytest.raises(ValueError, match="needs a validation set"):
        CASES["sgd-nesterov-invscaling"](2, [ModelCheckpoint(path, save_best_only=True)]).fit(
            X, y)


def test_a_plain_pickle_stays_the_size_of_the_model(tmp_path):
    """The row order and the validation split (O(n_samples)) and the best
    epoch's copy go into checkpoints only: a fitted estimator's pickle holds
    its parameters and little else, whatever the data's size."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40000, 20)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    est = _fit(lambda m: MLPClassifier((16,), early_stopping=True, max_iter=m,
                                       random_state=0), X, y, 3)
    size = len(pickle.dumps(est))
    assert size < est._engine.params.nbytes + 30_000, size
    # and a checkpoint of it still resumes exactly
    path = save_checkpoint(est, tmp_path / "c.pkl")
    whole = _fit(lambda m: MLPClassifier((16,), early_stopping=True, max_iter=m,
                                         random_state=0), X, y, 5)
    resumed = _fit(lambda m: MLPClassifier((16,), early_stopping=True, max_iter=m,
                                           random_state=0), X, y, 5, resume_from=path)
    _assert_same(resumed, whole)
    # an unpickled estimator predicts, but has no fit in progress to resume
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    path2 = save_checkpoint(back, tmp_path / "d.pkl")
    with pytest.raises(ValueError, match="no first-order fit in progress"):
        MLPClassifier((16,), early_stopping=True, max_iter=5, random_state=0).fit(
            X, y, resume_from=path2)
