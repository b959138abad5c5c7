"""Grouped layers as ``C/groups`` compiled depthwise-like passes: no patch matrix, no thin products.

im2col runs a grouped layer as one batched GEMM whose products are ``C/groups`` taps wide and
``O/groups`` columns wide: for ResNeXt's first stage (32 groups of 4 channels) that is 36 by
4, far too small for BLAS, on a patch matrix nine times the input. Here output channel
``o`` of group ``g`` is paired, in round ``r``, with one input channel of its group
(:func:`rounds`); every round is then a depthwise-like pass, each output channel reading one
input channel, and the ``C/groups`` rounds summed are the layer. The loops are those of
:mod:`._grouped_kernels` (numba, imported on first use and cached on disk like
:mod:`._dw_kernels`).

Measured while building it (one thread): ResNeXt's 56x56x128 layer with 32 groups, batch 1,
2.3 ms against 3.5 ms for im2col (PyTorch 0.9 ms); batch 8, 15.5 against 26.6 ms. With 8
channels per group it is already slower than im2col (28x28x256: 3.4 against 1.7 ms): each
round costs a gather and a pass. :mod:`.planes_jit` later beat it on every grouped layer of
the suite (the 56x56x128 one at batch 8: 5.8 against 13.1 ms), so ``auto`` no longer takes
this engine; it stays as the depthwise loop's generalisation, selectable by name.
"""

from __future__ import annotations

import numpy as np

from ..padding import check_mode_pads
from ..shapes import effective_kernel_size, span, window_count
from . import _blocks
from ._slab import NO_PADS, kept_index, padded_shape
from ._threads import run_split

__all__ = ["conv", "rounds"]

# Values of one output row that a kernel call treats as one run (so its tiled weights stay
# under C/groups * kh * kw * CHUNK_VALUES values).
CHUNK_VALUES = 4096


def _kernels():
    """The compiled kernels of :mod:`._grouped_kernels`, imported (with numba) on first use."""
    from . import _grouped_kernels

    return _grouped_kernels


