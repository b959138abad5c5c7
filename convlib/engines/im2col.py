"""im2col + GEMM: every window as one row of a patch matrix, then one matrix product.

The windows are a view of the padded input (:func:`.windows.windows`); copying them into a
matrix of ``N * H_out * W_out`` rows and ``kh * kw * C/groups`` columns is the "im2col"
step, and the product with the kernel, reshaped to ``(kh * kw * C/groups, O/groups)``, is
the whole convolution. Groups are one batched product, one matrix pair per group
(:func:`grouped_product`): group ``g`` multiplies channels ``g*Cg:(g+1)*Cg`` of every tap by its
own ``O/G`` kernel columns, ``(G, rows, T*Cg) @ (G, T*Cg, O/G)``.

The patch matrix holds every input value up to ``kh * kw`` times; the fast room's im2col
(:mod:`convlib.fast.im2col`) builds it block by block to bound that memory.
"""

from __future__ import annotations

import numpy as np

from .windows import windows

__all__ = ["conv", "grouped_product", "windows"]


def grouped_product(patches: np.ndarray, w: np.ndarray, groups: int) -> np.ndarray:
    """``patches (..., T, C)`` times taps ``w (T, C/G, O)``, group by group: one batched ``matmul``."""
    *lead, t, c = patches.shape
    cg, o = w.shape[-2:]
    p = patches.reshape(-1, t, groups, cg).transpose(2, 0, 1, 3).reshape(groups, -1, t * cg)
    k = w.reshape(t, cg, groups, o // groups).transpose(2, 0, 1, 3).reshape(groups, t * cg, -1)
    return (p @ k).transpose(1, 0, 2).reshape(*lead, o)


def conv(xp: np.ndarray, w: np.ndarray, *, stride, dilation, groups: int) -> np.ndarray:
    """Valid cross-correlation of padded NHWC ``xp`` with HWIO ``w``: ``(N, H_out, W_out, O)``.

    >>> conv(np.arange(9.0).reshape(1, 3, 3, 1), np.ones((2, 2, 1, 1)), stride=(1, 1),
    ...      dilation=(1, 1), groups=1)[0, :, :, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    kh, kw, _, o = w.shape
    v = windows(xp, kh, kw, stride=stride, dilation=dilation)  # (N, H_out, W_out, kh, kw, C)
    patches = v.reshape(*v.shape[:3], kh * kw, xp.shape[3])  # the copy: im2col
    return grouped_product(patches, w.reshape(kh * kw, -1, o), groups)
