"""Static figures: padded input, kernel taps, window starts, output grid and the formula."""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..padding import check_nonnegative_int
from ..shapes import effective_kernel_size
from .geometry import COLORS, AxisGeometry, conv_geometry, pool_geometry


def _cell(ax, x, y, color, gid, **kw) -> Rectangle:
    patch = Rectangle((x, y), 1, 1, facecolor=color, edgecolor="#555555", lw=0.6, gid=gid, **kw)
    ax.add_patch(patch)
    return patch


def _cell_kind(g: AxisGeometry, i: int) -> str:
    if i >= g.padded:
        return "overhang"
    return "input" if g.before <= i < g.before + g.n else "pad"


def _draw_input(ax, gh: AxisGeometry, gw: AxisGeometry) -> None:
    """Padded input grid; padding shaded, ceil-mode overhang hatched."""
    for r in range(gh.padded + gh.overhang):
        for c in range(gw.padded + gw.overhang):
            kinds = {_cell_kind(gh, r), _cell_kind(gw, c)}
            kind = "overhang" if "overhang" in kinds else "pad" if "pad" in kinds else "input"
            _cell(ax, c, r, COLORS[kind], f"{kind}-cell", hatch="//" if kind == "overhang" else None)
    starts = [(j * gw.stride + 0.5, i * gh.stride + 0.5) for i in range(gh.out) for j in range(gw.out)]
    ax.scatter(*zip(*starts), s=8, color=COLORS["start"], zorder=4, gid="window-starts")
    for g, horizontal in ((gw, True), (gh, False)):
        if g.out > 1:  # one arrow per axis shows the stride step between window starts
            a, b = (0.5, g.stride + 0.5)
            xy, xytext = ((b, -0.45), (a, -0.45)) if horizontal else ((-0.45, b), (-0.45, a))
            arrow = ax.annotate("", xy=xy, xytext=xytext, arrowprops={"arrowstyle": "->", "color": "k"})
            arrow.set_gid("stride-arrow")
            mid = (a + b) / 2
            x, y, rot = (mid, -0.6, 0) if horizontal else (-0.6, mid, 90)
            ax.text(
                x,
                y,
                f"s={g.stride}",
                ha="center",
                va="bottom" if horizontal else "center",
                rotation=rot,
                fontsize=8,
                gid="stride-label",
            )


def _draw_window(ax, gh: AxisGeometry, gw: AxisGeometry) -> list:
    """The kernel taps at output (0, 0) plus the dashed footprint; moved by :func:`_place`."""
    taps = [
        _cell(ax, b * gw.dilation, a * gh.dilation, COLORS["tap"], "tap", alpha=0.85, zorder=3)
        for a in range(gh.k)
        for b in range(gw.k)
    ]
    eff_h, eff_w = effective_kernel_size(gh.k, gh.dilation), effective_kernel_size(gw.k, gw.dilation)
    foot = Rectangle(
        (0, 0), eff_w, eff_h, fill=False, ls="--", lw=1.8, ec="#b35806", zorder=5, gid="footprint"
    )
    ax.add_patch(foot)
    return [*taps, foot]


def _place(window: list, current: Rectangle, gh, gw, i: int, j: int) -> None:
    """Move the window to output position ``(i, j)``."""
    *taps, foot = window
    for idx, tap in enumerate(taps):
        a, b = divmod(idx, gw.k)
        tap.set_xy((j * gw.stride + b * gw.dilation, i * gh.stride + a * gh.dilation))
    foot.set_xy((j * gw.stride, i * gh.stride))
    current.set_xy((j, i))


