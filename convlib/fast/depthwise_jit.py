"""The depthwise loop of :mod:`convlib.engines.depthwise`, compiled with numba: one fused pass.

A depthwise layer does about two flops per value it reads, so its speed is the speed of one
pass over the input and the output; NumPy needs two passes per tap (multiply, then add), the
compiled loop makes one pass over the output in all, each output value accumulated in a
register-sized run of channels (channels innermost, NHWC, so the inner loop vectorises).
The padding never exists as an array: each output row looks up its source rows and columns
in two small index maps (:func:`convlib.fast._slab.source_index`, -1 for a zero cell), so
every ``padding_mode`` costs the same and the workspace is those two maps.

Why numba, measured on the book's machine (4x56x56x144 float32, 3x3, "same", one thread, the
machine shared with other jobs): this engine 1.2 ms (about 27 GFLOP/s), the NumPy engine
5.5 ms (5.9 GFLOP/s), PyTorch channels_last 0.69 ms (47 GFLOP/s), PyTorch NCHW 5.7 ms; the
unfused compiled loop (one tap per pass) reached only 12 to 15 GFLOP/s, so fusing the taps,
not compiling alone, is what closes most of the gap. numba is imported only when this engine
first runs: ``import numba`` takes 0.3 to 0.37 s, more than ``import convlib`` itself (0.22 s).
``cache=True`` stores the compiled code in ``__pycache__`` beside :mod:`._dw_kernels`; a
process that finds it loads a kernel in about 0.2 s instead of compiling it for 1 to 3 s.
"""

from __future__ import annotations

import functools

import numpy as np

from ..padding import check_mode_pads
from ..shapes import window_count
from . import _blocks
from ._slab import NO_PADS, kept_index, padded_shape
from ._threads import run_split
from .depthwise import check_supported

# A stride-1 3x3 layer with zero padding and at most this many channels runs rows3: whole output
# rows as runs of ROW_RUN_BYTES per tap (measured, one thread, caches flushed between calls,
# paired against the per-pixel loop, batch 8: 16 channels 0.51-0.58 of its time, 32 channels
# 0.76-0.85 on 112x112 and 56x56 maps, 64 channels 0.88-0.96; 96 channels 0.96-1.00, 144 to
# 960 channels 1.01-1.23, slower, as the per-pixel loop's fixed cost spreads over more channels).
ROWS_MAX_CHANNELS = 64
ROW_RUN_BYTES = 32 * 2**10


def _kernels():
    """The compiled kernels of :mod:`._dw_kernels`, imported (with numba) on first use."""
    from . import _dw_kernels

    return _dw_kernels


def _inner(index, outputs: int, k: int, s: int, d: int) -> tuple[int, int]:
    """``(first, stop)``: the outputs along one axis whose ``k`` taps all read input cells.

    Zero pad cells (index -1) lie only at the two ends, so those outputs are one range.

    Examples
    --------
    >>> _inner(np.array([-1, 0, 1, 2, -1]), 3, 3, 1, 1)
    (1, 2)
    """
    taps = np.arange(outputs)[:, None] * s + np.arange(k)[None, :] * d
    ok = (index[taps] >= 0).all(axis=1)
    if not ok.any():
        return 0, 0
    first = int(ok.argmax())
    return first, first + int(ok.sum())


@functools.lru_cache(maxsize=256)
def _maps(x_shape, kh: int, kw: int, stride, dilation, pads, mode: str):
    """``(H_out, W_out, rows, cols, inner)`` of one layer geometry, made once and kept.

    ``rows`` and ``cols`` are the index maps of :func:`convlib.fast._slab.source_index`
    over the padded extent, ``inner`` the ``(i0, i1, j0, j1)`` of :func:`_inner`. Kept because
    building them took about 60 us of every call, a quarter of a 14x14x576 layer's time; the
    kept maps are only ever read (by the compiled loops).
    """
    _, hp, wp, _ = padded_shape(x_shape, pads)
    (sh, sw), (dh, dw) = stride, dilation
    ho, wo = window_count(hp, kh, stride=sh, dilation=dh), window_count(wp, kw, stride=sw, dilation=dw)
    (t, bot), (left, right) = pads
    ri = kept_index(x_shape[1], t, bot, mode, 0, hp)
    ci = kept_index(x_shape[2], left, right, mode, 0, wp)
    return ho, wo, ri, ci, (*_inner(ri, ho, kh, sh, dh), *_inner(ci, wo, kw, sw, dw))


