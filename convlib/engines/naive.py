"""The teaching engine: visit every output position and take one window's dot product."""

from __future__ import annotations

import numpy as np

from ..padding import apply_padding
from ..shapes import effective_kernel_size, window_count

NO_PADS = ((0, 0), (0, 0))


def conv(
    xp: np.ndarray,
    w: np.ndarray,
    *,
    stride,
    dilation,
    groups,
    pads=NO_PADS,
    padding_mode="zeros",
) -> np.ndarray:
    """Cross-correlate NHWC ``xp``, padded by ``pads``, with HWIO ``w``.

    One window at a time, on the padded input:
    ``y[n, i, j, o] = sum_{a, b, c}
    xp[n, i*sh + a*dh, j*sw + b*dw, g*Cg + c] * w[a, b, c, o]``,
    where ``g = o // (O / groups)`` is the group of output channel ``o``.
    The definition the fast engines are tested against; it pads the whole
    input (the 64 MiB workspace promise is the fast engines').
    """
    xp = apply_padding(xp, pads, padding_mode)
    n, hp, wp, c = xp.shape
    kh, kw, cg, o = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    ho = window_count(hp, kh, stride=sh, dilation=dh)
    wo = window_count(wp, kw, stride=sw, dilation=dw)
    eh, ew = effective_kernel_size(kh, dh), effective_kernel_size(kw, dw)  # cells a window spans
    og = o // groups
    y = np.zeros((n, ho, wo, o), dtype=np.result_type(xp, w))
    for i in range(ho):
        for j in range(wo):
            # The window at output (i, j): kh x kw taps, dilation apart.
            rows = slice(i * sh, i * sh + eh, dh)
            cols = slice(j * sw, j * sw + ew, dw)
            window = xp[:, rows, cols, :]
            for g in range(groups):
                y[:, i, j, g * og : (g + 1) * og] = np.tensordot(
                    window[..., g * cg : (g + 1) * cg],
                    w[..., g * og : (g + 1) * og],
                    axes=3,
                )
    return y
