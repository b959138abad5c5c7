"""Layers with few channels per group as a compiled direct convolution over channel planes.

With ``C/groups`` input channels per group, im2col's products are ``kh * kw * C/groups``
deep and ``O/groups`` wide (ResNeXt's first stage: 36 by 4, its second: 72 by 8), far too
thin for BLAS, and the patch matrix they read is ``kh * kw`` copies of the input gathered in
runs of a few values. Here there is no patch matrix: each block of the padded input is
transposed once into channel planes (``C x rows x Q``, rows end to end at a common width
``Q``; with a stride, one plane per row and column phase), and every tap of every channel is
then one contiguous, shifted run of its plane, so the direct sum over taps and group channels
is a compiled loop over long runs that LLVM vectorises (:mod:`._planes_kernels`). Each run
covers whole rows at width ``Q``: the ``(kw - 1) d_w / s_w`` outputs per row that fall past
the layer's width are computed and dropped (2 of 58 on a 56-wide 3x3 layer), which is what
makes a tap one run instead of one run per row.

Measured while building it (one thread, float32, hot loop; PyTorch NCHW in the same run):
ResNeXt's 56x56x128 layer with 32 groups of 4, batch 8, 5.8 ms (PyTorch 7.4, ``grouped_jit``
15.5, im2col 26.6); its 28x28x256 layer with 32 groups of 8, batch 8, 4.5 ms (PyTorch 3.2,
im2col 12.5). From 16 channels per group on, with OpenBLAS's AVX-512 kernels, the products
are wide enough for im2col (ResNeXt's 14x14x512 at batch 8: 6.1 against 6.7 ms), so ``auto``
takes this engine only up to ``engines.PLANES_MAX_CHANNELS`` channels per group.
"""

from __future__ import annotations

import numpy as np

from ..padding import check_mode_pads
from ..shapes import window_count
from . import _blocks
from ._slab import NO_PADS, kept_index, padded_shape
from ._threads import run_split

__all__ = ["conv", "plane_width"]


def _kernels():
    """The compiled kernels of :mod:`._planes_kernels`, imported (with numba) on first use."""
    from . import _planes_kernels

    return _planes_kernels


def plane_width(cols: int, kw: int, stride: int, dilation: int) -> int:
    """``Q``: the common row width of the planes for ``cols`` output columns.

    Output column ``j`` reads, for tap column ``b``, plane column ``j + (b * d) // s``, so a
    row needs ``cols + ((kw - 1) * d) // s`` columns; outputs ``cols .. Q - 1`` of each flat
    row are computed and dropped.

    Examples
    --------
    >>> plane_width(56, 3, 1, 1), plane_width(28, 3, 2, 1), plane_width(14, 3, 1, 6)
    (58, 29, 26)
    """
    return cols + ((kw - 1) * dilation) // stride


