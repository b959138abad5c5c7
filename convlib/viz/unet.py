"""Encoder–decoders drawn from their graph: the size flow with its skips, and the strip of valid sizes.

:func:`draw_unet_flow` reads any model (:func:`convlib.graph.build.from_model`) and one input
shape, runs the sizes (:func:`convlib.graph.shapes.run_until`) and draws one box per layer that
changes the spatial size, per merge, and for the input and output, each labelled with its size:
the encoder steps down a level per halving, the decoder climbs back, and each skip is a dashed
arrow from the encoder box it leaves to the merge it joins. When a merge meets two sizes the
drawing stops there and that merge is red, with both sizes. :func:`draw_size_strip` draws one
cell per input size of a :class:`~convlib.graph.sizes.SizeScan`, green where accepted and
coloured by the refusing layer elsewhere. Every size is the interpreter's.
"""

from __future__ import annotations

import math
import re

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle
from matplotlib.path import Path

from ..graph.build import from_model
from ..graph.shapes import run_until
from ..graph.sizes import SizeScan
from .geometry import COLORS

__all__ = ["flow_boxes", "draw_unet_flow", "draw_size_strip"]

MERGE, BAD, SKIP = "#fdd49e", "#f4a582", "#b35806"
REFUSED = ("#fbb4ae", "#decbe4", "#fed9a6", "#ccebc5", "#e5d8bd", "#fddaec", "#b3cde3")


def _hw(shape) -> tuple[int, int] | None:
    return tuple(shape[1:]) if len(shape) == 3 else None


def flow_boxes(model, input_shape) -> tuple[list[dict], object]:
    """The boxes of :func:`draw_unet_flow`: name, kind, op, size, level and the boxes feeding it.

    Returns the boxes in graph order and the :class:`~convlib.graph.shapes.LayerError` that
    stopped the sizes (or ``None``).

    Examples
    --------
    >>> from convlib.records import ConvSpec, MaxPoolSpec
    >>> boxes, err = flow_boxes([ConvSpec(2, 3, padding=1), MaxPoolSpec(2)], (1, 9, 9))
    >>> [(b["name"], b["size"], b["level"]) for b in boxes], err
    ([('input', (9, 9), 0.0), ('1', (4, 4), 1.17)], None)
    """
    graph = from_model(model)
    shapes, error = run_until(graph, input_shape)
    top = input_shape[1]
    drawn: dict[str, str] = {}  # node -> the box that stands for it (itself or its latest drawn source)
    boxes: list[dict] = []
    for node in graph.nodes:
        if node.name not in shapes and (error is None or node.name != error.node):
            break
        failed = node.name not in shapes
        size = _hw(shapes[node.name].shape) if not failed else None
        before = _hw(shapes[node.inputs[0]].shape) if node.inputs else None
        merge = node.op in ("add", "concat")
        if (
            node.op == "input"
            or merge
            or failed
            or (size is not None and size != before)
            or node.name == graph.output
        ):
            feeds = sorted({drawn[i] for i in node.inputs}, key=[b["name"] for b in boxes].index)
            sizes = [_hw(shapes[i].shape) for i in node.inputs] if failed else []
            level = round(math.log2(top / (size or sizes[-1] or (1, 1))[0]), 2) if (size or sizes) else 0.0
            boxes.append(dict(name=node.name, kind=node.kind, op=node.op, size=size, level=level,
                              feeds=feeds, merge=merge, failed=failed, sizes=sizes))  # fmt: skip
            drawn[node.name] = node.name
        else:
            drawn[node.name] = drawn[node.inputs[0]]
        if failed:
            break
    return boxes, error


def _label(b: dict) -> str:
    if b["failed"]:
        return "\nvs ".join("x".join(map(str, s)) for s in b["sizes"] if s)
    return "x".join(map(str, b["size"])) if b["size"] else b["op"]


def _wrap_kind(kind: str, width: int = 10) -> str:
    """A long layer kind on two lines, split at the CamelCase boundary nearest its middle."""
    cuts = [m.start() for m in re.finditer(r"(?<=[a-z0-9])(?=[A-Z])", kind)]
    if len(kind) <= width or not cuts:
        return kind
    cut = min(cuts, key=lambda c: abs(len(kind) - 2 * c))
    return kind[:cut] + "\n" + kind[cut:]


UNIT, BOX_W, BOX_H = 0.64, 0.9, 0.42  # inches per box; box width and height in boxes and levels
FONT = 8.5  # points: 11.8 px at the 100 dpi the book renders, shown unscaled up to 7.5 in wide


