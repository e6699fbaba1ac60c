"""MLP behaviour beyond the equivalence with scikit-learn: the extras,
partial_fit / warm_start, determinism, threads, pickling, failure modes."""
import pickle
import threading
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from fastnn import MLPClassifier, MLPRegressor
from fastnn.optimizers import Adagrad, RMSprop, StepDecay

warnings.filterwarnings("ignore", category=ConvergenceWarning)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0)
    sc = StandardScaler().fit(Xtr)
    return sc.transform(Xtr), sc.transform(Xte), ytr, yte


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()


@pytest.mark.parametrize("solver", ["rmsprop", "adagrad", "adadelta", RMSprop(0.003),
                                    Adagrad(0.05)])
def test_extra_solvers_learn_digits(digits, solver):
    Xtr, Xte, ytr, yte = digits
    lr = 1.0 if solver == "adadelta" else 0.003
    clf = MLPClassifier(solver=solver, learning_rate_init=lr, max_iter=60, random_state=0)
    clf.fit(Xtr, ytr)
    assert clf.score(Xte, yte) > 0.93


def test_schedules_and_extras_learn(digits):
    Xtr, Xte, ytr, yte = digits
    clf = MLPClassifier(solver="sgd", learning_rate=StepDecay(drop=0.5, epochs_drop=10),
                        learning_rate_init=0.1, dropout=0.2, batch_norm=True,
                        activation="leaky_relu", max_iter=40, random_state=0)
    clf.fit(Xtr, ytr)
    assert clf.score(Xte, yte) > 0.95
    assert len(clf.loss_curve_) == clf.n_iter_


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float32_trains_in_float32(digits, dtype):
    Xtr, Xte, ytr, yte = digits
    clf = MLPClassifier(max_iter=30, random_state=0).fit(Xtr.astype(dtype), ytr)
    assert all(c.dtype == dtype for c in clf.coefs_ + clf.intercepts_)
    assert clf.score(Xte.astype(dtype), yte) > 0.95
    assert MLPClassifier(max_iter=2, random_state=0, dtype="float32").fit(
        Xtr, ytr).coefs_[0].dtype == np.float32


def assert_two_thread_team(est, batch):
    """The engine really splits this network's batches between two threads
    (small networks run on one; a build without OpenMP runs everything on one)."""
    from fastnn._core import _openmp

    assert est.network_.net.team_size(batch, 2) == (2 if _openmp.openmp_enabled() else 1)


# wide enough that every phase is split between two threads
TEAM_SIZES = (256, 160)


def test_same_seed_and_threads_give_identical_weights(digits):
    Xtr, _, ytr, _ = digits
    fits = [MLPClassifier(hidden_layer_sizes=TEAM_SIZES, max_iter=5, random_state=3,
                          dropout=0.3, batch_norm=True, n_threads=2).fit(Xtr, ytr)
            for _ in range(2)]
    assert_two_thread_team(fits[0], 200)
    for a, b in zip(fits[0].coefs_ + fits[0].intercepts_, fits[1].coefs_ + fits[1].intercepts_):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("solver", ["adam", "sgd", "rmsprop", "weighted"])
def test_one_and_two_threads_train_the_same_network(digits, solver):
    # a network big enough for the engine to split every phase between two
    # threads: each thread's share of the GEMM columns, of the batch norm
    # channels and of the parameter updates must add up to the whole
    Xtr, _, ytr, _ = digits
    sw = None
    if solver == "weighted":  # unshuffled, with whole batches of zero weight
        solver, sw = "adam", np.ones(len(ytr))
        sw[100:400] = 0.0
    fits = [MLPClassifier(hidden_layer_sizes=TEAM_SIZES, solver=solver, max_iter=4,
                          random_state=0, batch_norm=True, dropout=0.1, alpha=1e-3,
                          learning_rate_init=0.01, n_threads=nt, batch_size=100,
                          shuffle=sw is None).fit(Xtr, ytr, sample_weight=sw)
            for nt in (1, 2)]
    assert_two_thread_team(fits[1], 100)
    for a, b in zip(fits[0].coefs_ + fits[0].intercepts_, fits[1].coefs_ + fits[1].intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fits[0].loss_curve_, fits[1].loss_curve_, rtol=1e-12)


