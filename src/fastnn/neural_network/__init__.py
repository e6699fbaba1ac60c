"""Network estimators: MLPClassifier/MLPRegressor (scikit-learn's drop-ins),
NeuralNetClassifier/NeuralNetRegressor (any stack of fastnn.layers) and the
Autoencoder transformer."""
from fastnn.neural_network._autoencoder import Autoencoder
from fastnn.neural_network._mlp import MLPClassifier, MLPRegressor
from fastnn.neural_network._neural_net import NeuralNetClassifier, NeuralNetRegressor
from fastnn.neural_network._pretrain import pretrain

__all__ = ["Autoencoder", "MLPClassifier", "MLPRegressor", "NeuralNetClassifier",
           "NeuralNetRegressor", "pretrain"]
