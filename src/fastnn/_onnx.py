"""ONNX export of fitted fastnn estimators, built with the ``onnx`` package
alone (an optional extra: ``pip install 'fastnn[onnx]'``).

``to_onnx(estimator, X_sample=None)`` gives an ``onnx.ModelProto`` that
computes what the estimator predicts, in the dtype the estimator runs in:

- classifiers: ``label`` (n,) (int64 or string, as the classes; (n, L)
  int64 for multilabel) and ``probabilities`` (n, n_classes): the outputs
  of skl2onnx's converters with ``zipmap=False``;
- regressors: ``variable`` (n, n_outputs);
- Autoencoder: ``variable`` (n, n_components), its transform (the code);
- BernoulliRBM: ``variable`` (n, n_components), its transform.

Every NeuralNet* layer kind is exported: Dense (per step on sequences),
Activation, BatchNorm (running statistics), Conv2D, MaxPool2D, AvgPool2D,
Flatten, SimpleRNN, LSTM and GRU (ONNX's gate orders: LSTM i, o, f, c from
PyTorch's i, f, g, o; GRU z, r, h from r, z, n, with linear_before_reset=1,
PyTorch's cell), and Dropout, GaussianNoise and the Random* augmentations
as the identity they are at predict. The input is ``X`` of shape
(n, n_features), or (n, *sample_shape) when ``X_sample`` has samples of
more than one axis; ``X_sample``'s dtype (float32 or float64) is the
input's, cast to the model's inside the graph.

``register_skl2onnx()`` registers the converters with skl2onnx, so that
``skl2onnx.to_onnx(Pipeline([... , fastnn estimator]), X)`` converts in
one call; ``to_onnx`` of anything that is not a fastnn estimator (a
Pipeline) does both.
"""
import numpy as np
from sklearn.utils.validation import check_is_fitted

OPSET = 17
IR_VERSION = 8  # what opset 17 needs; runtimes a few years old read it


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("to_onnx needs the onnx package, an optional extra of fastnn: "
                          "pip install 'fastnn[onnx]' (or pip install onnx)") from None
    return onnx


def _fastnn_kind(est):
    """'network', 'linear', 'logistic', 'rbm' or None (not a fastnn estimator
    we export)."""
    from fastnn.linear_model import LinearRegression, LogisticRegression
    from fastnn.neural_network import BernoulliRBM
    from fastnn.neural_network._base import BaseNetwork

    if isinstance(est, BaseNetwork):
        return "network"
    if isinstance(est, BernoulliRBM):
        return "rbm"
    if isinstance(est, LogisticRegression):
        return "logistic"
    if isinstance(est, LinearRegression):
        return "linear"
    return None


class _Graph:
    """Emits nodes and initializers with unique names, into lists (a model of
    our own) or into skl2onnx's scope and container."""

    def __init__(self, dtype, scope=None, container=None):
        self.onnx = _onnx()
        self.dtype = np.dtype(dtype)
        self.scope, self.container = scope, container
        self.nodes, self.inits, self._n = [], [], 0

    def name(self, hint):
        if self.scope is not None:
            return self.scope.get_unique_variable_name(hint)
        self._n += 1
        return f"{hint}_{self._n}"

    def const(self, array, hint="c", dtype=None):
        array = np.asarray(array, dtype=self.dtype if dtype is None else dtype)
        name = self.name(hint)
        tensor = self.onnx.numpy_helper.from_array(np.ascontiguousarray(array), name)
        if self.container is not None:
            self.container.add_initializer(name, None, None, tensor)
        else:
            self.inits.append(tensor)
        return name

    def ints(self, values, hint="shape"):
        return self.const(np.asarray(values, dtype=np.int64), hint, np.int64)

    def op(self, op_type, inputs, n_out=1, outputs=None, **attrs):
        outputs = outputs or [self.name(op_type.lower()) for _ in range(n_out)]
        if self.container is not None:
            self.container.add_node(op_type, list(inputs), list(outputs), op_version=OPSET,
                                    name=self.scope.get_unique_operator_name(op_type),
                                    **attrs)
        else:
            self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), list(outputs),
                                                         name=self.name(op_type), **attrs))
        return outputs[0] if n_out == 1 else outputs


