"""What every network estimator shares: validation, target encoding, the
network build, the solvers (L-BFGS over the engine's loss and gradient, the
compiled first-order epochs), history and prediction.

Subclasses say which layers stand between the input and the output layer
(``_hidden_specs``) and how samples are shaped (``_in_shape``); the output
layer and the loss follow the target, as in scikit-learn's MLP.
"""
import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.base import is_classifier
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils import TransformerTags, check_random_state, compute_class_weight
from sklearn.utils._available_if import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from fastnn.callbacks import ProgressBar, restore_into
from fastnn.layers import Dense
from fastnn.layers._layers import OutputDense
from fastnn.neural_network._sklearn_callbacks import (
    CallbackSupportMixin, begin_fit, with_callbacks,
)
from fastnn.nn._engine import Engine
from fastnn.nn._network import Network
from fastnn.optimizers import (
    SGD, SOLVERS, Adam, Constant, Optimizer, get_optimizer, get_schedule,
)
from fastnn.utils._labels import encode_labels
from fastnn.utils._threads import blas_single_thread, effective_n_threads
from fastnn.utils._validation import validate_data


def store_init_params(est, params):
    """Store __init__'s arguments (``locals()``) unchanged under their own
    names, as scikit-learn requires; validation happens in fit."""
    for name, value in params.items():
        if name != "self":
            setattr(est, name, value)


def _check_real(name, value, low=None, high=None, low_open=False, high_open=False):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        rng = f"{'(' if low_open else '['}{low}, {high if high is not None else 'inf'}" \
              f"{')' if high_open or high is None else ']'}"
        raise ValueError(f"{name} must be a real number in {rng}, got {value!r}")


def _check_int(name, value, low):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")


