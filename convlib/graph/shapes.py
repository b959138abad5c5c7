"""Sizes through a :class:`~convlib.graph.ir.Graph`, node by node, for one input shape.

:func:`run` is the interpreter: it walks the nodes in order and gives each its output shape
``(C, H, W)`` (or ``(F,)`` after ``flatten``) and, for the window ops (``conv``,
``conv_transpose``, ``max_pool``, ``avg_pool``), the per-axis
:class:`~convlib.shapes.geometry.WindowAxis` records (height, width) of
:mod:`convlib.shapes.geometry`, the one geometry every size comes from. Nothing is allocated.
A size that no window fits, channels that do not divide, a ``linear`` that receives the wrong
number of features, or a merge that sees two sizes raise ``ValueError`` naming the node, its
framework class and the sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..padding import check_mode_pads
from ..shapes.geometry import WindowAxis, conv_axes, pool_axes, transpose_axes
from ..shapes.window import span
from .ir import Graph, Node, evaluate

__all__ = ["NodeShape", "LayerError", "run", "run_until", "graph_at", "broadcast"]


class LayerError(ValueError):
    """A node that cannot take its input; ``node`` and ``kind`` name it (a ``ValueError``)."""

    def __init__(self, message: str, node: str, kind: str):
        super().__init__(message)
        self.node, self.kind = node, kind


@dataclass(frozen=True)
class NodeShape:
    """A node's output ``shape`` and, for a window op, its ``axes`` (height, width), else ``None``."""

    shape: tuple[int, ...]
    axes: tuple[WindowAxis, WindowAxis] | None = None


def run(graph: Graph, input_shape) -> dict[str, NodeShape]:
    """Every node's output shape for an input of ``input_shape = (C, H, W)``.

    Parameters
    ----------
    graph : Graph
    input_shape : (int, int, int)

    Returns
    -------
    dict
        ``{node name: NodeShape}`` in graph order.

    Raises
    ------
    ValueError
        A malformed input shape, or the first node that cannot take its input; the message starts
        ``layer <name> (<class>) on input <shape>:`` and gives the sizes.

    Shape
    -----
    Per spatial axis of a window op, ``H_out = floor((H + p_top + p_bottom - d*(k-1) - 1) / s) + 1``;
    see :mod:`convlib.shapes.geometry` for pooling's ``ceil_mode`` and transposed convolution.

    Examples
    --------
    >>> from convlib.graph.ir import Node
    >>> g = Graph((Node("x", "input"), Node("c", "conv", ("x",), dict(out_channels=4, kernel=(3, 3),
    ...     stride=(2, 2), padding="same")), Node("m", "concat", ("c", "c"), {"axis": 0})), "x", "m")
    >>> run(g, (3, 65, 64))["m"].shape
    (8, 33, 32)
    """
    out, error = run_until(graph, input_shape)
    if error is not None:
        raise error
    return out


def run_until(graph: Graph, input_shape) -> tuple[dict[str, NodeShape], LayerError | None]:
    """:func:`run` that stops at the first refusing node: the shapes so far and the error (or None).

    For figures that show where a size goes wrong (a skip of 65 meeting an upsampled 64).
    """
    shape = _check_input_shape(input_shape)
    graph = graph_at(graph, shape)
    out: dict[str, NodeShape] = {}
    for node in graph.nodes:
        if node.op == "input":
            out[node.name] = NodeShape(shape)
            continue
        ins = [out[i].shape for i in node.inputs]
        try:
            out[node.name] = _RULES[node.op](node, ins, {k: v.shape for k, v in out.items()})
            if node.attrs.get("refused"):  # the framework refused where convlib's rule did not say why
                raise ValueError(f"the framework refuses: {node.attrs['refused']}")
        except ValueError as err:
            seen = ins[0] if len(ins) == 1 else " and ".join(map(str, ins))
            return out, LayerError(f"layer {node.label} on input {seen}: {err}", node.name, node.kind)
    return out, None


def graph_at(graph: Graph, input_shape) -> Graph:
    """The graph to use for ``input_shape``: ``graph`` itself, or its re-reading at that size.

    A model read by running it (Python that depends on sizes) has one graph per input size
    (:attr:`Graph.at_size`); every other graph is the same at every size.
    """
    if graph.at_size is None:
        return graph
    return graph.at_size(_check_input_shape(input_shape))


def _check_input_shape(input_shape) -> tuple[int, ...]:
    if isinstance(input_shape, (str, bytes)) or not hasattr(input_shape, "__len__") or len(input_shape) != 3:
        raise ValueError(f"input_shape must be (C, H, W), got {input_shape!r}")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in input_shape):
        raise ValueError(f"input_shape must be three positive ints (C, H, W), got {tuple(input_shape)}")
    return tuple(input_shape)