def _spread(values: int, item: int) -> int:
    """A row length of at least ``values`` whose byte size is an odd number of 64-byte lines.

    The gather writes one value to each of ``C`` planes in turn, and the compiled loop reads
    two planes while it writes four accumulator rows: with rows a power of two apart those
    addresses share a few cache sets and alias in the store buffer. 14x14 maps made planes of
    exactly 1 KiB, and the gather of ResNeXt's 14x14x512 layer at batch 8 took 8.7 ms for
    3.2 MB (0.4 GB/s) until the rows were spread.

    Examples
    --------
    >>> _spread(256, 4), _spread(250, 4), _spread(5, 8)
    (272, 272, 8)
    """
    line = 64 // item
    lines = -(-values // line)
    return (lines + 1 - lines % 2) * line


def conv(
    xp: np.ndarray, w: np.ndarray, *, stride, dilation, groups, pads=NO_PADS, padding_mode="zeros"
) -> np.ndarray:
    """Engine ``"planes_jit"``: a direct convolution over channel planes, compiled.

    Each block of output rows (whole images grouped while they fit, or row ranges of one
    image; column ranges where one row is too wide) is gathered once from the input into
    channel planes, padded on the way through index maps (any ``padding_mode``) and split into
    row and column phases for a stride; the compiled loop then adds, for four output channels
    at a time, every tap of every input channel of their group as one shifted run of a plane;
    the valid outputs are written back into the NHWC output.

    Parameters
    ----------
    xp : numpy.ndarray
        Input ``(N, H, W, C)``; already padded when ``pads`` is zero.
    w : numpy.ndarray
        HWIO kernel ``(kh, kw, C/groups, O)``.
    stride, dilation : (int, int)
        Already normalised pairs.
    groups : int
        Independent channel groups (1 works too; depthwise too, slowly: one channel per run).
    pads : ((int, int), (int, int)), optional
        ``((top, bottom), (left, right))``, applied as each block is gathered.
    padding_mode : {"zeros", "reflect", "replicate", "circular"}

    Returns
    -------
    numpy.ndarray
        ``(N, H_out, W_out, O)``.

    Shape
    -----
    ``H_out = floor((H + p_top + p_bottom - d*(kh-1) - 1) / s) + 1``, likewise ``W_out``.
    Workspace per worker thread: the planes of one block, about
    ``C * s_h * s_w * B * (R + e_h) * Q`` values, and its accumulators, about
    ``O * B * (R + e_h) * Q`` values (each plane and accumulator row rounded up to an odd
    number of cache lines), for ``B`` images of ``R`` output rows, ``e_h = ((kh - 1) * d_h) // s_h``
    extra rows and ``Q = J + ((kw - 1) * d_w) // s_w`` (:func:`plane_width`) for ``J`` output
    columns per block; blocks are sized to stay in the caches, and under
    ``_blocks.buffer_bytes()`` in all.

    Examples
    --------
    >>> x = np.arange(8.0).reshape(1, 2, 2, 2)
    >>> conv(x, np.ones((2, 2, 2, 1)), stride=(1, 1), dilation=(1, 1), groups=1)[0, 0, 0]
    array([28.])
    """
    check_mode_pads(xp.shape[1:3], pads, padding_mode)
    n, hp, wp, c = padded_shape(xp.shape, pads)
    kh, kw, _, o = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    ho = window_count(hp, kh, stride=sh, dilation=dh)
    wo = window_count(wp, kw, stride=sw, dilation=dw)
    dtype = np.result_type(xp, w)
    y = np.empty((n, ho, wo, o), dtype=dtype)
    if y.size == 0:
        return y
    item = dtype.itemsize
    extra = ((kh - 1) * dh) // sh  # plane rows past a block's output rows
    # Output columns per block: all of them unless one output row's planes pass half the cap.
    per_col = (c * sh * sw + o) * (1 + extra) * item
    jb = max(1, min(wo, _blocks.buffer_bytes() // (2 * per_col) - ((kw - 1) * dw) // sw))
    q_most = plane_width(jb, kw, sw, dw)
    (t, b), (left, r) = pads
    ri = kept_index(xp.shape[1], t, b, padding_mode, 0, (ho + extra) * sh)
    ci = kept_index(xp.shape[2], left, r, padding_mode, 0, (wo + q_most) * sw)
    x = np.ascontiguousarray(xp, dtype=dtype)
    wk = np.ascontiguousarray(w, dtype=dtype)
    kernels = _kernels()
    row_bytes = (c * sh * sw + o) * q_most * item
    blocks = _blocks.plan(n, ho, row_bytes, budget=_blocks.CACHE_BYTES)

    def work(run):
        for b0, b1, r0, r1 in run:
            rows = r1 - r0 + extra  # plane rows per image
            images = b1 - b0
            for j0 in range(0, wo, jb):
                cols = min(wo, j0 + jb) - j0
                q = plane_width(cols, kw, sw, dw)
                f_len = images * rows * q  # one phase of one channel
                span = _spread(sh * sw * f_len, item)
                planes = _blocks.scratch("planes_jit.planes", c * span, dtype).reshape(c, span)
                # Flat outputs up to the last valid one of the last image.
                flat = ((images - 1) * rows + r1 - r0 - 1) * q + cols
                acc_span = _spread(flat, item)
                acc = _blocks.scratch("planes_jit.acc", o * acc_span, dtype).reshape(o, acc_span)
                kernels.gather(x, ri, ci[j0 * sw :], b0, images, r0, rows, sh, sw, q, planes)
                kernels.planes(planes, wk, acc, groups, sh, sw, dh, dw, q, f_len, flat)
                kernels.scatter(acc, y, b0, images, rows, r0, r1 - r0, j0, cols, q)

    run_split(work, blocks)
    return y
