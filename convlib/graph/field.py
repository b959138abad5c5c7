"""Receptive fields and parameter counts over a graph, from the sizes of :func:`convlib.graph.shapes.run`.

Per spatial axis every node carries ``(rf, jump, start)``: output position ``u`` depends only on
the input pixels in ``start + u*jump +- (rf - 1)/2`` (pixel ``i`` centred at ``i``). A window op
with dilated size ``k_eff``, stride ``s`` and ``p`` cells before (Araujo et al. 2019) gives

    rf_out = rf_in + (k_eff - 1) * j_in,  j_out = j_in * s,  start_out = start_in + ((k_eff - 1)/2 - p) * j_in

Going back up divides the jump: a transposed convolution (and nearest upsampling by an integer
``r``, ``PixelShuffle``, ``MaxUnpool2d``: windows of ``r`` or ``k`` cells) makes output ``o`` read
the inputs ``i`` with ``i*s <= o + p <= i*s + k_eff - 1``, an interval of length
``(k_eff - 1)/s`` centred at ``(o + p - (k_eff - 1)/2)/s``; so

    rf_out = rf_in + (k_eff - 1)/s * j_in,  j_out = j_in / s,
    start_out = start_in + (p - (k_eff - 1)/2)/s * j_in

(fractions: a position-dependent field bounded by one interval). Bilinear resizing and adaptive
pooling with unequal bins use the same form with the interval that holds every output's cells.
A merge takes the union of its inputs' intervals; an input broadcast along an axis (a
``(C, 1, 1)`` gate times a ``(C, H, W)`` map) gives every output the same interval, its one
cell's field, so the bound widens to hold it at every position. Pads shift ``start``; crops
shift it back.
From such a step on, :attr:`Field.exact` is false: ``rf`` is a bound, not every output's field.
A call that reads the whole grid (``space="global"``: a group or instance norm, a layer norm over
the spatial axes, a mean over every cell) widens the bound by the grid;
after a call whose footprint the reader does not know (``space="unknown"``) ``rf`` is NaN:
convlib cannot tell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .ir import Graph, Node, evaluate
from .shapes import NodeShape

__all__ = ["Field", "fields", "params"]


@dataclass(frozen=True)
class Field:
    """Receptive field along one axis: size ``rf``, ``jump`` between neighbours, ``start`` (first centre).

    ``exact`` is false past a step whose field depends on the output position (a transposed
    convolution with a stride, upsampling, unequal adaptive bins, branches that leave a gap):
    ``rf`` is then the interval that holds every output's field, a bound.

    Examples
    --------
    >>> Field(rf=5, jump=2, start=0.5).bounds(3)
    (4.5, 8.5)
    """

    rf: float = 1
    jump: float = 1
    start: float = 0.0
    exact: bool = True

    def bounds(self, u: int) -> tuple[float, float]:
        """The input interval ``(first, last)`` output position ``u`` depends on (pixel ``i``
        centred at ``i``; unclipped, so it may reach into the padding)."""
        centre = self.start + u * self.jump
        return centre - (self.rf - 1) / 2, centre + (self.rf - 1) / 2


def _window(f: Field, window: int, stride: int, before: int) -> Field:
    return Field(
        f.rf + (window - 1) * f.jump,
        f.jump * stride,
        f.start + ((window - 1) / 2 - before) * f.jump,
        f.exact,
    )


def _up(f: Field, window: float, stride: float, before: float) -> Field:
    # Stride 1 is a plain window (exact); a larger one makes the field depend on the position.
    return Field(
        f.rf + (window - 1) / stride * f.jump,
        f.jump / stride,
        f.start + (before - (window - 1) / 2) / stride * f.jump,
        f.exact and stride == 1,
    )


def _joined(fs: list[Field]) -> bool:
    """Whether the hull is every output's field: exact branches that step alike and leave no gap."""
    spans = sorted((f.start - (f.rf - 1) / 2, f.start + (f.rf - 1) / 2) for f in fs)
    reach = [max(b for _, b in spans[: i + 1]) for i in range(len(spans))]
    joined = all(spans[i + 1][0] <= reach[i] + 1 for i in range(len(spans) - 1))
    return joined and all(f.exact for f in fs) and len({f.jump for f in fs}) == 1


def _merge(i: int, ins_fields, ins_sizes, m: int) -> Field:
    """A merge of ``m`` outputs along axis ``i``: a bound that holds every input's interval at every
    output position (an input of size 1 is broadcast: the same interval everywhere).

    Each input's interval ends move linearly with the position ``u``, so the lowest start is
    concave in ``u`` and the highest end convex: the chords between ``u = 0`` and ``u = m - 1``
    bound them on the whole axis.
    """
    lines = [  # (centre at u = 0, centre's step per u, half width)
        (f[i].start, f[i].jump if n == m else 0.0, (f[i].rf - 1) / 2) for f, n in zip(ins_fields, ins_sizes)
    ]
    ends = [
        (min(c + u * j - h for c, j, h in lines), max(c + u * j + h for c, j, h in lines))
        for u in (0, max(m - 1, 0))
    ]
    (lo0, hi0), (lo1, hi1) = ends
    jump = ((lo1 + hi1) - (lo0 + hi0)) / 2 / (m - 1) if m > 1 else min(f[i].jump for f in ins_fields)
    half = max(hi0 - lo0, hi1 - lo1) / 2
    exact = _joined([f[i] for f in ins_fields]) and all(n == m for n in ins_sizes)
    return Field(2 * half + 1, jump, (lo0 + hi0) / 2, exact)