# ------------------------------------------------------------------ layers
def _activation(g, x, name, alpha):
    if name in (None, "identity"):
        return x
    if name == "logistic":
        return g.op("Sigmoid", [x])
    if name == "tanh":
        return g.op("Tanh", [x])
    if name == "relu":
        return g.op("Relu", [x])
    # LeakyRelu's and Elu's alpha attributes are float32 (and onnxruntime has
    # no float64 Elu): composed, alpha is a constant in the model's dtype
    if name == "leaky_relu":
        return g.op("Where", [g.op("Greater", [x, g.const(np.zeros(1), "zero")]), x,
                              g.op("Mul", [x, g.const([alpha], "alpha")])])
    if name == "elu":
        zero = g.const(np.zeros(1), "zero")
        neg = g.op("Sub", [g.op("Exp", [g.op("Min", [x, zero])]), g.const(np.ones(1), "one")])
        return g.op("Where", [g.op("Greater", [x, zero]), x,
                              g.op("Mul", [neg, g.const([alpha], "alpha")])])
    raise ValueError(f"to_onnx: no ONNX form for the activation {name!r}")


# ONNX's gate order from PyTorch's (fastnn's): block k of ONNX's weights is
# block _GATES[cell][k] of ours
_GATES = {"lstm": (0, 3, 1, 2), "gru": (1, 0, 2), "rnn_tanh": (0,), "rnn_relu": (0,)}


def _recurrent(g, x, desc, v):
    H = desc["units"]
    cell = desc["cell"]
    order = _GATES[cell]

    def gates(a):
        return np.concatenate([a[k * H:(k + 1) * H] for k in order], axis=0)

    W = g.const(gates(v["weight_ih"])[None], "W")
    R = g.const(gates(v["weight_hh"])[None], "R")
    B = g.const(np.concatenate([gates(v["bias_ih"]), gates(v["bias_hh"])])[None], "B")
    xt = g.op("Transpose", [x], perm=[1, 0, 2])  # (T, N, F): ONNX's default layout
    if cell == "lstm":
        Y, Yh = g.op("LSTM", [xt, W, R, B], n_out=2, hidden_size=H)
    elif cell == "gru":
        Y, Yh = g.op("GRU", [xt, W, R, B], n_out=2, hidden_size=H, linear_before_reset=1)
    else:
        Y, Yh = g.op("RNN", [xt, W, R, B], n_out=2, hidden_size=H,
                     activations=["Tanh" if cell == "rnn_tanh" else "Relu"])
    if desc["return_sequences"]:  # Y: (T, 1, N, H) -> (N, T, H)
        return g.op("Transpose", [g.op("Squeeze", [Y, g.ints([1], "axes")])], perm=[1, 0, 2])
    return g.op("Squeeze", [Yh, g.ints([0], "axes")])  # (1, N, H) -> (N, H)


