"""Greedy layer-wise pre-training (Hinton and Salakhutdinov, 2006; Bengio et
al., 2007): each hidden layer learnt without labels on the codes of the one
before it."""
import numpy as np
from sklearn.base import clone


def pretrain(X, hidden_layer_sizes, estimator=None):
    """Pre-train a stack of Dense layers one layer at a time, without labels.

    For each size h in ``hidden_layer_sizes``: a clone of ``estimator`` (an
    unfitted ``fastnn.Autoencoder``, default ``Autoencoder()``, or
    ``fastnn.BernoulliRBM``) with h code units (``hidden_layer_sizes=(h,)``,
    ``n_components=h``) is fitted on the previous layer's codes (``X`` for
    the first), and its encoder's weights are kept (an RBM's: W =
    components_.T, b = intercept_hidden_, for logistic layers). Returns one ``{"W", "b"}`` per hidden layer:
    ``MLPClassifier(hidden_layer_sizes, activation=<the estimator's>,
    init=pretrain(...))`` or a NeuralNet* of Dense layers of those sizes
    starts from them. Also returned, as ``.estimators``, the fitted
    per-layer estimators (their ``transform`` gives each layer's codes).
    """
    from fastnn.neural_network._autoencoder import Autoencoder
    from fastnn.neural_network._neural_net import _rbm_weights
    from fastnn.neural_network._rbm import BernoulliRBM

    sizes = list(hidden_layer_sizes) if hasattr(hidden_layer_sizes, "__iter__") \
        else [hidden_layer_sizes]
    if not sizes:
        raise ValueError("hidden_layer_sizes must hold at least one size")
    if estimator is None:
        estimator = Autoencoder()
    rbm = isinstance(estimator, BernoulliRBM)
    if not (rbm or isinstance(estimator, Autoencoder)):
        raise ValueError("estimator must be an unfitted fastnn.Autoencoder or "
                         f"fastnn.BernoulliRBM, got {type(estimator).__name__}")
    weights, fitted = _Weights(), []
    codes = X
    for h in sizes:
        if rbm:
            est = clone(estimator).set_params(n_components=h).fit(codes)
            weights.append(_rbm_weights(est, "pretrain"))
        else:
            est = clone(estimator).set_params(hidden_layer_sizes=(h,), encoder=None)
            est.fit(codes)
            weights.append(est._encoder_weights()[0])
        fitted.append(est)
        codes = est.transform(codes)
    weights.estimators = fitted
    return weights


class _Weights(list):
    """A list of per-layer weight dicts with the estimators that made them."""

    estimators = ()

    def __repr__(self):
        shapes = [tuple(np.shape(w["W"])) for w in self]
        return f"pretrained weights of {len(self)} layers, W shapes {shapes}"