def _grid(ins, what: str) -> tuple[int, int, int]:
    if len(ins[0]) != 3:
        raise ValueError(f"{what} needs a (C, H, W) input, got the flat shape {ins[0]}")
    return ins[0]


def _channels(node: Node, c: int) -> None:
    expected, groups = node.attrs.get("in_channels"), node.attrs.get("groups", 1)
    if expected is not None and expected != c:
        raise ValueError(f"expected {expected} input channels, got {c}")
    if c % groups or node.attrs["out_channels"] % groups:
        raise ValueError(
            f"groups={groups} must divide the {c} input and {node.attrs['out_channels']} output channels"
        )


def _conv(node, ins, shapes):
    a = node.attrs
    c, h, w = _grid(ins, "a convolution")
    _channels(node, c)
    pads = evaluate(a["padding"], shapes)
    axes = conv_axes((h, w), a["kernel"], stride=a["stride"], padding=pads, dilation=a.get("dilation", 1))
    check_mode_pads((h, w), (axes[0].pads, axes[1].pads), a.get("padding_mode", "zeros"))
    return NodeShape((a["out_channels"], axes[0].out, axes[1].out), axes)


def _conv_transpose(node, ins, shapes):
    a = node.attrs
    c, h, w = _grid(ins, "a transposed convolution")
    _channels(node, c)
    pads, dil = a["padding"], a.get("dilation", (1, 1))
    op = evaluate(a.get("output_padding"), shapes)
    size = evaluate(a.get("output_size"), shapes)
    if size is not None:
        op = _output_padding_for(size, (h, w), a["kernel"], a["stride"], pads, dil)
    axes = transpose_axes(
        (h, w), a["kernel"], stride=a["stride"], padding=pads, output_padding=op, dilation=dil
    )
    return NodeShape((a["out_channels"], axes[0].n, axes[1].n), axes)


def _output_padding_for(size, hw, kernel, stride, pads, dilation) -> tuple[int, int]:
    """PyTorch's ``ConvTranspose2d._output_padding``: ``output_size`` must lie in ``[min, min + s - 1]``."""
    size = tuple(size[-2:])
    extra = []
    for i in range(2):
        smallest = transpose_axes(
            hw, kernel, stride=stride, padding=pads, output_padding=(0, 0), dilation=dilation
        )
        lo = smallest[i].n
        if not lo <= size[i] <= lo + stride[i] - 1:
            raise ValueError(
                f"requested output_size {size} is not reachable: the {('height', 'width')[i]} must be "
                f"between {lo} and {lo + stride[i] - 1} for input {hw[i]} (stride {stride[i]})"
            )
        extra.append(size[i] - lo)
    return tuple(extra)


def _pool(node, ins, shapes):
    a = node.attrs
    c, h, w = _grid(ins, "a pooling layer")
    axes = pool_axes(
        (h, w),
        a["kernel"],
        a["stride"],
        a["padding"],
        dilation=a.get("dilation", 1),
        ceil_mode=a.get("ceil_mode"),
    )
    return NodeShape((c, axes[0].out, axes[1].out), axes)


def _adaptive(node, ins, shapes):
    c, h, w = _grid(ins, "adaptive pooling")
    oh, ow = (n if o is None else o for o, n in zip(node.attrs["output"], (h, w), strict=True))
    return NodeShape((c, oh, ow))


def _global(node, ins, shapes):
    c, _, _ = _grid(ins, "global pooling")
    return NodeShape((c, 1, 1) if node.attrs.get("keepdims", True) else (c,))


def _pad(node, ins, shapes):
    c, h, w = _grid(ins, "padding")
    pads = evaluate(node.attrs["pads"], shapes)
    if node.attrs.get("mode", "constant") != "constant":
        check_mode_pads((h, w), pads, node.attrs["mode"])
    return _reshaped(c, h, w, pads, "padding")


def _crop(node, ins, shapes):
    c, h, w = _grid(ins, "cropping")
    crops = evaluate(node.attrs["crops"], shapes)
    if any(v < 0 for pair in crops for v in pair):
        raise ValueError(f"crops {crops} must not be negative")
    return _reshaped(c, h, w, tuple((-a, -b) for a, b in crops), "cropping")


def _reshaped(c, h, w, pads, what):
    hw = [n + a + b for n, (a, b) in zip((h, w), pads, strict=True)]
    if min(hw) < 1:
        raise ValueError(f"{what} {pads} leaves an empty grid {hw[0]}x{hw[1]} from {h}x{w}")
    return NodeShape((c, *hw))


