"""Depthwise convolution (one input channel per group) as an accumulation over the taps.

With ``C/groups == 1`` every output channel reads a single input channel, so there is no
matrix product: the work is ``kh * kw`` multiply-adds per output value, about two flops per
value read, and the layer is bound by memory traffic. Each tap is one strided view of the
padded input times that tap's per-channel weights, added to the output; with ``M`` output
channels per input channel, output channel ``o`` reads input channel ``o // M``.
"""

from __future__ import annotations

import numpy as np

from ..shapes import window_count
from .shifted import tap_slice

__all__ = ["check_supported", "conv"]


def check_supported(w_shape) -> None:
    """Raise ``ValueError`` unless the HWIO kernel shape has one input channel per group (depthwise)."""
    if len(w_shape) != 4:
        raise ValueError(f"depthwise needs the HWIO kernel shape (kh, kw, C/groups, O), got {tuple(w_shape)}")
    if w_shape[2] != 1:
        raise ValueError(
            f"depthwise needs one input channel per group (kernel C/groups == 1); got a kernel "
            f"{tuple(w_shape)} with C/groups = {w_shape[2]} (use 'im2col')"
        )


def conv(xp: np.ndarray, w: np.ndarray, *, stride, dilation, groups: int) -> np.ndarray:
    """Valid depthwise cross-correlation of padded NHWC ``xp`` with HWIO ``w (kh, kw, 1, C*M)``.

    ``groups`` is ``C`` (``groups == 1`` with ``C == 1`` fits too). Otherwise as
    :func:`convlib.engines.im2col.conv`.

    Examples
    --------
    >>> conv(np.arange(9.0).reshape(1, 3, 3, 1), np.ones((2, 2, 1, 1)), stride=(1, 1),
    ...      dilation=(1, 1), groups=1)[0, :, :, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    check_supported(w.shape)
    kh, kw, _, o = w.shape
    xm = np.repeat(xp, o // xp.shape[3], axis=3) if o != xp.shape[3] else xp
    ho = window_count(xp.shape[1], kh, stride=stride[0], dilation=dilation[0])
    wo = window_count(xp.shape[2], kw, stride=stride[1], dilation=dilation[1])
    y = np.zeros((xp.shape[0], ho, wo, o), dtype=np.result_type(xp, w))
    for a in range(kh):
        for b in range(kw):
            y += tap_slice(xm, a, b, (ho, wo), stride, dilation) * w[a, b, 0]
    return y