class BaseNetwork(CallbackSupportMixin):
    """Mixin with the training machinery; the subclass defines __init__.
    Per-epoch callbacks come two ways: fastnn's (``callbacks=[...]``, see
    fastnn.callbacks) and scikit-learn's protocol (``set_callbacks``, see
    _sklearn_callbacks)."""

    _allow_nd = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # transform(X) gives a hidden layer's activations, in the dtype the
        # network runs in: float32 input keeps float32
        tags.transformer_tags = TransformerTags(preserves_dtype=["float64", "float32"])
        return tags

    # ---------------------------------------------------------------- hooks
    def _hidden_specs(self, in_shape):
        raise NotImplementedError

    def _in_shape(self, X):
        return (X.shape[1],)

    @property
    def network_(self):
        """The fitted network (fastnn.nn.Network): its layer specs and shapes."""
        try:
            return self._engine.network
        except AttributeError:
            raise AttributeError("network_ exists once the estimator is fitted") from None

    def _hidden_ends(self):
        """Per hidden layer, the index of its last layer spec (the output
        layer, the last spec, is not a hidden layer)."""
        return list(range(len(self.network_.specs) - 1))

    def _dense_indices(self):
        """Indices of the layers whose W, b are coefs_ / intercepts_."""
        return [i for i, s in enumerate(self.network_.specs) if isinstance(s, Dense)]

    # ----------------------------------------------------------- validation
    def _check_hyper_parameters(self):
        solver = self.solver
        if not isinstance(solver, Optimizer) and solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS} or a fastnn.optimizers "
                             f"Optimizer, got {solver!r}")
        _check_real("alpha", self.alpha, 0)
        _check_int("max_iter", self.max_iter, 1)
        _check_real("tol", self.tol, 0)
        _check_real("learning_rate_init", self.learning_rate_init, 0, low_open=True)
        _check_real("power_t", self.power_t, 0)
        _check_real("momentum", self.momentum, 0, 1)
        _check_real("validation_fraction", self.validation_fraction, 0, 1, high_open=True)
        _check_real("beta_1", self.beta_1, 0, 1, high_open=True)
        _check_real("beta_2", self.beta_2, 0, 1, high_open=True)
        _check_real("epsilon", self.epsilon, 0, low_open=True)
        if not (self.n_iter_no_change == np.inf):
            _check_int("n_iter_no_change", self.n_iter_no_change, 1)
        _check_int("max_fun", self.max_fun, 1)
        if self.clip_norm is not None:
            _check_real("clip_norm", self.clip_norm, 0, low_open=True)
        bs = self.batch_size
        if not (bs is None or bs == "auto" or (isinstance(bs, numbers.Integral) and
                                                not isinstance(bs, bool) and bs >= 1)):
            raise ValueError(f"batch_size must be 'auto', None or an int >= 1, got {bs!r}")
        get_schedule(self.learning_rate, self.power_t)  # raises for an unknown schedule
        v = self.verbose
        if not isinstance(v, (bool, np.bool_)) and not (isinstance(v, numbers.Integral) and
                                                         v >= 0):
            raise ValueError(f"verbose must be a bool or an int >= 0 (1: a line per epoch, "
                             f"2: a progress bar), got {v!r}")
        for name in ("shuffle", "warm_start", "early_stopping", "nesterovs_momentum"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")
        if self.dtype not in (None, "float32", "float64", np.float32, np.float64):
            raise ValueError(f"dtype must be None, 'float32' or 'float64', got {self.dtype!r}")
        nt = self.n_threads
        if nt is not None and (not isinstance(nt, numbers.Integral) or isinstance(nt, bool)
                               or nt == 0):
            raise ValueError(f"n_threads must be None or a non-zero int (negative: all cores "
                             f"but -n_threads - 1), got {nt!r}")

    def _optimizer(self):
        """The Optimizer and Schedule of a first-order solver, with scikit-learn's
        meanings: momentum/nesterovs_momentum drive 'sgd', beta_1/beta_2/epsilon
        drive 'adam', and 'adam' ignores a string learning_rate as scikit-learn does."""
        if isinstance(self.solver, Optimizer):
            opt = self.solver
        else:
            opt = get_optimizer(self.solver, self.learning_rate_init)
            if isinstance(opt, SGD):
                opt.set_params(momentum=self.momentum, nesterov=self.nesterovs_momentum)
            elif isinstance(opt, Adam):
                opt.set_params(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)
        opt._validate()
        if self.solver == "adam" and isinstance(self.learning_rate, str):
            schedule = Constant()
        else:
            schedule = get_schedule(self.learning_rate, self.power_t)
        return opt, schedule

    def _check_X(self, X, reset):
        X = validate_data(self, X, accept_sparse=["csr", "csc"], dtype=[np.float64, np.float32],
                          reset=reset, allow_nd=self._allow_nd)
        if sp.issparse(X):
            X = X.toarray()
        return X

    def _check_X_y(self, X, y, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=[np.float64, np.float32], reset=reset,
                             allow_nd=self._allow_nd, y_numeric=not is_classifier(self))
        if sp.issparse(X):
            X = X.toarray()
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn("A column-vector y was passed when a 1d array was expected. Please "
                          "change the shape of y to (n_samples, ), for example using ravel().",
                          DataConversionWarning)
            y = y.ravel()
        return X, y

    def _check_sample_shape(self, X):
        """Samples of X (n, C, H, W) have the fitted per-sample shape (the
        width of flat X is scikit-learn's n_features_in_ check)."""
        shape = self.network_.in_shape
        if X.ndim > 2 and X.shape[1:] != shape:
            raise ValueError(f"X has samples of shape {X.shape[1:]}; the network was fitted on "
                             f"samples of shape {shape}")

    def _work_dtype(self, X):
        """float32 input trains in float32 (no copy), anything else in float64,
        unless ``dtype`` says otherwise."""
        if self.dtype is not None:
            return np.dtype(self.dtype)
        return X.dtype if X.dtype == np.float32 else np.dtype(np.float64)

    def _flat(self, X, dtype):
        """X as the engine takes it: C-contiguous (n, in_size) of dtype."""
        return np.ascontiguousarray(X.reshape(X.shape[0], -1), dtype=dtype)

    # ----------------------------------------------------- network and state
    def _build(self, X, n_outputs, loss):
        in_shape = self._in_shape(X)
        specs = list(self._hidden_specs(in_shape)) + [self._output_spec(n_outputs)]
        frozen = self._frozen_layers(len(specs))
        return Network(specs, in_shape, loss, frozen=frozen, per_step=self._per_step())

    def _output_spec(self, n_outputs):
        return OutputDense(n_outputs)

    def _per_step(self):
        """Hook: True when the targets are per step of a sequence output (a
        label per tree node)."""
        return False

    def _frozen_layers(self, n_layers):
        return ()

    def _initialize(self, network, dtype):
        self._engine = Engine.initialized(network, self._random_state, dtype)
        self._init_from(self._engine)
        self.n_iter_ = 0
        self.t_ = 0

    def _init_from(self, engine):
        """Hook: NeuralNet* copy given weights (init=) into the engine here."""

    def _publish(self):
        """coefs_ / intercepts_ as views into the flat parameter buffer."""
        views = self.network_.views(self._engine.params)
        idx = self._dense_indices()
        self.coefs_ = [views[i]["W"] for i in idx]
        self.intercepts_ = [views[i]["b"] for i in idx]

    def _sync(self):
        """Honour coefs_ / intercepts_ replaced or edited by the user, and
        re-link them after unpickling (a pickle stores views as copies)."""
        views = None
        params = self._engine.params
        for j, i in enumerate(self._dense_indices()):
            for name, public in (("W", self.coefs_), ("b", self.intercepts_)):
                arr = public[j]
                if isinstance(arr, np.ndarray) and arr.base is params:
                    continue  # still the buffer's own view
                if views is None:
                    views = self.network_.views(params)
                views[i][name][...] = np.asarray(arr, dtype=params.dtype).reshape(
                    views[i][name].shape)
        if views is not None:
            self._publish()

    def __getstate__(self):
        # a copy: object.__getstate__ (which scikit-learn's calls) gives the
        # live __dict__
        state = dict(super().__getstate__())
        state.pop("_split_rows", None)  # O(n_samples): a checkpoint keeps it
        return state

    def __setstate__(self, state):
        if "_params" in state and "_engine" not in state:
            # pickled before the engine object owned the buffers (<= c329a99)
            state = dict(state)
            engine = Engine(state.pop("network_"), state.pop("_params"), state.pop("_stats"))
            engine.opt_state = state.pop("_opt_state", None)
            engine.history = state.pop("_history", engine.history)
            for gone in ("_n_threads", "_value_scale", "_dropout_seed"):
                state.pop(gone, None)
            state["_engine"] = engine
        super().__setstate__(state)
        if "_engine" in self.__dict__ and "coefs_" in self.__dict__:
            # the pickle stored coefs_ as copies: re-link them (a read-only
            # buffer, as joblib memory-maps it, is taken as the truth)
            if self._engine.params.flags.writeable:
                self._sync()
            else:
                self._publish()

    # ---------------------------------------------------------------- fit
    @with_callbacks
    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None,
             validation_data=None, resume_from=None):
        self._check_hyper_parameters()
        resume = resume_from is not None
        if resume:
            if self.solver == "lbfgs":
                raise ValueError("resume_from needs a first-order solver; solver='lbfgs' has "
                                 "no epochs to resume")
            restore_into(self, resume_from)
        if incremental and self.solver == "lbfgs":
            raise ValueError("partial_fit is only available for stochastic optimizers; "
                             "solver='lbfgs' is not")
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        if validation_data is not None and not (
                isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3)):
            raise ValueError("validation_data must be a tuple (X_val, y_val) or (X_val, y_val, "
                             f"sample_weight_val), got {type(validation_data).__name__}"
                             + (f" of length {len(validation_data)}"
                                if isinstance(validation_data, (tuple, list)) else ""))
        first_pass = not resume and (not hasattr(self, "coefs_") or
                                     (not self.warm_start and not incremental))
        X, y = self._check_X_y(X, y, reset=first_pass)
        if not first_pass:
            self._check_sample_shape(X)
        Y, loss, n_outputs = self._encode_targets(y, X.shape[0], first_pass, incremental,
                                                  classes)
        n_threads = effective_n_threads(self.n_threads)
        if not resume:  # a resumed fit goes on with the checkpoint's random state
            self._random_state = check_random_state(self.random_state)
        dtype = self._work_dtype(X)
        Xf = self._flat(X, dtype)
        sw = self._sample_weight(sample_weight, X, Y, loss, dtype)
        # the engine splits every GEMM between its own threads: BLAS runs on one
        with blas_single_thread():
            if first_pass:
                network = self._build(X, n_outputs, loss)
                self.n_outputs_ = n_outputs
                self.n_layers_ = sum(isinstance(s, Dense) for s in network.specs) + 1
                self.out_activation_ = self._out_activation(loss)
                self._initialize(network, dtype)
                self._publish()
                if network.n_train == 0:
                    warnings.warn("every layer with weights is frozen (freeze="
                                  f"{getattr(self, 'freeze', None)!r}): fit will not change "
                                  "any weight", UserWarning)
            else:
                self._sync()
                frozen = frozenset(self._frozen_layers(len(self.network_.specs)))
                if frozen != self.network_.frozen:
                    # freeze changed between fits (fine-tuning after transfer)
                    self._engine = self._engine.refrozen(frozen)
                    self._publish()
                if self._engine.own_buffers(dtype):
                    self._publish()
            engine = self._engine
            engine.n_threads = n_threads
            has_dropout = any(b.desc and (b.desc["kind"] == "dropout" or
                                          b.desc.get("dropout", 0.0) > 0.0)
                              for b in self.network_.built)
            if not resume:
                engine.seed = int(self._random_state.randint(np.iinfo(np.int32).max)) \
                    if has_dropout else 0
            Yf = np.ascontiguousarray(Y, dtype=dtype).ravel()
            callbacks = self._callbacks()
            if self.verbose is not True and self.verbose >= 2:
                callbacks.append(ProgressBar())
            if self.solver == "lbfgs":
                max_epochs = 0  # scikit-learn's leaf task: no epochs to report
            else:
                max_epochs = 1 if incremental else self.max_iter - (
                    self._engine.history.n_iter if resume else 0)
            tasks = begin_fit(self, X, y, sample_weight, max_epochs)
            if tasks is not None and max_epochs:
                callbacks.append(tasks)
            self._fitting_incrementally = incremental
            for cb in callbacks:
                if hasattr(cb, "on_fit_begin"):
                    cb.on_fit_begin(self)
            if self.solver == "lbfgs":
                self._fit_lbfgs(Xf, Yf, sw)
            else:
                self._fit_stochastic(X, Y, Xf, Yf, sw, sample_weight, incremental,
                                     validation_data, callbacks, resume)
            for cb in callbacks:
                if hasattr(cb, "on_fit_end"):
                    cb.on_fit_end(self)
        if not np.all(np.isfinite(self._engine.params)):
            raise ValueError("Solver produced non-finite parameter weights. The input data may "
                             "contain large values and need to be preprocessed.")
        self._publish()
        if tasks is not None:
            tasks.end_fit(self)
        return self

    def _snapshot(self):
        """The attributes that make a shallow copy of this estimator a fitted
        one with the current weights (its own copy of the buffers)."""
        engine = self._engine
        snap = Engine(engine.network, engine.params.copy(), engine.stats.copy())
        views = self.network_.views(snap.params)
        idx = self._dense_indices()
        return {"_engine": snap, "coefs_": [views[i]["W"] for i in idx],
                "intercepts_": [views[i]["b"] for i in idx]}

    def _sample_weight(self, sample_weight, X, Y, loss, dtype):
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, X, dtype=np.float64)
            if np.any(sw < 0) or not np.any(sw > 0):
                raise ValueError("sample_weight must be non-negative and not all zero")
        cw = getattr(self, "class_weight", None)
        if cw is not None and is_classifier(self):
            if loss != "multinomial" and Y.shape[1] > 1:
                raise ValueError("class_weight is not supported for multilabel targets")
            codes = Y.ravel().astype(np.intp)
            if isinstance(cw, dict):
                known = set(self.classes_.tolist())
                for key in cw:
                    if key not in known:
                        raise ValueError(f"class_weight has the key {key!r}, which is not a "
                                         f"class; the classes are {self.classes_.tolist()}")
            # keys are class labels, as in scikit-learn; absent classes weigh 1
            weights = compute_class_weight(cw, classes=self.classes_, y=self.classes_[codes])
            w = weights[codes]
            sw = w if sw is None else sw * w
        return None if sw is None else np.ascontiguousarray(sw, dtype=dtype)

    def _fit_lbfgs(self, Xf, Yf, sw):
        res = self._engine.fit_lbfgs(Xf, Yf, sw, float(self.alpha), self.max_iter,
                                       self.max_fun, self.tol,
                                       self.verbose is True or self.verbose >= 1)
        self.n_iter_ = _check_optimize_result("lbfgs", res, self.max_iter)
        self.loss_ = float(res.fun)

    def _callbacks(self):
        cbs = getattr(self, "callbacks", None)
        if cbs is None:
            return []
        hooks = ("on_fit_begin", "on_epoch_begin", "on_epoch_end", "on_fit_end")
        if not isinstance(cbs, (list, tuple)) or not all(
                any(hasattr(cb, h) for h in hooks) for cb in cbs):
            raise ValueError("callbacks must be a list of callback objects (with on_fit_begin, "
                             "on_epoch_begin, on_epoch_end or on_fit_end; see "
                             "fastnn.callbacks), got "
                             f"{cbs!r}")
        return list(cbs)

    def _fit_stochastic(self, X, Y, Xf, Yf, sw, sample_weight, incremental, validation_data,
                        callbacks=(), resume=False):
        opt, schedule = self._optimizer()
        validate = None
        rows = None  # the training rows of X (all of them unless split)
        if self.early_stopping and validation_data is None:
            # scikit-learn stratifies single-output (binary) classifiers only
            stratify = Y.ravel() if is_classifier(self) and self.n_outputs_ == 1 else None
            if resume:
                tr, va = self._split_rows
            else:
                idx = np.arange(X.shape[0])
                tr, va = train_test_split(idx, random_state=self._random_state,
                                          test_size=self.validation_fraction,
                                          stratify=stratify)
            if len(va) < 2:
                raise ValueError("The validation set is too small. Increase "
                                 "'validation_fraction' or the size of your dataset.")
            # train on X's rows in place (no copy of the training part)
            rows = tr.astype(np.int64)
            self._split_rows = (tr, va)  # for a checkpoint's resume
            Xv, Yv = Xf[va], Y[va]
            swv = None if sample_weight is None else np.asarray(sample_weight)[va]
            validate = self._validator(Xv, Yv, swv, encoded=True)
        elif validation_data is not None:
            Xv, yv = validation_data[0], validation_data[1]
            swv = validation_data[2] if len(validation_data) > 2 else None
            Xv = self._check_X(Xv, reset=False)
            self._check_sample_shape(Xv)
            Xv = self._flat(Xv, self._engine.dtype)
            validate = self._validator(Xv, yv, swv, encoded=False)
        n = X.shape[0] if rows is None else len(rows)
        bs = self.batch_size
        if bs == "auto":
            bs = min(200, n)
        elif bs is None:
            bs = n
        else:
            if bs > n:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                              "going to be clipped")
            bs = int(np.clip(bs, 1, n))
        n_iter_no_change = self.n_iter_no_change
        if n_iter_no_change == np.inf:
            n_iter_no_change = np.iinfo(np.int64).max
        watch = self.early_stopping and validate is not None
        # a new optimizer per fit, as scikit-learn's (partial_fit continues one)
        hist = self._engine.fit_epochs(
            Xf, Yf, sw, self.alpha, opt, schedule, samples_seen=self.t_,
            incremental=incremental, restore_best=watch, clip_norm=self.clip_norm,
            n_samples=n, rows=rows, resume=resume,
            batch_size=bs, max_iter=self.max_iter, tol=self.tol,
            n_iter_no_change=n_iter_no_change, shuffle=self.shuffle, rng=self._random_state,
            # verbose=1 (or True): a line per epoch; 2: a progress bar instead
            verbose=self.verbose is True or self.verbose == 1, validate=validate,
            early_stopping=watch,
            callbacks=callbacks, owner=self)
        self._set_curves(hist, validate is not None, watch)

    def _set_curves(self, hist, validated=None, watched=None):
        """n_iter_, loss_, the curves and bests of a first-order fit's history
        (``validated``, ``watched``: None reads them off the history)."""
        if validated is None:
            validated = bool(hist.validation_scores)
            watched = validated and bool(self.early_stopping)
        self.n_iter_ = hist.n_iter
        # samples seen by the schedules over every fit, scikit-learn's t_
        self.t_ = self._engine.opt_state.samples_seen
        self.loss_ = hist.loss_curve[-1] if hist.loss_curve else None
        self.loss_curve_ = hist.loss_curve
        if validated:
            self.validation_scores_ = hist.validation_scores
            self.validation_loss_curve_ = hist.validation_loss_curve
            self.best_validation_score_ = hist.best_validation_score
        else:
            self.validation_scores_ = None
            self.validation_loss_curve_ = None
            self.best_validation_score_ = None
        self.best_loss_ = None if watched else hist.best_loss

    def _validator(self, Xv, yv, swv, encoded):
        """score (accuracy or R^2, as score()) and the eval-mode loss on a
        validation set, after every epoch."""
        if encoded:
            yv_labels = self._decode(yv)
            Yv = yv
        else:
            yv_labels = np.asarray(yv)
            Yv = self._encode_known(yv_labels)
        score_fn = accuracy_score if is_classifier(self) else r2_score

        engine = self._engine

        def validate(params):
            raw = engine.predict(Xv, params)
            pred = self._raw_to_prediction(raw)
            score = float(score_fn(yv_labels, pred, sample_weight=swv))
            return score, engine.eval_loss(raw, Yv, swv, self.alpha, params)

        return validate

    # ------------------------------------------------------------ predict
    def _checked_flat(self, X):
        """X checked against the fitted model, flat in the engine's dtype
        (edits of coefs_ / intercepts_ taken in first)."""
        check_is_fitted(self, "coefs_")
        X = self._check_X(X, reset=False)
        self._check_sample_shape(X)
        self._sync()
        return self._flat(X, self._engine.dtype)

    def _run(self, engine, Xf):
        """``engine``'s eval-mode raw outputs of flat rows, the BLAS on one
        thread under the engine's own."""
        with blas_single_thread():
            return engine.predict(Xf, n_threads=effective_n_threads(self.n_threads))

    def _raw(self, X):
        Xf = self._checked_flat(X)  # first: it raises NotFittedError before _engine exists
        return self._run(self._engine, Xf)

    def transform(self, X, layer=-1):
        """The activations of a hidden layer for each row of ``X``, flattened
        to ``(n_samples, n_features)``: the features a trained network has
        learnt, to feed another model.

        ``layer`` indexes the hidden layers (of ``hidden_layer_sizes`` for
        MLPs, of ``layers`` for NeuralNet*; the output layer is not one):
        -1, the default, is the last. Inference mode: dropout is off, batch
        norm uses its running statistics, augmentation is the identity."""
        check_is_fitted(self, "coefs_")
        ends = self._hidden_ends()
        n = len(ends)
        if n == 0:
            raise ValueError("transform needs a hidden layer; this network has none")
        if isinstance(layer, bool) or not isinstance(layer, numbers.Integral) or \
                not -n <= layer < n:
            raise ValueError(f"layer must be an integer in [{-n}, {n}) indexing the "
                             f"{n} hidden layers, got {layer!r}")
        Xf = self._checked_flat(X)
        return self._run(self._engine.part(0, ends[layer] + 1), Xf).reshape(len(Xf), -1)

    def fit_transform(self, X, y=None, **fit_params):
        """``fit(X, y, **fit_params)``, then ``transform(X)``: the last hidden
        layer's activations (a network as a Pipeline's feature step)."""
        return self.fit(X, y, **fit_params).transform(X)

    def _out_activation(self, loss):
        return {"multinomial": "softmax", "log_loss": "logistic", "squared_error": "identity",
                "poisson": "exp"}[loss]

    def _link(self, raw):
        act = self.out_activation_
        if act == "softmax":
            return softmax(raw, axis=1)
        if act == "logistic":
            return expit(raw)
        if act == "exp":
            return np.exp(raw)
        return raw


