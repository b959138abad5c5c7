"""Padding inside the blocks: the padded rows an engine block reads, built from the unpadded input.

No engine materialises the whole padded input (a padded 8x224x224x64 float32 map alone is
104 MiB); each block asks :func:`slab` for the rectangle of the *padded* coordinate system it
reads, and gets a view of the input where that rectangle lies inside it, or a block-sized copy
with the pad cells filled. Coordinates past the padded extent (Winograd's and the FFT's last,
partial tiles) read as zeros, so an engine can ask for whole tiles.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..padding import Pads
from ._blocks import scratch

NO_PADS: Pads = ((0, 0), (0, 0))


def source_index(size: int, before: int, after: int, mode: str, start: int, stop: int) -> np.ndarray:
    """Input index of each padded coordinate ``start .. stop - 1`` along one axis; -1 for a zero cell.

    ``mode`` has PyTorch's ``padding_mode`` meaning (the size limits of ``reflect`` and
    ``circular`` are checked once, by :func:`convlib.padding.check_mode_pads`).

    Examples
    --------
    >>> source_index(3, 2, 1, "reflect", 0, 6).tolist()
    [2, 1, 0, 1, 2, 1]
    >>> source_index(3, 1, 1, "zeros", 0, 7).tolist()  # 2 cells past the padded extent
    [-1, 0, 1, 2, -1, -1, -1]
    """
    p = np.arange(start, stop)
    i = p - before
    if mode == "zeros":
        i = np.where((i >= 0) & (i < size), i, -1)
    elif mode == "reflect":
        i = np.abs(i)
        i = np.where(i >= size, 2 * (size - 1) - i, i)
    elif mode == "replicate":
        i = np.clip(i, 0, size - 1)
    else:  # circular
        i = i % size
    return np.where((p >= 0) & (p < size + before + after), i, -1)


@functools.lru_cache(maxsize=512)
def kept_index(size: int, before: int, after: int, mode: str, start: int, stop: int) -> np.ndarray:
    """:func:`source_index`, made once per set of arguments and kept read-only.

    The compiled engines look their padding up in these maps on every call; building two of
    them took about 20 us, a few percent of a small grouped or depthwise layer.

    Examples
    --------
    >>> kept_index(3, 1, 1, "zeros", 0, 5) is kept_index(3, 1, 1, "zeros", 0, 5)
    True
    """
    out = source_index(size, before, after, mode, start, stop)
    out.flags.writeable = False
    return out


def padded_shape(x_shape, pads: Pads) -> tuple[int, int, int, int]:
    """Shape of the padded input ``(N, H + top + bottom, W + left + right, C)`` (never allocated)."""
    (t, b), (left, r) = pads
    return (x_shape[0], x_shape[1] + t + b, x_shape[2] + left + r, x_shape[3])


def slab(
    x: np.ndarray, b0: int, b1: int, rows, cols, pads: Pads = NO_PADS, mode: str = "zeros", slot=None
) -> np.ndarray:
    """Images ``b0:b1``, padded rows ``rows = (start, stop)`` and columns ``cols`` of padded ``x``.

    Parameters
    ----------
    x : numpy.ndarray
        Unpadded NHWC input ``(N, H, W, C)``.
    b0, b1 : int
        Images.
    rows, cols : (int, int)
        Half-open ranges in the padded coordinates (row 0 is the first pad row); they may
        run past the padded extent, where the cells are zeros.
    pads : ((int, int), (int, int))
        ``((top, bottom), (left, right))``.
    mode : {"zeros", "reflect", "replicate", "circular"}
    slot : str, optional
        With zero padding, build the block in this reused workspace
        (:func:`convlib.fast._blocks.scratch`) instead of a new array; it is then valid
        until the caller asks for the slot again.

    Returns
    -------
    numpy.ndarray
        ``(b1 - b0, rows[1] - rows[0], cols[1] - cols[0], C)``: a view of ``x`` when the
        rectangle lies inside it, else an array of that (block) size.

    Examples
    --------
    >>> x = np.arange(6.0).reshape(1, 2, 3, 1)
    >>> slab(x, 0, 1, (0, 3), (0, 4), ((1, 0), (1, 0)))[0, :, :, 0]
    array([[0., 0., 0., 0.],
           [0., 0., 1., 2.],
           [0., 3., 4., 5.]])
    """
    n, h, w, c = x.shape
    (t, b), (left, r) = pads
    (r0, r1), (c0, c1) = rows, cols
    if r0 >= t and r1 <= t + h and c0 >= left and c1 <= left + w:
        return x[b0:b1, r0 - t : r1 - t, c0 - left : c1 - left]
    if mode == "zeros":
        shape = (b1 - b0, r1 - r0, c1 - c0, c)
        i0, i1 = max(r0, t), min(r1, t + h)
        j0, j1 = max(c0, left), min(c1, left + w)
        inside = x[b0:b1, i0 - t : i1 - t, j0 - left : j1 - left]
        i0, i1, j0, j1 = i0 - r0, i1 - r0, j0 - c0, j1 - c0  # the input's cells in the block
        if slot is None or i0 >= i1 or j0 >= j1:
            out = np.zeros(shape, dtype=x.dtype)
            if i0 < i1 and j0 < j1:
                out[:, i0:i1, j0:j1] = inside
            return out
        # A reused buffer holds the last block's values: zero only the pad cells around the
        # copied rectangle, one pass over the block instead of a fill and then a copy.
        out = scratch(slot, math.prod(shape), x.dtype).reshape(shape)
        out[:, :i0] = 0
        out[:, i1:] = 0
        out[:, i0:i1, :j0] = 0
        out[:, i0:i1, j1:] = 0
        out[:, i0:i1, j0:j1] = inside
        return out
    ri = source_index(h, t, b, mode, r0, r1)
    ci = source_index(w, left, r, mode, c0, c1)
    out = x[b0:b1][:, np.maximum(ri, 0)][:, :, np.maximum(ci, 0)]
    out[:, ri < 0] = 0
    out[:, :, ci < 0] = 0
    return out