def _formula(name: str, g: AxisGeometry, ceil: bool = False) -> str:
    """The size formula with this axis's numbers, ending in the size convlib.shapes computed."""
    lo, hi = (r"\lceil", r"\rceil") if ceil else (r"\lfloor", r"\rfloor")
    span = g.n + g.before + g.after - g.dilation * (g.k - 1) - 1
    raw = (-(-span // g.stride) if ceil else span // g.stride) + 1
    # ceil_mode drops a last window that starts in the right padding: show the drop, not a wrong sum
    result = f"{raw} \\rightarrow {g.out}" if raw != g.out else f"{g.out}"
    return (
        f"${name}_{{out}} = {lo}({g.n} + {g.before} + {g.after} - {g.dilation}\\cdot({g.k}-1) - 1)"
        f"/{g.stride}{hi} + 1 = {result}$"
    )


def _check_position(position, gh: AxisGeometry, gw: AxisGeometry) -> tuple[int, int]:
    i, j = (check_nonnegative_int(v, f"position[{a}]") for a, v in enumerate(position))
    if i >= gh.out or j >= gw.out:
        raise ValueError(f"position {(i, j)} is outside the {gh.out}x{gw.out} output")
    return i, j


def _window_figure(gh, gw, position=(0, 0), *, cell=0.35, ceil=False, kind="kernel"):
    """Input, window and output axes; returns ``(fig, window_artists, current_cell)``."""
    i, j = _check_position(position, gh, gw)
    rows_in, cols_in = gh.padded + gh.overhang, gw.padded + gw.overhang
    rows = max(rows_in, gh.out)
    fig = Figure(figsize=(max((cols_in + gw.out + 4) * cell, 5.0), rows * cell + 1.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax_in, ax_out = fig.subplots(1, 2, width_ratios=[cols_in + 1, max(gw.out, 2) + 1])
    _draw_input(ax_in, gh, gw)
    window = _draw_window(ax_in, gh, gw)
    for r in range(gh.out):
        for c in range(gw.out):
            _cell(ax_out, c, r, COLORS["output"], "output-cell")
    current = _cell(ax_out, j, i, COLORS["current"], "output-current", zorder=3)
    _place(window, current, gh, gw, i, j)
    pads = f"pads ({gh.before},{gh.after}) x ({gw.before},{gw.after})"
    ax_in.set_title(f"input {gh.n}x{gw.n}, {kind} {gh.k}x{gw.k}, {pads}", fontsize=9, gid="input-title")
    ax_out.set_title(f"output {gh.out}x{gw.out}", fontsize=9, gid="output-title")
    for ax, h, w in ((ax_in, rows_in, cols_in), (ax_out, gh.out, gw.out)):
        ax.set_xlim(-1, max(w, 2) + 0.1)
        ax.set_ylim(max(h, rows) + 0.1, -1)
        ax.set_aspect("equal")
        ax.set_axis_off()
    text = f"{_formula('H', gh, ceil)}\n{_formula('W', gw, ceil)}"
    if r"\rightarrow" in text:
        text += "\n(dropped: the last window would start in the right padding)"
    fig.suptitle(f"stride ({gh.stride},{gw.stride}), dilation ({gh.dilation},{gw.dilation})", fontsize=9)
    fig.supxlabel(text, fontsize=9).set_gid("formula")
    return fig, window, current


def draw_conv(
    n_h: int, n_w: int, k, *, stride=1, padding="valid", dilation=1, position=(0, 0), cell: float = 0.35
) -> Figure:
    """Draw one convolution: padded input, kernel taps at ``position``, window starts, output.

    Parameters
    ----------
    n_h, n_w : int
        Input height and width.
    k, stride, dilation : int or (int, int)
        As in :func:`convlib.conv2d`.
    padding : str, int, (int, int) or ((int, int), (int, int))
        ``"valid"``, ``"same"`` (TensorFlow's split), ``"full"`` or numbers.
    position : (int, int)
        The output cell whose window is drawn.
    cell : float
        Size of one cell in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Patches carry gids ``input-cell``, ``pad-cell``, ``tap``, ``footprint``,
        ``output-cell``, ``output-current``; the formula text has gid ``formula``.

    Raises
    ------
    ValueError
        Bad sizes (from :mod:`convlib.shapes`) or a position outside the output.

    Shape
    -----
    ``H_out = floor((H + p_top + p_bottom - d*(k-1) - 1) / s) + 1``, likewise for ``W_out``.

    Examples
    --------
    >>> fig = draw_conv(5, 5, 3, padding=1, stride=2)
    >>> sum(p.get_gid() == "output-cell" for p in fig.axes[1].patches)
    9
    """
    gh, gw = conv_geometry(n_h, n_w, k, stride=stride, padding=padding, dilation=dilation)
    return _window_figure(gh, gw, position, cell=cell)[0]


def draw_pool(
    n_h: int, n_w: int, k, *, stride=None, padding="valid", dilation=1, ceil_mode=False, position=(0, 0)
) -> Figure:
    """Draw one pooling window; with ``ceil_mode`` the overhanging cells are hatched.

    Shape
    -----
    ``out = floor_or_ceil((n + p_b + p_a - d*(k-1) - 1) / s) + 1`` with PyTorch's rule that
    the last window must start inside the input or left padding
    (:func:`convlib.shapes.pool_output_size`).

    Examples
    --------
    >>> fig = draw_pool(5, 5, 2, ceil_mode=True)
    >>> sum(p.get_gid() == "overhang-cell" for p in fig.axes[0].patches)
    11
    """
    gh, gw = pool_geometry(
        n_h, n_w, k, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode
    )
    return _window_figure(gh, gw, position, ceil=ceil_mode, kind="window")[0]


def draw_logo(size: float = 1.6) -> Figure:
    """The book's logo: a 3x3 kernel on a 4x4 input with ``"same"`` padding, no text.

    Saved as ``_static/logo.svg`` with
    ``draw_logo().savefig(path, metadata={"Date": None}, transparent=True)``.

    Examples
    --------
    >>> sum(p.get_gid() == "tap" for p in draw_logo().axes[0].patches)
    9
    """
    gh, gw = conv_geometry(4, 4, 3, padding="same")
    fig = Figure(figsize=(size, size))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    for r in range(gh.padded):
        for c in range(gw.padded):
            kind = "pad" if "pad" in {_cell_kind(gh, r), _cell_kind(gw, c)} else "input"
            _cell(ax, c, r, COLORS[kind], f"{kind}-cell")
    window = _draw_window(ax, gh, gw)
    for patch in window:
        patch.set_x(patch.get_x() + 1)
        patch.set_y(patch.get_y() + 1)
    ax.set_xlim(-0.1, gw.padded + 0.1)
    ax.set_ylim(gh.padded + 0.1, -0.1)
    ax.set_axis_off()
    return fig
