"""Which output cells survive padding to batch: the clean region of a network, per layer and per axis.

To batch images of different sizes one places each, top-left, in a zero canvas of one size. The
network then computes on the canvas, and near the image's border the canvas's extra cells are
read where the image alone would have read padding. An output cell is **clean** when its value
is exactly the one the image alone gives; :func:`clean_region` finds those cells for every node
of a network (a convlib spec, or a PyTorch or Keras model read by :func:`convlib.graph.from_model`).

The rule, per spatial axis, is exact tap by tap. For each output position ``o`` of the true-size
run, both runs read a list of taps (from the per-axis :class:`~convlib.shapes.WindowAxis` of the
node, in each run): a real cell ``("c", r, weight)``, a zero pad ``("z",)`` or an ignored pad
``("i",)`` (max pooling's pads, average pooling's uncounted ones). Output ``o`` is clean when the
two lists agree tap by tap, where a true-run cell must be clean and a true-run pad may meet a canvas
cell only if that cell is known to be exactly zero (a zero pad), or zero in a non-negative tensor
(an ignored pad of max pooling). So:

- the zeros beyond the image equal zero padding at the network input, and after any
  zero-preserving node (a convolution without bias, ReLU, pooling, upsampling...); a bias, a
  BatchNorm or a sigmoid makes them non-zero, and from there the dirty band grows by each
  window's reach past the true border;
- when a window's *before* pads differ between the two sizes (``"same"`` with a stride puts the odd
  cell at the end, so ``(0, 1)`` on an even size and ``(1, 1)`` on an odd one), or a crop computed
  from sizes starts elsewhere (a U-Net's centre crop), the two grids are shifted: no cell of that
  node, or of any node that reads it, is clean along that axis (:attr:`LayerRegion.note` says why).

The two axes are independent because a window is a product of a row interval and a column
interval: clean rows times clean columns is exactly the clean rectangle (and the region reported
is the clean prefix of each axis: a later cell that reads only padding is not counted).
The region assumes inference mode: BatchNorm with running statistics, dropout off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .clean_taps import hw as _hw
from .clean_taps import taps as _taps
from .graph.build import from_model
from .graph.ir import Graph, evaluate
from .graph.shapes import graph_at, run
from .padding import normalize_pair

__all__ = ["LayerRegion", "CleanRegion", "clean_region"]

# Pointwise functions by normalised name (lower case, no "_", no trailing "2d"/"1d").
ZERO_PRESERVING = {"relu", "relu6", "leakyrelu", "gelu", "silu", "swish", "tanh", "elu", "selu", "celu",
                   "hardswish", "hardtanh", "mish", "softsign", "prelu", "dropout", "identity",
                   "linear", "mul", "imul", "rmul", "div", "truediv", "channelslice", "split", "chunk",
                   "unbind", "tensorsplit", "splitwithsizes", "stochasticdepth", "contiguous",
                   "clone"}  # fmt: skip
NON_NEGATIVE = {"relu", "relu6", "sigmoid", "hardsigmoid", "softplus"}


@dataclass(frozen=True)
class _Axis:
    true: int  # size in the true-size run
    canvas: int  # size in the canvas run
    clean: int  # canvas cells [0, clean) equal the true run's (with the other axis's clean cells)
    zero: int | None  # canvas cells from here on are exactly zero (None: not known)


@dataclass(frozen=True)
class _State:
    axes: tuple[_Axis, _Axis]
    nonneg: bool = False
    flat: bool = False


@dataclass(frozen=True)
class LayerRegion:
    """One node's clean cells: ``rows`` x ``cols`` of its output, in both runs' coordinates.

    ``true_hw`` and ``padded_hw`` are the node's output sizes in the true-size and the canvas run
    (``(1, 1)`` for a flat output); ``zero_from`` the first canvas row and column from which the
    canvas output is exactly zero (``None``: not known to be zero); ``note`` why a grid shifted.
    """

    name: str
    kind: str
    true_hw: tuple[int, int]
    padded_hw: tuple[int, int]
    rows: range
    cols: range
    zero_from: tuple[int | None, int | None]
    note: str = ""


@dataclass(frozen=True)
class CleanRegion:
    """The clean cells of a network's output, ``(rows, cols)``, and every node's in :attr:`layers`.

    Unpacks as ``rows, cols = clean_region(...)``; ``result["conv1"]`` is one node's region;
    ``output`` names the output node.
    """

    rows: range
    cols: range
    true_hw: tuple[int, int]
    padded_hw: tuple[int, int]
    layers: tuple[LayerRegion, ...]
    output: str

    def __iter__(self):
        return iter((self.rows, self.cols))

    def __getitem__(self, name: str) -> LayerRegion:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no node named {name!r} in this network")

    def mask(self, name: str | None = None) -> np.ndarray:
        """Boolean mask over the canvas output (of node ``name``, default the network's output)."""
        region = self[self.output if name is None else name]
        out = np.zeros(region.padded_hw, dtype=bool)
        out[: region.rows.stop, : region.cols.stop] = True
        return out

    def table(self, names=None) -> str:
        """One line per node (or per name in ``names``): sizes in both runs and the clean cells."""
        rows = [r for r in self.layers if names is None or r.name in names]
        width = max(len(r.name) for r in rows)
        lines = [f"{'node':{width}}  {'true':>9}  {'canvas':>9}  {'clean rows':>10}  {'clean cols':>10}"]
        for r in rows:
            sizes = f"{'x'.join(map(str, r.true_hw)):>9}  {'x'.join(map(str, r.padded_hw)):>9}"
            lines.append(f"{r.name:{width}}  {sizes}  {_span(r.rows):>10}  {_span(r.cols):>10}")
        return "\n".join(lines)


def _span(r: range) -> str:
    return f"0..{r.stop - 1}" if len(r) else "none"


def clean_region(model, true_hw, padded_hw, *, channels: int | None = None) -> CleanRegion:
    """The output cells a zero canvas leaves exactly as the true-size input alone gives them.

    Parameters
    ----------
    model : convlib spec, Graph, torch.nn.Module or Keras model
        Read by :func:`convlib.graph.from_model`; a framework model in inference mode.
    true_hw : (int, int)
        The image's size, placed top-left in the canvas.
    padded_hw : (int, int)
        The canvas size, at least ``true_hw`` on each axis; the rest of the canvas is zeros.
    channels : int, optional
        Input channels, for the size check only (default: the first convolution's ``in_channels``,
        else its ``groups``).

    Returns
    -------
    CleanRegion
        ``rows, cols``: ``range`` objects of the clean cells of the network's output (a flat
        output counts as one cell), empty where none is clean; ``.layers``: every node's region.

    Raises
    ------
    ValueError
        ``true_hw`` larger than ``padded_hw``, non-positive sizes, a size the network refuses
        (the node and the sizes are named), or a torch model in training mode with BatchNorm or
        dropout.

    Shape
    -----
    Per window node and axis the sizes are those of :mod:`convlib.shapes.geometry`, e.g.
    ``H_out = floor((H + p_top + p_bottom - d*(k-1) - 1) / s) + 1``, in each run.

    Examples
    --------
    >>> from convlib.records import ConvSpec, ReLUSpec
    >>> clean_region([ConvSpec(4, 3, padding=1)], (10, 12), (16, 16)).rows
    range(0, 10)
    >>> net = [ConvSpec(4, 3, padding=1), ReLUSpec(), ConvSpec(4, 3, padding=1)]
    >>> rows, cols = clean_region(net, (10, 12), (16, 16))
    >>> rows, cols
    (range(0, 9), range(0, 11))
    """
    true_hw, padded_hw = normalize_pair(true_hw, "true_hw"), normalize_pair(padded_hw, "padded_hw")
    if any(t > p for t, p in zip(true_hw, padded_hw, strict=True)):
        raise ValueError(
            f"true_hw {true_hw} must fit in padded_hw {padded_hw} (each axis at most the canvas)"
        )
    graph = from_model(model)
    live = {f for n in graph.nodes for f in ("batchnorm", "dropout") if f in _fn(n.attrs)}
    if getattr(model, "training", False) and live:
        raise ValueError(
            f"the model is in training mode with {' and '.join(sorted(live))}: batch statistics "
            "(which the canvas changes everywhere) or random masks decide its outputs; call "
            "model.eval() first"
        )
    c = _channels(graph) if channels is None else channels
    shapes, graphs = {}, {}
    for label, hw in (("true", true_hw), ("padded", padded_hw)):
        try:
            graphs[label] = graph_at(graph, (c, *hw))
            shapes[label] = run(graphs[label], (c, *hw))
        except ValueError as err:
            raise ValueError(f"the network refuses the {label} size {hw[0]}x{hw[1]}: {err}") from None
    gt, gc = graphs["true"], graphs["padded"]
    if [(n.name, n.op, n.inputs) for n in gt.nodes] != [(n.name, n.op, n.inputs) for n in gc.nodes]:
        raise ValueError(
            f"cannot tell: the network runs other layers at {true_hw[0]}x{true_hw[1]} than at "
            f"{padded_hw[0]}x{padded_hw[1]} (its Python branches on the input size)"
        )
    canvas_nodes = {n.name: n for n in gc.nodes}
    return _walk(
        gt, canvas_nodes, shapes["true"], shapes["padded"], true_hw, padded_hw, _activations(model, gt)
    )


def _fn(attrs) -> str:
    name = str(attrs.get("fn", "")).lower().replace("_", "")
    return name[:-2] if name.endswith(("1d", "2d")) else name


def _channels(graph: Graph) -> int:
    for node in graph.nodes:
        if node.op in ("conv", "conv_transpose"):
            return node.attrs.get("in_channels") or node.attrs.get("groups", 1)
    return 1


def _activations(model, graph: Graph) -> dict[str, str]:
    """Keras layers with a fused ``activation=``: the graph's window node stands for both."""
    if not hasattr(model, "get_layer"):
        return {}
    found = {}
    for node in graph.nodes:
        try:
            fn = getattr(getattr(model.get_layer(node.name), "activation", None), "__name__", "linear")
        except ValueError:  # a node that is no Keras layer (the input)
            continue
        if fn != "linear":
            found[node.name] = fn
    return found


def _walk(graph, canvas_nodes, true, canvas, true_hw, padded_hw, fused) -> CleanRegion:
    states: dict[str, _State] = {}
    layers = []
    for node in graph.nodes:
        if node.op == "input":
            states[node.name] = _State(tuple(_Axis(t, p, t, t) for t, p in zip(true_hw, padded_hw)))
            continue
        pair = (node, canvas_nodes[node.name])  # one node as each run read it (pads may differ)
        state, note = _step(pair, [states[i] for i in node.inputs], true, canvas)
        if node.name in fused:
            state = _pointwise(state, fused[node.name])
        states[node.name] = state
        rows, cols = (range(x.clean) for x in state.axes)
        zero = (state.axes[0].zero, state.axes[1].zero)
        hw = (_hw(true[node.name].shape), _hw(canvas[node.name].shape))
        layers.append(LayerRegion(node.name, node.kind, *hw, rows, cols, zero, note))
    out = states[graph.output].axes
    return CleanRegion(
        range(out[0].clean), range(out[1].clean), true_hw, padded_hw, tuple(layers), graph.output
    )


def _pointwise(s: _State, fn: str) -> _State:
    fn = _fn({"fn": fn})
    keep = fn in ZERO_PRESERVING
    axes = tuple(_Axis(x.true, x.canvas, x.clean, x.zero if keep else None) for x in s.axes)
    return _State(axes, fn in NON_NEGATIVE or (s.nonneg and fn in ("dropout", "identity", "linear")), s.flat)


def _step(pair, ins: list[_State], true, canvas) -> tuple[_State, str]:
    """One node: its state from its inputs' states (and why a grid shifted, if one did)."""
    node = pair[0]
    op, a = node.op, node.attrs
    if op == "pointwise" and a.get("space", "pointwise") != "pointwise":
        # A call whose footprint in space is the whole grid (group norm) or is not known: no cell
        # is known to be clean.
        axes = tuple(_Axis(x.true, x.canvas, 0, None) for x in ins[0].axes)
        return _State(axes, False, ins[0].flat), f"{a['fn']}: reads the grid in a way convlib cannot follow"
    if op == "pointwise":
        return _pointwise(ins[0], a.get("fn", "")), ""
    if op in ("add", "concat"):  # a cell is clean where every input is; zero where every input is
        out = (_hw(true[node.name].shape), _hw(canvas[node.name].shape))
        axes = tuple(
            _Axis(out[0][i], out[1][i], min(_spread(x, out[0][i], out[1][i]).clean for x in xs),
                  None if any(_spread(x, out[0][i], out[1][i]).zero is None for x in xs)
                  else max(_spread(x, out[0][i], out[1][i]).zero for x in xs))
            for i, xs in enumerate(zip(*(s.axes for s in ins), strict=True))
        )  # fmt: skip
        nonneg = all(s.nonneg for s in ins) and _fn(a) not in ("sub", "isub", "subtract", "rsub")
        return _State(axes, nonneg, ins[0].flat), ""
    if op in ("flatten", "linear") or (op == "global_pool" and not a.get("keepdims", True)):
        s = _window_node(pair, ins[0], true, canvas)[0] if op == "global_pool" else ins[0]
        same = all(x.clean == x.true == x.canvas for x in s.axes)  # a flat vector is one cell
        return _State((_Axis(1, 1, int(same), None),) * 2, False, True), ""
    return _window_node(pair, ins[0], true, canvas)


def _spread(x: _Axis, n_true: int, n_canvas: int) -> _Axis:
    """An input axis as the merge's output sees it: a size-1 axis broadcasts its one cell."""
    if (x.true, x.canvas) == (n_true, n_canvas):
        return x
    if x.true == x.canvas == 1:  # every output cell reads cell 0, in both runs
        return _Axis(n_true, n_canvas, n_true if x.clean else 0, 0 if x.zero == 0 else None)
    return _Axis(n_true, n_canvas, 0, None)  # broadcast in one run only: nothing is known


def _window_node(pair, s: _State, true, canvas) -> tuple[_State, str]:
    node, node_c = pair
    axes, notes = [], []
    op = node.op
    # Max pooling ignores its pads; a zero stands in for an ignored pad only if nothing is negative.
    nonneg = (
        s.nonneg
        and op in ("max_pool", "global_pool", "adaptive_pool")
        and node.attrs.get("mode", "max") == "max"
    )
    for i, x in enumerate(s.axes):
        taps_t, taps_c = _taps(node, i, x.true, true), _taps(node_c, i, x.canvas, canvas)
        n_true, n_canvas = _hw(true[node.name].shape)[i], _hw(canvas[node.name].shape)[i]
        if op == "global_pool":  # the true run's window ends at the true size: the rest is not read
            taps_t = lambda o, f=taps_t, n=x.canvas - x.true: f(o) + [("i",)] * n  # noqa: E731
        clean = 0
        while clean < min(n_true, n_canvas) and _agree(taps_t(clean), taps_c(clean), x, nonneg):
            clean += 1
        zero = None
        if x.zero is not None and not node.attrs.get("bias", False):
            zero = n_canvas  # the canvas cells from here on read only zeros and pads
            while zero > 0 and all(t[0] != "c" or t[1] >= x.zero for t in taps_c(zero - 1)):
                zero -= 1
        shift = _shift(pair, i, true, canvas)
        if shift:
            clean = 0
            notes.append(shift)
        axes.append(_Axis(n_true, n_canvas, clean, zero))
    return _State(tuple(axes), s.nonneg and op not in ("conv", "conv_transpose")), "; ".join(notes)


def _agree(taps_t, taps_c, x: _Axis, nonneg: bool) -> bool:
    if len(taps_t) != len(taps_c):
        return False
    for t, c in zip(taps_t, taps_c, strict=True):
        if t[0] == "c":
            if c != t or t[1] >= x.clean:
                return False
        elif c[0] == "c":  # a true-run pad meets a canvas cell: only an exact zero can stand in for it
            if x.zero is None or c[1] < x.zero or not (t[0] == "z" or nonneg):
                return False
        elif c != t:
            return False
    return True


def _shift(pair, i: int, true, canvas) -> str:
    """Why the two runs' grids are shifted along axis ``i`` (different before-pads), or ``""``."""
    axis, node = ("rows", "cols")[i], pair[0]
    if node.op in ("pad", "crop"):  # sizes computed from other tensors (a U-Net's centre crop)
        key = "pads" if node.op == "pad" else "crops"
        pt, pc = (
            evaluate(n.attrs[key], {k: v.shape for k, v in r.items()})[i]
            for n, r in zip(pair, (true, canvas), strict=True)
        )
        return "" if pt[0] == pc[0] else f"{axis}: {node.op} {pt} in the true run vs {pc} on the canvas"
    gt, gc = true[node.name].axes, canvas[node.name].axes
    if gt is None or gt[i].before == gc[i].before:
        return ""
    return f"{axis}: pads {gt[i].pads} on {gt[i].n} vs {gc[i].pads} on {gc[i].n}"
