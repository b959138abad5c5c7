"""The tap rectangles of :mod:`convlib.engines.taps`, in cache-sized blocks of output rows.

Each tap's rectangle, cut to a block of output rows, is copied to a reused contiguous buffer
(the GEMM's rows); the products are added into the output. Only ``padding_mode="zeros"`` can
skip the pad cells, so other modes are refused.
"""

from __future__ import annotations

import numpy as np

from ..engines.taps import tap_ranges
from ..shapes import span, window_count
from . import _blocks
from ._slab import NO_PADS, padded_shape
from ._threads import run_split


def conv(
    xp: np.ndarray, w: np.ndarray, *, stride, dilation, groups, pads=NO_PADS, padding_mode="zeros"
) -> np.ndarray:
    """Cross-correlation of NHWC ``xp``, zero-padded by ``pads``, with HWIO ``w``, tap by tap.

    Parameters
    ----------
    xp : numpy.ndarray
        Input ``(N, H, W, C)``.
    w : numpy.ndarray
        HWIO kernel ``(kh, kw, C/groups, O)``, same dtype as ``xp``.
    stride, dilation : (int, int)
        Already normalised pairs.
    groups : int
        Independent channel groups (one product per group and tap).
    pads : ((int, int), (int, int)), optional
        ``((top, bottom), (left, right))`` of zeros; never read.
    padding_mode : {"zeros"}
        Only zeros can be skipped.

    Returns
    -------
    numpy.ndarray
        ``(N, H_out, W_out, O)`` in the dtype of ``xp``.

    Raises
    ------
    ValueError
        For a ``padding_mode`` other than ``"zeros"``.

    Shape
    -----
    ``H_out = floor((H + p_top + p_bottom - d*(kh-1) - 1) / s) + 1``, likewise ``W_out``.
    Work: :func:`useful_fraction` of im2col's products.

    Examples
    --------
    >>> conv(np.arange(9.0).reshape(1, 3, 3, 1), np.ones((2, 2, 1, 1)), stride=(1, 1),
    ...      dilation=(1, 1), groups=1, pads=((1, 0), (1, 0)))[0, :, :, 0]
    array([[ 0.,  1.,  3.],
           [ 3.,  8., 12.],
           [ 9., 20., 24.]])
    """
    if padding_mode != "zeros":
        raise ValueError(f"the taps engine skips zero pad cells only; got padding_mode={padding_mode!r}")
    n, hp, wp, c = padded_shape(xp.shape, pads)
    kh, kw, cg, o = w.shape
    og, dtype = o // groups, np.result_type(xp, w)
    (sh, sw), (dh, dw) = stride, dilation
    ho, wo = window_count(hp, kh, stride=sh, dilation=dh), window_count(wp, kw, stride=sw, dilation=dw)
    rows_a = tap_ranges(xp.shape[1], ho, kh, sh, dh, pads[0][0])
    cols_b = tap_ranges(xp.shape[2], wo, kw, sw, dw, pads[1][0])
    wt = np.ascontiguousarray(w, dtype=dtype)
    y = np.zeros((n, ho, wo, o), dtype=dtype)
    # Blocks of output rows (whole images where they fit): each tap's rectangle is cut to the
    # block's rows, so the copied rows and their product stay block-sized.
    row_bytes = wo * (cg + og) * dtype.itemsize

    def work(run):
        most = max((b1 - b0) * (r1 - r0) for b0, b1, r0, r1 in run) * wo
        buf, prod = (
            _blocks.scratch("taps.rows", most * cg, dtype),
            _blocks.scratch("taps.prod", most * og, dtype),
        )
        for b0, b1, r0, r1 in run:
            for a, (i0, i1, r) in enumerate(rows_a):
                lo, hi = max(i0, r0), min(i1, r1)  # this tap's outputs within the block's rows
                for b, (j0, j1, q) in enumerate(cols_b):
                    if hi <= lo or j1 <= j0:
                        continue
                    top = r + (lo - i0) * sh
                    src = xp[b0:b1, top : top + span(hi - lo, sh) : sh, q : q + span(j1 - j0, sw) : sw]
                    rows = src.shape[0] * src.shape[1] * src.shape[2]
                    for g in range(groups):
                        patch = buf[: rows * cg].reshape(src.shape[:3] + (cg,))
                        np.copyto(patch, src[..., g * cg : (g + 1) * cg])
                        out = prod[: rows * og].reshape(rows, og)
                        np.matmul(patch.reshape(rows, cg), wt[a, b, :, g * og : (g + 1) * og], out=out)
                        y[b0:b1, lo:hi, j0:j1, g * og : (g + 1) * og] += out.reshape(src.shape[:3] + (og,))

    run_split(work, _blocks.plan(n, ho, row_bytes, budget=_blocks.CACHE_BYTES))
    return y
