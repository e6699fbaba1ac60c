"""fastnn.to_onnx: every estimator and layer kind exported, checked with
onnx.checker (full_check) and run (onnxruntime where it has the kernels,
else onnx's ReferenceEvaluator): outputs equal fastnn's within 1e-5 in
float32 and 1e-9 in float64. And pipelines through skl2onnx."""
import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import fastnn
from fastnn.layers import (
    GRU, LSTM, Activation, AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, GaussianNoise,
    MaxPool2D, RandomFlip, RandomRotation, RandomTranslation, RandomZoom, SimpleRNN,
)

onnx = pytest.importorskip("onnx")
TOL = {np.float32: 1e-5, np.float64: 1e-9}


def _run(model, X):
    """The model's outputs on X: onnxruntime, or the reference evaluator for
    what onnxruntime has no kernel for (some float64 recurrent/conv ops)."""
    try:
        import onnxruntime as ort
        sess = ort.InferenceSession(model.SerializeToString(),
                                    providers=["CPUExecutionProvider"])
        return sess.run(None, {"X": X})
    except ImportError:
        pass
    except Exception as e:  # a dtype onnxruntime has no kernel for
        if not any(why in str(e) for why in ("NOT_IMPLEMENTED", "does not support double")):
            raise
    from onnx.reference import ReferenceEvaluator
    return ReferenceEvaluator(model).run(None, {"X": X})


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16.0, y[:400]


def _fit(est, X, y=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X) if y is None else est.fit(X, y)


def _check_classifier(est, X, dtype):
    label, proba = _run(fastnn.to_onnx(est), X)
    assert proba.dtype == dtype
    np.testing.assert_allclose(proba, est.predict_proba(X), rtol=TOL[dtype], atol=TOL[dtype])
    np.testing.assert_array_equal(label, est.predict(X))


def _check_regressor(est, X, dtype):
    (out,) = _run(fastnn.to_onnx(est), X)
    assert out.dtype == dtype
    want = est.predict(X)
    np.testing.assert_allclose(out, want.reshape(len(X), -1), rtol=TOL[dtype], atol=TOL[dtype])