def _network_graph(g, est, x, stop=None):
    """The raw outputs of est's layers [0, stop) on x (flat (n, in_size)),
    in inference mode; returns (name, output shape per sample)."""
    from fastnn.layers import Dense

    net = est.network_
    engine = est._engine
    est._sync()
    views = net.views(engine.params)
    stats = net.stat_views(engine.stats)
    shape = net.in_shape
    if len(shape) > 1:
        x = g.op("Reshape", [x, g.ints([-1, *shape])])
    stop = len(net.specs) if stop is None else stop
    for i in range(stop):
        spec, built = net.specs[i], net.built[i]
        desc = built.desc
        kind = None if desc is None else desc["kind"]
        v = views[i]
        if desc is None:  # Flatten
            x = g.op("Flatten", [x], axis=1)
        elif kind == "dense":
            W, b = g.const(v["W"], "W"), g.const(v["b"], "b")
            if isinstance(spec, Dense) and spec._per_step and len(shape) == 2:
                x = g.op("Add", [g.op("MatMul", [x, W]), b])  # every step of (N, T, F)
            else:
                if len(shape) > 1:
                    x = g.op("Flatten", [x], axis=1)
                x = g.op("Gemm", [x, W, b])
            x = _activation(g, x, desc["activation"], desc["act_param"])
        elif kind == "activation":
            x = _activation(g, x, desc["activation"], desc["act_param"])
        elif kind in ("dropout", "noise", "affine"):
            pass  # the identity at predict
        elif kind == "batchnorm":
            x = g.op("BatchNormalization",
                     [x, g.const(v["gamma"], "gamma"), g.const(v["beta"], "beta"),
                      g.const(stats[i]["running_mean"], "mean"),
                      g.const(stats[i]["running_var"], "var")], epsilon=float(desc["eps"]))
        elif kind == "conv2d":
            pt, pb, pl, pr = desc["padding"]
            x = g.op("Conv", [x, g.const(v["W"], "W"), g.const(v["b"], "b")],
                     kernel_shape=list(desc["kernel"]), strides=list(desc["stride"]),
                     pads=[pt, pl, pb, pr])
            x = _activation(g, x, desc["activation"], desc["act_param"])
        elif kind == "pool2d":
            x = g.op("MaxPool" if desc["mode"] == "max" else "AveragePool", [x],
                     kernel_shape=list(desc["pool"]), strides=list(desc["stride"]))
        elif kind == "rnn":
            x = _recurrent(g, x, desc, v)
        else:
            raise ValueError(f"to_onnx: no ONNX form for the layer {spec!r}")
        shape = built.out_shape
    return x, shape


# --------------------------------------------------------------- estimators
def _labels(est):
    """classes_ as an ONNX constant's array: int64 or strings."""
    classes = np.asarray(est.classes_)
    if classes.dtype.kind in "iub":
        return classes.astype(np.int64), np.int64
    if classes.dtype.kind == "f" and np.all(classes == np.round(classes)):
        return classes.astype(np.int64), np.int64
    if classes.dtype.kind in "UO" and all(isinstance(c, str) for c in classes):
        return classes.astype(object), object
    raise ValueError(f"to_onnx: class labels of dtype {classes.dtype} (non-integral numbers "
                     "or mixed objects) have no ONNX label type; use integer or string "
                     "labels")


def _classifier_outputs(g, est, raw, link, outputs):
    """label and probabilities from the raw scores (n, K)."""
    if link == "multilabel":
        probs = g.op("Sigmoid", [raw], outputs=[outputs[1]])
        zero = g.const(np.zeros(1), "zero")
        g.op("Cast", [g.op("Greater", [raw, zero])], outputs=[outputs[0]],
             to=g.onnx.TensorProto.INT64)
        return
    if link == "softmax":
        probs = g.op("Softmax", [raw], outputs=[outputs[1]], axis=1)
    else:  # one logistic output: P(class 1)
        p = g.op("Sigmoid", [raw])
        probs = g.op("Concat", [g.op("Sub", [g.const(np.ones(1), "one"), p]), p],
                     outputs=[outputs[1]], axis=1)
    labels, dtype = _labels(est)
    idx = g.op("ArgMax", [probs], axis=1, keepdims=0)
    g.op("Gather", [g.const(labels, "classes", dtype=dtype), idx], outputs=[outputs[0]],
         axis=0)


