"""Gradients of :func:`convlib.conv2d`: what flows back to the input, the kernel and the bias.

``grad_x`` is the transposed convolution of ``grad_out`` with the same kernel (each output
cell scatters its gradient back through the window it came from), computed on the padded
input and then folded onto the real pixels: with ``padding_mode="zeros"`` the gradient of
a padded cell is dropped (nothing to send it to); with ``reflect``, ``replicate`` or
``circular`` it is added to the pixel the padded cell was copied from. ``grad_w`` is a
correlation of the padded input with ``grad_out``; ``grad_b`` sums ``grad_out``.
"""

from __future__ import annotations

import numpy as np

from .engines.windows import windows
from .layout import as_float_array, dtype_error, nchw, prepare_arrays, to_channels_last
from .padding import apply_padding, check_mode_pads, source_index
from .shapes import ConvGeometry, WindowAxis, conv_axis
from .transpose import transpose_nhwc

__all__ = ["conv2d_backward", "gradient_coverage"]


def conv2d_backward(
    x,
    w,
    grad_out,
    *,
    stride=1,
    padding="valid",
    dilation=1,
    groups: int = 1,
    data_format: str = "NHWC",
    padding_mode: str = "zeros",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of ``sum(conv2d(x, w, b, ...) * grad_out)`` with respect to ``x``, ``w`` and ``b``.

    Parameters
    ----------
    x, w : array_like
        As for :func:`convlib.conv2d` (HWIO kernel for NHWC, OIHW for NCHW).
    grad_out : array_like
        Gradient of the loss with respect to the conv output; the output's exact shape.
    stride, padding, dilation, groups, data_format, padding_mode
        As for :func:`convlib.conv2d`.

    Returns
    -------
    grad_x : numpy.ndarray
        Same shape as ``x``.
    grad_w : numpy.ndarray
        Same shape as ``w``.
    grad_b : numpy.ndarray
        ``(C_out,)``: ``grad_out`` summed over batch and space.

    Raises
    ------
    ValueError
        Any argument :func:`convlib.conv2d` refuses, or ``grad_out`` of the wrong shape or dtype.

    Shape
    -----
    ``grad_out`` has the forward output shape, per axis
    ``H_out = floor((H + p_top + p_bottom - d*(k-1) - 1) / s) + 1``.

    Examples
    --------
    >>> x = np.arange(9.0).reshape(1, 3, 3, 1)
    >>> gx, gw, gb = conv2d_backward(x, np.ones((2, 2, 1, 1)), np.ones((1, 2, 2, 1)))
    >>> gx[0, :, :, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    >>> gw[:, :, 0, 0], gb
    (array([[ 8., 12.],
           [20., 24.]]), array([4.]))
    """
    x4, w4, _, geo, dtype = prepare_arrays(
        x, w, None, stride=stride, padding=padding, dilation=dilation, groups=groups, data_format=data_format
    )
    mode = check_mode_pads(geo.in_hw, geo.pads, padding_mode)
    g = as_float_array(grad_out, "grad_out")
    if g.dtype != dtype:
        raise dtype_error({"x": dtype, "grad_out": g.dtype})
    if g.shape != geo.output_shape:
        raise ValueError(f"grad_out must have the forward output shape {geo.output_shape}, got {g.shape}")
    g4 = to_channels_last(g, geo.data_format).astype(x4.dtype, copy=False)
    # grad_x of the padded input is the transposed convolution of the forward conv over the padded
    # input at padding 0; the cells past the last window (dropped by the floor) get no gradient.
    axes = tuple(WindowAxis(a.padded, a.k, a.stride, a.dilation, 0, 0, a.out) for a in geo.axes)
    scatter = ConvGeometry(x4.shape[0], geo.out_channels, geo.in_channels, geo.groups, axes, "NHWC")
    gx = _fold(transpose_nhwc(g4, w4, None, scatter, x4.dtype), geo.in_hw, geo.pads, mode)
    gw = _grad_kernel(apply_padding(x4, geo.pads, mode), g4, w4.shape, geo)
    gx = gx.astype(dtype, copy=False)
    gx = nchw(gx) if geo.data_format == "NCHW" else gx
    gw = gw if geo.data_format == "NHWC" else gw.transpose(3, 2, 0, 1)
    gx = gx if geo.batch is not None else gx[0]
    return gx, np.ascontiguousarray(gw.astype(dtype, copy=False)), g4.sum(axis=(0, 1, 2)).astype(dtype)


def _fold(gxp: np.ndarray, in_hw, pads, mode: str) -> np.ndarray:
    """Send each padded cell's gradient to the pixel it copies (:func:`~convlib.padding.source_index`);
    a zero cell's gradient is dropped."""
    mats = []
    for n, (before, after) in zip(in_hw, pads):
        src = source_index(n, before, after, mode)
        m = np.zeros((src.size, n), dtype=gxp.dtype)
        m[np.flatnonzero(src >= 0), src[src >= 0]] = 1
        mats.append(m)
    return np.einsum("ai,nabc,bj->nijc", mats[0], gxp, mats[1], optimize=True)


def _grad_kernel(xp: np.ndarray, g4: np.ndarray, w_shape, geo) -> np.ndarray:
    """``grad_w[a, b, c, o] = sum_{n,i,j} xp[n, i*s + a*d, j*s + b*d, c] * g[n, i, j, o]`` per group."""
    kh, kw, cg, o = w_shape
    og = o // geo.groups
    v = windows(xp, kh, kw, stride=geo.stride, dilation=geo.dilation)  # (N, Ho, Wo, kh, kw, C) view
    gw = np.empty(w_shape, dtype=xp.dtype)
    for grp in range(geo.groups):
        gw[..., grp * og : (grp + 1) * og] = np.tensordot(
            v[..., grp * cg : (grp + 1) * cg],
            g4[..., grp * og : (grp + 1) * og],
            axes=([0, 1, 2], [0, 1, 2]),
        )  # (kh, kw, cg, og): already HWIO
    return gw


def gradient_coverage(n: int, k: int, *, stride: int = 1, padding="valid", dilation: int = 1) -> np.ndarray:
    """How many (output, kernel tap) pairs read each input pixel along one axis.

    A pixel with count 0 receives exactly zero gradient whatever the kernel: the stride
    skips it (``stride > d*(k-1)+1``), the dilation skips it (every tap of every window misses it,
    e.g. ``n=9, k=3, stride=2, dilation=2`` reads only even pixels), or it lies past the last window
    the floor kept. The
    2-D coverage is the outer product of the two axes' counts. Taps on padded cells are not
    counted: with zero padding their gradient goes nowhere.

    Parameters
    ----------
    n : int
        Input size along the axis.
    k : int
        Kernel size along the axis.
    stride, dilation : int
        Positive.
    padding : {"valid", "same", "full"}, int or (int, int)
        One axis's padding: a word, ``p`` or ``(before, after)``.

    Returns
    -------
    numpy.ndarray
        ``int`` array of length ``n``.

    Raises
    ------
    ValueError
        A non-positive ``n``, ``k``, stride or dilation, a bad or negative padding, or a dilated
        kernel larger than the padded input (from :func:`~convlib.shapes.conv_axis`).

    Shape
    -----
    ``(n,)``; the counts sum to ``H_out * k`` minus the taps on padded cells.

    Examples
    --------
    >>> gradient_coverage(8, 2, stride=3)
    array([1, 1, 0, 1, 1, 0, 1, 1])
    >>> gradient_coverage(5, 3, padding="same")
    array([2, 3, 3, 3, 2])
    >>> gradient_coverage(9, 3, stride=2, dilation=2)
    array([1, 0, 2, 0, 3, 0, 2, 0, 1])
    """
    a = conv_axis(n, k, padding, stride=stride, dilation=dilation)
    taps = (np.asarray(a.starts())[:, None] + np.arange(a.k)[None, :] * a.dilation - a.before).ravel()
    return np.bincount(taps[(taps >= 0) & (taps < n)], minlength=n)
