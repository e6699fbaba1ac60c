"""scikit-learn's estimator checks over every estimator and several solvers.

No check is expected to fail. (Sample-weight equivalence holds even for the
mini-batch solvers here: the check's data is small enough for one batch.)
"""
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastnn import LinearRegression, LogisticRegression

ESTIMATORS = [
    LinearRegression(),
    LinearRegression(alpha=1.0),
    LinearRegression(solver="lbfgs"),
    LinearRegression(solver="adam", learning_rate_init=0.05, random_state=0),
    LogisticRegression(),
    LogisticRegression(solver="sgd", random_state=0),
    LogisticRegression(solver="adam", learning_rate_init=0.05, random_state=0),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)
