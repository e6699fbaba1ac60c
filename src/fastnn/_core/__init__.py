"""Cython bridge to the C kernels in ``csrc/`` (private)."""
