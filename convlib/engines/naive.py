"""The teaching engine: visit every output position and take one window's dot product."""

from __future__ import annotations

import numpy as np

from ..shapes import window_count


def conv(xp: np.ndarray, w: np.ndarray, *, stride, dilation, groups) -> np.ndarray:
    """Valid cross-correlation of padded NHWC ``xp`` with HWIO ``w``, one window at a time.

    ``y[n, i, j, o] = sum_{a, b, c} xp[n, i*sh + a*dh, j*sw + b*dw, g*Cg + c] * w[a, b, c, o]``
    where ``g = o // (O / groups)`` is the group of output channel ``o``.
    """
    n, hp, wp, c = xp.shape
    kh, kw, cg, o = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    ho = window_count(hp, kh, stride=sh, dilation=dh)
    wo = window_count(wp, kw, stride=sw, dilation=dw)
    og = o // groups
    y = np.zeros((n, ho, wo, o), dtype=np.result_type(xp, w))
    for i in range(ho):
        for j in range(wo):
            # The window the kernel sees at output (i, j): kh x kw taps, dilation apart.
            window = xp[
                :, i * sh : i * sh + dh * (kh - 1) + 1 : dh, j * sw : j * sw + dw * (kw - 1) + 1 : dw, :
            ]
            for g in range(groups):
                y[:, i, j, g * og : (g + 1) * og] = np.tensordot(
                    window[..., g * cg : (g + 1) * cg], w[..., g * og : (g + 1) * og], axes=3
                )
    return y
