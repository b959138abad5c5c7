"""The tap loop of :mod:`convlib.engines.depthwise`, blocked and threaded.

Per block of output rows (padded block by block, :func:`convlib.fast._slab.slab`), each tap is
one strided view of the block multiplied by that tap's per-channel weights and added to the
output block, with channels innermost (NHWC) so that every pass runs over contiguous memory.

Its limit is NumPy itself: each tap is two passes over the block (a multiply into a scratch
buffer, then an add), ``2 * kh * kw`` passes in all where one fused pass would do. Measured on
4x56x56x144, 3x3, one thread, while preparing issue 15: a plain tap loop 2.9 GFLOP/s, the tap
loop in row blocks 4.9, ``einsum`` over NumPy's sliding window view 8.8, against about 20 to 50
for PyTorch and TensorFlow. :mod:`convlib.fast.depthwise_jit` is the same loop compiled; this
engine is what ``auto`` runs in its place where numba is not installed.
"""

from __future__ import annotations

import numpy as np

from ..engines.depthwise import check_supported
from ..shapes import effective_kernel_size, span, window_count
from . import _blocks
from ._slab import NO_PADS, padded_shape, slab
from ._threads import run_split


def conv(
    xp: np.ndarray, w: np.ndarray, *, stride, dilation, groups, pads=NO_PADS, padding_mode="zeros"
) -> np.ndarray:
    """Valid depthwise cross-correlation of NHWC ``xp`` padded by ``pads`` with HWIO ``w``.

    Parameters
    ----------
    xp : numpy.ndarray
        Input ``(N, H, W, C)``; already padded when ``pads`` is zero.
    w : numpy.ndarray
        HWIO kernel ``(kh, kw, 1, C * M)``: ``M`` output channels per input channel.
    stride, dilation : (int, int)
        Already normalised pairs.
    groups : int
        ``C`` (each input channel its own group; ``groups == 1`` with ``C == 1`` also fits).
    pads : ((int, int), (int, int)), optional
        ``((top, bottom), (left, right))``, applied block by block.
    padding_mode : {"zeros", "reflect", "replicate", "circular"}

    Returns
    -------
    numpy.ndarray
        ``(N, H_out, W_out, C * M)``; output channel ``c * M + m`` reads input channel ``c``.

    Raises
    ------
    ValueError
        If ``w`` has more than one input channel per group.

    Shape
    -----
    ``H_out = floor((H + p_top + p_bottom - d*(kh-1) - 1) / s) + 1``, likewise ``W_out``.
    Workspace per worker thread: one block's padded rows and one product of the block's size.

    Examples
    --------
    >>> x = np.arange(8.0).reshape(1, 2, 2, 2)
    >>> conv(x, np.ones((2, 2, 1, 2)), stride=(1, 1), dilation=(1, 1), groups=2)[0, 0, 0]
    array([12., 16.])
    """
    check_supported(w.shape)
    n, hp, wp, c = padded_shape(xp.shape, pads)
    kh, kw, _, o = w.shape
    mult = o // c
    (sh, sw), (dh, dw) = stride, dilation
    eh, ew = effective_kernel_size(kh, dh), effective_kernel_size(kw, dw)
    ho, wo = window_count(hp, kh, stride=sh, dilation=dh), window_count(wp, kw, stride=sw, dilation=dw)
    dtype = np.result_type(xp, w)
    y = np.empty((n, ho, wo, o), dtype=dtype)
    taps = w.astype(dtype, copy=False).reshape(kh, kw, c, mult)
    # Cache-sized blocks: the output block and the scratch product stay in L2 across the taps.
    row_bytes = 2 * wo * o * dtype.itemsize

    def work(run):
        most = max((b1 - b0) * (r1 - r0) * wo * o for b0, b1, r0, r1 in run)
        tmp = np.empty(most, dtype=dtype)
        for b0, b1, r0, r1 in run:
            part = slab(xp, b0, b1, (r0 * sh, span(r1, sh, eh)), (0, span(wo, sw, ew)), pads, padding_mode)
            acc = y[b0:b1, r0:r1].reshape(b1 - b0, r1 - r0, wo, c, mult)
            scratch = tmp[: acc.size].reshape(acc.shape)
            for a in range(kh):
                for b in range(kw):
                    tap = part[:, a * dh :: sh][:, : r1 - r0, b * dw :: sw][:, :, :wo, :, None]
                    if a == b == 0:
                        np.multiply(tap, taps[a, b], out=acc)
                    else:
                        np.multiply(tap, taps[a, b], out=scratch)
                        acc += scratch

    run_split(work, _blocks.plan(n, ho, row_bytes, budget=_blocks.CACHE_BYTES))
    return y
