"""2-D convolution (cross-correlation, as in TensorFlow and PyTorch): validate, pad, engine, bias.

:func:`conv2d` checks its arguments once (:func:`convlib.layout.prepare_arrays`) and hands the
arrays to :func:`convolve`, the one dispatch that :mod:`convlib.transpose` and :mod:`convlib.grad`
use too: a named algorithm pads the input (:func:`convlib.padding.apply_padding`) and runs its
reference engine from :mod:`convlib.engines`; ``"auto"``, the default, runs the fast room,
:mod:`convlib.fast` (the only core module that enters it is this one).
"""

from __future__ import annotations

import numpy as np

from .engines import ENGINES, LIMITED, check_supported
from .layout import prepare_arrays
from .padding import apply_padding, check_mode_pads
from .shapes import ConvGeometry

__all__ = ["conv2d", "conv2d_naive", "convolve"]


def conv2d(
    x,
    w,
    b=None,
    *,
    stride=1,
    padding="valid",
    dilation=1,
    groups: int = 1,
    data_format: str = "NHWC",
    padding_mode: str = "zeros",
    algorithm: str = "auto",
) -> np.ndarray:
    """2-D convolution of ``x`` with kernel ``w`` (a cross-correlation: ``w`` is not flipped).

    Parameters
    ----------
    x : array_like, ``(N, H, W, C)`` (NHWC) or ``(N, C, H, W)`` (NCHW); 3-D (no batch axis): 3-D output
    w : array_like, HWIO ``(kh, kw, C/groups, C_out)`` for NHWC (as TensorFlow), OIHW for NCHW (as PyTorch)
    b : array_like, optional, bias ``(C_out,)``
    stride, dilation : int or (int, int)
    padding : {"valid", "same", "full"}, int, (int, int) or ((top, bottom), (left, right))
        ``"same"``: TensorFlow's (``ceil(n/s)`` outputs, odd pad cell after); ``"full"``: ``d*(k-1)`` a side.
    groups : int, independent channel groups (``groups == C``: depthwise)
    data_format : {"NHWC", "NCHW"}
    padding_mode : {"zeros", "reflect", "replicate", "circular"}, what padded cells hold (PyTorch's)
    algorithm : str, ``"auto"`` (the fast room, :mod:`convlib.fast`) or a reference engine (``ENGINES``)

    Returns
    -------
    numpy.ndarray, in ``x``'s dtype

    Raises
    ------
    ValueError
        An invalid argument, named with the sizes, before any large allocation (``check_conv_shapes``);
        an algorithm that is unknown or cannot run the layer.

    Shape
    -----
    ``(N, H_out, W_out, C_out)`` or ``(N, C_out, H_out, W_out)`` (as ``x``, no ``N`` if it has none),
    ``H_out = floor((H + p_top + p_bottom - d*(k-1) - 1) / s) + 1``, likewise ``W_out``.

    Examples
    --------
    >>> conv2d(np.arange(16.0).reshape(1, 4, 4, 1), np.ones((2, 2, 1, 1)))[0, :, :, 0].tolist()
    [[10.0, 14.0, 18.0], [26.0, 30.0, 34.0], [42.0, 46.0, 50.0]]
    """
    x4, w4, b, geo, dtype = prepare_arrays(
        x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups, data_format=data_format
    )
    return convolve(x4, w4, b, geo, dtype, padding_mode=padding_mode, algorithm=algorithm)


def convolve(x4, w4, b, geo: ConvGeometry, dtype, *, padding_mode="zeros", algorithm="auto") -> np.ndarray:
    """The validated convolution ``geo`` of NHWC ``x4`` and HWIO ``w4``, plus ``b``, in ``geo``'s
    layout and ``dtype``; ``ValueError`` for a ``padding_mode`` or ``algorithm`` that cannot run it."""
    padding_mode = check_mode_pads(geo.in_hw, geo.pads, padding_mode)
    if algorithm == "auto":
        from .fast import conv2d_auto  # blocks, threads, compiled kernels: the benchmark's room

        return conv2d_auto(x4, w4, b, geo, padding_mode, dtype)
    if not isinstance(algorithm, str) or algorithm not in ENGINES or algorithm in LIMITED:
        check_supported(
            algorithm, w4.shape, stride=geo.stride, dilation=geo.dilation, padding_mode=padding_mode
        )
    xp = apply_padding(x4, geo.pads, padding_mode)
    pads = {"pads": geo.pads} if algorithm == "taps" else {}  # the zeros taps skips
    y = ENGINES[algorithm](xp, w4, stride=geo.stride, dilation=geo.dilation, groups=geo.groups, **pads)
    if b is not None:
        y += b
    y = y.astype(dtype, copy=False)
    y = np.ascontiguousarray(y.transpose(0, 3, 1, 2) if geo.data_format == "NCHW" else y)
    return y if geo.batch is not None else y[0]


def conv2d_naive(
    x,
    w,
    b=None,
    *,
    stride=1,
    padding="valid",
    dilation=1,
    groups: int = 1,
    data_format: str = "NHWC",
    padding_mode: str = "zeros",
) -> np.ndarray:
    """The teaching version of :func:`conv2d`: one explicit window per output position.

    Same arguments, checks, result and ``Shape`` as :func:`conv2d` (``algorithm="naive"``); the
    loop in :func:`convlib.engines.naive.conv` is the definition the other engines are tested against.

    Parameters
    ----------
    x, w, b, stride, padding, dilation, groups, data_format, padding_mode
        As for :func:`conv2d`.

    Returns
    -------
    numpy.ndarray
        As :func:`conv2d`.

    Raises
    ------
    ValueError
        As :func:`conv2d`.

    Examples
    --------
    >>> conv2d_naive(np.arange(9.0).reshape(3, 3, 1), np.ones((2, 2, 1, 1)))[:, :, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    return conv2d(
        x,
        w,
        b,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        data_format=data_format,
        padding_mode=padding_mode,
        algorithm="naive",
    )
