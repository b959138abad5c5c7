"""The per-layer table of any model: output shape, receptive field, parameters, cells left unread.

:func:`trace` reads ``model`` into a graph (:func:`convlib.graph.build.from_model`: a convlib
spec, a ``torch.nn.Module`` or a Keras model), runs the sizes (:func:`convlib.graph.shapes.run`)
and the receptive fields (:mod:`convlib.graph.field`) for one input shape ``(C, H, W)``, and
returns a :class:`GraphTrace`: one :class:`GraphRow` per node, printable as a text table at
most 74 columns wide (:meth:`GraphTrace.table`) or as HTML in a notebook.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from ..network import trace as spec_trace
from ..records import Sequential
from .build import from_model
from .field import fields, params
from .ir import Graph
from .shapes import run

__all__ = ["GraphRow", "GraphTrace", "trace", "trace_model"]

WIDTH = 74


@dataclass(frozen=True)
class GraphRow:
    """One node: its output shape, parameters, receptive field per axis (H, W) and unread cells.

    ``unread`` is ``(rows, cols)`` of real input a window op never reads (the floor's remainder),
    ``None`` for other ops.
    """

    name: str
    kind: str
    op: str
    inputs: tuple[str, ...]
    output_shape: tuple[int, ...]
    params: int
    rf: tuple[float, float]
    jump: tuple[float, float]
    start: tuple[float, float]
    unread: tuple[int, int] | None = None


@dataclass(frozen=True)
class GraphTrace:
    """The rows of :func:`trace` in graph order, with the graph and its sizes."""

    input_shape: tuple[int, int, int]
    rows: tuple[GraphRow, ...]
    graph: Graph
    shapes: dict

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self[self.graph.output].output_shape

    def __getitem__(self, name: str) -> GraphRow:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"no layer named {name!r} in this trace")

    def _cells(self) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
        head = ("layer", "kind", "output", "params", "rf", "jump", "start", "left")
        body = [
            (
                r.name,
                r.kind,
                _x(r.output_shape),
                f"{r.params:,}",
                _pair(r.rf),
                _pair(r.jump),
                _pair(r.start),
                "" if r.unread is None else _x(r.unread),
            )  # fmt: skip
            for r in self.rows
        ]
        return head, body

    def table(self) -> str:
        """A fixed-width text table, at most 74 columns; long names are shortened in the middle."""
        head, body = self._cells()
        widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]
        spare = WIDTH - (sum(widths) + 2 * (len(widths) - 1))
        for col, least in ((0, 11), (1, 8)):  # shorten the layer names first, then the class names
            if spare < 0:
                cut = max(min(-spare, widths[col] - least), 0)
                widths[col] -= cut
                spare += cut
        lines = [
            "  ".join(
                _fit(c, w).rjust(w) if i == 3 else _fit(c, w).ljust(w)
                for i, (c, w) in enumerate(zip(line, widths))
            ).rstrip()
            for line in [head, *body]
        ]
        lines.insert(1, "-" * min(WIDTH, max(len(line) for line in lines)))
        lines.append(f"input {_x(self.input_shape)}, total params {self.total_params:,}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head, body = self._cells()
        cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
        rows = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in line) + "</tr>" for line in body
        )
        foot = html.escape(f"input {_x(self.input_shape)}, total params {self.total_params:,}")
        return f"<table><thead><tr>{cells}</tr></thead><tbody>{rows}</tbody></table><p>{foot}</p>"

    def to_dict(self) -> dict:
        """Plain lists and numbers, ready for ``json.dumps``."""
        return {
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
            "total_params": self.total_params,
            "layers": [
                {
                    "name": r.name,
                    "kind": r.kind,
                    "op": r.op,
                    "inputs": list(r.inputs),
                    "output_shape": list(r.output_shape),
                    "params": r.params,
                    "rf": list(r.rf),
                    "jump": list(r.jump),
                    "start": list(r.start),
                    "unread": None if r.unread is None else list(r.unread),
                }  # fmt: skip
                for r in self.rows
            ],
        }


def _x(values) -> str:
    return "x".join(str(v) for v in values)


def _num(v: float) -> str:
    return f"{v:.4g}"


def _pair(values) -> str:
    a, b = values
    return _num(a) if a == b else f"{_num(a)}/{_num(b)}"


def _fit(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    # The tail of a dotted name says the most ("layer4.1.conv2" -> "la~4.1.conv2").
    return text[:2] + "~" + text[len(text) - (width - 3) :]


def trace(model, input_shape) -> GraphTrace:
    """Trace shapes, parameters and receptive fields through ``model`` for one input ``(C, H, W)``.

    Parameters
    ----------
    model : convlib spec, torch.nn.Module, Keras model or Graph
        Read by :func:`convlib.graph.build.from_model`; no framework arithmetic is run.
    input_shape : (int, int, int)
        ``(C, H, W)`` without the batch axis, whatever the framework's layout.

    Returns
    -------
    GraphTrace

    Raises
    ------
    ValueError
        A layer the bridge does not know (named), or the first layer that cannot take its input:
        no window fits, a merge sees two sizes, a ``Linear`` gets the wrong number of features;
        the message names the layer, its class and the sizes.

    Shape
    -----
    Per spatial axis of each window layer, ``H_out = floor((H + p_top + p_bottom - d*(k-1) - 1) / s) + 1``.

    Examples
    --------
    >>> from convlib.records import Conv2D, MaxPool2D
    >>> t = trace([Conv2D(8, 3, stride=2, padding=1), MaxPool2D(2)], (3, 11, 11))
    >>> [(r.name, r.output_shape, r.rf, r.unread) for r in t.rows[1:]]
    [('0', (8, 6, 6), (3, 3), (0, 0)), ('1', (8, 3, 3), (5, 5), (0, 0))]
    """
    graph = from_model(model)
    shapes = run(graph, input_shape)
    rf = fields(graph, shapes)
    rows = []
    for node in graph.nodes:
        s, (fh, fw) = shapes[node.name], rf[node.name]
        ins = [shapes[i].shape for i in node.inputs]
        rows.append(
            GraphRow(
                node.name,
                node.kind,
                node.op,
                node.inputs,
                s.shape,
                params(node, ins),
                (fh.rf, fw.rf),
                (fh.jump, fw.jump),
                (fh.start, fw.start),
                None if s.axes is None or node.op == "conv_transpose" else tuple(g.unread[1] for g in s.axes),
            )  # fmt: skip
        )
    return GraphTrace(shapes[graph.input].shape, tuple(rows), graph, shapes)


def trace_model(model, input_shape):
    """``convlib.trace``: a convlib spec keeps :func:`convlib.network.trace`'s table, any other model
    (``torch.nn.Module``, Keras model, :class:`~convlib.graph.ir.Graph`) gets :func:`trace`.

    The two share the columns that matter (output shape, parameters, receptive field, jump,
    start); the spec path stays as chapter 11 prints it, and a spec with a layer the network
    tracer does not cover is not a case (every record is covered).

    Examples
    --------
    >>> from convlib.records import Conv2D
    >>> type(trace_model([Conv2D(2, 3)], (1, 5, 5))).__name__
    'Trace'
    """
    if isinstance(model, (list, tuple, Sequential)):
        return spec_trace(model, input_shape)
    return trace(model, input_shape)