def test_two_thread_fits_in_oversubscribed_threads(digits):
    # three Python threads each train with a two-thread engine team on a
    # machine with fewer cores: the teams' barriers must wait (spin, then
    # sleep) and wake without losing a wake-up or mixing teams
    Xtr, Xte, ytr, _ = digits
    kw = dict(hidden_layer_sizes=TEAM_SIZES, max_iter=3, random_state=0, batch_norm=True,
              n_threads=2)
    ref = MLPClassifier(**kw).fit(Xtr, ytr)
    assert_two_thread_team(ref, 200)
    results, errors = {}, []

    def fit(i):
        try:
            clf = MLPClassifier(**kw).fit(Xtr, ytr)
            results[i] = (clf.coefs_[0], clf.predict_proba(Xte))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=fit, args=(i,), daemon=True) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a fit hung"
    assert not errors, errors
    assert len(results) == 3
    for w, proba in results.values():
        np.testing.assert_array_equal(w, ref.coefs_[0])
        np.testing.assert_array_equal(proba, ref.predict_proba(Xte))


def test_prediction_of_a_row_does_not_depend_on_the_batch(digits):
    Xtr, Xte, ytr, _ = digits
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0, batch_norm=True,
                        dropout=0.5).fit(Xtr, ytr)
    full = clf.predict_proba(Xte)
    one_by_one = np.vstack([clf.predict_proba(Xte[i:i + 1]) for i in range(20)])
    np.testing.assert_allclose(full[:20], one_by_one, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(clf.predict_proba(Xte[::-1])[::-1], full, rtol=1e-12,
                               atol=1e-15)


def test_concurrent_fits_and_predicts_in_threads(digits):
    Xtr, Xte, ytr, _ = digits
    ref = MLPClassifier(hidden_layer_sizes=(16,), max_iter=4, random_state=0,
                        n_threads=1).fit(Xtr, ytr)
    expected = ref.predict_proba(Xte)
    results, errors = {}, []

    def fit(i):
        try:
            results[i] = MLPClassifier(hidden_layer_sizes=(16,), max_iter=4, random_state=0,
                                       n_threads=1).fit(Xtr, ytr).coefs_[0]
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    def predict():
        try:
            for _ in range(20):
                np.testing.assert_allclose(ref.predict_proba(Xte), expected)
        except Exception as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=fit, args=(i,)) for i in range(3)]
    threads += [threading.Thread(target=predict) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for w in results.values():
        np.testing.assert_allclose(w, ref.coefs_[0], rtol=1e-12)


def test_partial_fit_and_warm_start(digits):
    Xtr, Xte, ytr, yte = digits
    clf = MLPClassifier(hidden_layer_sizes=(32,), random_state=0, learning_rate_init=0.01)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(Xtr[:50], ytr[:50])
    for _ in range(15):
        clf.partial_fit(Xtr, ytr, classes=np.arange(10))
    assert clf.n_iter_ == 1 and clf.t_ == 15 * len(Xtr) and len(clf.loss_curve_) == 15
    assert clf.score(Xte, yte) > 0.93
    with pytest.raises(ValueError, match="classes not in"):
        clf.partial_fit(Xtr[:5], np.array([11, 1, 2, 3, 4]))
    with pytest.raises(AttributeError, match="partial_fit"):
        MLPClassifier(solver="lbfgs").partial_fit
    warm = MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, warm_start=True, random_state=0)
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    warm.fit(X, y / 100)
    first = warm.coefs_[0].copy()
    warm.fit(X, y / 100)
    assert len(warm.loss_curve_) == 10 and not np.array_equal(first, warm.coefs_[0])


def test_edited_coefs_are_used(diabetes):
    X, y = diabetes
    reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y)
    reg.coefs_[1] = np.zeros_like(reg.coefs_[1])
    reg.intercepts_[1] = np.array([2.5])
    np.testing.assert_allclose(reg.predict(X), 2.5)


