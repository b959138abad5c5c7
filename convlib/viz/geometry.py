"""Per-axis geometry of a sliding window; every number comes from :mod:`convlib.shapes`."""

from __future__ import annotations

from dataclasses import dataclass

from ..padding import normalize_padding, normalize_pair
from ..shapes import (
    conv_output_size,
    effective_kernel_size,
    pool_output_size,
    pool_padding_1d,
    resolve_padding_1d,
)

COLORS = {
    "input": "#dbe9f6",
    "pad": "#c8c8c8",
    "overhang": "#ffffff",
    "tap": "#f28e2b",
    "output": "#e5f5e0",
    "current": "#2ca25f",
    "start": "#3b5b92",
}


@dataclass(frozen=True)
class AxisGeometry:
    """One axis of a sliding window, every number from :mod:`convlib.shapes`.

    ``extent`` is the number of cells the windows reach, ``(out-1)*s + d*(k-1) + 1``; it
    exceeds the padded length only for pooling's ``ceil_mode`` (the overhang is drawn hatched).
    """

    n: int
    k: int
    stride: int
    dilation: int
    before: int
    after: int
    out: int

    @property
    def padded(self) -> int:
        return self.n + self.before + self.after

    @property
    def extent(self) -> int:
        return (self.out - 1) * self.stride + effective_kernel_size(self.k, self.dilation)

    @property
    def overhang(self) -> int:
        return max(self.extent - self.padded, 0)


def _split_padding(padding) -> tuple:
    """Per-axis padding (word or pair) from the one normaliser, as ``(height, width)``."""
    pads = normalize_padding(padding)
    return (pads, pads) if isinstance(pads, str) else pads


def conv_geometry(n_h: int, n_w: int, k, *, stride=1, padding="valid", dilation=1) -> tuple:
    """The two :class:`AxisGeometry` (height, width) of a convolution.

    Shape
    -----
    ``out = floor((n + p_before + p_after - d*(k-1) - 1) / s) + 1`` per axis
    (:func:`convlib.shapes.conv_output_size`).

    Examples
    --------
    >>> gh, gw = conv_geometry(5, 6, 3, stride=2, padding="same")
    >>> (gh.before, gh.after, gh.out), (gw.before, gw.after, gw.out)
    ((1, 1, 3), (0, 1, 3))
    """
    ks, ss, ds = (
        normalize_pair(v, name)
        for v, name in ((k, "kernel size"), (stride, "stride"), (dilation, "dilation"))
    )
    axes = []
    for n, kk, s, d, pad in zip((n_h, n_w), ks, ss, ds, _split_padding(padding)):
        before, after = resolve_padding_1d(n, kk, pad, stride=s, dilation=d)
        out = conv_output_size(n, kk, stride=s, padding=(before, after), dilation=d)
        axes.append(AxisGeometry(n, kk, s, d, before, after, out))
    return tuple(axes)


def pool_geometry(
    n_h: int, n_w: int, k, *, stride=None, padding="valid", dilation=1, ceil_mode=False
) -> tuple:
    """The two :class:`AxisGeometry` of a pooling window (stride defaults to the window).

    Examples
    --------
    >>> gh, _ = pool_geometry(5, 5, 2, ceil_mode=True)
    >>> gh.out, gh.extent, gh.overhang
    (3, 6, 1)
    """
    ks, ds = normalize_pair(k, "pool size"), normalize_pair(dilation, "dilation")
    ss = ks if stride is None else normalize_pair(stride, "stride")
    axes = []
    for n, kk, s, d, pad in zip((n_h, n_w), ks, ss, ds, _split_padding(padding)):
        before, after = pool_padding_1d(n, kk, pad, stride=s, dilation=d)
        out = pool_output_size(n, kk, stride=s, padding=pad, dilation=d, ceil_mode=ceil_mode)
        axes.append(AxisGeometry(n, kk, s, d, before, after, out))
    return tuple(axes)
