"""Pooling: max and average over windows, global pooling and adaptive pooling.

Window geometry is the convolution's (sizes from :func:`convlib.shapes.pool_output_size`).
What differs is the edge: max pooling pads with ``-inf`` so a padded cell never wins;
average pooling either counts padded cells as zeros (PyTorch ``count_include_pad=True``)
or divides by the number of real cells (``False``, and always for TensorFlow's
``"same"``). With ``ceil_mode`` the last window may hang past the padding; those cells are
never counted, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from .engines.windows import windows
from .layout import as_float_array, compute_dtype, restore_layout, to_channels_last
from .padding import check_positive_int
from .shapes import adaptive_pool_bounds, check_allocation, check_data_format, check_pool_shape
from .shapes.checks import split_input_shape

__all__ = [
    "max_pool2d",
    "avg_pool2d",
    "global_avg_pool2d",
    "global_max_pool2d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
]


def _prepare(x, data_format):
    fmt = check_data_format(data_format)
    x = as_float_array(x, "x")
    split_input_shape(x.shape, fmt)
    return to_channels_last(x, fmt), fmt, x.ndim == 4


def _windows(xp, axes):
    """View ``(N, H_out, W_out, kh, kw, C)`` of the pooling windows of padded ``xp``."""
    ah, aw = axes
    v = windows(xp, ah.k, aw.k, stride=(ah.stride, aw.stride), dilation=(ah.dilation, aw.dilation))
    return v[:, : ah.out, : aw.out]


def _pad(x4, axes, value):
    """Pad by each axis's pads, plus the cells ``ceil_mode``'s last window overhangs."""
    widths = [(0, 0), *((a.before, a.after + a.overhang) for a in axes), (0, 0)]
    return np.pad(x4, widths, constant_values=value)


def _axes(x, pool_size, strides, padding, dilation, ceil_mode, data_format):
    geo = check_pool_shape(
        np.shape(x),
        pool_size,
        strides,
        padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        data_format=data_format,
        itemsize=max(4, np.dtype(getattr(x, "dtype", "f8")).itemsize),  # float16 sums in float32
    )
    return geo.axes


def max_pool2d(
    x,
    pool_size,
    strides=None,
    padding="valid",
    *,
    dilation=1,
    ceil_mode: bool = False,
    data_format: str = "NHWC",
) -> np.ndarray:
    """Maximum over each window; padded cells hold ``-inf`` and never win.

    Parameters
    ----------
    x : array_like
        ``(N, H, W, C)`` (NHWC) or ``(N, C, H, W)`` (NCHW); 3-D for unbatched.
    pool_size : int or (int, int)
    strides : int or (int, int), optional
        Defaults to ``pool_size`` (both frameworks do the same).
    padding : "valid", "same", int, (ph, pw) or ((top, bottom), (left, right))
        ``"same"`` is TensorFlow's; numbers are PyTorch's, at most half the window each side.
    dilation : int or (int, int)
        Spacing between window taps, as PyTorch's ``dilation``.
    ceil_mode : bool
        PyTorch's: round the window count up, but drop a last window starting in the right padding.
    data_format : {"NHWC", "NCHW"}

    Returns
    -------
    numpy.ndarray
        The pooled array in the input's layout and dtype.

    Raises
    ------
    ValueError
        Wrong rank, bad sizes, a pad over half the window, a window larger than the padded input.

    Shape
    -----
    ``H_out = floor((H + p_top + p_bottom - d*(k-1) - 1) / s) + 1`` (``ceil`` with ``ceil_mode``,
    minus one if the last window would start at or after ``H + p_top``).

    Examples
    --------
    >>> max_pool2d(np.arange(16.0).reshape(1, 4, 4, 1), 2)[0, :, :, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    >>> max_pool2d(np.arange(25.0).reshape(1, 1, 5, 5), 2, ceil_mode=True, data_format="NCHW")[0, 0]
    array([[ 6.,  8.,  9.],
           [16., 18., 19.],
           [21., 23., 24.]])
    """
    axes = _axes(x, pool_size, strides, padding, dilation, ceil_mode, data_format)
    x4, fmt, batched = _prepare(x, data_format)
    y = _windows(_pad(x4, axes, -np.inf), axes).max(axis=(3, 4))
    return restore_layout(y, fmt, batched)


def avg_pool2d(
    x,
    pool_size,
    strides=None,
    padding="valid",
    *,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    data_format: str = "NHWC",
) -> np.ndarray:
    """Mean over each window.

    Parameters are those of :func:`max_pool2d` (without ``dilation``), plus
    ``count_include_pad``: with numeric padding, ``True`` divides by the window cells inside
    the padded input (PyTorch's default), ``False`` by the real cells only. TensorFlow's
    ``"same"`` always divides by the real cells. Cells added by ``ceil_mode`` are never counted.

    Returns
    -------
    numpy.ndarray
        The pooled array in the input's layout and dtype.

    Raises
    ------
    ValueError
        As :func:`max_pool2d`.

    Shape
    -----
    As :func:`max_pool2d` with ``d = 1``.

    Examples
    --------
    >>> x = np.ones((1, 3, 3, 1))
    >>> avg_pool2d(x, 2, 1, padding=1)[0, :, :, 0]
    array([[0.25, 0.5 , 0.5 , 0.25],
           [0.5 , 1.  , 1.  , 0.5 ],
           [0.5 , 1.  , 1.  , 0.5 ],
           [0.25, 0.5 , 0.5 , 0.25]])
    >>> avg_pool2d(x, 2, 2, padding="same")[0, :, :, 0]
    array([[1., 1.],
           [1., 1.]])
    """
    axes = _axes(x, pool_size, strides, padding, 1, ceil_mode, data_format)
    x4, fmt, batched = _prepare(x, data_format)
    compute = compute_dtype(x4.dtype)
    sums = _windows(_pad(x4.astype(compute), axes, 0.0), axes).sum(axis=(3, 4))
    include = count_include_pad and not (isinstance(padding, str) and padding.lower() == "same")
    counts = [_counts(hw, ax, include) for hw, ax in zip(x4.shape[1:3], axes)]
    y = sums / (counts[0][:, None] * counts[1][None, :])[None, :, :, None]
    return restore_layout(y.astype(x4.dtype), fmt, batched)


def _counts(n, axis, include_pad):
    """Number of counted cells in each window along one axis (separable in 2-D)."""
    a = axis
    inside = np.r_[
        np.full(a.before, include_pad),
        np.ones(n, bool),
        np.full(a.after, include_pad),
        np.zeros(a.overhang, bool),
    ]
    before = np.r_[0, np.cumsum(inside)]  # cells counted before each position
    starts = np.arange(a.out) * a.stride
    return before[starts + a.k] - before[starts]


def global_avg_pool2d(x, *, keepdims: bool = False, data_format: str = "NHWC") -> np.ndarray:
    """Mean over all of ``H`` and ``W``: ``(N, C)`` (or ``(N, 1, 1, C)`` with ``keepdims``), any input size.

    Parameters
    ----------
    x : array_like
        Float16/32/64 input, ``(N, H, W, C)`` or ``(N, C, H, W)`` (``data_format``), or 3-D unbatched.
    keepdims : bool
        Keep ``H`` and ``W`` as size-1 axes, in ``x``'s layout.
    data_format : {"NHWC", "NCHW"}

    Returns
    -------
    numpy.ndarray
        In ``x``'s dtype.

    Raises
    ------
    ValueError
        An unknown ``data_format``, a non-float ``x`` or one that is not 3-D or 4-D.

    Shape
    -----
    ``(N, C)``; with ``keepdims`` ``(N, 1, 1, C)`` (NHWC) or ``(N, C, 1, 1)`` (NCHW); unbatched: no ``N``.

    Examples
    --------
    >>> global_avg_pool2d(np.arange(8.0).reshape(1, 2, 2, 2))
    array([[3., 4.]])
    """
    return _global(x, np.mean, keepdims, data_format)


def global_max_pool2d(x, *, keepdims: bool = False, data_format: str = "NHWC") -> np.ndarray:
    """Maximum over all of ``H`` and ``W``: ``(N, C)`` (or ``(N, 1, 1, C)`` with ``keepdims``).

    Parameters
    ----------
    x, keepdims, data_format
        As for :func:`global_avg_pool2d`.

    Returns
    -------
    numpy.ndarray
        As :func:`global_avg_pool2d`, with the maximum in place of the mean.

    Raises
    ------
    ValueError
        As :func:`global_avg_pool2d`.

    Examples
    --------
    >>> global_max_pool2d(np.arange(8.0).reshape(1, 2, 1, 4), data_format="NCHW")
    array([[3., 7.]])
    """
    return _global(x, np.max, keepdims, data_format)


def _global(x, reduce, keepdims, data_format):
    x4, fmt, batched = _prepare(x, data_format)
    y = reduce(x4, axis=(1, 2), keepdims=True).astype(x4.dtype)
    if keepdims:
        return restore_layout(y, fmt, batched)
    return y[:, 0, 0, :] if batched else y[0, 0, 0, :]


def adaptive_avg_pool2d(x, output_size, *, data_format: str = "NHWC") -> np.ndarray:
    """Average over PyTorch's adaptive windows ``[floor(i*H/out), ceil((i+1)*H/out))``.

    ``output_size`` is an int, or a pair whose ``None`` entries keep that input size.

    Parameters
    ----------
    x : array_like
        Float16/32/64 input, ``(N, H, W, C)`` or ``(N, C, H, W)`` (``data_format``), or 3-D unbatched.
    output_size : int or (int or None, int or None)
        ``(H_out, W_out)``; an int for both, ``None`` keeps that input size.
    data_format : {"NHWC", "NCHW"}

    Returns
    -------
    numpy.ndarray
        In ``x``'s dtype and layout.

    Raises
    ------
    ValueError
        An unknown ``data_format``, a non-float ``x`` or one that is not 3-D or 4-D, an
        ``output_size`` that is not an int or pair of positive ints (or ``None``), or an output too
        large to allocate.

    Shape
    -----
    ``(N, H, W, C) -> (N, H_out, W_out, C)`` (NCHW likewise); window ``i`` of an axis spans
    ``[floor(i*H/H_out), ceil((i+1)*H/H_out))``.

    Examples
    --------
    >>> adaptive_avg_pool2d(np.arange(5.0).reshape(1, 1, 5, 1), (1, 3))[0, 0, :, 0]
    array([0.5, 2. , 3.5])
    """
    return _adaptive(x, output_size, np.mean, data_format)


def adaptive_max_pool2d(x, output_size, *, data_format: str = "NHWC") -> np.ndarray:
    """Maximum over PyTorch's adaptive windows (see :func:`adaptive_avg_pool2d`).

    Parameters
    ----------
    x, output_size, data_format
        As for :func:`adaptive_avg_pool2d`.

    Returns
    -------
    numpy.ndarray
        As :func:`adaptive_avg_pool2d`, with the maximum in place of the mean.

    Raises
    ------
    ValueError
        As :func:`adaptive_avg_pool2d`.

    Examples
    --------
    >>> adaptive_max_pool2d(np.arange(5.0).reshape(1, 1, 5, 1), (1, 3))[0, 0, :, 0]
    array([1., 3., 4.])
    """
    return _adaptive(x, output_size, np.max, data_format)


def _adaptive(x, output_size, reduce, data_format):
    x4, fmt, batched = _prepare(x, data_format)
    sizes = list(output_size) if isinstance(output_size, (list, tuple)) else [output_size, output_size]
    if len(sizes) != 2:
        raise ValueError(f"output_size must be an int or a pair (h, w), got {output_size!r}")
    sizes = [
        x4.shape[1 + i] if s is None else check_positive_int(s, "output_size") for i, s in enumerate(sizes)
    ]
    check_allocation(
        ("the output", (x4.shape[0], *sizes, x4.shape[3]), x4.dtype.itemsize),
        blame=f"output_size={output_size!r}",
    )
    rows, cols = (adaptive_pool_bounds(x4.shape[1 + i], sizes[i]) for i in range(2))
    y = np.empty((x4.shape[0], len(rows), len(cols), x4.shape[3]), dtype=x4.dtype)
    for i, (r0, r1) in enumerate(rows):
        for j, (c0, c1) in enumerate(cols):
            y[:, i, j] = reduce(x4[:, r0:r1, c0:c1], axis=(1, 2))
    return restore_layout(y, fmt, batched)
