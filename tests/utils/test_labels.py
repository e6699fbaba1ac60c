import numpy as np
import pytest
from sklearn.preprocessing import LabelEncoder

from fastnn.utils._labels import encode_labels


@pytest.mark.parametrize("y", [
    np.array([3, 1, 1, 7, 3, -2]),
    np.array([0, 1] * 5, dtype=np.uint8),
    np.array([5, 2**40, 5]),  # wide range: the sorting path
    np.array([0.5, -1.0, 0.5, 2.0]),
    np.array(["b", "a", "c", "a"]),
    np.array([True, False, True]),
])
def test_encode_labels_matches_label_encoder(y):
    classes, codes = encode_labels(y)
    le = LabelEncoder().fit(y)
    np.testing.assert_array_equal(classes, le.classes_)
    assert classes.dtype == le.classes_.dtype
    np.testing.assert_array_equal(codes, le.transform(y))
