"""BernoulliRBM: scikit-learn's drop-in, trained by compiled persistent
contrastive divergence (csrc/fnn_rbm.h).

Same parameters, defaults, fitted attributes and methods as
``sklearn.neural_network.BernoulliRBM``; the same initial weights for the same
``random_state`` (``components_`` ~ N(0, 0.01) from it) and the same batches
(``gen_even_slices``: consecutive rows, no shuffling). What differs: the
Gibbs step and the update of every batch run in C on an OpenMP team
(``n_threads``), the sampling uniforms are a counter-based hash of a seed
drawn from ``random_state`` (so the chains are not the ones scikit-learn's
``RandomState`` stream would give; replaying that stream gives scikit-learn's
``components_`` to rounding, which the tests do), and ``partial_fit`` keeps
float32 input in float32. ``transform``, ``gibbs`` and ``score_samples``
are scikit-learn's NumPy expressions (one GEMM each).
"""
import time

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import check_is_fitted

from fastnn._core._rbm import rbm_fit
from fastnn.neural_network._base import _check_int, _check_real
from fastnn.utils._threads import blas_single_thread, effective_n_threads
from fastnn.utils._validation import validate_data

# rows densified at a time from sparse input (whole batches)
_SPARSE_CHUNK_ROWS = 4096


class BernoulliRBM(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Bernoulli restricted Boltzmann machine (binary visible and hidden units)
    trained by persistent contrastive divergence, in compiled code.

    Parameters are scikit-learn's (``n_components=256, learning_rate=0.1,
    batch_size=10, n_iter=10, verbose=0, random_state=None``) plus
    ``n_threads`` (None: every usable core).

    Attributes: ``components_`` (n_components x n_features),
    ``intercept_hidden_``, ``intercept_visible_``, ``h_samples_`` (the
    persistent chains, batch_size x n_components), ``n_features_in_``,
    ``feature_names_in_``.
    """

    def __init__(self, n_components=256, *, learning_rate=0.1, batch_size=10, n_iter=10,
                 verbose=0, random_state=None, n_threads=None):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.verbose = verbose
        self.random_state = random_state
        self.n_threads = n_threads

    def _check_params(self):
        for name, low in (("n_components", 1), ("batch_size", 1), ("n_iter", 0)):
            _check_int(name, getattr(self, name), low)
        _check_real("learning_rate", self.learning_rate, 0, low_open=True)

    def _init_state(self, X, rng):
        """scikit-learn's initial state in X's dtype, and the sampling seed."""
        dt = X.dtype
        self.components_ = np.ascontiguousarray(
            rng.normal(0, 0.01, (self.n_components, X.shape[1])), dtype=dt)
        self._n_features_out = self.n_components
        self.intercept_hidden_ = np.zeros(self.n_components, dtype=dt)
        self.intercept_visible_ = np.zeros(X.shape[1], dtype=dt)
        self.h_samples_ = np.zeros((self.batch_size, self.n_components), dtype=dt)
        self._seed = int(rng.randint(np.iinfo(np.int32).max)) << 31 | int(
            rng.randint(np.iinfo(np.int32).max))
        self._batches_seen = 0

    def _pass(self, X, batch_size):
        """One PCD pass over X's batches in order (sparse X densified a few
        whole batches at a time)."""
        W, bh, bv = self.components_, self.intercept_hidden_, self.intercept_visible_
        H = np.ascontiguousarray(self.h_samples_, dtype=W.dtype)
        n_threads = effective_n_threads(self.n_threads)
        step = max(batch_size, _SPARSE_CHUNK_ROWS // batch_size * batch_size) \
            if sp.issparse(X) else max(X.shape[0], 1)
        with blas_single_thread():
            for r0 in range(0, X.shape[0], step):
                chunk = X[r0:r0 + step]
                chunk = np.ascontiguousarray(chunk.toarray() if sp.issparse(chunk) else chunk,
                                             dtype=W.dtype)
                rbm_fit(chunk, W, bh, bv, H, float(self.learning_rate), batch_size,
                        self._seed, self._batches_seen, n_threads)
                self._batches_seen += -(-chunk.shape[0] // batch_size)
        self.h_samples_ = H

    def fit(self, X, y=None):
        """Fit the model to X (rows of visible units in [0, 1]) for n_iter passes."""
        self._check_params()
        X = validate_data(self, X, accept_sparse="csr", dtype=(np.float64, np.float32))
        rng = check_random_state(self.random_state)
        self._init_state(X, rng)
        for iteration in range(1, self.n_iter + 1):
            begin = time.time()
            self._pass(X, self.batch_size)
            if self.verbose:
                print(f"[{type(self).__name__}] Iteration {iteration}, pseudo-likelihood = "
                      f"{self.score_samples(X).mean():.2f}, time = {time.time() - begin:.2f}s")
        return self

    def partial_fit(self, X, y=None):
        """One PCD update with all of X as one batch (scikit-learn's partial_fit)."""
        first = not hasattr(self, "components_")
        if first:
            self._check_params()
        X = validate_data(self, X, accept_sparse="csr", dtype=(np.float64, np.float32),
                          reset=first)
        if first:
            self.random_state_ = check_random_state(self.random_state)
            self._init_state(X, self.random_state_)
        self._pass(X, max(X.shape[0], 1))
        return self

    def _mean_hiddens(self, v):
        p = safe_sparse_dot(v, self.components_.T)
        p += self.intercept_hidden_
        return expit(p, out=p)

    def transform(self, X):
        """P(h = 1 | v = X): the hidden units' probabilities."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False,
                          dtype=(np.float64, np.float32))
        return self._mean_hiddens(X)

    def gibbs(self, v):
        """One Gibbs step from v: the sampled visible units (booleans)."""
        check_is_fitted(self)
        if not hasattr(self, "random_state_"):
            self.random_state_ = check_random_state(self.random_state)
        rng = self.random_state_
        p = self._mean_hiddens(v)
        h = rng.uniform(size=p.shape) < p
        q = np.dot(h, self.components_)
        q += self.intercept_visible_
        expit(q, out=q)
        return rng.uniform(size=q.shape) < q

    def _free_energy(self, v):
        return -safe_sparse_dot(v, self.intercept_visible_) - np.logaddexp(
            0, safe_sparse_dot(v, self.components_.T) + self.intercept_hidden_).sum(axis=1)

    def score_samples(self, X):
        """The pseudo-likelihood of each row (one random feature flipped per row,
        drawn from random_state as scikit-learn does)."""
        check_is_fitted(self)
        v = validate_data(self, X, accept_sparse="csr", reset=False)
        rng = check_random_state(self.random_state)
        ind = (np.arange(v.shape[0]), rng.randint(0, v.shape[1], v.shape[0]))
        if sp.issparse(v):
            data = -2 * np.asarray(v[ind]).ravel() + 1
            v_ = v + sp.csr_matrix((data, ind), shape=v.shape)
        else:
            v_ = v.copy()
            v_[ind] = 1 - v_[ind]
        fe = self._free_energy(v)
        fe_ = self._free_energy(v_)
        return -v.shape[1] * np.logaddexp(0, -(fe_ - fe))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