def _stochastic(est):
    if est.solver == "lbfgs":
        raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                             f"{est.solver} is not stochastic.")
    return True


class ClassifierMixinNetwork(BaseNetwork):
    """Targets of a classifier: binary -> one logistic output, multiclass ->
    softmax, multilabel indicator -> one logistic output per label."""

    def fit(self, X, y, sample_weight=None, validation_data=None, resume_from=None):
        """Fit the model to X, y. ``validation_data=(X_val, y_val[, sw_val])``
        scores that set after every epoch (and is what ``early_stopping``
        watches, instead of a ``validation_fraction`` split).
        ``resume_from``: a checkpoint (fastnn.callbacks.ModelCheckpoint) of a
        fit on the same X, y to go on with, up to ``max_iter`` epochs in all."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False,
                         validation_data=validation_data, resume_from=resume_from)

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over X, y; ``classes`` (every label) is required on the first call."""
        if not hasattr(self, "classes_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._fit(X, y, sample_weight=sample_weight, incremental=True, classes=classes)

    def _encode_targets(self, y, n, first_pass, incremental, classes):
        target_type = type_of_target(y, input_name="y")
        if target_type not in ("binary", "multiclass", "multilabel-indicator"):
            raise ValueError(f"Unknown label type: {target_type!r}. MLPClassifier takes "
                             "binary, multiclass or multilabel-indicator targets.")
        multilabel = target_type == "multilabel-indicator"
        if first_pass and not incremental or not hasattr(self, "classes_"):
            if incremental and classes is not None and not multilabel:
                self.classes_ = unique_labels(classes)
                present = unique_labels(y)
                if len(np.setdiff1d(present, self.classes_)):
                    raise ValueError(f"`y` has classes not in `self.classes_`. "
                                     f"`self.classes_` has {self.classes_}. 'y' has "
                                     f"{present}.")
            elif multilabel:
                self.classes_ = np.arange(y.shape[1])
            else:
                self.classes_ = encode_labels(y)[0]
            self._multilabel = multilabel
        else:
            if incremental and classes is not None and not multilabel and \
                    not np.array_equal(self.classes_, unique_labels(classes)):
                raise ValueError(f"`classes={classes!r}` is not the same as on last call to "
                                 f"partial_fit, was: {self.classes_!r}")
            present = unique_labels(y)
            if multilabel != getattr(self, "_multilabel", False):
                raise ValueError("y's target type differs from the first fit's")
            if self.warm_start and not incremental:
                if set(present) != set(self.classes_):
                    raise ValueError("warm_start can only be used where `y` has the same "
                                     "classes as in the previous call to fit. Previously got "
                                     f"{self.classes_}, `y` has {present}")
            elif not multilabel and len(np.setdiff1d(present, self.classes_,
                                                     assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` "
                                 f"has {self.classes_}. 'y' has {present}.")
        if self._multilabel:
            Y = y.astype(np.float64)
            loss = "log_loss"
        else:
            codes = np.searchsorted(self.classes_, y)
            if len(self.classes_) <= 2:
                Y = codes.reshape(-1, 1).astype(np.float64)
                loss = "log_loss"
            else:
                Y = codes.reshape(-1, 1).astype(np.float64)
                loss = "multinomial"
        if len(self.classes_) < 2 and not self._multilabel:
            raise ValueError("the classifier needs samples of at least 2 classes in the "
                             f"data, but the data contains only one class: "
                             f"{self.classes_[0]!r}")
        n_outputs = (Y.shape[1] if self._multilabel else
                     (1 if loss == "log_loss" else len(self.classes_)))
        return Y, loss, n_outputs

    def _encode_known(self, y):
        y = np.asarray(y)
        if getattr(self, "_multilabel", False):
            return y.astype(np.float64)
        if len(np.setdiff1d(unique_labels(y), self.classes_)):
            raise ValueError("validation labels contain classes not seen in training")
        return np.searchsorted(self.classes_, y).reshape(-1, 1).astype(np.float64)

    def _decode(self, Y):
        if getattr(self, "_multilabel", False):
            return np.asarray(Y).astype(int)
        return self.classes_[np.asarray(Y).ravel().astype(np.intp)]

    def _raw_to_prediction(self, raw):
        if getattr(self, "_multilabel", False):
            return (raw > 0).astype(int)
        if raw.shape[1] == 1:
            return self.classes_[(raw.ravel() > 0).astype(np.intp)]
        return self.classes_[raw.argmax(axis=1)]

    def predict(self, X):
        """Class labels (an indicator matrix for multilabel targets)."""
        return self._raw_to_prediction(self._raw(X))

    def predict_proba(self, X):
        """Class probabilities: (n, n_classes); (n, n_labels) for multilabel."""
        # float32 models give float32 probabilities, as scikit-learn's do
        p = self._link(self._raw(X))
        if p.shape[1] == 1 and not getattr(self, "_multilabel", False):
            return np.hstack([1.0 - p, p])
        return p

    def predict_log_proba(self, X):
        """``log(predict_proba(X))``, as scikit-learn's MLP defines it."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


class RegressorMixinNetwork(BaseNetwork):
    """Targets of a regressor: (n,) or (n, n_outputs) reals; identity output
    with the squared error, or exp output with the Poisson deviance."""

    def fit(self, X, y, sample_weight=None, validation_data=None, resume_from=None):
        """Fit the model to X, y (see the classifiers' fit for validation_data
        and resume_from)."""
        if self.loss not in ("squared_error", "poisson"):
            raise ValueError(f"loss must be 'squared_error' or 'poisson', got {self.loss!r}")
        return self._fit(X, y, sample_weight=sample_weight, incremental=False,
                         validation_data=validation_data, resume_from=resume_from)

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over X, y."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _encode_targets(self, y, n, first_pass, incremental, classes):
        y = np.asarray(y, dtype=np.float64)
        loss = getattr(self, "loss", "squared_error")
        if loss == "poisson" and np.any(y < 0):
            raise ValueError("loss='poisson' requires non-negative y")
        Y = y.reshape(n, -1)
        if not first_pass and Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {Y.shape[1]} outputs, the model was fitted with "
                             f"{self.n_outputs_}")
        return Y, loss, Y.shape[1]

    def _encode_known(self, y):
        return np.asarray(y, dtype=np.float64).reshape(len(y), -1)

    def _decode(self, Y):
        Y = np.asarray(Y)
        return Y.ravel() if Y.shape[1] == 1 else Y

    def _raw_to_prediction(self, raw):
        out = self._link(raw)
        return out.ravel() if out.shape[1] == 1 else out

    def predict(self, X):
        """Predicted values: (n,) for one output, (n, n_outputs) otherwise."""
        return self._raw_to_prediction(self._raw(X))

