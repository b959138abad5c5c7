"""im2col + GEMM, blocked: :mod:`convlib.engines.im2col` one cache-sized block of rows at a time.

The windows are one read-only view (:func:`convlib.engines.windows.windows`) of the block's padded
rows (:func:`convlib.fast._slab.slab`: the padding is made per block, never for the whole
input) and are copied one cache-sized block at a time into a reused
buffer, in ``(kh, kw, C)`` order so that the innermost copy runs over contiguous channels; the
product is written straight into the output with ``np.matmul(..., out=)``. A 1x1 stride-1
layer without padding needs no gather at all: the input already is the patch matrix.

Groups are one batched product ``(G, rows, k) @ (G, k, O/G)`` over a patch buffer gathered
group-major (from a group-major copy of the block's input, so that every copied run is
``kw * C/G`` values long) and written into the interleaved output through a strided view,
instead of a Python loop of ``G`` thin products (ResNeXt's 32 groups of 4 to 32 channels made
32 products of a few hundred flops per row each).
"""

from __future__ import annotations

import numpy as np

from ..engines.windows import windows
from ..shapes import effective_kernel_size, span, window_count
from . import _blocks
from ._slab import NO_PADS, padded_shape, slab
from ._threads import run_split

MIN_ROWS = 512


def group_kernels(w: np.ndarray, groups: int) -> np.ndarray:
    """HWIO ``(kh, kw, Cg, O)`` as ``groups`` patch-matrix kernels ``(G, kh*kw*Cg, O/G)``, contiguous."""
    kh, kw, cg, o = w.shape
    wg = w.reshape(kh, kw, cg, groups, o // groups).transpose(3, 0, 1, 2, 4)
    return np.ascontiguousarray(wg).reshape(groups, kh * kw * cg, o // groups)


def conv(
    xp: np.ndarray, w: np.ndarray, *, stride, dilation, groups, pads=NO_PADS, padding_mode="zeros"
) -> np.ndarray:
    """Valid cross-correlation of NHWC ``xp`` padded by ``pads`` with HWIO ``w``, by im2col + GEMM.

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
        ``((top, bottom), (left, right))``, applied block by block.
    padding_mode : {"zeros", "reflect", "replicate", "circular"}

    Returns
    -------
    numpy.ndarray
        ``(N, H_out, W_out, O)`` in the dtype of ``xp``.

    Shape
    -----
    ``H_out = floor((H + p_top + p_bottom - d*(kh-1) - 1) / s) + 1``, likewise ``W_out``.
    Workspace per worker thread: about ``_blocks.CACHE_BYTES`` of gathered patches at a time,
    or ``MIN_ROWS`` patch rows where those are larger, never more than
    :func:`_blocks.buffer_bytes` (one output row more where a single row is larger), plus the
    block's padded input rows and, with groups, their group-major copy.

    Examples
    --------
    >>> conv(np.arange(9.0).reshape(1, 3, 3, 1), np.ones((2, 2, 1, 1)), stride=(1, 1),
    ...      dilation=(1, 1), groups=1)[0, :, :, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    n, hp, wp, c = padded_shape(xp.shape, pads)
    kh, kw, cg, o = w.shape
    og, k = o // groups, kh * kw * cg
    (sh, sw) = stride
    eh, ew = effective_kernel_size(kh, dilation[0]), effective_kernel_size(kw, dilation[1])
    ho = window_count(hp, kh, stride=sh, dilation=dilation[0])
    wo = window_count(wp, kw, stride=sw, dilation=dilation[1])
    dtype = np.result_type(xp, w)
    y = np.empty((n, ho, wo, o), dtype=dtype)
    wg = group_kernels(w.astype(dtype, copy=False), groups)
    unpadded = all(p == 0 for pair in pads for p in pair)
    direct = kh == kw == 1 and tuple(stride) == (1, 1) and groups == 1 and unpadded and xp.flags.c_contiguous
    # Cache-sized blocks, but at least MIN_ROWS patch rows: with thousands of taps (ResNet's
    # 512-channel 3x3 layers) fewer rows leave the product too thin for BLAS (res5 3x3/2, batch 8:
    # 19 ms with 512 rows against 22 ms with 2 MiB blocks of 98 rows).
    row_bytes = wo * k * groups * dtype.itemsize
    budget = max(_blocks.CACHE_BYTES, MIN_ROWS * k * groups * dtype.itemsize)

    def work(run):
        most = max((b1 - b0) * (r1 - r0) * wo for b0, b1, r0, r1 in run)
        buf = None if direct else _blocks.scratch("im2col.patches", most * k * groups, dtype)
        gbuf = None
        if groups > 1:  # the group-major copy of the block's padded input rows
            cells = max((b1 - b0) * span(r1 - r0, sh, eh) for b0, b1, r0, r1 in run)
            gbuf = _blocks.scratch("im2col.group_major", cells * span(wo, sw, ew) * c, dtype)
        for b0, b1, r0, r1 in run:
            rows = (b1 - b0) * (r1 - r0) * wo
            out = y[b0:b1, r0:r1].reshape(rows, o)
            if direct:
                np.matmul(xp[b0:b1, r0:r1].reshape(rows, c), wg[0], out=out)
                continue
            rows_in, cols_in = (r0 * sh, span(r1, sh, eh)), (0, span(wo, sw, ew))
            part = slab(xp, b0, b1, rows_in, cols_in, pads, padding_mode, slot="im2col.padded")
            v = windows(part, kh, kw, stride=stride, dilation=dilation)  # (B, r, W_out, kh, kw, C)
            if groups == 1:
                patch = buf[: rows * k].reshape(rows, k)
                np.copyto(patch.reshape(v.shape), v)
                np.matmul(patch, wg[0], out=out)
                continue
            # Each group's patches must form one (rows, k) matrix. Gathering them straight from
            # the windows copies runs of Cg values (4 in ResNeXt's first stage), which NumPy does
            # slowly: 10.8 ms for the 56x56x128, 32-group layer. So the block's input is first
            # made group-major, (G, B, rows, cols, Cg), in one pass (0.9 ms), and each window
            # row is then a run of kw * Cg values (2.3 ms for the gather).
            b, rr, cc = part.shape[:3]
            xg = gbuf[: part.size].reshape(groups, b, rr, cc, cg)
            np.copyto(xg, np.reshape(part, (b, rr, cc, groups, cg)).transpose(3, 0, 1, 2, 4))
            vg = windows(xg.reshape(groups * b, rr, cc, cg), kh, kw, stride=stride, dilation=dilation)
            patch = buf[: groups * rows * k].reshape(groups, rows, k)
            np.copyto(patch.reshape((groups, b) + vg.shape[1:]), vg.reshape((groups, b) + vg.shape[1:]))
            # Written straight into the interleaved output through a strided view: 0.64 ms
            # against 1.38 ms for a product into a buffer and a copy (3136 rows, G = 32, Cg = 4).
            np.matmul(patch, wg, out=out.reshape(rows, groups, og).transpose(1, 0, 2))

    run_split(work, _blocks.plan(n, ho, row_bytes, budget=budget))
    return y
