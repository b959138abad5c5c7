"""Array handling: dtypes, layouts and the arrays of one convolution call.

convlib computes internally in channels-last form: input ``(N, H, W, C)``, kernel HWIO
``(kh, kw, C/groups, C_out)``. ``data_format="NCHW"`` inputs (with OIHW kernels, as in
PyTorch) are transposed in and out here, so every engine sees a single layout. The shapes
themselves are validated in :mod:`convlib.shapes.checks`, before any array is touched.
"""

from __future__ import annotations

import numpy as np

from .shapes.checks import check_conv_shapes

__all__ = [
    "as_float_array",
    "check_same_dtype",
    "compute_dtype",
    "nhwc",
    "nchw",
    "hwio",
    "oihw",
    "prepare_arrays",
    "prepare_conv",
    "restore_layout",
    "to_channels_last",
]

FLOAT_DTYPES = (np.float16, np.float32, np.float64)


def compute_dtype(dtype) -> type:
    """The dtype convlib accumulates in: float16 is accumulated in float32 and rounded once at the
    end, as both frameworks do on the CPU; float32 and float64 are kept.

    Examples
    --------
    >>> compute_dtype(np.float16), compute_dtype(np.float64)
    (<class 'numpy.float32'>, <class 'numpy.float64'>)
    """
    return np.float32 if np.dtype(dtype) == np.float16 else np.dtype(dtype).type


def _canonical(a: np.ndarray) -> np.ndarray:
    # A C-ordered copy with canonical strides: np.ascontiguousarray keeps odd strides on size-1
    # axes, and PyTorch 2.13's CPU conv2d returns zeros for some such tensors.
    return np.array(a, order="C", copy=True)


def nhwc(a) -> np.ndarray:
    """An NCHW array (or an unbatched CHW one) as NHWC (HWC), C-ordered.

    Examples
    --------
    >>> nhwc(np.zeros((2, 3, 4, 5))).shape, nhwc(np.zeros((3, 4, 5))).shape
    ((2, 4, 5, 3), (4, 5, 3))
    """
    a = np.asarray(a)
    return _canonical(a.transpose(1, 2, 0) if a.ndim == 3 else a.transpose(0, 2, 3, 1))


def nchw(a) -> np.ndarray:
    """An NHWC array (or an unbatched HWC one) as NCHW (CHW), C-ordered.

    Examples
    --------
    >>> nchw(np.zeros((2, 4, 5, 3))).shape
    (2, 3, 4, 5)
    """
    a = np.asarray(a)
    return _canonical(a.transpose(2, 0, 1) if a.ndim == 3 else a.transpose(0, 3, 1, 2))


def hwio(w) -> np.ndarray:
    """A PyTorch OIHW kernel as TensorFlow's HWIO, C-ordered.

    Examples
    --------
    >>> hwio(np.zeros((8, 3, 5, 7))).shape
    (5, 7, 3, 8)
    """
    return _canonical(np.asarray(w).transpose(2, 3, 1, 0))


def oihw(w) -> np.ndarray:
    """A TensorFlow HWIO kernel as PyTorch's OIHW, C-ordered.

    Examples
    --------
    >>> oihw(np.zeros((5, 7, 3, 8))).shape
    (8, 3, 5, 7)
    """
    return _canonical(np.asarray(w).transpose(3, 2, 0, 1))


def as_float_array(a, name: str) -> np.ndarray:
    """Return ``a`` as a floating NumPy array, or raise ``ValueError`` naming it."""
    if isinstance(a, (str, bytes)) or a is None:
        raise ValueError(f"{name} must be a numeric array, got {type(a).__name__}")
    try:
        arr = np.asarray(a)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array: {exc}") from None
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if arr.dtype.type not in FLOAT_DTYPES:
        raise ValueError(
            f"{name} must be float16, float32 or float64 (as in TensorFlow and PyTorch), got "
            f"dtype {arr.dtype}; cast it first, e.g. {name}.astype(np.float32)"
        )
    return arr


def check_same_dtype(**arrays) -> np.dtype:
    """The one dtype of the named arrays (``None`` entries are skipped), else ``ValueError``.

    Examples
    --------
    >>> check_same_dtype(x=np.zeros(2, np.float32), b=None)
    dtype('float32')
    """
    dtypes = {name: a.dtype for name, a in arrays.items() if a is not None}
    if len(set(dtypes.values())) > 1:
        listed = ", ".join(f"{n} is {d}" for n, d in dtypes.items())
        raise ValueError(f"dtypes must match: {listed}")
    return next(iter(dtypes.values()))


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
    """The one array prologue: validate the arrays of a call and bring them to NHWC/HWIO.

    ``x``, ``w`` and ``b`` must be floating arrays of one dtype; ``check`` (the shape validator,
    :func:`~convlib.shapes.check_conv_shapes` or :func:`~convlib.shapes.check_transpose_shapes`)
    receives their shapes, ``args`` (``stride``, ``padding``, ``data_format`` ...) and the item size
    of the arrays to come; the bias must have one entry per output channel. Nothing large is
    allocated before all of this has passed.

    Returns
    -------
    x4, w4, b, geo, dtype
        The input as 4-D NHWC and the kernel as HWIO (for a transposed convolution: the forward
        kernel ``(kh, kw, C_out/groups, C_in)``), both in the *compute* dtype
        (:func:`compute_dtype`), the bias in it too (or ``None``), the geometry ``check``
        returned, and the inputs' dtype, the dtype of the result.

    Examples
    --------
    >>> x4, w4, b, geo, dtype = prepare_arrays(np.zeros((3, 5, 5), np.float16), np.zeros((4, 3, 3, 3),
    ...     np.float16), data_format="NCHW")
    >>> x4.shape, w4.shape, x4.dtype, dtype, geo.output_shape
    ((1, 5, 5, 3), (3, 3, 3, 4), dtype('float32'), dtype('float16'), (4, 3, 3))
    """
    x, w = as_float_array(x, "x"), as_float_array(w, "w")
    b = None if b is None else as_float_array(b, "b")
    dtype = check_same_dtype(x=x, w=w, b=b)
    geo = check(x.shape, w.shape, itemsize=max(x.dtype.itemsize, 4), **args)
    if b is not None and b.shape != (geo.out_channels,):
        raise ValueError(f"bias b must have shape ({geo.out_channels},), got {b.shape}")
    compute = compute_dtype(dtype)
    x4 = x if x.ndim == 4 else x[None]
    x4, w4 = (x4, w) if geo.data_format == "NHWC" else (x4.transpose(0, 2, 3, 1), w.transpose(2, 3, 1, 0))
    return (
        x4.astype(compute, copy=False),
        w4.astype(compute, copy=False),
        None if b is None else b.astype(compute, copy=False),
        geo,
        dtype,
    )


def prepare_conv(x, w, b, *, stride, padding, dilation, groups, data_format):
    """:func:`prepare_arrays` for a convolution (kept while callers move to it)."""
    return prepare_arrays(
        x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups, data_format=data_format
    )
