"""Shifted GEMM: one matrix product per kernel tap, accumulated, with no im2col copy.

Flatten a contiguous padded image to a ``(H_p * W_p, C)`` matrix. Tap ``(a, b)`` of a
stride-1 convolution reads, for output ``(i, j)``, input row ``(i + a*d_h) * W_p + j + b*d_w``:
the same matrix shifted by a constant offset. So ``y = sum_taps X[offset : offset + R] @ W[a, b]``
uses contiguous slices of the input itself; the price is that the output is computed on
the padded width ``W_p`` and the ``W_p - W_out`` extra columns are thrown away.

A stride ``s > 1`` is turned into stride 1 by splitting the input into its ``s_h * s_w``
phases (``xp[:, p::s_h, q::s_w]``, one copy of the input in all): tap ``a`` reads phase
``(a*d) % s`` at offset ``(a*d) // s``.
"""

from __future__ import annotations

import numpy as np

from ..shapes import window_count
from . import _blocks
from ._slab import NO_PADS, padded_shape, slab
from ._threads import run_split

# Rows of one accumulated product: keeps the running sum and one product in the L2 cache.
CACHE_ROWS_BYTES = 256 * 2**10


def _taps(kh, kw, stride, dilation):
    """Per tap: ``(phase_row, phase_col, row_offset, col_offset)`` in the phase images."""
    (sh, sw), (dh, dw) = stride, dilation
    return [
        ((a * dh) % sh, (b * dw) % sw, (a * dh) // sh, (b * dw) // sw) for a in range(kh) for b in range(kw)
    ]


def _phases(xp, b0, b1, rows, stride, hq, wq):
    """The ``s_h * s_w`` phase images of ``xp[b0:b1]`` cut to ``rows`` and padded to ``(hq, wq)``."""
    sh, sw = stride
    out = np.zeros((sh, sw, b1 - b0, hq, wq, xp.shape[3]), dtype=xp.dtype)
    for p in range(sh):
        for q in range(sw):
            src = xp[b0:b1, p::sh, q::sw][:, rows]
            out[p, q, :, : src.shape[1], : src.shape[2]] = src
    return out


def _accumulate(src, taps, w_taps, full, wq, cache_rows):
    """``full[r] = sum_t src[phase_t].flat[r + offset_t] @ w_t`` over the valid flat rows."""
    total = full.shape[0]
    tmp = np.empty((min(cache_rows, total), full.shape[1]), dtype=full.dtype)
    flat = src.reshape(src.shape[0], src.shape[1], -1, src.shape[-1])
    for p0 in range(0, total, cache_rows):
        p1 = min(total, p0 + cache_rows)
        acc = full[p0:p1]
        for t, ((pr, pc, ro, co), wt) in enumerate(zip(taps, w_taps)):
            off = ro * wq + co
            x = flat[pr, pc, p0 + off : p1 + off]
            if t == 0:
                np.matmul(x, wt, out=acc)
            else:
                np.matmul(x, wt, out=tmp[: p1 - p0])
                acc += tmp[: p1 - p0]


def conv(
    xp: np.ndarray, w: np.ndarray, *, stride, dilation, groups, pads=NO_PADS, padding_mode="zeros"
) -> np.ndarray:
    """Valid cross-correlation of padded NHWC ``xp`` with HWIO ``w`` as a sum of shifted GEMMs.

    Parameters
    ----------
    xp : numpy.ndarray
        Input ``(N, H, W, C)``; already padded when ``pads`` is zero.
    w : numpy.ndarray
        HWIO kernel ``(kh, kw, C/groups, O)``, same dtype as ``xp``.
    stride, dilation : (int, int)
        Already normalised pairs.
    groups : int
        Independent channel groups.
    pads : ((int, int), (int, int)), optional
        ``((top, bottom), (left, right))``, applied block by block (never to the whole input).
    padding_mode : {"zeros", "reflect", "replicate", "circular"}

    Returns
    -------
    numpy.ndarray
        ``(N, H_out, W_out, O)`` in the dtype of ``xp``.

    Shape
    -----
    ``H_out = floor((H_p - d*(kh-1) - 1) / s) + 1``, likewise ``W_out``.
    Extra work ``H_q * W_q / (H_out * W_out)``, ``H_q = ceil(H_p / s_h) >= H_out + max offset``:
    the output is computed on the whole phase grid and cropped.

    Examples
    --------
    >>> conv(np.arange(9.0).reshape(1, 3, 3, 1), np.ones((2, 2, 1, 1)), stride=(1, 1),
    ...      dilation=(1, 1), groups=1)[0, :, :, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    n, hp, wp, c = padded_shape(xp.shape, pads)
    kh, kw, cg, o = w.shape
    og = o // groups
    (sh, sw), dtype = stride, np.result_type(xp, w)
    ho = window_count(hp, kh, stride=stride[0], dilation=dilation[0])
    wo = window_count(wp, kw, stride=stride[1], dilation=dilation[1])
    taps = _taps(kh, kw, stride, dilation)
    max_ro, max_co = max(t[2] for t in taps), max(t[3] for t in taps)
    wq = max(-(-wp // sw), wo + max_co)
    y = np.empty((n, ho, wo, o), dtype=dtype)
    xp = xp.astype(dtype, copy=False)
    w_taps = [
        [
            np.ascontiguousarray(w[a, b, :, g * og : (g + 1) * og], dtype=dtype)
            for a in range(kh)
            for b in range(kw)
        ]
        for g in range(groups)
    ]
    cache_rows = max(64, CACHE_ROWS_BYTES // (og * dtype.itemsize))
    # Per block: the phase slab (rows + halo) and the output on the phase grid width.
    row_bytes = wq * (sh * sw * c + 2 * o) * dtype.itemsize

    def work(run):
        for b0, b1, r0, r1 in run:
            hq = r1 - r0 + max_ro
            # The block's padded rows, made here (past the padded extent they read as zeros).
            part = slab(xp, b0, b1, (r0 * sh, (r0 + hq) * sh), (0, wq * sw), pads, padding_mode)
            if (sh, sw) == (1, 1):
                src = np.ascontiguousarray(part)[None, None]
            else:
                src = _phases(part, 0, b1 - b0, slice(0, hq), stride, hq, wq)
            nb = b1 - b0
            # Flat output rows from the first valid cell to the last one of the block.
            total = (nb - 1) * hq * wq + (r1 - r0 - 1) * wq + wo
            full = np.empty((nb * hq * wq, og), dtype=dtype)
            for g in range(groups):
                sub = src[..., g * cg : (g + 1) * cg] if groups > 1 else src
                _accumulate(sub, taps, w_taps[g], full[:total], wq, cache_rows)
                grid = full.reshape(nb, hq, wq, og)[:, : r1 - r0, :wo]
                y[b0:b1, r0:r1, :, g * og : (g + 1) * og] = grid

    # Half a buffer per block: the padded slab, its phases and the product grid are alive together.
    run_split(work, _blocks.plan(n, ho, row_bytes, budget=_blocks.buffer_bytes() // 2))
    return y
