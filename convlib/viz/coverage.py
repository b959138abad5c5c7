"""Gradient coverage: how many (window, tap) pairs read each input pixel, as an annotated heat map."""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..grad import conv2d_backward, gradient_coverage
from ..padding import check_positive_int, normalize_padding_mode, normalize_pair
from ..shapes import conv_axes
from .draw import _cell
from .geometry import COLORS

ZERO_CELL = "#fcbba1"
MAX_SIDE = 24  # pixels a side above which the counts no longer fit in their cells

# The small multiples of :func:`draw_coverage_grid`: valid, same, stride > kernel, dilation, reflect.
DEFAULT_CASES = (
    {"n": 7, "k": 3},
    {"n": 7, "k": 3, "padding": "same"},
    {"n": 8, "k": 2, "stride": 3},
    {"n": 9, "k": 3, "stride": 2, "dilation": 2},
    {"n": 7, "k": 3, "padding": "same", "padding_mode": "reflect"},
)


def coverage_counts(n, k, *, stride=1, padding="valid", dilation=1, padding_mode="zeros") -> np.ndarray:
    """The 2-D count of (window, tap) pairs whose gradient reaches each input pixel.

    With zero padding it is the outer product of :func:`convlib.gradient_coverage` per axis; with
    ``reflect``, ``replicate`` or ``circular`` the taps on padded copies count for the pixel they
    copy, which is :func:`convlib.conv2d_backward` of an all-ones input, kernel and ``grad_out``.

    Examples
    --------
    >>> coverage_counts(3, 2)
    array([[1, 2, 1],
           [2, 4, 2],
           [1, 2, 1]])
    >>> coverage_counts(3, 3, padding="same", padding_mode="reflect")[0]
    array([ 4, 10,  4])
    """
    nh, nw = normalize_pair(n, "input size")
    kh, kw = normalize_pair(k, "kernel size")
    mode = normalize_padding_mode(padding_mode)
    gh, gw = conv_axes((nh, nw), (kh, kw), stride=stride, padding=padding, dilation=dilation)
    if mode == "zeros":
        per_axis = [
            gradient_coverage(a.n, a.k, stride=a.stride, padding=a.pads, dilation=a.dilation)
            for a in (gh, gw)
        ]
        return np.outer(*per_axis)
    grad_x, _, _ = conv2d_backward(
        np.ones((1, nh, nw, 1)),
        np.ones((kh, kw, 1, 1)),
        np.ones((1, gh.out, gw.out, 1)),
        stride=stride,
        padding=padding,
        dilation=dilation,
        padding_mode=mode,
    )
    return np.rint(grad_x[0, :, :, 0]).astype(int)


def describe(case: dict) -> str:
    """A case's configuration in a short title, e.g. ``n=7 k=3 s=2 same reflect``.

    Examples
    --------
    >>> describe({"n": 9, "k": 3, "stride": 2, "dilation": 2})
    'n=9 k=3 s=2 d=2 valid'
    """
    parts = [f"n={case['n']}", f"k={case['k']}"]
    if case.get("stride", 1) != 1:
        parts.append(f"s={case['stride']}")
    if case.get("dilation", 1) != 1:
        parts.append(f"d={case['dilation']}")
    padding = case.get("padding", "valid")
    parts.append(padding if isinstance(padding, str) else f"p={padding}")
    if case.get("padding_mode", "zeros") != "zeros":
        parts.append(case["padding_mode"])
    return " ".join(parts)


def _draw(ax, n, k, *, stride=1, padding="valid", dilation=1, padding_mode="zeros", fontsize=8) -> np.ndarray:
    """The heat map onto ``ax``: padding ring in grey, pixels shaded by count, zeros in red."""
    counts = coverage_counts(
        n, k, stride=stride, padding=padding, dilation=dilation, padding_mode=padding_mode
    )
    gh, gw = conv_axes(
        counts.shape, normalize_pair(k, "kernel size"), stride=stride, padding=padding, dilation=dilation
    )
    if max(counts.shape) > MAX_SIDE:
        raise ValueError(f"an input of {counts.shape} is too large to draw (at most {MAX_SIDE} a side)")
    for r in range(gh.padded):
        for c in range(gw.padded):
            if not (gh.before <= r < gh.before + gh.n and gw.before <= c < gw.before + gw.n):
                _cell(ax, c, r, COLORS["pad"], "pad-cell", alpha=0.5)
    top = max(int(counts.max()), 1)
    for r in range(gh.n):
        for c in range(gw.n):
            v = int(counts[r, c])
            x, y = c + gw.before, r + gh.before
            if v == 0:
                _cell(ax, x, y, ZERO_CELL, "zero-cell", hatch="//")
            else:
                t = v / top
                _cell(ax, x, y, (1 - 0.75 * t, 1 - 0.55 * t, 1 - 0.25 * t), "covered-cell")
            ax.text(
                x + 0.5,
                y + 0.5,
                str(v),
                ha="center",
                va="center",
                fontsize=fontsize,
                color="white" if v / top > 0.7 else "k",
                fontweight="bold" if v == 0 else "normal",
                gid="coverage-count",
            )
    ax.set_xlim(-0.2, gw.padded + 0.2)
    ax.set_ylim(gh.padded + 0.2, -0.2)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return counts