def _emit(g, est, x, outputs):
    """est's prediction graph from x (flat, the model's dtype) to ``outputs``
    (names: [label, probabilities] or [variable])."""
    kind = _fastnn_kind(est)
    if kind == "rbm":  # transform: P(h = 1 | x)
        raw = g.op("Gemm", [x, g.const(est.components_, "components"),
                            g.const(est.intercept_hidden_, "intercept_hidden")], transB=1)
        g.op("Sigmoid", [raw], outputs=[outputs[0]])
        return
    if kind in ("linear", "logistic"):
        coef = np.atleast_2d(np.asarray(est.coef_))
        intercept = np.atleast_1d(np.asarray(est.intercept_, dtype=np.float64))
        raw_out = None if kind == "logistic" else outputs[0]
        raw = g.op("Gemm", [x, g.const(coef, "coef"), g.const(intercept, "intercept")],
                   outputs=[raw_out] if raw_out else None, transB=1)
        if kind == "logistic":
            _classifier_outputs(g, est, raw, "softmax" if coef.shape[0] > 1 else "logistic",
                                outputs)
        return
    from fastnn.neural_network import Autoencoder

    if isinstance(est, Autoencoder):
        code, _ = _network_graph(g, est, x, stop=est._code_stop)
        g.op("Flatten", [code], outputs=[outputs[0]], axis=1)
        return
    raw, _ = _network_graph(g, est, x)
    act = est.out_activation_
    if hasattr(est, "classes_"):
        link = "multilabel" if getattr(est, "_multilabel", False) else act
        _classifier_outputs(g, est, raw, link, outputs)
    elif act == "exp":
        g.op("Exp", [raw], outputs=[outputs[0]])
    else:
        g.op("Identity", [raw], outputs=[outputs[0]])


def _model_dtype(est):
    kind = _fastnn_kind(est)
    if kind == "network":
        return est._engine.dtype
    return np.asarray(est.components_ if kind == "rbm" else est.coef_).dtype


def _output_specs(est):
    """[(name, elem dtype, shape per row)] of est's graph outputs."""
    dtype = _model_dtype(est)
    if hasattr(est, "classes_"):
        if getattr(est, "_multilabel", False):
            return [("label", np.int64, [len(est.classes_)]),
                    ("probabilities", dtype, [len(est.classes_)])]
        return [("label", _labels(est)[1], []), ("probabilities", dtype, [len(est.classes_)])]
    if hasattr(est, "n_components_"):
        return [("variable", dtype, [est.n_components_])]
    if _fastnn_kind(est) == "rbm":
        return [("variable", dtype, [est.components_.shape[0]])]
    coef = np.asarray(est.coef_) if hasattr(est, "coef_") else None
    n_out = est.n_outputs_ if coef is None else (1 if coef.ndim == 1 else coef.shape[0])
    return [("variable", dtype, [n_out])]


def _elem(onnx, dtype):
    if dtype is object:
        return onnx.TensorProto.STRING
    return onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def to_onnx(estimator, X_sample=None, *, name=None):
    """An ``onnx.ModelProto`` computing ``estimator``'s predictions (see the
    module's doc for the outputs). ``X_sample``: a few rows of input, whose
    dtype and per-sample shape the model's input takes (default: flat rows in
    the estimator's dtype). Anything that is not a fastnn estimator (a
    Pipeline holding one) goes to skl2onnx with fastnn's converters
    registered."""
    onnx = _onnx()
    if _fastnn_kind(estimator) is None:
        try:
            import skl2onnx
        except ImportError:
            raise ImportError(f"to_onnx of a {type(estimator).__name__} (not a fastnn "
                              "estimator) goes through skl2onnx: pip install skl2onnx") from None
        if X_sample is None:
            raise ValueError("to_onnx of a pipeline needs X_sample (skl2onnx infers the input "
                             "type from it)")
        register_skl2onnx()
        return skl2onnx.to_onnx(estimator, X_sample, target_opset=OPSET,
                                options={id(s): {"zipmap": False}
                                         for s in _classifiers_in(estimator)})
    est = estimator
    check_is_fitted(est)
    if hasattr(est, "network_") and any(b.desc and b.desc["kind"] == "tree"
                                        for b in est.network_.built):
        raise ValueError(f"to_onnx: {type(est).__name__} reads trees, which ONNX has no "
                         "operator to batch by level; it cannot be exported")
    dtype = _model_dtype(est)
    n_features = est.n_features_in_
    in_shape = [n_features]
    if _fastnn_kind(est) == "network":
        sample = list(est.network_.in_shape)
        n_features = int(np.prod(sample))
        # fitted on (n, C, H, W) or (n, T, F) X: that input, else flat rows
        in_shape = [n_features] if est.n_features_in_ == n_features else sample
    in_dtype = dtype
    if X_sample is not None:
        Xs = np.asarray(X_sample)
        if Xs.dtype not in (np.float32, np.float64):
            raise ValueError(f"X_sample must hold float32 or float64 values, got {Xs.dtype}")
        in_dtype = Xs.dtype
        if Xs.ndim > 2:
            if _fastnn_kind(est) != "network" or Xs.shape[1:] != est.network_.in_shape:
                raise ValueError(f"X_sample has samples of shape {Xs.shape[1:]}; the estimator "
                                 "takes " + (f"{est.network_.in_shape}"
                                             if _fastnn_kind(est) == "network"
                                             else f"({n_features},)"))
            in_shape = list(Xs.shape[1:])
        elif Xs.ndim != 2 or Xs.shape[1] != n_features:
            raise ValueError(f"X_sample must have {n_features} columns, got shape {Xs.shape}")
        else:
            in_shape = [n_features]
    g = _Graph(dtype)
    x = "X"
    if len(in_shape) > 1:
        x = g.op("Flatten", [x], axis=1)
    if np.dtype(in_dtype) != np.dtype(dtype):
        x = g.op("Cast", [x], to=_elem(onnx, dtype))
    specs = _output_specs(est)
    _emit(g, est, x, [s[0] for s in specs])
    helper = onnx.helper
    inputs = [helper.make_tensor_value_info("X", _elem(onnx, in_dtype), [None, *in_shape])]
    outputs = [helper.make_tensor_value_info(n, _elem(onnx, t), [None, *shape])
               for n, t, shape in specs]
    graph = helper.make_graph(g.nodes, name or type(est).__name__, inputs, outputs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="fastnn", ir_version=IR_VERSION)
    onnx.checker.check_model(model, full_check=True)
    return model


