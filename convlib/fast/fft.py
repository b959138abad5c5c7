"""The overlap-save FFT of :mod:`convlib.engines.fft`, in blocks of tile rows.

Each block's tiles are transformed once and multiplied by the kernel's spectrum as one complex
GEMM per frequency, in chunks of output channels whose spectra are kept while they are small.

Costs: about ``(L / (L - k_eff + 1))^2`` redundant input work from the tile overlap, and a
stride ``s`` is handled by computing the stride-1 output and keeping every ``s``-th row and
column, so ``s_h * s_w`` times the work of the strided layer. It pays off only when
``k_h * k_w`` is large compared with ``log L`` and the stride is 1.
"""

from __future__ import annotations

import numpy as np

from ..engines.fft import tile_size
from ..engines.windows import windows
from ..shapes import effective_kernel_size, span, window_count
from . import _blocks
from ._slab import NO_PADS, padded_shape, slab
from ._threads import run_split


def _kernel_spectrum(w, dilation, ln, dtype):
    """``rfft2`` of the flipped, dilated kernel: ``(L * (L//2 + 1), C/groups, O)`` complex."""
    kh, kw, cg, o = w.shape
    (dh, dw) = dilation
    kd = np.zeros((effective_kernel_size(kh, dh), effective_kernel_size(kw, dw), cg, o), dtype=dtype)
    kd[::dh, ::dw] = w
    spec = np.fft.rfft2(kd[::-1, ::-1], s=(ln, ln), axes=(0, 1))
    return spec.reshape(-1, cg, o)


def conv(
    xp: np.ndarray, w: np.ndarray, *, stride, dilation, groups, pads=NO_PADS, padding_mode="zeros"
) -> np.ndarray:
    """Valid cross-correlation of padded NHWC ``xp`` with HWIO ``w`` through the FFT.

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
    The stride-1 output ``(H_p - d*(kh-1)) x (W_p - d*(kw-1))`` is computed and every
    ``s``-th row and column kept.

    Examples
    --------
    >>> y = conv(np.arange(9.0).reshape(1, 3, 3, 1), np.ones((2, 2, 1, 1)), stride=(1, 1),
    ...          dilation=(1, 1), groups=1)
    >>> np.round(y[0, :, :, 0], 10)
    array([[ 8., 12.],
           [20., 24.]])
    """
    n, hp, wp, c = padded_shape(xp.shape, pads)
    kh, kw, cg, o = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    og, dtype = o // groups, np.result_type(xp, w)
    eh, ew = effective_kernel_size(kh, dh), effective_kernel_size(kw, dw)
    ho, wo = window_count(hp, kh, stride=sh, dilation=dh), window_count(wp, kw, stride=sw, dilation=dw)
    ln = tile_size(max(eh, ew))
    sth, stw = ln - eh + 1, ln - ew + 1  # valid stride-1 outputs per tile
    h1, w1 = hp - eh + 1, wp - ew + 1  # stride-1 output size
    th, tw = -(-h1 // sth), -(-w1 // stw)
    nf = ln * (ln // 2 + 1)
    csize = 2 * dtype.itemsize
    # Output channels in chunks so that one chunk of the kernel spectrum fits a quarter buffer:
    # rfft2 holds the zero-padded kernel and two spectra-sized temporaries while it runs.
    oc = max(1, min(og, _blocks.buffer_bytes() // 4 // (nf * cg * csize)))
    chunks = [(g * og + j, g * og + min(og, j + oc)) for g in range(groups) for j in range(0, og, oc)]
    cached = {} if len(chunks) == groups else None  # keep the spectrum only when it is small
    per_group = len(chunks) // groups
    y = np.empty((n, ho, wo, o), dtype=dtype)

    # numpy's FFTs and the transposes around the GEMM hold about four block-sized arrays at once.
    def work(run):
        for b0, b1, r0, r1 in run:
            hs, ws = span(r1 - r0, sth, ln), span(tw, stw, ln)
            part = slab(xp, b0, b1, (r0 * sth, r0 * sth + hs), (0, ws), pads, padding_mode).astype(
                dtype, copy=False
            )
            tiles = windows(part, ln, ln, stride=(sth, stw))  # (B, tr, tw, L, L, C)
            shape = tiles.shape[:3]
            rows = np.arange(r0 * sth, min(h1, r1 * sth))
            keep = rows[rows % sh == 0]  # the stride-1 rows that a strided output keeps
            for g in range(groups):
                xf = np.fft.rfft2(tiles[..., g * cg : (g + 1) * cg], axes=(3, 4))
                xf = np.ascontiguousarray(xf.reshape(-1, nf, cg).transpose(1, 0, 2))  # (F, T, Cg)
                for o0, o1 in chunks[g * per_group : (g + 1) * per_group]:
                    spec = cached.get(o0) if cached is not None else None
                    if spec is None:
                        spec = _kernel_spectrum(w[..., o0:o1], dilation, ln, dtype)
                        if cached is not None:
                            cached[o0] = spec
                    yf = np.matmul(xf, spec).transpose(1, 2, 0)  # (T, Oc, F)
                    yf = yf.reshape(*shape, o1 - o0, ln, ln // 2 + 1)
                    yt = np.fft.irfft2(yf, s=(ln, ln), axes=(-2, -1))[..., eh - 1 :, ew - 1 :]
                    del yf
                    # (B, tr, tw, Oc, sth, stw) -> the block's stride-1 rows, then every s-th kept.
                    full = yt.transpose(0, 1, 4, 2, 5, 3).reshape(b1 - b0, (r1 - r0) * sth, tw * stw, o1 - o0)
                    del yt
                    if keep.size:
                        y[b0:b1, keep // sh, :, o0:o1] = full[:, keep - r0 * sth, :w1:sw][:, :, :wo]

    run_split(work, _blocks.plan(n, th, tw * nf * max(cg, oc) * csize, budget=_blocks.buffer_bytes() // 4))
    return y