def draw_coverage(n, k, *, stride=1, padding="valid", dilation=1, padding_mode="zeros") -> Figure:
    """Heat map of gradient coverage: how many (window, tap) pairs read each input pixel.

    Each pixel shows its count; a pixel with count 0 (red, hatched) gets exactly zero gradient
    whatever the weights: the stride or the dilation skips it, or it lies past the last window.
    The grey ring is the padding. With ``padding_mode`` ``reflect``, ``replicate`` or ``circular``
    the taps on a padded copy count for the pixel it copies.

    Parameters
    ----------
    n, k, stride, dilation : int or (int, int)
    padding : str, int, (int, int) or ((int, int), (int, int))
        As in :func:`convlib.conv2d`.
    padding_mode : {"zeros", "reflect", "replicate", "circular"}

    Returns
    -------
    matplotlib.figure.Figure
        Pixels are patches with gid ``covered-cell`` or ``zero-cell`` (the padding ``pad-cell``);
        the counts are texts with gid ``coverage-count`` at the pixel centres.

    Raises
    ------
    ValueError
        Bad sizes (from :func:`convlib.shapes.conv_axes`), an unknown ``padding_mode``, reflect
        padding wider than the input, or more than 24 pixels a side.

    Shape
    -----
    Per axis ``count[i] = #{(u, b) : u*s + b*d - p_before = i}`` for output ``u`` and tap ``b``
    (:func:`convlib.gradient_coverage`); the 2-D count is the outer product.

    Examples
    --------
    >>> fig = draw_coverage(8, 2, stride=3)
    >>> sum(p.get_gid() == "zero-cell" for p in fig.axes[0].patches)  # rows and columns 2 and 5
    28
    """
    fig = Figure(figsize=(4.8, 4.4), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    case = dict(n=n, k=k, stride=stride, padding=padding, dilation=dilation, padding_mode=padding_mode)
    counts = _draw(ax, **case)
    zeros = int((counts == 0).sum())
    ax.set_title(
        f"gradient coverage, {describe(case)}\n"
        f"(window, tap) pairs per pixel: {counts.min()}..{counts.max()}, {zeros} pixels get no gradient",
        fontsize=9,
        gid="title",
    )
    return fig


def draw_coverage_grid(cases=DEFAULT_CASES, *, columns: int = 3) -> Figure:
    """Several coverage heat maps side by side, each titled with its configuration.

    ``cases`` are dicts of :func:`draw_coverage`'s arguments; the default shows valid, same,
    a stride larger than the kernel, dilation and reflect padding.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per case (extra grid slots are removed), drawn as in :func:`draw_coverage`.

    Raises
    ------
    ValueError
        No cases, a case :func:`draw_coverage` refuses, or ``columns`` not positive.

    Examples
    --------
    >>> fig = draw_coverage_grid()
    >>> [ax.get_title() for ax in fig.axes][:2]
    ['n=7 k=3 valid', 'n=7 k=3 same']
    """
    cases = list(cases)
    if not cases:
        raise ValueError("cases must hold at least one configuration")
    columns = min(check_positive_int(columns, "columns"), len(cases))
    rows = -(-len(cases) // columns)
    fig = Figure(figsize=(min(2.6 * columns, 8.0), 2.7 * rows + 0.4), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.subplots(rows, columns, squeeze=False)
    for idx, ax in enumerate(grid.ravel()):
        if idx >= len(cases):
            ax.remove()
            continue
        case = cases[idx]
        _draw(ax, fontsize=6, **case)
        ax.set_title(describe(case), fontsize=8)
    fig.suptitle("gradient coverage: (window, tap) pairs per input pixel; red = no gradient", fontsize=9)
    return fig
