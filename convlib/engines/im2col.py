"""im2col + GEMM: gather every window into a row, then one matrix product per group.

The windows come from ``numpy.lib.stride_tricks.sliding_window_view`` (a read-only view)
and are copied one cache-sized block at a time into a reused buffer, in ``(kh, kw, C)`` order so that
the innermost copy runs over contiguous channels; the product is written straight into
the output with ``np.matmul(..., out=)``. A 1x1 stride-1 layer needs no gather at all:
the input already is the patch matrix.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..shapes import effective_kernel_size, window_count
from . import _blocks
from ._blocks import blocks

MIN_ROWS = 512


def windows(xp: np.ndarray, kh: int, kw: int, *, stride, dilation) -> np.ndarray:
    """View of every window: shape ``(N, H_out, W_out, kh, kw, C)``, no copy."""
    (sh, sw), (dh, dw) = stride, dilation
    eh, ew = effective_kernel_size(kh, dh), effective_kernel_size(kw, dw)
    v = sliding_window_view(xp, (eh, ew), axis=(1, 2))
    return v[:, ::sh, ::sw, :, ::dh, ::dw].transpose(0, 1, 2, 4, 5, 3)


def conv(xp: np.ndarray, w: np.ndarray, *, stride, dilation, groups) -> np.ndarray:
    """Valid cross-correlation of padded NHWC ``xp`` with HWIO ``w`` by im2col + GEMM.

    Parameters
    ----------
    xp : numpy.ndarray
        Padded input ``(N, H_p, W_p, C)``.
    w : numpy.ndarray
        HWIO kernel ``(kh, kw, C/groups, O)``, same dtype as ``xp``.
    stride, dilation : (int, int)
        Already normalised pairs.
    groups : int
        Independent channel groups.

    Returns
    -------
    numpy.ndarray
        ``(N, H_out, W_out, O)`` in the dtype of ``xp``.

    Shape
    -----
    ``H_out = floor((H_p - d*(kh-1) - 1) / s) + 1``, likewise ``W_out``.
    Workspace: about ``_blocks.CACHE_BYTES`` of gathered patches at a time, or ``MIN_ROWS``
    patch rows where those are larger, never more than ``_blocks.BUFFER_BYTES`` (one output row
    more where a single row is larger).

    Examples
    --------
    >>> conv(np.arange(9.0).reshape(1, 3, 3, 1), np.ones((2, 2, 1, 1)), stride=(1, 1),
    ...      dilation=(1, 1), groups=1)[0, :, :, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    n, hp, wp, c = xp.shape
    kh, kw, cg, o = w.shape
    og, k = o // groups, kh * kw * cg
    ho = window_count(hp, kh, stride=stride[0], dilation=dilation[0])
    wo = window_count(wp, kw, stride=stride[1], dilation=dilation[1])
    dtype = np.result_type(xp, w)
    y = np.empty((n, ho, wo, o), dtype=dtype)
    w_mats = [np.ascontiguousarray(w[..., g * og : (g + 1) * og]).reshape(k, og) for g in range(groups)]
    direct = kh == kw == 1 and tuple(stride) == (1, 1) and xp.flags.c_contiguous
    v = None if direct else windows(xp, kh, kw, stride=stride, dilation=dilation)
    buf = np.empty(0, dtype=dtype)
    # Cache-sized blocks, but at least MIN_ROWS patch rows: with thousands of taps (ResNet's
    # 512-channel 3x3 layers) fewer rows leave the product too thin for BLAS (res5 3x3/2, batch 8:
    # 19 ms with 512 rows against 22 ms with 2 MiB blocks of 98 rows).
    budget = min(_blocks.BUFFER_BYTES, max(_blocks.CACHE_BYTES, MIN_ROWS * k * dtype.itemsize))
    for b0, b1, r0, r1 in blocks(n, ho, wo * k * dtype.itemsize, budget=budget):
        rows = (b1 - b0) * (r1 - r0) * wo
        out = y[b0:b1, r0:r1].reshape(rows, o)
        for g, wm in enumerate(w_mats):
            if direct:
                patch = xp[b0:b1, r0:r1, :, g * cg : (g + 1) * cg].reshape(rows, cg)
            else:
                if buf.size < rows * k:
                    buf = np.empty(rows * k, dtype=dtype)
                patch = buf[: rows * k].reshape(rows, k)
                src = v[b0:b1, r0:r1, :, :, :, g * cg : (g + 1) * cg]
                np.copyto(patch.reshape(src.shape), src)
            if groups == 1:
                np.matmul(patch, wm, out=out)
            else:
                out[:, g * og : (g + 1) * og] = patch @ wm
    return y
