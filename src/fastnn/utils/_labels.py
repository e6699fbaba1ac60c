"""Class-label encoding shared by the classifiers."""
import numpy as np

_DENSE_RANGE = 1 << 20


def encode_labels(y):
    """(classes, codes): the sorted distinct labels and each sample's index
    into them, as LabelEncoder().fit_transform gives. Integer labels in a
    range under 2**20 are counted instead of sorted (O(n), not O(n log n))."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D to encode class labels, got shape {y.shape}")
    if y.dtype.kind in "iu" and y.size:
        lo, hi = int(y.min()), int(y.max())
        if hi - lo < _DENSE_RANGE:
            shifted = y - lo if lo else y
            present = np.bincount(shifted, minlength=hi - lo + 1) > 0
            classes = (np.flatnonzero(present) + lo).astype(y.dtype)
            lut = np.cumsum(present, dtype=np.intp) - 1
            return classes, lut[shifted]
    classes, codes = np.unique(y, return_inverse=True)
    return classes, codes.reshape(-1)
