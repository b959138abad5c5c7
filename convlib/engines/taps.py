"""Tap rectangles: one product per kernel tap over just the outputs whose tap reads the input.

With zero padding, tap ``(a, b)`` of output ``(i, j)`` reads padded cell
``(i*s_h + a*d_h, j*s_w + b*d_w)``, and where that cell is padding it adds nothing. The
outputs whose tap lands inside the input form one rectangle per tap (:func:`tap_ranges`), so
``y[rect] += X[rect shifted by the tap] @ W[a, b]`` over the taps is exactly the convolution,
with no product taken with a pad cell. im2col multiplies those zeros: on DeepLabv3's ASPP
branch (3x3, dilation 12, padding 12, on a 14x14 map) 82% of its products are with zeros
(:func:`useful_fraction`). Only ``padding_mode="zeros"`` can be skipped.
"""

from __future__ import annotations

import numpy as np

from ..shapes import span, window_count
from .im2col import grouped_product

__all__ = ["conv", "tap_ranges", "useful_fraction"]


def tap_ranges(size: int, out: int, k: int, stride: int, dilation: int, before: int):
    """Per tap ``a``: ``(o0, o1, i0)``, outputs ``o0:o1`` read input ``i0 + (o - o0) * stride``.

    ``size`` input cells padded by ``before`` at the start; ``out`` outputs; indices ``i0`` are
    in the unpadded input.

    Examples
    --------
    >>> tap_ranges(14, 14, 3, 1, 12, 12)  # ASPP: the side taps reach the input for 2 outputs
    [(12, 14, 0), (0, 14, 0), (0, 2, 12)]
    """
    out_ranges = []
    for a in range(k):
        off = a * dilation - before  # input index of output 0
        o0 = -(off // stride) if off < 0 else 0  # ceil(-off / stride)
        o1 = min(out, (size - 1 - off) // stride + 1) if size - 1 - off >= 0 else 0
        out_ranges.append((o0, max(o0, o1), o0 * stride + off))
    return out_ranges


def useful_fraction(x_shape, w_shape, *, stride, dilation, pads) -> float:
    """Share of the ``kh * kw * H_out * W_out`` tap reads that land inside the input (not padding).

    Examples
    --------
    >>> round(useful_fraction((1, 14, 14, 8), (3, 3, 8, 8), stride=(1, 1), dilation=(12, 12),
    ...                       pads=((12, 12), (12, 12))), 3)
    0.184
    """
    share = 1.0
    for size, k, s, d, (before, after) in zip(x_shape[1:3], w_shape[:2], stride, dilation, pads):
        out = window_count(size + before + after, k, stride=s, dilation=d)
        share *= sum(o1 - o0 for o0, o1, _ in tap_ranges(size, out, k, s, d, before)) / (k * out)
    return share


def conv(
    xp: np.ndarray, w: np.ndarray, *, stride, dilation, groups: int, pads=((0, 0), (0, 0))
) -> np.ndarray:
    """Valid cross-correlation of NHWC ``xp`` with HWIO ``w``, skipping the zero pad cells.

    ``pads = ((top, bottom), (left, right))`` are the border cells of ``xp`` that are zero
    padding: never read. Otherwise as :func:`convlib.engines.im2col.conv`.

    Examples
    --------
    >>> xp = np.pad(np.arange(9.0).reshape(1, 3, 3, 1), ((0, 0), (1, 0), (1, 0), (0, 0)))
    >>> conv(xp, np.ones((2, 2, 1, 1)), stride=(1, 1), dilation=(1, 1), groups=1,
    ...      pads=((1, 0), (1, 0)))[0, :, :, 0]
    array([[ 0.,  1.,  3.],
           [ 3.,  8., 12.],
           [ 9., 20., 24.]])
    """
    kh, kw, _, o = w.shape
    (sh, sw), (dh, dw), ((t, bottom), (left, right)) = stride, dilation, pads
    h, wd = xp.shape[1] - t - bottom, xp.shape[2] - left - right
    ho, wo = (
        window_count(xp.shape[1], kh, stride=sh, dilation=dh),
        window_count(xp.shape[2], kw, stride=sw, dilation=dw),
    )
    y = np.zeros((xp.shape[0], ho, wo, o), dtype=np.result_type(xp, w))
    for a, (i0, i1, r) in enumerate(tap_ranges(h, ho, kh, sh, dh, t)):
        for b, (j0, j1, q) in enumerate(tap_ranges(wd, wo, kw, sw, dw, left)):
            if i0 < i1 and j0 < j1:
                rows, cols = (
                    slice(t + r, t + r + span(i1 - i0, sh), sh),
                    slice(left + q, left + q + span(j1 - j0, sw), sw),
                )
                y[:, i0:i1, j0:j1] += grouped_product(xp[:, rows, cols, None, :], w[a, b][None], groups)
    return y
