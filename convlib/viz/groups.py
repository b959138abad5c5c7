"""Grouped and depthwise convolution as a block diagram of channels."""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Rectangle

from ..graph.trace import trace
from ..padding import check_positive_int, normalize_pair
from ..records import ConvSpec
from ..shapes.checks import _check_groups
from .geometry import COLORS

MAX_CHANNELS = 48  # more channels than this leaves no room for a readable square per channel
GROUP_COLORS = ("#dbe9f6", "#fde0c5", "#e5f5e0", "#efe1f2", "#fff2ae", "#d9f0f3")


def _centres(count: int, top: float, band: int) -> list[float]:
    """``count`` cell centres spread evenly over a band of ``band`` units starting at ``top``."""
    step = band / count
    return [top + step * (i + 0.5) for i in range(count)]


def draw_groups(in_channels: int, out_channels: int, groups: int, k=3) -> Figure:
    """Draw which input channels feed which output channels in a grouped convolution.

    Input channels are the squares on the left, output channels on the right. Each group is a
    shaded block: every input channel of a group is connected to every output channel of the
    same group (one ``k x k`` filter slice per line) and to none outside it. ``groups == 1`` is an
    ordinary convolution; ``groups == in_channels`` is depthwise (each input channel filtered on
    its own, ``out_channels / in_channels`` filters per channel).

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts, both divisible by ``groups`` (at most 48 each, to stay readable).
    groups : int
        Number of groups.
    k : int or (int, int)
        Kernel size, for the weight counts.

    Returns
    -------
    matplotlib.figure.Figure
        Patches with gids ``in-channel``, ``out-channel``, ``group-block``; the connections are one
        ``LineCollection`` per group (gid ``connections``); the per-group weight counts are texts
        with gid ``group-weights``.

    Raises
    ------
    ValueError
        Non-positive counts, ``groups`` not dividing a channel count (naming ``groups``, as
        :func:`convlib.shapes.check_conv_shapes` does), or more than 48 channels.

    Shape
    -----
    Weights ``kh*kw*(C_in/g)*(C_out/g)*g`` (the count :func:`convlib.trace` gives a bias-free
    :class:`convlib.records.ConvSpec`).

    Examples
    --------
    >>> fig = draw_groups(4, 8, 2)
    >>> sum(p.get_gid() == "group-block" for p in fig.axes[0].patches)
    2
    >>> sum(len(c.get_segments()) for c in fig.axes[0].collections)  # 2 groups of 2 x 4
    16
    """
    cin = check_positive_int(in_channels, "in_channels")
    cout = check_positive_int(out_channels, "out_channels")
    g = _check_groups(groups, cin, cout)
    kh, kw = normalize_pair(k, "kernel size")
    if max(cin, cout) > MAX_CHANNELS:
        raise ValueError(
            f"in_channels and out_channels must be at most {MAX_CHANNELS} to draw, "
            f"got in_channels={cin}, out_channels={cout}"
        )
    cin_g, cout_g = cin // g, cout // g
    per_group = kh * kw * cin_g * cout_g
    # The total is the parameter count convlib's network tracer gives the same layer.
    total = trace([ConvSpec(cout, (kh, kw), groups=g, bias=False)], (cin, kh, kw)).total_params
    if total != per_group * g:  # pragma: no cover - the two counts are the same formula
        raise AssertionError(f"trace counts {total} weights, the formula {per_group * g}")

    band, gap = max(cin_g, cout_g), 0.6
    height = g * band + (g - 1) * gap
    unit = min(0.3, 6.0 / height)
    fig = Figure(figsize=(6.4, height * unit + 1.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    x_in, x_out, size = 0.0, 6.0, 0.7
    fs = 7 if unit >= 0.2 else 5
    for grp in range(g):
        top = grp * (band + gap)
        ax.add_patch(
            FancyBboxPatch(
                (x_in - 0.35, top - 0.1),
                x_out - x_in + size + 0.7,
                band + 0.2,
                boxstyle="round,pad=0.05",
                facecolor=GROUP_COLORS[grp % len(GROUP_COLORS)],
                edgecolor="#777777",
                lw=0.8,
                alpha=0.6,
                gid="group-block",
            )
        )
        ins, outs = _centres(cin_g, top, band), _centres(cout_g, top, band)
        for kind, x, ys, first in (("in", x_in, ins, grp * cin_g), ("out", x_out, outs, grp * cout_g)):
            for i, y in enumerate(ys):
                color = COLORS["input" if kind == "in" else "output"]
                cell = Rectangle(
                    (x, y - size / 2), size, size, facecolor=color, ec="#555555", lw=0.6, zorder=3
                )
                cell.set_gid(f"{kind}-channel")
                ax.add_patch(cell)
                ax.text(x + size / 2, y, str(first + i), ha="center", va="center", fontsize=fs, zorder=4)
        segments = [((x_in + size, a), (x_out, b)) for a in ins for b in outs]
        ax.add_collection(LineCollection(segments, colors="#3b5b92", lw=0.6, alpha=0.7, gid="connections"))
        ax.text(
            x_out + size + 0.5,
            top + band / 2,
            f"group {grp}: {kh}·{kw}·{cin_g}·{cout_g} = {per_group:,}",
            ha="left",
            va="center",
            fontsize=8 if band * unit >= 0.2 else 6,
            gid="group-weights",
        )
    kind = "depthwise" if g == cin and g > 1 else "ordinary" if g == 1 else "grouped"
    extra = f", channel multiplier {cout // cin}" if kind == "depthwise" else ""
    ax.set_title(
        f"{kind} convolution: C_in={cin}, C_out={cout}, groups={g}{extra}\n"
        f"weights = k·k·(C_in/g)·(C_out/g)·g = {kh}·{kw}·{cin_g}·{cout_g}·{g} = {total:,}",
        fontsize=9,
        gid="title",
    )
    ax.text(x_in + size / 2, -0.5, "input channels", ha="center", va="bottom", fontsize=8)
    ax.text(x_out + size / 2, -0.5, "output channels", ha="center", va="bottom", fontsize=8)
    ax.set_xlim(x_in - 0.6, x_out + size + 5.2)
    ax.set_ylim(height + 0.3, -1.4)
    ax.set_axis_off()
    return fig
