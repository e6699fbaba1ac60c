"""Linear models: LinearRegression (least squares / ridge), LogisticRegression."""
from fastnn.linear_model._linear import LinearRegression
from fastnn.linear_model._logistic import LogisticRegression

__all__ = ["LinearRegression", "LogisticRegression"]
