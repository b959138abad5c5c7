"""2-D convolution (cross-correlation, as in TensorFlow and PyTorch).

:func:`conv2d` validates the call once (:func:`convlib.layout.prepare_arrays`), pads the input
(:func:`convlib.padding.apply_padding`), runs one engine of :mod:`convlib.engines` and adds the
bias; ``algorithm="auto"``, the default, hands the validated arrays to the fast room instead.
"""

from __future__ import annotations

import numpy as np

from .engines import ENGINES, check_supported
from .layout import prepare_arrays, restore_layout
from .padding import apply_padding, check_mode_pads

__all__ = ["conv2d", "conv2d_naive"]


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
    x : array_like
        Input, ``(N, H, W, C)`` for ``data_format="NHWC"`` or ``(N, C, H, W)`` for
        ``"NCHW"``; a 3-D input without the batch axis gives a 3-D output.
    w : array_like
        Kernel: HWIO ``(kh, kw, C/groups, C_out)`` for NHWC, as ``tf.nn.conv2d`` takes it;
        OIHW ``(C_out, C/groups, kh, kw)`` for NCHW, as ``torch.nn.functional.conv2d``.
    b : array_like, optional
        Bias of shape ``(C_out,)``.
    stride, dilation : int or (int, int)
        Step between windows and spacing between kernel taps.
    padding : {"valid", "same", "full"} or int or (int, int) or ((int, int), (int, int))
        ``"same"`` follows TensorFlow: output ``ceil(n / s)``, the odd extra cell at the
        bottom/right, valid with any stride and dilation. ``"full"`` pads ``d*(k-1)`` on
        both sides. Numbers are ``p``, ``(ph, pw)`` or ``((top, bottom), (left, right))``.
    groups : int
        Split channels into ``groups`` independent convolutions (``groups == C`` is depthwise).
    data_format : {"NHWC", "NCHW"}
    padding_mode : {"zeros", "reflect", "replicate", "circular"}
        What the padded cells hold, with PyTorch's meaning.
    algorithm : str
        ``"auto"``: the fast room, :func:`convlib.fast.conv2d_auto`, which picks an engine per
        layer and keeps its workspace under 64 MiB. Or a reference engine's name from
        :data:`convlib.engines.ENGINES` (``"naive"``, ``"im2col"``, ``"winograd_f4"``, ...):
        the plain NumPy engine, run on the whole padded input.

    Returns
    -------
    numpy.ndarray
        ``(N, H_out, W_out, C_out)`` or ``(N, C_out, H_out, W_out)``, in the input's dtype.

    Raises
    ------
    ValueError
        Any invalid argument, with the parameter and sizes named (see
        :func:`convlib.shapes.check_conv_shapes`), before anything is allocated; an unknown
        algorithm, or an engine that cannot run the layer (Winograd needs 3x3 and stride 1).

    Shape
    -----
    Per axis, with ``(p_top, p_bottom)`` the resolved padding::

        H_out = floor((H + p_top + p_bottom - d*(k-1) - 1) / s) + 1

    Examples
    --------
    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> w = np.ones((2, 2, 1, 1))
    >>> conv2d(x, w)[0, :, :, 0]
    array([[10., 14., 18.],
           [26., 30., 34.],
           [42., 46., 50.]])
    >>> conv2d(x, w, stride=2, padding="same").shape
    (1, 2, 2, 1)

    The same computation with torch operations, on a GPU: :func:`convlib.backends.torch.conv2d`.
    """
    x4, w4, b, geo, dtype = prepare_arrays(
        x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups, data_format=data_format
    )
    padding_mode = check_mode_pads(geo.in_hw, geo.pads, padding_mode)
    if algorithm == "auto":
        from .fast import conv2d_auto  # blocks, threads, compiled kernels: the benchmark's room

        return conv2d_auto(x4, w4, b, geo, padding_mode, dtype)
    check_supported(algorithm, w4.shape, stride=geo.stride, dilation=geo.dilation, padding_mode=padding_mode)
    xp = apply_padding(x4, geo.pads, padding_mode)
    pads = {"pads": geo.pads} if algorithm == "taps" else {}  # the zeros taps skips
    y = ENGINES[algorithm](xp, w4, stride=geo.stride, dilation=geo.dilation, groups=geo.groups, **pads)
    if b is not None:
        y += b
    return restore_layout(y.astype(dtype, copy=False), geo.data_format, geo.batch is not None)


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

    Same arguments, checks and result as :func:`conv2d`; the loop in
    :func:`convlib.engines.naive.conv` is the definition the fast engines are tested against.

    Examples
    --------
    >>> x = np.arange(9.0).reshape(3, 3, 1)
    >>> conv2d_naive(x, np.ones((2, 2, 1, 1)))[:, :, 0]
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
