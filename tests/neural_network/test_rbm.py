"""BernoulliRBM against scikit-learn's: the compiled PCD pass replays
scikit-learn's random stream to its components_, the estimator starts from
scikit-learn's state, and its model scores like scikit-learn's."""
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit
from sklearn.datasets import load_digits
from sklearn.neural_network import BernoulliRBM as SkRBM

from fastnn import BernoulliRBM
from fastnn._core._rbm import rbm_fit
from fastnn.utils._threads import blas_single_thread


@pytest.fixture(scope="module")
def digits():
    return load_digits().data / 16.0


def _replay(X, K, B, iters, n_threads):
    """scikit-learn's fit(X) with random_state=0, its uniforms fed to the kernel."""
    n, F = X.shape
    rng = np.random.RandomState(0)
    W = np.ascontiguousarray(rng.normal(0, 0.01, (K, F)), dtype=X.dtype)
    nb = -(-n // B)
    uv = np.empty((iters, nb, B, F))
    uh = np.empty((iters, nb, B, K))
    for it in range(iters):  # per batch: the visible sample's uniforms, then the hidden's
        for b in range(nb):
            uv[it, b] = rng.uniform(size=(B, F))
            uh[it, b] = rng.uniform(size=(B, K))
    bh, bv, H = np.zeros(K, X.dtype), np.zeros(F, X.dtype), np.zeros((B, K), X.dtype)
    with blas_single_thread():
        for it in range(iters):
            rbm_fit(X, W, bh, bv, H, 0.1, B, 0, 0, n_threads, uv[it], uh[it])
    return W, bh, bv, H


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("iters", [1, 3])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_replayed_stream_gives_sklearns_model(digits, dtype, tol, iters, n_threads):
    X = digits[:1003].astype(dtype)  # 101 batches, the last of 3 rows
    sk = SkRBM(n_components=40, n_iter=iters, random_state=0).fit(X)
    W, bh, bv, H = _replay(X, 40, 10, iters, n_threads)
    assert W.dtype == dtype
    scale = np.abs(sk.components_).max()
    assert scale > 0.1  # it moved far from the 0.01 initialisation
    np.testing.assert_allclose(W, sk.components_, rtol=0, atol=tol * scale)
    np.testing.assert_allclose(bh, sk.intercept_hidden_, rtol=0, atol=tol)
    np.testing.assert_allclose(bv, sk.intercept_visible_, rtol=0, atol=tol)
    np.testing.assert_array_equal(H, sk.h_samples_)


def test_starts_from_sklearns_state(digits):
    ours = BernoulliRBM(n_components=16, n_iter=0, random_state=3).fit(digits)
    sk = SkRBM(n_components=16, n_iter=0, random_state=3).fit(digits)
    for name in ("components_", "intercept_hidden_", "intercept_visible_", "h_samples_"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(sk, name))


def test_transform_is_the_hidden_probabilities(digits):
    rbm = BernoulliRBM(n_components=20, n_iter=2, random_state=0).fit(digits)
    np.testing.assert_allclose(
        rbm.transform(digits), expit(digits @ rbm.components_.T + rbm.intercept_hidden_),
        rtol=1e-12)
    assert rbm.get_feature_names_out().tolist()[:2] == ["bernoullirbm0", "bernoullirbm1"]


def test_pseudo_likelihood_within_noise_of_sklearns(digits):
    ours, theirs = [], []
    for seed in range(5):
        kw = dict(n_components=64, n_iter=5, random_state=seed)
        ours.append(BernoulliRBM(**kw).fit(digits).score_samples(digits).mean())
        theirs.append(SkRBM(**kw).fit(digits).score_samples(digits).mean())
    ours, theirs = np.array(ours), np.array(theirs)
    # learned: an untrained RBM scores about -44 here
    assert theirs.mean() > -30 and ours.mean() > -30
    noise = 3 * np.hypot(ours.std(), theirs.std()) / np.sqrt(5) + 0.3
    assert abs(ours.mean() - theirs.mean()) < noise, (ours, theirs)


def test_threads_give_the_same_model(digits):
    from fastnn._core._rbm import rbm_team_size

    assert rbm_team_size(64, 512, 20, 20, 2) == 2  # this RBM does run on two threads
    fits = [BernoulliRBM(n_components=512, batch_size=20, n_iter=2, random_state=0,
                         n_threads=t).fit(digits) for t in (1, 2)]
    np.testing.assert_allclose(fits[0].components_, fits[1].components_, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(fits[0].h_samples_, fits[1].h_samples_)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_kept_and_sparse_equals_dense(digits, dtype):
    X = digits.astype(dtype)
    dense = BernoulliRBM(n_components=24, n_iter=2, batch_size=7, random_state=0).fit(X)
    sparse = BernoulliRBM(n_components=24, n_iter=2, batch_size=7, random_state=0).fit(
        sp.csr_matrix(X))
    assert dense.components_.dtype == dtype and dense.transform(X).dtype == dtype
    np.testing.assert_allclose(sparse.components_, dense.components_, rtol=0, atol=1e-6)
    np.testing.assert_allclose(sparse.score_samples(sp.csr_matrix(X)),
                               dense.score_samples(X), rtol=1e-4)


def test_partial_fit_and_gibbs(digits):
    rbm = BernoulliRBM(n_components=16, batch_size=10, random_state=0)
    for start in range(0, 200, 10):
        rbm.partial_fit(digits[start:start + 10].astype(np.float32))
    assert rbm.components_.dtype == np.float32
    assert rbm.h_samples_.shape == (10, 16)
    assert np.isfinite(rbm.components_).all()
    v = rbm.gibbs(digits[:5])
    assert v.shape == (5, 64) and v.dtype == bool
    with pytest.raises(ValueError, match="features"):
        rbm.partial_fit(digits[:10, :30])


@pytest.mark.parametrize("kw, match", [
    (dict(n_components=0), "n_components"), (dict(batch_size=0), "batch_size"),
    (dict(learning_rate=-1.0), "learning_rate"), (dict(n_iter=1.5), "n_iter"),
])
def test_bad_parameters(digits, kw, match):
    with pytest.raises(ValueError, match=match):
        BernoulliRBM(**kw).fit(digits)


def test_init_from_rbms_puts_their_weights_in(digits):
    from sklearn.neural_network import BernoulliRBM as Sk

    from fastnn import MLPClassifier, NeuralNetClassifier
    from fastnn.layers import Dense

    y = load_digits().target
    r1 = BernoulliRBM(n_components=32, n_iter=2, random_state=0).fit(digits)
    r2 = Sk(n_components=16, n_iter=2, random_state=0).fit(r1.transform(digits))
    net = NeuralNetClassifier([Dense(32, "logistic"), Dense(16, "logistic")], init=[r1, r2],
                              freeze=[0, 1], max_iter=2, random_state=0).fit(digits, y)
    for k, rbm in enumerate((r1, r2)):  # frozen: exactly the RBMs' weights
        np.testing.assert_array_equal(net.get_weights()[k]["W"], rbm.components_.T)
        np.testing.assert_array_equal(net.get_weights()[k]["b"], rbm.intercept_hidden_)
    mlp = MLPClassifier((32, 16), activation="logistic", max_iter=1, init=[r1, r2],
                        solver="sgd", learning_rate_init=1e-12, random_state=0).fit(digits, y)
    for k, rbm in enumerate((r1, r2)):  # a step of 1e-12 from them
        np.testing.assert_allclose(mlp.coefs_[k], rbm.components_.T, rtol=0, atol=1e-9)
        np.testing.assert_allclose(mlp.intercepts_[k], rbm.intercept_hidden_, rtol=0,
                                   atol=1e-9)
    net = NeuralNetClassifier([Dense(32, "logistic")], init=[r1, None], max_iter=1,
                              random_state=0).fit(digits, y)
    assert not np.array_equal(net.get_weights()[0]["W"], r1.components_.T)  # fine-tuned
    with pytest.raises(ValueError, match="shape"):
        MLPClassifier((20,), init=[r1], max_iter=1).fit(digits, y)
    with pytest.raises(ValueError, match="unfitted BernoulliRBM"):
        MLPClassifier((32,), init=[BernoulliRBM(32)], max_iter=1).fit(digits, y)


def test_greedy_layer_wise_rbms(digits):
    from fastnn import pretrain

    w = pretrain(digits, (24, 8), BernoulliRBM(n_iter=3, random_state=0))
    first, second = w.estimators
    assert isinstance(first, BernoulliRBM) and first.n_components == 24
    assert second.n_features_in_ == 24 and second.n_components == 8
    np.testing.assert_allclose(second.transform(first.transform(digits)),
                               expit(expit(digits @ w[0]["W"] + w[0]["b"]) @ w[1]["W"]
                                     + w[1]["b"]), rtol=1e-12)
