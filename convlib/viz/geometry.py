"""Per-axis geometry of a sliding window for the figures: the resolvers of :mod:`convlib.shapes`.

A figure draws exactly the :class:`~convlib.shapes.WindowAxis` that the computation uses, so a
drawing can never disagree with the arithmetic.
"""

from __future__ import annotations

from ..padding import normalize_pair
from ..shapes import WindowAxis, conv_axes, pool_axes

COLORS = {
    "input": "#dbe9f6",
    "pad": "#c8c8c8",
    "overhang": "#ffffff",
    "tap": "#f28e2b",
    "output": "#e5f5e0",
    "current": "#2ca25f",
    "start": "#3b5b92",
}


# The figures' name for the per-axis record; it is the one record convlib computes with.
AxisGeometry = WindowAxis


def conv_geometry(n_h: int, n_w: int, k, *, stride=1, padding="valid", dilation=1) -> tuple:
    """The two :class:`~convlib.shapes.WindowAxis` (height, width) of a convolution.

    Shape
    -----
    ``out = floor((n + p_before + p_after - d*(k-1) - 1) / s) + 1`` per axis
    (:func:`convlib.shapes.conv_axes`).

    Examples
    --------
    >>> gh, gw = conv_geometry(5, 6, 3, stride=2, padding="same")
    >>> (gh.before, gh.after, gh.out), (gw.before, gw.after, gw.out)
    ((1, 1, 3), (0, 1, 3))
    """
    return conv_axes(
        (n_h, n_w), normalize_pair(k, "kernel size"), stride=stride, padding=padding, dilation=dilation
    )


def pool_geometry(
    n_h: int, n_w: int, k, *, stride=None, padding="valid", dilation=1, ceil_mode=False
) -> tuple:
    """The two :class:`~convlib.shapes.WindowAxis` of a pooling window (stride defaults to the window).

    Examples
    --------
    >>> gh, _ = pool_geometry(5, 5, 2, ceil_mode=True)
    >>> gh.out, gh.extent, gh.overhang
    (3, 6, 1)
    """
    return pool_axes((n_h, n_w), k, stride, padding, dilation=dilation, ceil_mode=ceil_mode)