def _upsample(node, ins, shapes):
    c, h, w = _grid(ins, "upsampling")
    size = evaluate(node.attrs.get("size"), shapes)
    if size is not None:
        return NodeShape((c, *tuple(size)[-2:]))
    # torch and Keras both floor n * scale (torch in double precision).
    return NodeShape((c, *(int(n * s) for n, s in zip((h, w), node.attrs["scale"], strict=True))))


def _pixel_shuffle(node, ins, shapes):
    c, h, w = _grid(ins, "pixel shuffle")
    r = node.attrs["factor"]
    if r > 0:
        if c % (r * r):
            raise ValueError(f"the {c} channels must be divisible by factor**2 = {r * r}")
        return NodeShape((c // (r * r), h * r, w * r))
    r = -r
    if h % r or w % r:
        raise ValueError(f"the size {h}x{w} must be divisible by the factor {r}")
    return NodeShape((c * r * r, h // r, w // r))


def _max_unpool(node, ins, shapes):
    c, h, w = _grid(ins, "max unpooling")
    a = node.attrs
    size = evaluate(a.get("output_size"), shapes)
    if size is not None:
        return NodeShape((c, *tuple(size)[-2:]))
    hw = tuple(span(n, s, k) - 2 * p for n, k, s, p in zip((h, w), a["kernel"], a["stride"], a["padding"]))
    return NodeShape((c, *hw))


def _merge(node, ins, shapes):
    if node.op == "add":
        return NodeShape(tuple(node.attrs.get("shape") or broadcast(ins)))
    if all(len(s) == 1 for s in ins):  # flat features side by side
        return NodeShape((sum(s[0] for s in ins),))
    grids = {s[1:] for s in ins}
    if any(len(s) != 3 for s in ins) or len(grids) > 1:
        sizes = " and ".join("x".join(map(str, s[1:])) for s in ins)
        raise ValueError(f"the inputs have sizes {sizes}; concatenating channels needs equal sizes")
    return NodeShape((sum(s[0] for s in ins), *ins[0][1:]))


def broadcast(ins) -> tuple[int, ...]:
    """The shape of an elementwise merge, by PyTorch's, NumPy's and Keras's rule: per axis the sizes
    agree or one of them is 1 (a ``(C, 1, 1)`` gate meets any ``(C, H, W)``).

    The shapes are the IR's, of one rank (a reader aligns ranks in the framework's layout first).

    >>> broadcast([(8, 1, 1), (8, 5, 7)]), broadcast([(8, 2, 2), (8, 1, 1)])
    ((8, 5, 7), (8, 2, 2))
    """
    if len({len(s) for s in ins}) > 1:
        raise ValueError(f"the inputs have shapes {' and '.join(map(str, ins))} of different ranks")
    out = []
    for sizes in zip(*ins):
        wide = set(sizes) - {1}
        if len(wide) > 1:
            raise ValueError(
                f"the inputs have shapes {' and '.join(map(str, ins))}; an elementwise merge needs, "
                "per axis, equal sizes or a size 1 that broadcasts"
            )
        out.append(wide.pop() if wide else 1)
    return tuple(out)


def _pointwise(node, ins, shapes):
    """Per cell; ``shape`` (a framework's own answer, a channel slice) may change the channels."""
    shape, probe = node.attrs.get("shape"), node.attrs.get("probe")
    if probe is not None:  # the framework's own shape inference for a layer convlib has no rule for
        return NodeShape(tuple(probe(ins[0])))
    return NodeShape(tuple(shape) if shape else ins[0])


def _flatten(node, ins, shapes):
    size = 1
    for n in ins[0]:
        size *= n
    return NodeShape((size,))


def _linear(node, ins, shapes):
    expected = node.attrs.get("in_features")
    if len(ins[0]) != 1:
        raise ValueError(f"a linear layer needs a flat input, got shape {ins[0]}; flatten it first")
    if expected is not None and expected != ins[0][0]:
        raise ValueError(
            f"expected {expected} input features but the flattened input has {ins[0][0]} "
            "(the spatial size reaching Flatten differs from the one the layer was built for)"
        )
    return NodeShape((node.attrs["out_features"],))


_RULES = {
    "conv": _conv,
    "conv_transpose": _conv_transpose,
    "max_pool": _pool,
    "avg_pool": _pool,
    "adaptive_pool": _adaptive,
    "global_pool": _global,
    "pad": _pad,
    "crop": _crop,
    "upsample": _upsample,
    "pixel_shuffle": _pixel_shuffle,
    "max_unpool": _max_unpool,
    "add": _merge,
    "concat": _merge,
    "pointwise": _pointwise,
    "flatten": _flatten,
    "linear": _linear,
}
