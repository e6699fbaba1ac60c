"""Network estimators: MLPClassifier/MLPRegressor (scikit-learn's drop-ins)
and NeuralNetClassifier/NeuralNetRegressor (any stack of fastnn.layers)."""
from fastnn.neural_network._mlp import MLPClassifier, MLPRegressor
from fastnn.neural_network._neural_net import NeuralNetClassifier, NeuralNetRegressor

__all__ = ["MLPClassifier", "MLPRegressor", "NeuralNetClassifier", "NeuralNetRegressor"]
