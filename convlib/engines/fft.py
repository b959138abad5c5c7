"""FFT convolution by overlap-save tiles, for large kernels.

The padded input is cut into overlapping ``L x L`` tiles, ``L`` a power of two at least twice
the dilated kernel, that start ``L - k_eff + 1`` cells apart. Each tile and the dilated kernel
go through ``rfft2``; the tile's spectrum times the kernel's conjugate spectrum, summed over
the input channels, is the spectrum of their circular cross-correlation, whose first
``L - k_eff + 1`` outputs per axis never wrap around: those are kept ("saved"), the rest
discarded. A stride is the stride-1 result with every ``s``-th row and column kept, so the
FFT pays only for large kernels at stride 1 (about ``log L`` work per output against
``kh * kw`` for a direct sum).
"""

from __future__ import annotations

import numpy as np

from ..shapes import effective_kernel_size, span
from .windows import windows

__all__ = ["tile_size", "conv"]


def tile_size(k_eff: int) -> int:
    """FFT length: the smallest power of two ``>= max(16, 2 * k_eff)``.

    Examples
    --------
    >>> tile_size(7), tile_size(3), tile_size(20)
    (16, 16, 64)
    """
    size = 16
    while size < 2 * k_eff:
        size *= 2
    return size


def conv(xp: np.ndarray, w: np.ndarray, *, stride, dilation, groups: int) -> np.ndarray:
    """Valid cross-correlation of padded NHWC ``xp`` with HWIO ``w`` by overlap-save FFTs.

    Same arguments and result as :func:`convlib.engines.im2col.conv`.

    Examples
    --------
    >>> y = conv(np.arange(9.0).reshape(1, 3, 3, 1), np.ones((2, 2, 1, 1)), stride=(1, 1),
    ...          dilation=(1, 1), groups=1)
    >>> y[0, :, :, 0].round(9)
    array([[ 8., 12.],
           [20., 24.]])
    """
    n, hp, wp, c = xp.shape
    kh, kw, cg, o = w.shape
    eh, ew = effective_kernel_size(kh, dilation[0]), effective_kernel_size(kw, dilation[1])
    ln = tile_size(max(eh, ew))
    step = (ln - eh + 1, ln - ew + 1)  # outputs each tile saves, per axis
    h1, w1 = hp - eh + 1, wp - ew + 1  # the stride-1 outputs
    th, tw = -(-h1 // step[0]), -(-w1 // step[1])
    xz = np.pad(xp, ((0, 0), (0, span(th, step[0], ln) - hp), (0, span(tw, step[1], ln) - wp), (0, 0)))
    tiles = windows(xz, ln, ln, stride=step)  # (N, th, tw, L, L, C)
    wd = np.zeros((eh, ew, cg, o), dtype=w.dtype)
    wd[:: dilation[0], :: dilation[1]] = w  # the dilated kernel
    xf = np.fft.rfft2(tiles, axes=(3, 4)).reshape(n, th, tw, ln, -1, groups, cg)
    kf = np.conj(np.fft.rfft2(wd, s=(ln, ln), axes=(0, 1))).reshape(ln, -1, cg, groups, o // groups)
    yf = np.einsum("ntwijgc,ijcgo->ntwijgo", xf, kf).reshape(n, th, tw, ln, -1, o)
    y = np.fft.irfft2(yf, s=(ln, ln), axes=(3, 4))[:, :, :, : step[0], : step[1]]
    y = y.transpose(0, 1, 3, 2, 4, 5).reshape(n, th * step[0], tw * step[1], o)[:, :h1, :w1]
    return y[:, :: stride[0], :: stride[1]].astype(np.result_type(xp, w))
