"""Shifted GEMM: one matrix product per kernel tap, on the input itself, accumulated.

Tap ``(a, b)`` of every output ``(i, j)`` reads input cell ``(i*s_h + a*d_h, j*s_w + b*d_w)``:
for all outputs at once that is one strided slice of the padded input, with no window copy.
``y = sum over taps of slice(a, b) @ w[a, b]``: ``kh * kw`` products of ``(rows, C) @ (C, O)``
instead of im2col's one product of ``(rows, kh*kw*C) @ (kh*kw*C, O)``.
"""

from __future__ import annotations

import numpy as np

from ..shapes import span, window_count
from .im2col import grouped_product

__all__ = ["conv", "tap_slice"]


def tap_slice(xp: np.ndarray, a: int, b: int, out_hw, stride, dilation) -> np.ndarray:
    """The cells tap ``(a, b)`` reads for each of the ``out_hw`` outputs: ``(N, H_out, W_out, C)``, a view
    (of a NumPy array or a torch tensor: plain slicing)."""
    (ho, wo), (sh, sw), (dh, dw) = out_hw, stride, dilation
    return xp[:, a * dh : a * dh + span(ho, sh) : sh, b * dw : b * dw + span(wo, sw) : sw]


def conv(xp: np.ndarray, w: np.ndarray, *, stride, dilation, groups: int) -> np.ndarray:
    """Valid cross-correlation of padded NHWC ``xp`` with HWIO ``w``, one product per tap.

    Same arguments and result as :func:`convlib.engines.im2col.conv`.

    Examples
    --------
    >>> conv(np.arange(9.0).reshape(1, 3, 3, 1), np.ones((2, 2, 1, 1)), stride=(1, 1),
    ...      dilation=(1, 1), groups=1)[0, :, :, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    kh, kw, _, o = w.shape
    ho = window_count(xp.shape[1], kh, stride=stride[0], dilation=dilation[0])
    wo = window_count(xp.shape[2], kw, stride=stride[1], dilation=dilation[1])
    y = np.zeros((xp.shape[0], ho, wo, o), dtype=np.result_type(xp, w))
    for a in range(kh):
        for b in range(kw):
            src = tap_slice(xp, a, b, (ho, wo), stride, dilation)
            y += grouped_product(src[..., None, :], w[a, b][None], groups)
    return y
