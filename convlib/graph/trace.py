"""The per-layer table of any model: output shape, receptive field, parameters, cells left unread.

:func:`trace` reads ``model`` into a graph (:func:`convlib.graph.build.from_model`: a convlib
spec, a ``torch.nn.Module`` or a Keras model), runs the sizes (:func:`convlib.graph.shapes.run`)
and the receptive fields (:mod:`convlib.graph.field`) for one input shape ``(C, H, W)``, and
returns a :class:`GraphTrace`: one :class:`GraphRow` per node, printable as a text table at
most 74 columns wide (:meth:`GraphTrace.table`, also what ``print`` shows) or as HTML in a notebook.
"""

from __future__ import annotations

import html
import math
import textwrap
from dataclasses import dataclass, field

from ..shapes import WindowAxis
from .build import from_model
from .field import Field, fields, params
from .ir import Graph
from .shapes import LayerError, graph_at, run_until

__all__ = ["GraphRow", "GraphTrace", "trace", "trace_until"]

WIDTH = 74


@dataclass(frozen=True)
class GraphRow:
    """One node: its output shape, parameters, receptive field per axis (H, W) and window geometry.

    ``field`` holds the :class:`~convlib.graph.field.Field` of each axis (``field[0].bounds(u)`` is
    the input rows output row ``u`` depends on); ``axes`` the resolved
    :class:`~convlib.shapes.WindowAxis` pair of a window op (input size ``n``, ``pads``, ``out``),
    else ``None``.
    """

    name: str
    kind: str
    op: str
    inputs: tuple[str, ...]
    output_shape: tuple[int, ...]
    params: int
    field: tuple[Field, Field]
    axes: tuple[WindowAxis, WindowAxis] | None = None

    @property
    def rf(self) -> tuple[float, float]:
        return self.field[0].rf, self.field[1].rf

    @property
    def jump(self) -> tuple[float, float]:
        return self.field[0].jump, self.field[1].jump

    @property
    def start(self) -> tuple[float, float]:
        return self.field[0].start, self.field[1].start

    @property
    def unread(self) -> tuple[int, int] | None:
        """``(rows, cols)`` of real input a window op never reads (the floor's remainder), else ``None``."""
        if self.axes is None or self.op == "conv_transpose":
            return None
        return self.axes[0].unread[1], self.axes[1].unread[1]


@dataclass(frozen=True)
class GraphTrace:
    """The rows of :func:`trace` in graph order, with the graph and its sizes; ``print`` shows the table.

    Built by :func:`trace` and :func:`trace_until` rather than by hand. ``trace_result[name]``
    gives the :class:`GraphRow` of the layer ``name`` (``KeyError`` if there is none).

    Parameters
    ----------
    input_shape : (int, int, int)
        The traced input ``(C, H, W)``, without the batch axis.
    rows : tuple of GraphRow
        One row per node reached, in graph order, the input first.
    graph : Graph
        The graph the rows were read from (at ``input_shape`` for a model read by running it).
    shapes : dict
        The size interpreter's result per node name (:func:`convlib.graph.shapes.run`).

    Attributes
    ----------
    input_shape, rows, graph, shapes
        As given above.
    total_params : int
        The sum of the rows' parameters.
    output_shape : tuple of int
        The output shape of the graph's output node.
    """

    input_shape: tuple[int, int, int]
    rows: tuple[GraphRow, ...]
    graph: Graph = field(repr=False)
    shapes: dict = field(repr=False)

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

    def __str__(self) -> str:
        return self.table()

    def _cells(self, compact: bool) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
        head = ("layer", "kind", "output", "params", "rf", "jump", "start", "left")
        body = [
            (
                r.name,
                r.kind,
                _x(r.output_shape),
                f"{r.params:,}",
                _rf(r),
                _pair(r.jump),
                _pair(r.start),
                "" if r.unread is None else _x(r.unread),
            )  # fmt: skip
            for r in self.rows
            if not (compact and r.op == "input")
        ]
        if compact:
            return head[:-1], [line[:-1] for line in body]
        return head, body

    def _foot(self) -> str:
        return f"input {_x(self.input_shape)}, total params {self.total_params:,}"

    def legend(self, compact: bool = False) -> str:
        """What the columns of :meth:`table` and the marks it uses mean, wrapped at 74 columns.

        Only the marks that occur in this trace's table are explained.

        Parameters
        ----------
        compact : bool, default False
            Explain the columns of ``table(compact=True)``, which has no ``left`` column.

        Returns
        -------
        str
            One paragraph, lines at most 74 characters.

        Examples
        --------
        >>> from convlib.records import ConvSpec
        >>> print(trace([ConvSpec(2, 3)], (1, 5, 5)).legend(compact=True))
        rf: receptive field, the input cells one output depends on; jump: input
        cells from one output to the next; start: centre of the first output's
        field (input cell 0 is at 0)
        """
        head, body = self._cells(compact)
        cells = {c for line in body for c in line[4:7]}
        parts = ["rf: receptive field, the input cells one output depends on"]
        if any(c.startswith("≤") for c in cells):
            parts.append("≤n: at most n (the field moves unevenly with the output)")
        if "?" in cells:
            parts.append("?: convlib cannot tell")
        parts += ["jump: input cells from one output to the next",
                  "start: centre of the first output's field (input cell 0 is at 0)"]  # fmt: skip
        if "left" in head:
            parts.append("left: input rows x columns no window reads (the floor's remainder)")
        if any("/" in c for c in cells):
            parts.append("a/b: height/width")
        return textwrap.fill("; ".join(parts), WIDTH)

    def table(self, compact: bool = False, legend: bool = False) -> str:
        """A fixed-width text table, at most 74 columns; long names are shortened in the middle.

        ``compact=True`` leaves out the input row (the last line names the input) and the ``left``
        column (cells of real input no window reads). An ``rf`` written ``≤n`` is a bound: past an
        up-sampling step each output's field lies inside the interval of ``n`` cells but depends
        on the position (:attr:`convlib.graph.field.Field.exact`); ``?`` means convlib cannot
        tell (a call whose footprint in space the reader does not know). ``legend=True`` adds
        :meth:`legend` under the last line.

        Parameters
        ----------
        compact : bool, default False
            Leave out the input row and the ``left`` column.
        legend : bool, default False
            Append :meth:`legend` after the footer line.

        Returns
        -------
        str
            The header, a rule, one line per row, then ``input CxHxW, total params N``.
        """
        head, body = self._cells(compact)
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
        return "\n".join([*lines, self._foot(), *([self.legend(compact)] if legend else [])])

    def _repr_html_(self) -> str:
        head, body = self._cells(False)
        cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
        rows = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in line) + "</tr>" for line in body
        )
        foot = html.escape(self._foot())
        return f"<table><thead><tr>{cells}</tr></thead><tbody>{rows}</tbody></table><p>{foot}</p>"

    def to_dict(self) -> dict:
        """Plain lists and numbers, ready for ``json.dumps``.

        Returns
        -------
        dict
            ``input_shape``, ``output_shape``, ``total_params`` and ``layers``: one dict per row
            with ``name``, ``kind``, ``op``, ``inputs``, ``output_shape``, ``params``, ``rf``,
            ``rf_exact``, ``jump``, ``start``, ``pads`` (``None`` off window ops) and ``unread``.
        """
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
                    "rf_exact": r.field[0].exact and r.field[1].exact,
                    "jump": list(r.jump),
                    "start": list(r.start),
                    "pads": None if r.axes is None else [list(a.pads) for a in r.axes],
                    "unread": None if r.unread is None else list(r.unread),
                }  # fmt: skip
                for r in self.rows
            ],
        }


