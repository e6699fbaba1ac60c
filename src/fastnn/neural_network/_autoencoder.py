"""Autoencoder: a scikit-learn transformer trained by the network engine.

The network is [input noise] + encoder + decoder + an output Dense of the
input's width; it learns to reconstruct X. ``transform`` gives the code (the
last encoder layer's activations), ``inverse_transform`` a reconstruction
from a code, ``score_samples`` minus each row's reconstruction error. The
training vocabulary (solvers, schedules, early stopping, validation_data,
partial_fit, warm_start, clip_norm, n_threads, dtype) is the MLP's.
"""
import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils._available_if import available_if
from sklearn.utils.validation import check_is_fitted

from fastnn.layers import ACTIVATIONS, Dense, Dropout, GaussianNoise
from fastnn.neural_network._base import (
    BaseNetwork, _check_real, _stochastic, store_init_params,
)
from fastnn.neural_network._neural_net import InputShapeMixin, WeightsMixin, check_layers

# the estimator's loss name -> the engine's (binary cross-entropy is the
# logistic loss on soft targets)
_LOSSES = {"squared_error": "squared_error", "binary_crossentropy": "log_loss"}


class Autoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, InputShapeMixin,
                  WeightsMixin, BaseNetwork, BaseEstimator):
    """Autoencoder on fastnn's compiled engine (a scikit-learn transformer).

    ``hidden_layer_sizes`` is the encoder, its last entry the code, mirrored
    for the decoder: ``(256, 32)`` makes n-256-32-256-n. Or ``encoder`` (a
    list of fastnn.layers, the code its last layer's output) with an
    optional ``decoder`` (by default the encoder's Dense layers mirrored,
    without the code layer, with their activations); the output layer, a
    Dense of the input's width, is added either way. Samples may be images
    or sequences for a convolutional or recurrent encoder: X (n, C, H, W) or
    (n, T, F), or flat with ``input_shape``, as NeuralNet*; the output is the
    flat sample.

    ``loss``: ``"squared_error"`` (identity output) or
    ``"binary_crossentropy"`` (sigmoid output; inputs in [0, 1]).
    Denoising: ``noise`` (the stddev of Gaussian noise added to the input in
    training) and ``dropout`` (a rate of input dropout). The other
    parameters are MLPRegressor's. ``fit(X, y=None, sample_weight=None,
    validation_data=None)``: ``validation_data`` is ``X_val``, or
    ``(X_val, sample_weight_val)``; ``early_stopping`` watches the
    reconstruction loss on it (or on ``validation_fraction`` of X).

    Fitted attributes: the MLP's (``coefs_``, ``intercepts_`` of every Dense,
    ``loss_``, ``loss_curve_``, ``n_iter_``, ...), ``n_features_in_`` and
    ``n_components_`` (the code width).
    """

    def __init__(self, hidden_layer_sizes=(256, 32), activation="relu", *, encoder=None,
                 decoder=None, input_shape=None, loss="squared_error", noise=0.0, dropout=0.0,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 clip_norm=None, n_threads=None, dtype=None, callbacks=None):
        store_init_params(self, locals())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # ------------------------------------------------------------ layers
    def _encoder_specs(self):
        if self.encoder is not None:
            layers = check_layers("encoder", self.encoder)
            if not layers:
                raise ValueError("encoder must hold at least one layer")
            return layers
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if not sizes or any(not isinstance(h, numbers.Integral) or isinstance(h, bool) or h < 1
                            for h in sizes):
            raise ValueError("hidden_layer_sizes must be one or more positive ints, got "
                             f"{self.hidden_layer_sizes!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got "
                             f"{self.activation!r}")
        return [Dense(int(h), self.activation) for h in sizes]

    def _decoder_specs(self, encoder):
        if self.decoder is not None:
            return check_layers("decoder", self.decoder)
        dense = [s for s in encoder if isinstance(s, Dense)]
        return [Dense(s.units, s.activation) for s in reversed(dense[:-1])]

    def _input_specs(self):
        specs = []
        _check_real("noise", self.noise, 0, 1)
        _check_real("dropout", self.dropout, 0, 1, high_open=True)
        if self.noise > 0:
            specs.append(GaussianNoise(float(self.noise)))
        if self.dropout > 0:
            specs.append(Dropout(float(self.dropout)))
        return specs

    def _hidden_specs(self, in_shape):
        encoder = self._encoder_specs()
        front = self._input_specs()
        self._code_start, self._code_stop = len(front), len(front) + len(encoder)
        return front + encoder + self._decoder_specs(encoder)

    def _output_spec(self, n_outputs):
        return Dense(n_outputs)

    def _hidden_ends(self):
        return [self._code_stop - 1]

    def _encoder_weights(self):
        """The encoder layers' weights, as get_weights() gives them: what a
        supervised network given ``init=`` this autoencoder starts from."""
        return self.get_weights()[self._code_start:self._code_stop]

    # --------------------------------------------------------------- fit
    def _check_loss(self):
        if self.loss not in _LOSSES:
            raise ValueError(f"loss must be 'squared_error' or 'binary_crossentropy', got "
                             f"{self.loss!r}")

    def _validation(self, validation_data):
        """X_val or (X_val, sample_weight_val) as fit's (X_val, y_val, sw):
        the targets come from X_val (see _validator)."""
        if validation_data is None:
            return None
        if isinstance(validation_data, tuple):
            if len(validation_data) != 2:
                raise ValueError("validation_data must be X_val or a tuple (X_val, "
                                 f"sample_weight_val), got a tuple of length "
                                 f"{len(validation_data)}")
            Xv, swv = validation_data
        else:
            Xv, swv = validation_data, None
        return Xv, None, swv

    def fit(self, X, y=None, sample_weight=None, validation_data=None, resume_from=None):
        """Learn to reconstruct X (y is ignored); ``resume_from``: a checkpoint
        to go on from (see MLPClassifier.fit)."""
        self._check_loss()
        return self._fit(X, None, sample_weight=sample_weight,
                         validation_data=self._validation(validation_data),
                         resume_from=resume_from)

    @available_if(_stochastic)
    def partial_fit(self, X, y=None, sample_weight=None):
        """One epoch over X (y is ignored)."""
        self._check_loss()
        return self._fit(X, None, sample_weight=sample_weight, incremental=True)

    def _check_X_y(self, X, y, reset):
        X = self._check_X(X, reset=reset)
        return X, X

    def _encode_targets(self, y, n, first_pass, incremental, classes):
        # the targets are X itself, in its dtype: a float64 copy of a large X
        # (and the float32 copy of that the engine takes) cost a fifth of an epoch
        Y = np.asarray(y).reshape(n, -1)
        loss = _LOSSES[self.loss]
        if loss == "log_loss" and (Y.min(initial=0.0) < 0 or Y.max(initial=0.0) > 1):
            raise ValueError("loss='binary_crossentropy' needs inputs in [0, 1]; X has values "
                             f"in [{Y.min():.6g}, {Y.max():.6g}]")
        return Y, loss, Y.shape[1]

    def _validator(self, Xv, yv, swv, encoded):
        """The score after every epoch: minus the mean reconstruction error
        (higher is better, as score()); and the eval-mode loss. The targets
        are Xv itself (checked and flat already); yv is not used."""
        Yv = np.asarray(Xv, dtype=np.float64)
        engine = self._engine

        def validate(params):
            raw = engine.predict(Xv, params)
            score = float(np.average(self._row_scores(raw, Yv), weights=swv))
            return score, engine.eval_loss(raw, Yv, swv, self.alpha, params)

        return validate

    # --------------------------------------------------------- transform
    @property
    def _n_features_out(self):
        return self.n_components_

    def _publish(self):
        super()._publish()
        self.n_components_ = int(np.prod(self.network_.built[self._code_stop - 1].out_shape))

    def transform(self, X):
        """The code of each row of X: ``(n_samples, n_components_)``."""
        return super().transform(X, layer=-1)

    def fit_transform(self, X, y=None, **fit_params):
        """``fit(X, **fit_params)``, then the code of X."""
        return self.fit(X, y, **fit_params).transform(X)

    def inverse_transform(self, X):
        """The reconstruction from codes ``X`` of shape (n, n_components_)."""
        check_is_fitted(self, "coefs_")
        Z = np.asarray(X)
        if Z.ndim != 2 or Z.shape[1] != self.n_components_:
            raise ValueError(f"inverse_transform takes codes of shape (n_samples, "
                             f"{self.n_components_}), got an array of shape {Z.shape}")
        self._sync()
        Zf = np.ascontiguousarray(Z, dtype=self._engine.dtype)
        if not np.all(np.isfinite(Zf)):
            raise ValueError("inverse_transform: the codes contain NaN or infinity")
        engine = self._engine.part(self._code_stop, len(self.network_.specs))
        return self._link(self._run(engine, Zf))

    def _row_scores(self, raw, Y):
        """Minus each row's mean reconstruction error over its features."""
        if self.loss == "binary_crossentropy":
            # softplus(z) - y z: the cross-entropy of sigmoid(z) against y
            err = np.logaddexp(0.0, raw) - Y * raw
        else:
            err = (raw - Y) ** 2
        return -err.mean(axis=1)

    def score_samples(self, X):
        """Minus each row's reconstruction error (the mean squared error or
        the mean binary cross-entropy over its features): as scikit-learn's
        score_samples, the lower, the more abnormal."""
        Xf = self._checked_flat(X)
        raw = self._run(self._engine, Xf)
        return self._row_scores(raw.astype(np.float64), Xf.astype(np.float64))

    def score(self, X, y=None, sample_weight=None):
        """The mean of score_samples(X): minus the mean reconstruction error."""
        return float(np.average(self.score_samples(X), weights=sample_weight))