ACTS = ["identity", "logistic", "tanh", "relu", "leaky_relu", "elu"]
IMAGE_NETS = {
    "conv-bn-pools": lambda: [
        RandomFlip(), RandomTranslation(0.1, 0.1), RandomRotation(0.05), RandomZoom(0.1),
        Conv2D(4, 3, padding="same", activation="relu"), BatchNorm(), MaxPool2D(2),
        Conv2D(5, 2, stride=(2, 1), padding=(1, 0), activation="elu", alpha=0.7),
        AvgPool2D((2, 1), stride=1), Flatten(), Dropout(0.2), Dense(8, "tanh")],
    "even-kernel-same-and-dense-without-flatten": lambda: [
        GaussianNoise(0.1), Conv2D(3, 4, padding="same", activation="leaky_relu", alpha=0.2),
        Conv2D(2, (3, 2), padding="valid"), Activation("logistic"), Dense(6, "relu")],
}
SEQ_NETS = {
    "lstm-gru-rnn": lambda: [LSTM(6, return_sequences=True), GRU(5, return_sequences=True),
                             Dense(4, "leaky_relu"), SimpleRNN(3)],
    "rnn-relu-sequences-bn-flatten": lambda: [SimpleRNN(5, activation="relu",
                                                        return_sequences=True),
                                              BatchNorm(), Flatten(), Dense(4, "elu")],
    "gru-last": lambda: [GRU(7)],
    "lstm-sequences-to-output": lambda: [LSTM(4, return_sequences=True)],
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_models(digits, dtype):
    X, y = digits
    X = X.astype(dtype)
    _check_regressor(_fit(fastnn.LinearRegression(alpha=1.0), X, y.astype(float)), X, dtype)
    Y2 = np.column_stack([y, y ** 2]).astype(float)
    _check_regressor(_fit(fastnn.LinearRegression(), X, Y2), X, dtype)
    _check_classifier(_fit(fastnn.LogisticRegression(max_iter=200), X, y), X, dtype)
    _check_classifier(_fit(fastnn.LogisticRegression(), X, y > 4), X, dtype)
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                      "nine"])[y]
    _check_classifier(_fit(fastnn.LogisticRegression(max_iter=200), X, names), X, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mlps(digits, dtype):
    X, y = digits
    X = X.astype(dtype)
    kw = dict(max_iter=5, random_state=0)
    for act in ACTS:
        _check_classifier(_fit(fastnn.MLPClassifier((12, 7), activation=act, **kw)
                               if act in ("identity", "logistic", "tanh", "relu")
                               else fastnn.NeuralNetClassifier([Dense(12, act, alpha=0.3)], **kw),
                               X, y), X, dtype)
    _check_classifier(_fit(fastnn.MLPClassifier((16,), batch_norm=True, dropout=0.3, **kw),
                           X, y), X, dtype)
    _check_classifier(_fit(fastnn.MLPClassifier((8,), **kw), X, y % 2), X, dtype)
    Y = np.column_stack([y % 2, y > 4, y == 3]).astype(int)  # multilabel
    est = _fit(fastnn.MLPClassifier((8,), **kw), X, Y)
    label, proba = _run(fastnn.to_onnx(est), X)
    np.testing.assert_array_equal(label, est.predict(X))
    np.testing.assert_allclose(proba, est.predict_proba(X), rtol=TOL[dtype], atol=TOL[dtype])
    _check_regressor(_fit(fastnn.MLPRegressor(hidden_layer_sizes=(8,), **kw), X,
                          np.column_stack([y, -y]) / 9.0), X, dtype)
    _check_regressor(_fit(fastnn.MLPRegressor(loss="poisson", hidden_layer_sizes=(8,), **kw),
                          X, y.astype(float)), X, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(IMAGE_NETS))
def test_image_layers(digits, dtype, name):
    X, y = digits
    X = X.astype(dtype)
    est = _fit(fastnn.NeuralNetClassifier(IMAGE_NETS[name](), input_shape=(1, 8, 8),
                                          max_iter=3, random_state=0), X, y)
    _check_classifier(est, X, dtype)
    # (n, C, H, W) input: X_sample gives the model that input shape
    X4 = X.reshape(-1, 1, 8, 8)
    label, proba = _run(fastnn.to_onnx(est, X4[:2]), X4)
    np.testing.assert_allclose(proba, est.predict_proba(X), rtol=TOL[dtype], atol=TOL[dtype])
    reg = _fit(fastnn.NeuralNetRegressor(IMAGE_NETS[name](), input_shape=(1, 8, 8), max_iter=3,
                                         random_state=0), X, y / 9.0)
    _check_regressor(reg, X, dtype)
    # fitted on images: the model takes images by default, flat rows with a flat X_sample
    img = _fit(fastnn.NeuralNetClassifier(IMAGE_NETS[name](), max_iter=2, random_state=0), X4, y)
    model = fastnn.to_onnx(img)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims[1:]] == [1, 8, 8]
    np.testing.assert_allclose(_run(model, X4)[1], img.predict_proba(X4), rtol=TOL[dtype],
                               atol=TOL[dtype])
    np.testing.assert_allclose(_run(fastnn.to_onnx(img, X[:1]), X)[1], img.predict_proba(X4),
                               rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(SEQ_NETS))
