"""Winograd minimal filtering F(m x m, 3 x 3) for 3x3, stride-1 layers.

Each ``(m+2) x (m+2)`` input tile ``d`` and the kernel ``g`` are transformed,
``V = B^T d B`` and ``U = G g G^T``; the ``(m+2)^2`` elementwise products ``U * V``, summed
over the input channels, are ``(m+2)^2`` independent matrix products, and ``Y = A^T M A``
gives an ``m x m`` output tile. F(2x2, 3x3) multiplies 16 times for 4 outputs instead of 36
(2.25x fewer); F(4x4, 3x3) 36 times for 16 outputs instead of 144 (4x fewer), at the cost
of a larger rounding error. The matrices follow Lavin & Gray (2016), which compute the
cross-correlation, as both frameworks do. A dilated kernel runs as ``d_h * d_w`` undilated
convolutions, one per phase of the input (rows ``p::d_h``, columns ``q::d_w``).
"""

from __future__ import annotations

import numpy as np

from .windows import windows

__all__ = ["check_supported", "transforms", "conv_f", "conv_f2", "conv_f4"]

_MATRICES = {
    2: (
        [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
        [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
        [[1, 1, 1, 0], [0, 1, -1, -1]],
    ),
    # Points 0, 1, -1, 1/2, -2 (and infinity) instead of Lavin & Gray's 0, +-1, +-2: the same
    # multiplications, but about 3x smaller float32 error (Barabasz et al., 2020); measured in
    # tests/test_engines.py::test_float32_error_vs_float64.
    4: (
        [
            [1, -3 / 2, -2, 3 / 2, 1, 0],
            [0, -1, 1 / 2, 5 / 2, 1, 0],
            [0, 1, -5 / 2, 1 / 2, 1, 0],
            [0, -2, -1, 2, 1, 0],
            [0, 1 / 2, -1, -1 / 2, 1, 0],
            [0, 1, -3 / 2, -2, 3 / 2, 1],
        ],
        [
            [1, 0, 0],
            [1 / 3, 1 / 3, 1 / 3],
            [-1 / 3, 1 / 3, -1 / 3],
            [-16 / 15, -8 / 15, -4 / 15],
            [1 / 15, -2 / 15, 4 / 15],
            [0, 0, 1],
        ],
        [[1, 1, 1, 1, 1, 0], [0, 1, -1, 1 / 2, -2, 0], [0, 1, 1, 1 / 4, 4, 0], [0, 1, -1, 1 / 8, -8, 1]],
    ),
}


def check_supported(w_shape, stride) -> None:
    """Raise ``ValueError`` unless the HWIO kernel is 3x3 and the stride 1."""
    kh, kw = w_shape[:2]
    if (kh, kw) != (3, 3) or tuple(stride) != (1, 1):
        raise ValueError(
            f"winograd needs a 3x3 kernel with stride 1; got kernel {kh}x{kw}, stride "
            f"{tuple(stride)} (use 'im2col' or 'shifted')"
        )


def transforms(m: int, dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(B^T, G, A^T)`` of F(m x m, 3 x 3) in ``dtype``.

    Shape: ``(a, a)``, ``(a, 3)`` and ``(m, a)`` with ``a = m + 2``.
    """
    # The fractions of G are rounded to dtype here; that is part of the measured error.
    return tuple(np.asarray(t, dtype=dtype) for t in _MATRICES[m])


def _tiles(xp: np.ndarray, w: np.ndarray, m: int, groups: int) -> np.ndarray:
    """Undilated F(m x m, 3 x 3) of padded ``xp`` with ``w``: ``(N, H_p - 2, W_p - 2, O)``."""
    n, hp, wp, c = xp.shape
    _, _, cg, o = w.shape
    bt, g, at = transforms(m, xp.dtype)
    ho, wo, a = hp - 2, wp - 2, m + 2
    th, tw = -(-ho // m), -(-wo // m)  # tiles per axis; the last ones read zeros past the edge
    xz = np.pad(xp, ((0, 0), (0, th * m + 2 - hp), (0, tw * m + 2 - wp), (0, 0)))
    d = windows(xz, a, a, stride=(m, m))  # (N, th, tw, a, a, C): overlapping tiles
    v = np.einsum("ij,ntwjkc,lk->ilntwc", bt, d, bt).reshape(a, a, -1, groups, cg)
    u = np.einsum("ij,jkco,lk->ilco", g, w, g).reshape(a, a, cg, groups, o // groups)
    # The (m+2)^2 products, every group at once: (a, a, G, tiles, Cg) @ (a, a, G, Cg, O/G).
    prod = v.transpose(0, 1, 3, 2, 4) @ u.transpose(0, 1, 3, 2, 4)
    y = np.einsum("ij,jkgro,lk->rilgo", at, prod, at).reshape(n, th, tw, m, m, o)
    return y.transpose(0, 1, 3, 2, 4, 5).reshape(n, th * m, tw * m, o)[:, :ho, :wo]


def conv_f(xp: np.ndarray, w: np.ndarray, m: int, *, stride, dilation, groups: int) -> np.ndarray:
    """Valid cross-correlation of padded NHWC ``xp`` with a 3x3 HWIO ``w`` by F(m x m, 3 x 3).

    A dilated kernel: output ``(p + i*d_h, q + j*d_w)`` reads only rows ``p::d_h`` and columns
    ``q::d_w`` of ``xp``, so each of the ``d_h * d_w`` phases is an undilated convolution.
    Otherwise as :func:`convlib.engines.im2col.conv`.
    """
    check_supported(w.shape, stride)
    (dh, dw), (hp, wp) = dilation, xp.shape[1:3]
    y = np.empty((xp.shape[0], hp - 2 * dh, wp - 2 * dw, w.shape[3]), dtype=np.result_type(xp, w))
    for p in range(min(dh, y.shape[1])):
        for q in range(min(dw, y.shape[2])):
            y[:, p::dh, q::dw] = _tiles(xp[:, p::dh, q::dw], w, m, groups)
    return y


def conv_f2(xp: np.ndarray, w: np.ndarray, *, stride, dilation, groups: int) -> np.ndarray:
    """:func:`conv_f` with F(2x2, 3x3)."""
    return conv_f(xp, w, 2, stride=stride, dilation=dilation, groups=groups)


def conv_f4(xp: np.ndarray, w: np.ndarray, *, stride, dilation, groups: int) -> np.ndarray:
    """:func:`conv_f` with F(4x4, 3x3).

    Examples
    --------
    >>> x, k = np.arange(36.0).reshape(1, 6, 6, 1), np.ones((3, 3, 1, 1))
    >>> conv_f4(x, k, stride=(1, 1), dilation=(1, 1), groups=1)[0, 0, :, 0].round(6)
    array([63., 72., 81., 90.])
    """
    return conv_f(xp, w, 4, stride=stride, dilation=dilation, groups=groups)