# ----------------------------------------------------------------- skl2onnx
def _classifiers_in(est):
    """fastnn classifiers inside a (nested) Pipeline / ColumnTransformer,
    whose probabilities stay a tensor (zipmap=False) as to_onnx gives them."""
    found = []
    if _fastnn_kind(est) is not None:
        if hasattr(est, "classes_"):
            found.append(est)
        return found
    for attr in ("steps", "transformers_", "transformer_list"):
        for item in getattr(est, attr, None) or ():
            sub = item[1] if isinstance(item, tuple) else item
            if not isinstance(sub, str):
                found += _classifiers_in(sub)
    return found


def _shape_calculator(operator):
    from skl2onnx.common.data_types import (
        DoubleTensorType, FloatTensorType, Int64TensorType, StringTensorType,
    )
    est = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    tensor = DoubleTensorType if _model_dtype(est) == np.float64 else FloatTensorType
    for var, (_, elem, shape) in zip(operator.outputs, _output_specs(est)):
        if elem is object:
            var.type = StringTensorType([n, *shape])
        elif elem is np.int64:
            var.type = Int64TensorType([n, *shape])
        else:
            var.type = tensor([n, *shape])


def _converter(scope, operator, container):
    est = operator.raw_operator
    g = _Graph(_model_dtype(est), scope, container)
    x = operator.inputs[0].full_name
    in_type = operator.inputs[0].type
    want = "DoubleTensorType" if g.dtype == np.float64 else "FloatTensorType"
    if type(in_type).__name__ != want:
        x = g.op("Cast", [x], to=_elem(g.onnx, g.dtype))
    _emit(g, est, x, [o.full_name for o in operator.outputs])


def register_skl2onnx():
    """Register fastnn's estimators with skl2onnx (``skl2onnx.to_onnx`` of a
    pipeline holding them then converts in one call). Idempotent."""
    from skl2onnx import update_registered_converter

    import fastnn

    for name in ("LinearRegression", "LogisticRegression", "MLPClassifier", "MLPRegressor",
                 "NeuralNetClassifier", "NeuralNetRegressor", "Autoencoder", "BernoulliRBM"):
        cls = getattr(fastnn, name)
        is_clf = name.endswith("Classifier") or name == "LogisticRegression"
        update_registered_converter(
            cls, f"Fastnn{name}", _shape_calculator, _converter,
            options={"zipmap": [True, False, "columns"], "nocl": [True, False]}
            if is_clf else None)


__all__ = ["register_skl2onnx", "to_onnx"]