def rounds(w_shape, groups: int) -> tuple[np.ndarray, np.ndarray]:
    """The channel rounds of a grouped layer: ``(chan, tap)``, each of shape ``(C/groups, O)``.

    Output channel ``o = g * O_g + j`` of group ``g`` reads, in round ``r``, input channel
    ``chan[r, o] = g * C_g + (j + r) mod C_g`` with that input channel's weight: as ``r`` runs
    over ``0 .. C_g - 1`` it meets every input channel of its group once, so the layer is the
    sum of ``C_g`` depthwise-like passes, each pairing every output channel with one input
    channel. ``tap[r, o]`` is the index into the kernel's input-channel axis.

    Examples
    --------
    >>> chan, tap = rounds((3, 3, 2, 4), groups=2)  # 4 inputs, 2 per group; 4 outputs, 2 per group
    >>> chan
    array([[0, 1, 2, 3],
           [1, 0, 3, 2]])
    """
    _, _, cg, o = w_shape
    og = o // groups
    out = np.arange(o)
    tap = (out[None, :] % og + np.arange(cg)[:, None]) % cg
    return (out // og) * cg + tap, tap


def conv(
    xp: np.ndarray, w: np.ndarray, *, stride, dilation, groups, pads=NO_PADS, padding_mode="zeros"
) -> np.ndarray:
    """Engine ``"grouped_jit"``: any grouped layer as ``C/groups`` compiled depthwise-like passes.

    Each block of output rows is gathered ``C/groups`` times into a reused buffer, padded and
    with its channels mapped so that every output channel finds its round's input channel in
    its own lane (:func:`rounds`), and each round adds one pass of the compiled tap loop. The
    flops are those of the direct convolution; there is no patch matrix and no product thinner
    than the map: ResNeXt's 32 groups of 4 channels run as four passes over a 128-channel map.

    Parameters
    ----------
    xp : numpy.ndarray
        Input ``(N, H, W, C)``; already padded when ``pads`` is zero.
    w : numpy.ndarray
        HWIO kernel ``(kh, kw, C/groups, O)``.
    stride, dilation : (int, int)
        Already normalised pairs.
    groups : int
        Independent channel groups (1 works too: ``C`` rounds).
    pads : ((int, int), (int, int)), optional
        ``((top, bottom), (left, right))``, applied block by block as the block is gathered.
    padding_mode : {"zeros", "reflect", "replicate", "circular"}

    Returns
    -------
    numpy.ndarray
        ``(N, H_out, W_out, O)``.

    Shape
    -----
    ``H_out = floor((H + p_top + p_bottom - d*(kh-1) - 1) / s) + 1``, likewise ``W_out``.
    Workspace per worker thread: one gathered block of at most ``_blocks.buffer_bytes()``
    (blocks of whole rows, or of columns where one row of ``kh`` input rows is wider), plus the
    tiled weights, ``C/groups * kh * kw * min(W_out, CHUNK_VALUES // O) * O`` values.

    Examples
    --------
    >>> x = np.arange(8.0).reshape(1, 2, 2, 2)
    >>> conv(x, np.ones((2, 2, 2, 1)), stride=(1, 1), dilation=(1, 1), groups=1)[0, 0, 0]
    array([28.])
    """
    check_mode_pads(xp.shape[1:3], pads, padding_mode)
    n, hp, wp, c = padded_shape(xp.shape, pads)
    kh, kw, cg, o = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    ho, wo = window_count(hp, kh, stride=sh, dilation=dh), window_count(wp, kw, stride=sw, dilation=dw)
    dtype = np.result_type(xp, w)
    y = np.empty((n, ho, wo, o), dtype=dtype)
    eh, ew = effective_kernel_size(kh, dh), effective_kernel_size(kw, dw)
    item = dtype.itemsize
    # Output columns per block: all of them unless kh input rows of that width pass the cap.
    jb = max(1, min(wo, (_blocks.buffer_bytes() // (2 * eh * o * item) - ew) // sw + 1))
    cols = span(jb, sw, ew)  # padded input columns of a block
    wq = -(-cols // sw)  # columns per phase
    kernels = _kernels()
    chan, tap = rounds(w.shape, groups)
    jc = max(1, min(wo, CHUNK_VALUES // o))
    wr = np.asarray(w, dtype=dtype)[:, :, tap, np.arange(o)]  # (kh, kw, C_g, O): round r's weights
    wt = np.tile(wr.transpose(2, 0, 1, 3).reshape(cg, kh * kw, 1, o), (1, 1, jc, 1)).reshape(
        cg, kh * kw, jc * o
    )
    (t, bot), (left, right) = pads
    ri = kept_index(xp.shape[1], t, bot, padding_mode, 0, hp)
    ci = kept_index(xp.shape[2], left, right, padding_mode, 0, wp)
    x = np.ascontiguousarray(xp, dtype=dtype)
    identity = bool(cg == 1 and o == c)
    blocks = _blocks.plan(n, ho, 2 * sh * cols * o * item, budget=_blocks.CACHE_BYTES)

    def work(run):
        # One buffer per worker for the whole run: a gathered block, split into phases. Cells
        # past the end of a shorter phase are never written and never read.
        most = max((b1 - b0) * span(r1 - r0, sh, eh) for b0, b1, r0, r1 in run)
        buf = _blocks.scratch("grouped_jit.block", sw * most * wq * o, dtype)
        for b0, b1, r0, r1 in run:
            rows_in = span(r1 - r0, sh, eh)
            yb = np.reshape(y[b0:b1, r0:r1], (b1 - b0, r1 - r0, wo * o), copy=False)
            for j0 in range(0, wo, jb):
                j1 = min(wo, j0 + jb)
                ncols = span(j1 - j0, sw, ew)
                ph = buf[: sw * (b1 - b0) * rows_in * wq * o].reshape(sw, b1 - b0, rows_in, wq, o)
                p = ph.reshape(sw, b1 - b0, rows_in, wq * o)
                for r in range(cg):
                    kernels.gather(
                        x, ri, ci[j0 * sw : j0 * sw + ncols], chan[r], identity, b0, r0 * sh, sw, ph
                    )
                    if (kh, kw) == (3, 3):
                        kernels.rows3(p, wt[r], yb, o, sh, sw, dh, dw, jc, j0, j1, r > 0)
                    elif (kh, kw) == (5, 5):
                        kernels.rows5(p, wt[r], yb, o, sh, sw, dh, dw, jc, j0, j1, r > 0)
                    else:
                        kernels.rows_any(p, wt[r], yb, o, kh, kw, sh, sw, dh, dw, jc, j0, j1, r > 0)

    run_split(work, blocks)
    return y