def draw_unet_flow(model, input_shape, *, title: str | None = None) -> Figure:
    """Draw the size flow of ``model`` for ``input_shape`` ``(C, H, W)``: levels, sizes and skips.

    A box per size-changing layer, merge, input and output (x: graph order, y: halvings below
    the input size) holding its size, with its layer kind under it; solid arrows follow the data,
    dashed arcs are the skips; a merge that meets two sizes is red and ends the drawing. The
    title sits above every arc.

    Raises
    ------
    ValueError
        A layer the bridge does not know, or a malformed input shape.
    """
    boxes, error = flow_boxes(model, input_shape)
    where = {b["name"]: (i, -b["level"]) for i, b in enumerate(boxes)}
    depth = max(b["level"] for b in boxes)
    fig = Figure(figsize=(UNIT * len(boxes) + 0.3, 1.0 * depth + 1.9), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    top = BOX_H / 2
    for i, b in enumerate(boxes):
        x, y = where[b["name"]]
        color = (
            BAD
            if b["failed"]
            else MERGE
            if b["merge"]
            else COLORS["output"]
            if b["level"]
            else COLORS["input"]
        )
        ax.add_patch(
            FancyBboxPatch(
                (x - BOX_W / 2, y - BOX_H / 2),
                BOX_W,
                BOX_H,
                boxstyle="round,pad=0.02",
                facecolor=color,
                edgecolor="#555555",
                lw=0.8,
                gid=f"box-{b['name']}",
            )
        )
        ax.text(x, y, _label(b), ha="center", va="center", fontsize=FONT, gid="size-label")
        ax.text(x, y - BOX_H / 2 - 0.06, _wrap_kind(b["kind"]), ha="center", va="top", fontsize=FONT - 0.5,
                color="#444444", linespacing=1.0, gid="kind-label")  # fmt: skip
        for src in b["feeds"]:
            sx, sy = where[src]
            start, end = (sx + BOX_W / 2, sy), (x - BOX_W / 2, y)
            if boxes.index(next(s for s in boxes if s["name"] == src)) == i - 1:
                ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=7, color="#555555",
                                             lw=0.9, gid=f"flow-{src}-{b['name']}"))  # fmt: skip
                continue
            # A skip: a quadratic arc in data units whose peak, half its control height above
            # the higher end, is known, so the axes can be made tall enough to hold it.
            # It lands on the top of the merge, clear of the box drawn just before it.
            end = (x, y + BOX_H / 2)
            lift = 0.5 + 0.06 * (end[0] - start[0])
            ctrl = ((start[0] + end[0]) / 2, max(sy, y) + lift)
            top = max(top, max(sy, y) + lift / 2)
            path = Path([start, ctrl, end], [Path.MOVETO, Path.CURVE3, Path.CURVE3])
            ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=7, color=SKIP, lw=0.9,
                                         ls="--", gid=f"skip-{src}-{b['name']}"))  # fmt: skip
    ax.set_xlim(-0.55, len(boxes) - 0.45)
    ax.set_ylim(-depth - 0.75, top + 0.1)
    ax.set_axis_off()
    c, h, w = input_shape
    verdict = (
        f"stops at {error.node} ({error.kind})"
        if error
        else f"output {'x'.join(map(str, boxes[-1]['size'] or ()))}"
    )
    ax.set_title(title or f"input {h}x{w}: {verdict}", fontsize=FONT + 1, gid="title")
    return fig


def draw_size_strip(scan: SizeScan, *, per_row: int = 40) -> Figure:
    """One cell per size of ``scan``: green when accepted, else coloured by the layer that refuses it.

    Raises
    ------
    ValueError
        ``per_row`` not positive.
    """
    if not isinstance(per_row, int) or per_row < 1:
        raise ValueError(f"per_row must be a positive int, got {per_row!r}")
    sizes = list(range(scan.lo, scan.hi + 1))
    reasons = list(scan.reasons())
    rows = math.ceil(len(sizes) / per_row)
    fig = Figure(
        figsize=(min(0.22 * min(per_row, len(sizes)) + 0.6, 9.6), 0.3 * rows + 0.55 + 0.18 * len(reasons)),
        layout="constrained",
    )
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for i, n in enumerate(sizes):
        x, y = i % per_row, -(i // per_row)
        if n in scan.refused:
            name, kind, _ = scan.refused[n]
            color = REFUSED[reasons.index(f"{name} ({kind})") % len(REFUSED)]
        else:
            color = COLORS["current"]
        ax.add_patch(Rectangle((x, y), 0.92, 0.92, facecolor=color, edgecolor="white", gid=f"size-{n}"))
        if n % 5 == 0 or n in (scan.lo, scan.hi) or n not in scan.refused:
            ax.text(x + 0.46, y + 0.46, str(n), ha="center", va="center", fontsize=5.5,
                    color="white" if n not in scan.refused else "#333333")  # fmt: skip
    handles = [Rectangle((0, 0), 1, 1, facecolor=COLORS["current"], label="accepted")]
    handles += [Rectangle((0, 0), 1, 1, facecolor=REFUSED[i % len(REFUSED)], label=f"refused by {r}")
                for i, r in enumerate(reasons)]  # fmt: skip
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(0, -0.02), fontsize=6.5, frameon=False, ncol=2
    )
    ax.set_xlim(0, min(per_row, len(sizes)))
    ax.set_ylim(-rows + 1, 1)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(f"input sizes {scan.lo}..{scan.hi}: {len(scan.accepted)} accepted", fontsize=9)
    return fig
