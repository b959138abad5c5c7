"""Whole networks: the receptive field of one output cell, and the size flow layer by layer.

Both read a :class:`~convlib.graph.trace.GraphTrace` (from :func:`convlib.trace`), whose rows carry
each layer's output shape and, per axis, a :class:`~convlib.graph.field.Field`: output ``u`` sees
the input pixels ``Field.bounds(u)``, ``start + u*jump -+ (rf-1)/2``.
"""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

from ..graph.trace import GraphRow, GraphTrace, trace
from ..padding import check_nonnegative_int, check_positive_int, normalize_pair
from .geometry import COLORS

RF_COLOR, RF_EDGE = "#f28e2b", "#b35806"
MAX_GRID_LINES = 64  # pixels a side up to which the input's pixel grid is drawn


def _output_hw(row: GraphRow) -> tuple[int, int]:
    return (row.output_shape[1], row.output_shape[2]) if len(row.output_shape) == 3 else (1, 1)


def draw_receptive_field(layers, input_hw, position=(0, 0), *, channels: int = 3) -> Figure:
    """Draw the input grid and the receptive field of one output cell of the last layer.

    The filled rectangle is the field clipped to the input; the dashed one is the whole field,
    which may reach into the padding. Dots mark the field centres of all the last layer's output
    cells, ``jump`` pixels apart. The field is the interval :func:`convlib.trace` computes, the
    bounding box of every pixel the cell can read; with dilation, pixels inside it that are
    reached only through taps on padding are not read at all.

    Parameters
    ----------
    layers : convlib spec, torch.nn.Module, Keras model or Graph
        The network, as for :func:`convlib.trace`.
    input_hw : int or (int, int)
        Input height and width.
    position : (int, int)
        The output cell of the last layer (a flat last layer has the one cell ``(0, 0)``).
    channels : int
        Input channels, for the trace.

    Returns
    -------
    matplotlib.figure.Figure
        Patches with gids ``input`` (the grid), ``receptive-field`` (clipped) and
        ``receptive-field-full``; the centres are a scatter with gid ``rf-centres``.

    Raises
    ------
    ValueError
        Anything :func:`convlib.trace` refuses, an empty network, or a position outside the last
        layer's output.

    Examples
    --------
    >>> from convlib.records import ConvSpec, MaxPoolSpec
    >>> fig = draw_receptive_field([ConvSpec(8, 3), MaxPoolSpec(2), ConvSpec(8, 3)], 12, (1, 2))
    >>> rf = [p for p in fig.axes[0].patches if p.get_gid() == "receptive-field"][0]
    >>> rf.get_x(), rf.get_y(), rf.get_width(), rf.get_height()
    (4.0, 2.0, 8.0, 8.0)
    """
    h, w = normalize_pair(input_hw, "input_hw")
    t = trace(layers, (check_positive_int(channels, "channels"), h, w))
    last = t[t.graph.output]
    if last.op == "input":
        raise ValueError("layers must hold at least one layer")
    ho, wo = _output_hw(last)
    i, j = (check_nonnegative_int(v, f"position[{a}]") for a, v in enumerate(position))
    if i >= ho or j >= wo:
        raise ValueError(f"position {(i, j)} is outside the {ho}x{wo} output of layer {last.name}")
    (r0, r1), (c0, c1) = last.field[0].bounds(i), last.field[1].bounds(j)
    # Pixel p covers [p, p+1) in the drawing, so the field [first, last] is [first, last + 1).
    full = (c0, r0, c1 + 1 - c0, r1 + 1 - r0)
    cx0, cx1, cy0, cy1 = max(c0, 0), min(c1 + 1, w), max(r0, 0), min(r1 + 1, h)

    lo_x, hi_x = min(0, c0) - 0.5, max(w, c1 + 1) + 0.5
    lo_y, hi_y = min(0, r0) - 0.5, max(h, r1 + 1) + 0.5
    span_x, span_y = hi_x - lo_x, hi_y - lo_y
    scale = min(5.6 / span_x, 5.0 / span_y)
    fig = Figure(figsize=(max(span_x * scale + 0.6, 4.5), span_y * scale + 1.2), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.add_patch(Rectangle((0, 0), w, h, facecolor=COLORS["input"], edgecolor="#555555", lw=0.8, gid="input"))
    if max(h, w) <= MAX_GRID_LINES:
        lines = [((x, 0), (x, h)) for x in range(1, w)] + [((0, y), (w, y)) for y in range(1, h)]
        ax.add_collection(LineCollection(lines, colors="#9aa8bd", lw=0.4, gid="pixel-grid"))
    if cx1 > cx0 and cy1 > cy0:
        ax.add_patch(
            Rectangle(
                (cx0, cy0), cx1 - cx0, cy1 - cy0, facecolor=RF_COLOR, alpha=0.55, lw=0, gid="receptive-field"
            )
        )
    ax.add_patch(
        Rectangle(full[:2], *full[2:], fill=False, ls="--", lw=1.6, ec=RF_EDGE, gid="receptive-field-full")
    )
    if ho * wo <= 4096:
        centres = [
            (last.start[1] + v * last.jump[1] + 0.5, last.start[0] + u * last.jump[0] + 0.5)
            for u in range(ho)
            for v in range(wo)
        ]
        ax.scatter(*zip(*centres), s=6, color=COLORS["start"], zorder=4, gid="rf-centres")
        ax.scatter(
            [centres[i * wo + j][0]], [centres[i * wo + j][1]], s=30, color=RF_EDGE, zorder=5, gid="rf-centre"
        )
    ax.set_xlim(lo_x, hi_x)
    ax.set_ylim(hi_y, lo_y)
    ax.set_aspect("equal")
    ax.set_axis_off()

    def rng(a: float, b: float) -> str:
        return f"{a:g}..{b:g}"

    ax.set_title(
        f"output cell {(i, j)} of layer {last.name} ({last.kind}, output {ho}x{wo}), input {h}x{w}\n"
        f"rf {last.rf[0]}x{last.rf[1]}, jump {last.jump[0]}x{last.jump[1]}, "
        f"start ({last.start[0]:g}, {last.start[1]:g}): rows {rng(r0, r1)}, cols {rng(c0, c1)}\n"
        f"clipped to the input (filled): rows {rng(cy0, cy1 - 1)}, cols {rng(cx0, cx1 - 1)}; "
        "dashed: the whole field",
        fontsize=8,
        gid="title",
    )
    return fig


def shape_label(shape: tuple[int, ...]) -> str:
    """``(C, H, W)`` as ``HxWxC``; a flat shape as its length.

    Examples
    --------
    >>> shape_label((64, 56, 56)), shape_label((1000,))
    ('56x56x64', '1000')
    """
    if len(shape) == 3:
        c, h, w = shape
        return f"{h}x{w}x{c}"
    return "x".join(str(v) for v in shape)


def draw_size_flow(t: GraphTrace, *, skip=(), per_line: int = 4) -> Figure:
    """Draw the size flow of a traced network: one box per layer with its output ``HxWxC``.

    Boxes are scaled by the layer's output height and width relative to the input's, so
    downsampling shows as shrinking boxes; flat outputs (``Flatten``, ``Dense``) are thin bars.
    Arrows join consecutive layers in execution order, ``per_line`` boxes to a line (a line ends
    in an arrow stub and the next begins with one). A residual block's shortcut layers follow its
    main branch and are drawn in orange; a merge (``add``, ``concat``) is drawn in the output colour.

    Parameters
    ----------
    t : GraphTrace
        From :func:`convlib.trace`.
    skip : tuple of str
        Layer kinds to leave out, e.g. ``("ReLU", "BatchNorm")`` for a deep network.
    per_line : int
        Boxes per line.

    Returns
    -------
    matplotlib.figure.Figure
        Patches with gid ``layer-box``; texts with gid ``shape-label`` (the output shape) and
        ``layer-label`` (name and kind); arrows with gid ``flow-arrow`` (one per consecutive pair;
        the incoming stubs at line starts have gid ``flow-arrow-in``).

    Raises
    ------
    ValueError
        A trace with no rows left after ``skip``, or ``per_line`` not positive.

    Examples
    --------
    >>> from convlib.records import ConvSpec, MaxPoolSpec
    >>> fig = draw_size_flow(trace([ConvSpec(8, 3, padding=1), MaxPoolSpec(2)], (3, 16, 16)))
    >>> [x.get_text() for x in fig.axes[0].texts if x.get_gid() == "shape-label"]
    ['16x16x3', '16x16x8', '8x8x8']
    """
    per_line = check_positive_int(per_line, "per_line")
    rows = [r for r in t.rows if r.op != "input" and r.kind not in tuple(skip)]
    if not rows:
        raise ValueError(f"the trace has no rows to draw (skip={tuple(skip)!r})")
    _, h0, w0 = t.input_shape
    entries = [
        ("input", "input", "input", t.input_shape),
        *((r.name, r.kind, r.op, r.output_shape) for r in rows),
    ]
    slot_w, box = 1.8, 0.85  # inches: a slot per box, the largest box's side
    font = 8.5  # points: 11.8 px at the 100 dpi the book renders, shown unscaled up to 7.5 in wide
    label_h, size_h, gap = 0.34, 0.18, 0.22  # inches: name and kind above a box, its shape below

    def side(shape):
        if len(shape) == 3:
            return max(box * shape[2] / w0, 0.06), max(box * shape[1] / h0, 0.06)
        return 0.12, box

    # Each line is as tall as its tallest box plus the texts above and below it.
    lines = [entries[i : i + per_line] for i in range(0, len(entries), per_line)]
    tops = [0.0]
    for line in lines:
        tops.append(tops[-1] + label_h + max(side(e[3])[1] for e in line) + size_h + gap)
    fig = Figure(figsize=(min(per_line, len(entries)) * slot_w + 0.2, tops[-1] + 0.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    prev = None
    for idx, (name, kind, op, shape) in enumerate(entries):
        line, col = divmod(idx, per_line)
        bw, bh = side(shape)
        tall = max(side(e[3])[1] for e in lines[line])
        cx, cy = col * slot_w + slot_w / 2, tops[line] + label_h + tall / 2
        color = (
            "#fde0c5"
            if ".shortcut." in name
            else COLORS["output"]
            if op in ("add", "concat")
            else COLORS["input"]
        )
        ax.add_patch(
            Rectangle(
                (cx - bw / 2, cy - bh / 2), bw, bh, facecolor=color, ec="#555555", lw=0.8, gid="layer-box"
            )
        )
        ax.text(cx, cy - bh / 2 - 0.04, f"{name}\n{kind}", ha="center", va="bottom", fontsize=font,
                linespacing=1.0, gid="layer-label")  # fmt: skip
        ax.text(cx, cy + bh / 2 + 0.04, shape_label(shape), ha="center", va="top", fontsize=font,
                gid="shape-label")  # fmt: skip
        if prev is not None:
            px, py, pbw, pline = prev
            if pline == line:
                start, end = (px + pbw / 2 + 0.03, cy), (cx - bw / 2 - 0.03, cy)
            else:  # a new line: a stub leaving the last box, another entering this one
                start, end = (px + pbw / 2 + 0.03, py), (px + slot_w / 2, py)
                ax.add_patch(
                    FancyArrowPatch(
                        (cx - slot_w / 2, cy),
                        (cx - bw / 2 - 0.03, cy),
                        arrowstyle="->",
                        mutation_scale=8,
                        lw=0.8,
                        gid="flow-arrow-in",
                    )
                )
            ax.add_patch(
                FancyArrowPatch(start, end, arrowstyle="->", mutation_scale=8, lw=0.8, gid="flow-arrow")
            )
        prev = (cx, cy, bw, line)
    ax.set_xlim(0, min(per_line, len(entries)) * slot_w)
    ax.set_ylim(tops[-1], -0.05)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(
        f"{len(rows)} layers: {shape_label(t.input_shape)} -> {shape_label(t.output_shape)}, "
        f"{t.total_params:,} parameters\n(boxes scaled by H and W, {h0}x{w0} = full size)",
        fontsize=font + 1,
        gid="title",
    )
    return fig
