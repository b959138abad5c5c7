"""The window view: every window of an input as one read-only array, without a copy.

The one place in convlib that builds windows by strides: im2col, Winograd and the FFT read
their patches and tiles through it, and so do pooling and the kernel gradient.

It is the same view as ``sliding_window_view(xp, (eh, ew), axis=(1, 2))[:, ::sh, ::sw, :, ::dh,
::dw]`` moved to ``(N, H_out, W_out, kh, kw, C)``; one ``as_strided`` call makes it in about 4 us
instead of 18, a tenth of a whole small convolution.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..shapes import window_count

__all__ = ["windows"]


def windows(xp: np.ndarray, kh: int, kw: int, *, stride=(1, 1), dilation=(1, 1)) -> np.ndarray:
    """Read-only view ``(N, H_out, W_out, kh, kw, C)`` of every ``kh x kw`` window of padded NHWC ``xp``:
    ``v[n, i, j, a, b, c] = xp[n, i*s_h + a*d_h, j*s_w + b*d_w, c]`` (``stride``, ``dilation``: pairs).

    Examples
    --------
    >>> v = windows(np.arange(16.0).reshape(1, 4, 4, 1), 2, 2, stride=(2, 1), dilation=(1, 2))
    >>> v.shape, v[0, 1, 0, :, :, 0].tolist()
    ((1, 2, 2, 2, 2, 1), [[8.0, 10.0], [12.0, 14.0]])
    """
    (sh, sw), (dh, dw) = stride, dilation
    n, h, wd, c = xp.shape
    ho = window_count(h, kh, stride=sh, dilation=dh)
    wo = window_count(wd, kw, stride=sw, dilation=dw)
    s0, s1, s2, s3 = xp.strides
    shape, steps = (n, ho, wo, kh, kw, c), (s0, s1 * sh, s2 * sw, s1 * dh, s2 * dw, s3)
    steps = tuple(st if m > 1 else 0 for st, m in zip(steps, shape))  # a stride of 2**63-1 reads one window
    return as_strided(xp, shape, steps, writeable=False)
