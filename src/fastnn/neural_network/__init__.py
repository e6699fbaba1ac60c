"""Network estimators: MLPClassifier/MLPRegressor (scikit-learn's drop-ins),
NeuralNetClassifier/NeuralNetRegressor (any stack of fastnn.layers), the
Autoencoder transformer and BernoulliRBM (scikit-learn's drop-in)."""
from fastnn.neural_network._autoencoder import Autoencoder
from fastnn.neural_network._mlp import MLPClassifier, MLPRegressor
from fastnn.neural_network._neural_net import NeuralNetClassifier, NeuralNetRegressor
from fastnn.neural_network._pretrain import pretrain
from fastnn.neural_network._rbm import BernoulliRBM
from fastnn.neural_network._treenet import TreeNetClassifier, TreeNetRegressor

__all__ = ["Autoencoder", "BernoulliRBM", "MLPClassifier", "MLPRegressor", "NeuralNetClassifier",
           "NeuralNetRegressor", "TreeNetClassifier", "TreeNetRegressor", "pretrain"]