def test_recurrent_layers(digits, dtype, name):
    if dtype == np.float64 and "rnn-relu" in name:
        pytest.skip("no runtime here runs a float64 RNN op with Relu: onnxruntime's RNN is "
                    "float32 only, onnx's reference RNN knows only Tanh (float32 runs above)")
    X, y = digits
    X = X.astype(dtype)
    est = _fit(fastnn.NeuralNetClassifier(SEQ_NETS[name](), input_shape=(8, 8), max_iter=3,
                                          random_state=0), X, y)
    _check_classifier(est, X, dtype)
    X3 = X.reshape(-1, 8, 8)
    label, proba = _run(fastnn.to_onnx(est, X3[:1]), X3)
    np.testing.assert_allclose(proba, est.predict_proba(X), rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_autoencoder_exports_its_transform(digits, dtype):
    X, _ = digits
    X = X.astype(dtype)
    for ae in (fastnn.Autoencoder((16, 4), max_iter=3, random_state=0),
               fastnn.Autoencoder(encoder=[Conv2D(2, 3, activation="relu"), Flatten(),
                                           Dense(5, "tanh")], input_shape=(1, 8, 8),
                                  max_iter=3, random_state=0)):
        _fit(ae, X)
        (code,) = _run(fastnn.to_onnx(ae), X)
        np.testing.assert_allclose(code, ae.transform(X), rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bernoulli_rbm_exports_its_transform(digits, dtype):
    X, _ = digits
    X = X.astype(dtype)
    rbm = fastnn.BernoulliRBM(n_components=12, n_iter=2, random_state=0).fit(X)
    (out,) = _run(fastnn.to_onnx(rbm), X)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, rbm.transform(X), rtol=TOL[dtype], atol=TOL[dtype])


def test_input_dtype_follows_x_sample(digits):
    X, y = digits
    clf = _fit(fastnn.MLPClassifier((8,), max_iter=3, random_state=0), X.astype(np.float32), y)
    model = fastnn.to_onnx(clf, X[:2])  # float64 rows into a float32 model: cast inside
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    label, proba = _run(model, X)
    np.testing.assert_allclose(proba, clf.predict_proba(X.astype(np.float32)), atol=1e-5)
    assert model.opset_import[0].version == 17 and model.producer_name == "fastnn"


def test_bad_input(digits, monkeypatch):
    X, y = digits
    with pytest.raises(Exception, match="not fitted"):
        fastnn.to_onnx(fastnn.MLPClassifier())
    clf = _fit(fastnn.MLPClassifier((8,), max_iter=2, random_state=0), X, y)
    with pytest.raises(ValueError, match="X_sample must have 64 columns"):
        fastnn.to_onnx(clf, X[:, :10])
    with pytest.raises(ValueError, match="float32 or float64"):
        fastnn.to_onnx(clf, X.astype(int))
    with pytest.raises(ValueError, match=r"samples of shape \(8, 8\); the estimator takes"):
        fastnn.to_onnx(clf, X.reshape(-1, 8, 8))
    floats = _fit(fastnn.LogisticRegression(), X, y > 4)
    floats.classes_ = np.array([0.5, 1.5])
    with pytest.raises(ValueError, match="non-integral"):
        fastnn.to_onnx(floats)
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"optional extra of fastnn.*fastnn\[onnx\]"):
        fastnn.to_onnx(clf)


def test_pipelines_through_skl2onnx(digits):
    skl2onnx = pytest.importorskip("skl2onnx")
    X, y = digits
    X = X.astype(np.float32)
    pipe = _fit(make_pipeline(StandardScaler(),
                              fastnn.NeuralNetClassifier([Dense(16), BatchNorm(),
                                                          Activation("relu")],
                                                         max_iter=4, random_state=0)), X, y)
    model = fastnn.to_onnx(pipe, X[:1])
    onnx.checker.check_model(model, full_check=True)
    assert [o.name for o in model.graph.output] == ["label", "probabilities"]
    label, proba = _run(model, X)
    np.testing.assert_allclose(proba, pipe.predict_proba(X), atol=1e-5)
    np.testing.assert_array_equal(label, pipe.predict(X))
    # skl2onnx directly, once registered: zipmap's list of dicts by default
    fastnn.register_skl2onnx()
    reg = _fit(make_pipeline(StandardScaler(), fastnn.MLPRegressor(hidden_layer_sizes=(8,),
                                                                   max_iter=4, random_state=0)),
               X, y / 9.0)
    (out,) = _run(skl2onnx.to_onnx(reg, X[:1]), X)
    np.testing.assert_allclose(out.ravel(), reg.predict(X), rtol=1e-5, atol=1e-5)
    zipped = skl2onnx.to_onnx(pipe, X[:1])
    label, dicts = _run(zipped, X[:3])
    assert dicts[0].keys() == set(range(10))
    np.testing.assert_allclose([d[k] for d in dicts for k in range(10)],
                               pipe.predict_proba(X[:3]).ravel(), atol=1e-5)
    ae = _fit(make_pipeline(StandardScaler(), fastnn.Autoencoder((8, 3), max_iter=3,
                                                                 random_state=0)), X)
    (code,) = _run(fastnn.to_onnx(ae, X[:1]), X)
    np.testing.assert_allclose(code, ae.transform(X), rtol=1e-5, atol=1e-5)
