"""Input validation the estimators share: scikit-learn's ``validate_data``
with the finiteness scan of dense X done by fastnn's threads.

scikit-learn checks a float X for NaN and infinity by summing it on one core
(a whole extra read of X: 10 ms of a 230 ms MLP epoch at 60000 x 784
float32). ``validate_data`` here asks scikit-learn for everything else, scans
dense float X with ``fastnn._core._finite`` on the estimator's threads, and
only when that finds a NaN or an infinity calls scikit-learn's
``assert_all_finite``, so the error is scikit-learn's own, word for word.
Sparse X is left to scikit-learn.
"""
import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.utils import assert_all_finite
from sklearn.utils.validation import validate_data as _sk_validate_data

from fastnn._core._finite import all_finite
from fastnn.utils._threads import effective_n_threads


def _scan_threads(n_threads):
    """Threads for the scan: all usable ones, at most a positive n_threads
    (an invalid n_threads is left for fit to report)."""
    n = effective_n_threads(None)
    if isinstance(n_threads, numbers.Integral) and not isinstance(n_threads, bool) \
            and n_threads > 0:
        n = min(n, int(n_threads))
    return n


def check_finite(X, estimator, input_name="X"):
    """Raise scikit-learn's ValueError when a dense float X holds a NaN or
    an infinity; anything else is left as it is."""
    if sp.issparse(X) or not isinstance(X, np.ndarray) or X.dtype.kind != "f":
        return
    if (X.dtype in (np.float32, np.float64) and (X.flags.c_contiguous or X.flags.f_contiguous)
            and all_finite(X, _scan_threads(getattr(estimator, "n_threads", None)))):
        return
    # something to report (or a layout the scan does not read): scikit-learn's own check
    assert_all_finite(X, input_name=input_name, estimator_name=type(estimator).__name__)


def validate_data(estimator, X="no_validation", y="no_validation", **kw):
    """scikit-learn's validate_data (same arguments and results), with the
    NaN/infinity scan of a dense X on fastnn's threads."""
    if kw.get("ensure_all_finite", True) is not True or (isinstance(X, str)
                                                         and X == "no_validation"):
        return _sk_validate_data(estimator, X, y, **kw)
    kw["ensure_all_finite"] = sp.issparse(X)
    out = _sk_validate_data(estimator, X, y, **kw)
    check_finite(out[0] if isinstance(out, tuple) else out, estimator)
    return out
