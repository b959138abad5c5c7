"""Array handling: dtypes, layouts and the arrays of one convolution call.

convlib computes internally in channels-last form: input ``(N, H, W, C)``, kernel HWIO
``(kh, kw, C/groups, C_out)``. ``data_format="NCHW"`` inputs (with OIHW kernels, as in
PyTorch) are transposed in and out here, so every engine sees a single layout. The shapes
themselves are validated in :mod:`convlib.shapes.checks`, before any array is touched.

:func:`prepare_arrays` is the one array prologue of conv2d, conv_transpose2d and the gradients:
each array must be float16, float32 or float64 (as in TensorFlow and PyTorch), all of one dtype;
the computation runs in :data:`COMPUTE_DTYPES` (float16 in float32, rounded once at the end) and
the result takes the inputs' dtype.
"""

from __future__ import annotations

import numpy as np

from .shapes.checks import check_conv_shapes

__all__ = [
    "as_float_array",
    "check_bias",
    "dtype_error",
    "compute_dtype",
    "nhwc",
    "nchw",
    "hwio",
    "oihw",
    "prepare_arrays",
    "restore_layout",
    "to_channels_last",
]

# The dtypes convlib takes, each with the one it accumulates in: float16 in float32, rounded once at
# the end, as both frameworks do on the CPU.
COMPUTE_DTYPES = {np.float16: np.float32, np.float32: np.float32, np.float64: np.float64}


def compute_dtype(dtype) -> type:
    """The dtype convlib accumulates ``dtype`` in (:data:`COMPUTE_DTYPES`).

    Parameters
    ----------
    dtype : numpy dtype or its name

    Returns
    -------
    type
        ``numpy.float32`` or ``numpy.float64``.

    Raises
    ------
    KeyError
        Not one of the three float dtypes.

    Examples
    --------
    >>> compute_dtype(np.float16), compute_dtype("float64")
    (<class 'numpy.float32'>, <class 'numpy.float64'>)
    """
    return COMPUTE_DTYPES[np.dtype(dtype).type]


def _canonical(a: np.ndarray) -> np.ndarray:
    # A C-ordered copy with canonical strides: np.ascontiguousarray keeps odd strides on size-1
    # axes, and PyTorch 2.13's CPU conv2d returns zeros for some such tensors.
    return np.array(a, order="C", copy=True)


def nhwc(a) -> np.ndarray:
    """An NCHW array (or an unbatched CHW one) as NHWC (HWC), C-ordered.

    Parameters
    ----------
    a : array_like
        ``(N, C, H, W)`` or ``(C, H, W)``.

    Returns
    -------
    numpy.ndarray
        A C-ordered copy, same dtype.

    Raises
    ------
    ValueError
        ``a`` is not 3-D or 4-D (from :meth:`numpy.ndarray.transpose`).

    Shape
    -----
    ``(N, C, H, W) -> (N, H, W, C)``; ``(C, H, W) -> (H, W, C)``.

    Examples
    --------
    >>> nhwc(np.zeros((2, 3, 4, 5))).shape, nhwc(np.zeros((3, 4, 5))).shape
    ((2, 4, 5, 3), (4, 5, 3))
    """
    a = np.asarray(a)
    return _canonical(a.transpose(1, 2, 0) if a.ndim == 3 else a.transpose(0, 2, 3, 1))


def nchw(a) -> np.ndarray:
    """An NHWC array (or an unbatched HWC one) as NCHW (CHW), C-ordered.

    Parameters
    ----------
    a : array_like
        ``(N, H, W, C)`` or ``(H, W, C)``.

    Returns
    -------
    numpy.ndarray
        A C-ordered copy, same dtype.

    Raises
    ------
    ValueError
        ``a`` is not 3-D or 4-D (from :meth:`numpy.ndarray.transpose`).

    Shape
    -----
    ``(N, H, W, C) -> (N, C, H, W)``; ``(H, W, C) -> (C, H, W)``.

    Examples
    --------
    >>> nchw(np.zeros((2, 4, 5, 3))).shape
    (2, 3, 4, 5)
    """
    a = np.asarray(a)
    return _canonical(a.transpose(2, 0, 1) if a.ndim == 3 else a.transpose(0, 3, 1, 2))


def hwio(w) -> np.ndarray:
    """A PyTorch OIHW kernel as TensorFlow's HWIO, C-ordered.

    Parameters
    ----------
    w : array_like
        4-D OIHW kernel ``(C_out, C_in, kh, kw)``.

    Returns
    -------
    numpy.ndarray
        A C-ordered copy, same dtype.

    Raises
    ------
    ValueError
        ``w`` is not 4-D (from :meth:`numpy.ndarray.transpose`).

    Shape
    -----
    ``(C_out, C_in, kh, kw) -> (kh, kw, C_in, C_out)``.

    Examples
    --------
    >>> hwio(np.zeros((8, 3, 5, 7))).shape
    (5, 7, 3, 8)
    """
    return _canonical(np.asarray(w).transpose(2, 3, 1, 0))