def _axis_field(node: Node, i: int, f: Field, grids: tuple, out: NodeShape) -> Field:
    op, a = node.op, node.attrs
    if op in ("conv", "max_pool", "avg_pool"):
        g = out.axes[i]
        return _window(f, g.window, g.stride, g.before)
    if op == "conv_transpose":
        g = out.axes[i]
        return _up(f, g.window, g.stride, g.before)
    n, m = grids[0][i], grids[1][i]  # the last (H, W) grid before and after, through flatten too
    if op == "flatten":
        return f
    if op in ("global_pool", "linear"):
        return _window(f, n, 1, 0)  # every output mixes the whole grid
    if op == "adaptive_pool":
        if n % m == 0:
            return _window(f, n // m, n // m, 0)
        q = n / m  # bins of floor/ceil lengths all lie in (i*q - 1, (i+1)*q)
        return Field(f.rf + q * f.jump, f.jump * q, f.start + (q - 1) / 2 * f.jump, False)
    if op == "pad":
        return Field(f.rf, f.jump, f.start - a["pads"][i][0] * f.jump, f.exact)
    if op == "crop":
        return Field(f.rf, f.jump, f.start + a["crops"][i][0] * f.jump, f.exact)
    if op == "upsample":
        r = m / n
        if a.get("mode", "nearest") == "nearest" and r == int(r):
            return _up(f, int(r), int(r), 0)
        if a.get("mode", "nearest") == "nearest":
            return Field(
                f.rf + f.jump, f.jump / r, f.start - f.jump / 2, False
            )  # floor(o/r) in (o/r - 1, o/r]
        return Field(f.rf + 2 * f.jump, f.jump / r, f.start + (1 / r - 1) / 2 * f.jump, False)  # two taps
    if op == "pixel_shuffle":
        r = a["factor"]
        return _up(f, r, r, 0) if r > 0 else _window(f, -r, -r, 0)
    if op == "max_unpool":
        return _up(f, a["kernel"][i], a["stride"][i], a["padding"][i])
    space = a.get("space", "pointwise") if op == "pointwise" else "pointwise"
    if space == "global":  # every output reads the whole grid, wherever it sits: a bound
        return Field(f.rf + 2 * (n - 1) * f.jump, f.jump, f.start, False)
    if space != "pointwise":  # a footprint the reader does not know (a roll): cannot tell
        return Field(math.nan, f.jump, f.start, False)
    return f


def fields(graph: Graph, shapes: dict[str, NodeShape]) -> dict[str, tuple[Field, Field]]:
    """``{node: (height field, width field)}`` for the sizes ``shapes`` of :func:`run` (or of
    :func:`~convlib.graph.shapes.run_until`: the nodes up to the first one without a shape)."""
    plain = {k: v.shape for k, v in shapes.items()}
    out: dict[str, tuple[Field, Field]] = {}
    grid: dict[str, tuple[int, int]] = {}
    for node in graph.nodes:
        if node.name not in plain:
            break
        shape = plain[node.name]
        if node.op == "input":
            out[node.name], grid[node.name] = (Field(), Field()), shape[1:]
            continue
        before = grid[node.inputs[0]]
        grid[node.name] = shape[1:] if len(shape) == 3 else (1, 1) if node.op != "flatten" else before
        if node.op in ("pad", "crop"):
            key = "pads" if node.op == "pad" else "crops"
            node = Node(
                node.name,
                node.op,
                node.inputs,
                {**node.attrs, key: evaluate(node.attrs[key], plain)},
                node.kind,
            )
        ins_fields = [out[i] for i in node.inputs]
        if node.op in ("add", "concat"):
            sizes = [grid[i] for i in node.inputs]
            out[node.name] = tuple(
                _merge(i, ins_fields, [s[i] for s in sizes], grid[node.name][i]) for i in range(2)
            )
            continue
        grids = (before, grid[node.name])
        out[node.name] = tuple(
            _axis_field(node, i, ins_fields[0][i], grids, shapes[node.name]) for i in range(2)
        )
    return out


def params(node: Node, ins: list[tuple]) -> int:
    """Trainable parameters of ``node`` given its input shapes (counted from the attributes, no weights)."""
    a = node.attrs
    if node.op in ("conv", "conv_transpose"):
        (kh, kw), c, o, g = a["kernel"], ins[0][0], a["out_channels"], a.get("groups", 1)
        return kh * kw * (c // g) * o + (o if a.get("bias", True) else 0)
    if node.op == "linear":
        n, o = ins[0][0], a["out_features"]
        return n * o + (o if a.get("bias", True) else 0)
    if node.op == "pointwise":
        if a.get("params") is not None:
            return a["params"]
        return a.get("params_per_channel", 0) * ins[0][0]
    return 0