def _x(values) -> str:
    return "x".join(str(v) for v in values)


def _num(v: float) -> str:
    return f"{v:.4g}"


def _rf(row: GraphRow) -> str:
    if any(math.isnan(f.rf) for f in row.field):
        return "?"  # a footprint the reader does not know: cannot tell
    return ("" if row.field[0].exact and row.field[1].exact else "≤") + _pair(row.rf)


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
    >>> from convlib.records import ConvSpec, MaxPoolSpec
    >>> t = trace([ConvSpec(8, 3, stride=2, padding=1), MaxPoolSpec(2)], (3, 11, 11))
    >>> [(r.name, r.output_shape, r.rf, r.unread) for r in t.rows[1:]]
    [('0', (8, 6, 6), (3, 3), (0, 0)), ('1', (8, 3, 3), (5, 5), (0, 0))]
    >>> t["1"].field[0].bounds(2)  # output row 2 reads input rows 7..11 (11 is padding)
    (7.0, 11.0)
    >>> print(t.table(compact=True))
    layer  kind     output  params  rf  jump  start
    -----------------------------------------------
    0      Conv     8x6x6      224  3   2     0
    1      MaxPool  8x3x3        0  5   4     1
    input 3x11x11, total params 224
    """
    result, error = trace_until(model, input_shape)
    if error is not None:
        raise error
    return result


def trace_until(model, input_shape) -> tuple[GraphTrace, LayerError | None]:
    """:func:`trace` that stops at the first layer that cannot take its input: the rows up to it
    and its error (or ``None``), as the command line prints them.

    A model read by running it (:attr:`Graph.at_size`) is read again at ``input_shape``, so the
    rows hold the pads and the branches the model takes at that size.

    >>> from convlib.records import ConvSpec, DenseSpec, FlattenSpec
    >>> t, err = trace_until([ConvSpec(4, 3), FlattenSpec(), DenseSpec(2, in_features=99)], (1, 7, 7))
    >>> [r.name for r in t.rows], err.node
    (['input', '0', '1'], '2')
    """
    graph = graph_at(from_model(model), input_shape)
    shapes, error = run_until(graph, input_shape)
    rf = fields(graph, shapes)
    rows = tuple(
        GraphRow(
            node.name,
            node.kind,
            node.op,
            node.inputs,
            shapes[node.name].shape,
            params(node, [shapes[i].shape for i in node.inputs]),
            rf[node.name],
            shapes[node.name].axes,
        )  # fmt: skip
        for node in graph.nodes
        if node.name in shapes
    )
    return GraphTrace(shapes[graph.input].shape, rows, graph, shapes), error
