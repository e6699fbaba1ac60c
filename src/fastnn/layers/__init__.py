"""Layer specifications for ``NeuralNetClassifier`` / ``NeuralNetRegressor``.

A layer spec is a plain, picklable, clonable description (``get_params``
works, so specs sit in an estimator's ``layers`` and in GridSearchCV grids).
The engine (fastnn.nn._network) turns a list of specs into the C layer
descriptors and lays their parameters out in one flat buffer.
"""
from fastnn.layers._layers import (
    ACTIVATIONS, GRU, LSTM, Activation, AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten,
    GaussianNoise, Layer, MaxPool2D, RandomFlip, RandomRotation, RandomTranslation, RandomZoom,
    SimpleRNN, TreeEncoder,
)

__all__ = ["Layer", "Dense", "Activation", "Dropout", "BatchNorm", "Conv2D", "MaxPool2D",
           "AvgPool2D", "Flatten", "GaussianNoise", "RandomFlip", "RandomTranslation",
           "RandomRotation", "RandomZoom", "SimpleRNN", "LSTM", "GRU", "TreeEncoder",
           "ACTIVATIONS"]