def conv(
    xp: np.ndarray, w: np.ndarray, *, stride, dilation, groups, pads=NO_PADS, padding_mode="zeros"
) -> np.ndarray:
    """Engine ``"depthwise_jit"``: the same result as :func:`convlib.engines.depthwise.conv`, compiled.

    Parameters
    ----------
    xp : numpy.ndarray
        Input ``(N, H, W, C)``; already padded when ``pads`` is zero.
    w : numpy.ndarray
        HWIO kernel ``(kh, kw, 1, C * M)``.
    stride, dilation : (int, int)
        Already normalised pairs.
    groups : int
        ``C``.
    pads : ((int, int), (int, int)), optional
        ``((top, bottom), (left, right))``, read through index maps, never materialised.
    padding_mode : {"zeros", "reflect", "replicate", "circular"}

    Returns
    -------
    numpy.ndarray
        ``(N, H_out, W_out, C * M)``.

    Raises
    ------
    ValueError
        If ``w`` has more than one input channel per group.

    Shape
    -----
    ``H_out = floor((H + p_top + p_bottom - d*(kh-1) - 1) / s) + 1``, likewise ``W_out``.

    Examples
    --------
    >>> x = np.arange(8.0).reshape(1, 2, 2, 2)
    >>> conv(x, np.ones((2, 2, 1, 2)), stride=(1, 1), dilation=(1, 1), groups=2)[0, 0, 0]
    array([12., 16.])
    """
    check_supported(w.shape)
    check_mode_pads(xp.shape[1:3], pads, padding_mode)
    n, _, _, c = xp.shape
    kh, kw, _, o = w.shape
    mult = o // c
    (sh, sw), (dh, dw) = stride, dilation
    ho, wo, ri, ci, inner = _maps(
        xp.shape, kh, kw, tuple(stride), tuple(dilation), tuple(map(tuple, pads)), padding_mode
    )
    dtype = np.result_type(xp, w)
    x = np.ascontiguousarray(xp, dtype=dtype)
    y = np.empty((n, ho, wo, o), dtype=dtype)
    kernels = _kernels()
    rows = (
        mult == 1 and (kh, kw) == (3, 3) and (sh, sw) == (1, 1) and c <= ROWS_MAX_CHANNELS
        and (padding_mode == "zeros" or not any(map(any, pads)))  # interior columns consecutive
    )  # fmt: skip
    if mult == 1:
        kernel = {(3, 3): kernels.taps3, (5, 5): kernels.taps5}.get((kh, kw), kernels.taps1)
        wk = np.ascontiguousarray(w[:, :, 0], dtype=dtype)
    else:
        kernel, wk = kernels.mult, np.ascontiguousarray(w[:, :, 0].reshape(kh, kw, c, mult), dtype=dtype)
    if rows:
        jc = max(1, min(wo, ROW_RUN_BYTES // (c * dtype.itemsize)))
        wrep = np.ascontiguousarray(np.broadcast_to(wk.reshape(9, 1, c), (9, jc, c))).reshape(9, jc * c)
        x2, y2 = x.reshape(n, x.shape[1], -1), y.reshape(n, ho, -1)

    def work(run):
        for b0, b1, r0, r1 in run:
            if rows:
                kernels.rows3(x, wk, ri, ci, y, b0, b1, r0, r1, dh, dw, inner, x2, y2, wrep, jc)
            else:
                kernel(x, wk, ri, ci, y, b0, b1, r0, r1, sh, sw, dh, dw, inner)

    # Blocks only to deal the rows out to the worker threads; the kernel needs no workspace.
    run_split(work, _blocks.plan(n, ho, wo * o * dtype.itemsize, budget=_blocks.CACHE_BYTES))
    return y