def test_pickle_roundtrip_is_exact(digits):
    Xtr, Xte, ytr, _ = digits
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=3, random_state=0,
                        batch_norm=True).fit(Xtr, ytr)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(Xte), clf.predict_proba(Xte))
    again.coefs_[0][...] = 0  # re-linked to its flat buffer after unpickling
    assert not np.array_equal(again.predict_proba(Xte), clf.predict_proba(Xte))
    again.set_params(warm_start=True, max_iter=1).fit(Xtr, ytr)
    frozen = pickle.loads(pickle.dumps(clf))
    frozen._engine.params.flags.writeable = False  # as joblib's read-only memory maps load it
    frozen._engine.stats.flags.writeable = False
    np.testing.assert_array_equal(frozen.predict_proba(Xte), clf.predict_proba(Xte))
    frozen.set_params(warm_start=True, max_iter=1).fit(Xtr, ytr)


def test_partial_fit_continues_across_a_pickle(digits):
    # the engine owns the optimizer state and the history: they travel in
    # the pickle, so a fit resumed elsewhere takes the same steps
    Xtr, _, ytr, _ = digits
    classes = np.unique(ytr)
    kw = dict(hidden_layer_sizes=(16,), random_state=0, batch_norm=True, dropout=0.1)
    straight = MLPClassifier(**kw)
    for _ in range(3):
        straight.partial_fit(Xtr, ytr, classes=classes)
    resumed = MLPClassifier(**kw).partial_fit(Xtr, ytr, classes=classes)
    resumed = pickle.loads(pickle.dumps(resumed))
    for _ in range(2):
        resumed.partial_fit(Xtr, ytr)
    for a, b in zip(straight.coefs_ + straight.intercepts_,
                    resumed.coefs_ + resumed.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert straight.loss_curve_ == resumed.loss_curve_ and straight.t_ == resumed.t_


def test_a_pickle_from_before_the_engine_object_loads(digits):
    # up to c329a99 the estimator held the buffers and state itself
    Xtr, Xte, ytr, _ = digits
    clf = MLPClassifier(hidden_layer_sizes=(16,), random_state=0).partial_fit(
        Xtr, ytr, classes=np.unique(ytr))
    state = dict(clf.__getstate__())
    engine = state.pop("_engine")
    state.update(network_=engine.network, _params=engine.params, _stats=engine.stats,
                 _opt_state=engine.opt_state, _history=engine.history, _n_threads=2,
                 _value_scale=1.0, _dropout_seed=0)
    old = MLPClassifier.__new__(MLPClassifier)
    old.__setstate__(pickle.loads(pickle.dumps(state)))
    np.testing.assert_array_equal(old.predict_proba(Xte), clf.predict_proba(Xte))
    for est in (clf, old):
        est.partial_fit(Xtr, ytr)
    np.testing.assert_array_equal(old.coefs_[0], clf.coefs_[0])


def test_validation_data_and_early_stopping_restore_best(digits):
    Xtr, Xte, ytr, yte = digits
    clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=30, early_stopping=True,
                        n_iter_no_change=3, random_state=0, learning_rate_init=0.05)
    clf.fit(Xtr, ytr, validation_data=(Xte, yte))
    assert len(clf.validation_scores_) == clf.n_iter_ == len(clf.validation_loss_curve_)
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.score(Xte, yte) == pytest.approx(clf.best_validation_score_)
    reg = MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    reg.fit(X[:300], y[:300] / 100, validation_data=(X[300:], y[300:] / 100))
    assert len(reg.validation_loss_curve_) == 5 and reg.best_loss_ is not None


def test_multilabel_multioutput_and_class_weight():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    Y = np.column_stack([y == 0, y == 2, X[:, 0] > 0]).astype(int)
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0).fit(X, Y)
    assert clf.predict(X).shape == Y.shape and clf.predict_proba(X).shape == Y.shape
    assert (clf.predict(X) == Y).mean() > 0.9
    yb = (y == 0).astype(int)
    plain = MLPClassifier(hidden_layer_sizes=(4,), max_iter=50, random_state=0).fit(X, yb)
    weighted = MLPClassifier(hidden_layer_sizes=(4,), max_iter=50, random_state=0,
                             class_weight={0: 1.0, 1: 10.0}).fit(X, yb)
    assert weighted.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean()


