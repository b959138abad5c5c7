"""2-D convolution (cross-correlation, as in TensorFlow and PyTorch)."""

from __future__ import annotations

import functools

import numpy as np

from .engines import _blocks, select_engine
from .engines._slab import check_pads, padded_shape
from .layout import prepare_conv
from .padding import normalize_padding_mode

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
    backend: str = "numpy",
    device=None,
):
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
        ``"auto"`` or an engine name from :data:`convlib.engines.ENGINES`.
    backend : {"numpy", "torch"}
        ``"torch"`` runs the same algorithms with torch operations (CPU or CUDA).
    device : str, optional
        Torch device for ``backend="torch"``.

    Returns
    -------
    numpy.ndarray
        ``(N, H_out, W_out, C_out)`` or ``(N, C_out, H_out, W_out)``, in the input's dtype.

    Raises
    ------
    ValueError
        Any invalid argument, with the parameter and sizes named (see
        :func:`convlib.shapes.check_conv_shapes`), before anything is allocated.

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
    """
    if backend == "torch":
        from .backends.torch import conv2d as torch_conv2d

        return torch_conv2d(
            x,
            w,
            b,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            data_format=data_format,
            padding_mode=padding_mode,
            algorithm=algorithm,
            device=device,
        )
    if backend != "numpy":
        raise ValueError(f"backend must be 'numpy' or 'torch', got {backend!r}")
    padding_mode = normalize_padding_mode(padding_mode)
    x4, w4, b, geo, dtype = prepare_conv(
        x,
        w,
        b,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        data_format=data_format,
    )
    # The engines pad block by block; only the shape of the padded input is needed here.
    check_pads(x4.shape, geo.pads, padding_mode)
    engine = select_engine(
        algorithm,
        padded_shape(x4.shape, geo.pads),
        w4.shape,
        stride=geo.stride,
        dilation=geo.dilation,
        groups=geo.groups,
        pads=geo.pads,
        padding_mode=padding_mode,
    )
    run = functools.partial(
        engine,
        w=w4,
        stride=geo.stride,
        dilation=geo.dilation,
        groups=geo.groups,
        pads=geo.pads,
        padding_mode=padding_mode,
    )
    if geo.data_format == "NHWC" and x4.dtype == dtype:
        y = run(x4)
        if b is not None:
            y += b
        return y if geo.batch is not None else y[0]
    return _in_chunks(run, x4, b, geo, dtype)


def _in_chunks(run, x4, b, geo, dtype) -> np.ndarray:
    """Run the engine on batches of images, each result moved into the final layout and dtype.

    An NCHW result (or a float16 one, computed in float32) is a second array of the output's
    size; converting the whole NHWC float32 result at the end would hold both at once. Chunks
    of at most :data:`convlib.engines._blocks.BUFFER_BYTES` of engine output keep that extra
    memory bounded (a single image larger than that is one chunk).
    """
    (ho, wo), n, o = geo.out_hw, x4.shape[0], geo.out_channels
    nchw = geo.data_format == "NCHW"
    y = np.empty((n, o, ho, wo) if nchw else (n, ho, wo, o), dtype=dtype)
    per_image = ho * wo * o * np.dtype(x4.dtype).itemsize
    step = max(1, _blocks.BUFFER_BYTES // max(per_image, 1))
    for b0 in range(0, n, step):
        part = run(x4[b0 : b0 + step])
        if b is not None:
            part += b
        y[b0 : b0 + step] = part.transpose(0, 3, 1, 2) if nchw else part
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