def oihw(w) -> np.ndarray:
    """A TensorFlow HWIO kernel as PyTorch's OIHW, C-ordered.

    Parameters
    ----------
    w : array_like
        4-D HWIO kernel ``(kh, kw, C_in, C_out)``.

    Returns
    -------
    numpy.ndarray
        A C-ordered copy, same dtype.

    Raises
    ------
    ValueError
        ``w`` is not 4-D (from :meth:`numpy.ndarray.transpose`).

    Shape
    -----
    ``(kh, kw, C_in, C_out) -> (C_out, C_in, kh, kw)``.

    Examples
    --------
    >>> oihw(np.zeros((5, 7, 3, 8))).shape
    (8, 3, 5, 7)
    """
    return _canonical(np.asarray(w).transpose(3, 2, 0, 1))


def as_float_array(a, name: str) -> np.ndarray:
    """``a`` as a float16/32/64 NumPy array (no copy where it is one), else a ``ValueError`` naming ``name``.

    >>> as_float_array([1.0, 2.0], "x").dtype
    dtype('float64')
    """
    if isinstance(a, (str, bytes)) or a is None:
        raise ValueError(f"{name} must be a numeric array, got {type(a).__name__}")
    try:
        arr = np.asarray(a)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array: {exc}") from None
    if not np.issubdtype(arr.dtype, np.number):  # object and str arrays among them
        raise ValueError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if arr.dtype.type not in COMPUTE_DTYPES:
        raise ValueError(
            f"{name} must be float16, float32 or float64 (as in TensorFlow and PyTorch), got "
            f"dtype {arr.dtype}; cast it first, e.g. {name}.astype(np.float32)"
        )
    return arr


def dtype_error(dtypes: dict) -> ValueError:
    """The one "dtypes must match" error, for arrays named by the keys of ``dtypes``.

    Parameters
    ----------
    dtypes : dict
        Array name to its (NumPy or torch) dtype.

    Returns
    -------
    ValueError
        To raise.

    Examples
    --------
    >>> print(dtype_error({"x": np.dtype("float32"), "w": np.dtype("float64")}))
    dtypes must match: x is float32, w is float64
    """
    return ValueError("dtypes must match: " + ", ".join(f"{n} is {d}" for n, d in dtypes.items()))


def check_bias(shape: tuple, out_channels: int) -> None:
    """Refuse a bias whose ``shape`` is not ``(out_channels,)``.

    Raises
    ------
    ValueError
        ``"bias b must have shape (C_out,), got ..."``.

    Examples
    --------
    >>> check_bias((3,), 4)
    Traceback (most recent call last):
    ...
    ValueError: bias b must have shape (4,), got (3,)
    """
    if tuple(shape) != (out_channels,):
        raise ValueError(f"bias b must have shape ({out_channels},), got {tuple(shape)}")


def to_channels_last(x: np.ndarray, fmt: str) -> np.ndarray:
    """A 3-D or 4-D input in ``fmt`` as a 4-D NHWC view."""
    if x.ndim == 3:
        x = x[None]
    return x if fmt == "NHWC" else x.transpose(0, 2, 3, 1)


def restore_layout(y: np.ndarray, fmt: str, batched: bool) -> np.ndarray:
    """Inverse of :func:`to_channels_last` for an output."""
    if fmt == "NCHW":
        y = y.transpose(0, 3, 1, 2)
    y = np.ascontiguousarray(y)
    return y if batched else y[0]


def prepare_arrays(x, w, b=None, *, check=check_conv_shapes, **args):
    """The one array prologue: ``x4, w4, b, geo, dtype`` of a call, validated before any allocation.

    ``check`` (``check_conv_shapes`` or ``check_transpose_shapes``) validates the shapes with ``args``.
    Returned: 4-D NHWC input, HWIO kernel, bias (compute dtype); the geometry; the inputs' dtype.

    >>> x4, w4, b, geo, dtype = prepare_arrays(np.zeros((3, 5, 5), np.float16),
    ...     np.zeros((4, 3, 3, 3), np.float16), data_format="NCHW")
    >>> x4.shape, w4.shape, x4.dtype, dtype, geo.output_shape
    ((1, 5, 5, 3), (3, 3, 3, 4), dtype('float32'), dtype('float16'), (4, 3, 3))
    """
    x, w = as_float_array(x, "x"), as_float_array(w, "w")
    b = None if b is None else as_float_array(b, "b")
    dtypes = {"x": x.dtype, "w": w.dtype} | ({} if b is None else {"b": b.dtype})
    if len(set(dtypes.values())) > 1:
        raise dtype_error(dtypes)
    dtype, compute = x.dtype, COMPUTE_DTYPES[x.dtype.type]
    geo = check(x.shape, w.shape, itemsize=np.dtype(compute).itemsize, **args)
    if b is not None:
        check_bias(b.shape, geo.out_channels)
        b = b.astype(compute, copy=False)
    x4 = x if x.ndim == 4 else x[None]
    if geo.data_format == "NCHW":
        x4, w = x4.transpose(0, 2, 3, 1), w.transpose(2, 3, 1, 0)
    return x4.astype(compute, copy=False), w.astype(compute, copy=False), b, geo, dtype