def test_diverging_fit_raises(diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match="diverged|non-finite"):
        MLPRegressor(solver="sgd", learning_rate_init=50.0, momentum=0.0, max_iter=50,
                     random_state=0).fit(X, y * 1e3)


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_bad_input(Est):
    X, y = load_breast_cancer(return_X_y=True)
    est = Est(max_iter=2)
    Xb = X.copy()
    Xb[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.fit(Xb, y)
    Xb[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        est.fit(Xb, y)
    with pytest.raises(ValueError, match="2D|3"):
        est.fit(X[:, :, None], y)
    with pytest.raises(ValueError):
        est.fit(X.astype(complex), y)
    with pytest.raises(ValueError, match="0 sample"):
        est.fit(X[:0], y[:0])
    est.fit(X, y)
    with pytest.raises(ValueError, match="features"):
        est.predict(X[:, :5])
    for bad in [dict(hidden_layer_sizes=(0,)), dict(alpha=-1.0), dict(max_iter=0),
                dict(solver="nope"), dict(activation="softsign"), dict(batch_size=0),
                dict(learning_rate="fast"), dict(dropout=1.0), dict(momentum=2.0),
                dict(validation_fraction=1.0), dict(beta_1=1.0), dict(dtype="int8")]:
        with pytest.raises(ValueError):
            Est(**bad).fit(X, y)


def test_classifier_label_errors():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="at least 2 classes"):
        MLPClassifier(max_iter=2).fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier(max_iter=2).fit(X, X[:, 0])
    clf = MLPClassifier(max_iter=2, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X, np.where(y == 2, 5, y))


@pytest.mark.parametrize("kwargs", [dict(), dict(early_stopping=True), dict(batch_norm=True)])
def test_fit_does_not_copy_float32_data_and_repeated_fits_do_not_grow(kwargs):
    """tracemalloc sees NumPy's buffers (the engine's workspaces are NumPy
    buffers): a fit allocates a few bytes a row and its workspaces, never a
    copy of X (float64 or not; the early-stopping split trains on X's rows
    in place and copies only the validation part)."""
    import tracemalloc

    rng = np.random.default_rng(0)
    n = 40_000
    X = rng.normal(size=(n, 200)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)

    def fit():
        return MLPClassifier((32,), max_iter=2, random_state=0, **kwargs).fit(X, y)

    fit()
    tracemalloc.start()
    try:
        peaks = []
        for _ in range(3):
            tracemalloc.reset_peak()
            fit()
            peaks.append(tracemalloc.get_traced_memory()[1])
        current = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    # per row: targets, weights, the shuffling order, scikit-learn's split
    # indices (up to ~150 bytes); plus the 10% validation copy; a copy of X
    # (32 MB here) would be far above
    assert max(peaks) < 0.12 * X.nbytes + 160 * n, (peaks, X.nbytes)
    assert current < 0.02 * X.nbytes  # nothing kept between fits
    assert peaks[2] <= peaks[0] * 1.05


def test_epoch_workspace_is_kept_only_when_small():
    rng = np.random.RandomState(0)
    X, y = rng.rand(200, 20), rng.randint(0, 2, 200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        small = MLPClassifier((16,), max_iter=2, random_state=0).fit(X, y)
        work = small._engine.work
        assert work is not None and work.nbytes < 32 << 20
        small.set_params(warm_start=True).fit(X, y)
        assert small._engine.work is work  # reused, not allocated again
        assert pickle.loads(pickle.dumps(small))._engine.work is None  # never pickled
        X = rng.rand(12000, 784).astype(np.float32)
        big = MLPClassifier((512,), max_iter=1, batch_size=None, random_state=0).fit(
            X, rng.randint(0, 2, 12000))
    assert big._engine.work is None  # a full batch's workspace is let go
