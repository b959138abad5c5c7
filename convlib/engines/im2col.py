"""im2col + GEMM: gather every window into a row, then one matrix product per group.

The windows come from ``numpy.lib.stride_tricks.sliding_window_view`` (a read-only view);
only the rows of one chunk are copied at a time, so the workspace stays bounded however
large the input is.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..shapes import effective_kernel_size

# Upper bound on the bytes of one chunk of gathered patches.
WORKSPACE_BYTES = 32 * 2**20


def windows(xp: np.ndarray, kh: int, kw: int, *, stride, dilation) -> np.ndarray:
    """View of every window: shape ``(N, H_out, W_out, C, kh, kw)``, no copy."""
    (sh, sw), (dh, dw) = stride, dilation
    eh, ew = effective_kernel_size(kh, dh), effective_kernel_size(kw, dw)
    v = sliding_window_view(xp, (eh, ew), axis=(1, 2))
    return v[:, ::sh, ::sw, :, ::dh, ::dw]


def conv(xp: np.ndarray, w: np.ndarray, *, stride, dilation, groups) -> np.ndarray:
    """Valid cross-correlation of padded NHWC ``xp`` with HWIO ``w`` by im2col + GEMM."""
    kh, kw, cg, o = w.shape
    og = o // groups
    v = windows(xp, kh, kw, stride=stride, dilation=dilation)
    n, ho, wo = v.shape[:3]
    y = np.empty((n, ho, wo, o), dtype=np.result_type(xp, w))
    # Rows of the patch matrix are ordered (C, kh, kw), so the kernel is reshaped to match.
    w_mats = [
        w[..., g * og : (g + 1) * og].transpose(2, 0, 1, 3).reshape(cg * kh * kw, og) for g in range(groups)
    ]
    row_bytes = wo * cg * kh * kw * xp.itemsize
    rows = max(1, WORKSPACE_BYTES // max(row_bytes, 1))
    for b in range(n):
        for start in range(0, ho, rows):
            stop = min(ho, start + rows)
            for g, wm in enumerate(w_mats):
                patch = v[b, start:stop, :, g * cg : (g + 1) * cg].reshape(-1, cg * kh * kw)
                y[b, start:stop, :, g * og : (g + 1) * og] = (patch @ wm).reshape(stop - start, wo, og)
    return y
