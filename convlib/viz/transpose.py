"""Transposed convolution: one input cell scattered through the kernel, then cropped."""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..padding import normalize_pair
from ..shapes.geometry import split_padding, transpose_axis
from .draw import _cell, _check_position
from .geometry import COLORS, AxisGeometry

CROP, BIAS = "#eeeeee", "#fee391"


def _transpose_axis(n, k, s, d, pad, op) -> tuple[AxisGeometry, int, int]:
    """The drawn axis (input ``n``, output ``out``) plus ``(output_padding, full)``, where ``full``
    is the scatter's span, from :func:`convlib.shapes.transpose_axis`."""
    a = transpose_axis(n, k, pad, stride=s, output_padding=op, dilation=d)
    return AxisGeometry(n, k, s, d, a.before, a.after, a.n), a.left, a.extent


def _kind(t: int, g: AxisGeometry, full: int) -> str:
    """Output index ``t - before`` is kept; kept cells past the scatter's span hold only the bias."""
    if g.before <= t < g.before + g.out:
        return "bias" if t >= full else "output"
    return "crop"


def draw_transpose(
    n_h: int, n_w: int, k, *, stride=1, padding=0, output_padding=None, dilation=1, position=(0, 0)
) -> Figure:
    """Draw a transposed convolution: where input cell ``position`` lands, and the crop.

    The right grid is the full scatter of every input cell, ``(n-1)*s + d*(k-1) + 1`` cells a
    side; cropped cells (the padding) are hatched, cells that ``output_padding`` adds past the
    scatter (bias only) are yellow. Sizes come from :func:`convlib.shapes.transpose_padding_1d`
    and :func:`convlib.shapes.conv_transpose_output_size`.

    Shape
    -----
    ``H_out = (H - 1)*s - p_top - p_bottom + d*(k-1) + output_padding + 1``.

    Examples
    --------
    >>> fig = draw_transpose(3, 3, 3, stride=2, padding=1, output_padding=1)
    >>> sum(p.get_gid() in ("output-cell", "bias-cell") for p in fig.axes[1].patches)
    36
    """
    ks, ss, ds = (
        normalize_pair(v, n) for v, n in ((k, "kernel size"), (stride, "stride"), (dilation, "dilation"))
    )
    ops = (
        (None, None)
        if output_padding is None
        else normalize_pair(output_padding, "output_padding", allow_zero=True)
    )
    axes = [_transpose_axis(*args) for args in zip((n_h, n_w), ks, ss, ds, split_padding(padding), ops)]
    (gh, oph, full_h), (gw, opw, full_w) = axes
    i, j = _check_position(
        position, AxisGeometry(n_h, 1, 1, 1, 0, 0, n_h), AxisGeometry(n_w, 1, 1, 1, 0, 0, n_w)
    )
    rows, cols = max(full_h, gh.before + gh.out), max(full_w, gw.before + gw.out)
    fig = Figure(
        figsize=(max((n_w + cols + 4) * 0.35, 5.0), max(rows, n_h) * 0.35 + 1.6), layout="constrained"
    )
    FigureCanvasAgg(fig)
    ax_in, ax_out = fig.subplots(1, 2, width_ratios=[n_w + 1, cols + 1])
    for r in range(n_h):
        for c in range(n_w):
            _cell(ax_in, c, r, COLORS["current" if (r, c) == (i, j) else "input"], "input-cell")
    for r in range(rows):
        for c in range(cols):
            kinds = {_kind(r, gh, full_h), _kind(c, gw, full_w)}
            kind = "crop" if "crop" in kinds else "bias" if "bias" in kinds else "output"
            color = {"crop": CROP, "bias": BIAS, "output": COLORS["output"]}[kind]
            _cell(ax_out, c, r, color, f"{kind}-cell", hatch="//" if kind == "crop" else None)
    for a in range(gh.k):
        for b in range(gw.k):  # input (i, j) reaches full-scatter cell (i*s + a*d, j*s + b*d)
            x, y = j * gw.stride + b * gw.dilation, i * gh.stride + a * gh.dilation
            _cell(ax_out, x, y, COLORS["tap"], "tap", alpha=0.85, zorder=3)
    ax_in.set_title(f"input {n_h}x{n_w}", fontsize=9)
    ax_out.set_title(
        f"scatter {full_h}x{full_w}, crop ({gh.before},{gh.after}) x ({gw.before},{gw.after})\n"
        f"output_padding ({oph},{opw}) -> output {gh.out}x{gw.out}",
        fontsize=9,
        gid="output-title",
    )
    for ax, w in ((ax_in, n_w), (ax_out, cols)):
        ax.set_xlim(-0.5, w + 0.5)
        ax.set_ylim(max(rows, n_h) + 0.5, -0.5)
        ax.set_aspect("equal")
        ax.set_axis_off()
    lines = [
        f"${name}_{{out}} = ({g.n}-1)\\cdot{g.stride} - {g.before} - {g.after} + {g.dilation}\\cdot({g.k}-1)"
        f" + {op} + 1 = {g.out}$"
        for name, g, op in (("H", gh, oph), ("W", gw, opw))
    ]
    fig.supxlabel("\n".join(lines), fontsize=9).set_gid("formula")
    return fig
