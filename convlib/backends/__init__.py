"""Other array libraries running convlib's algorithms: :mod:`convlib.backends.torch` (CPU or CUDA).

The NumPy engines in :mod:`convlib.engines` are the reference; a backend re-writes the
same algorithms (im2col, shifted GEMM, Winograd, FFT) in its own operations, with the
validation and size arithmetic shared with the NumPy path.
"""

__all__ = ["torch"]
