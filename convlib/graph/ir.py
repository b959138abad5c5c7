"""The graph IR: a network as a DAG of small, framework-free nodes, shapes always ``(C, H, W)``.

A :class:`Graph` holds :class:`Node` records in topological order. Every bridge (a convlib spec,
a ``torch.nn.Module`` read through ``torch.fx``, a Keras layer graph) produces one, and every
tool reads one: :func:`convlib.graph.shapes.run` (sizes and per-axis :class:`WindowAxis`
records), :mod:`convlib.graph.field` (receptive fields), :mod:`convlib.graph.sizes` (the set of
accepted input sizes) and :mod:`convlib.graph.rule` (that set as a closed form). The IR stores
no weights and computes nothing.

Shapes in the IR are ``(C, H, W)`` (or ``(F,)`` after ``flatten``), whatever the framework's
layout; :attr:`Graph.layout` only records where the graph came from (``"NCHW"`` for PyTorch,
``"NHWC"`` for Keras, ``"spec"`` for a convlib spec).

Op vocabulary and attributes (pairs are ``(height, width)``; ``pads``/``crops`` are
``((top, bottom), (left, right))``):

``input``
    The network input; no attributes, no inputs. Exactly one per graph.
``conv``
    ``out_channels``, ``in_channels`` (``None`` when the framework infers it), ``kernel``,
    ``stride``, ``dilation``, ``groups``, ``padding`` (explicit pads, or ``"same"`` /
    ``"valid"`` resolved per input size by :func:`convlib.shapes.geometry.conv_axes`),
    ``padding_mode`` (``"zeros"``, ``"reflect"``, ``"replicate"``, ``"circular"``), ``bias``.
``conv_transpose``
    As ``conv``, plus ``output_padding`` (a pair, or ``None`` for Keras's default) and
    ``output_size`` (a pair, or ``None``; PyTorch's ``forward(x, output_size=...)`` picks the
    output padding that gives it).
``max_pool``, ``avg_pool``
    ``kernel``, ``stride``, ``padding`` (pads or ``"same"``/``"valid"``), ``dilation``,
    ``ceil_mode``, ``count_include_pad``.
``adaptive_pool``
    ``output`` ``(h, w)`` (an entry ``None`` keeps that input size), ``mode`` (``"avg"``/``"max"``).
``global_pool``
    ``mode``, ``keepdims``: ``(C, 1, 1)`` when true, ``(C,)`` when false (Keras's default).
``pad``
    ``pads`` (negative entries crop, as ``F.pad`` allows), ``mode`` (``"constant"``,
    ``"reflect"``, ``"replicate"``, ``"circular"``).
``crop``
    ``crops`` (cells removed from each side).
``upsample``
    ``scale`` ``(sh, sw)`` (output ``floor(n * s)``) or ``size`` ``(h, w)``, and ``mode``.
``pixel_shuffle``
    ``factor`` ``r``: ``(C, H, W) -> (C / r^2, H*r, W*r)`` (PyTorch ``PixelShuffle``,
    TensorFlow ``depth_to_space``); ``factor`` may be ``1 / r`` written as ``-r`` for
    ``PixelUnshuffle`` / ``space_to_depth``: ``(C*r^2, H/r, W/r)``.
``max_unpool``
    ``kernel``, ``stride``, ``padding``, ``output_size`` (a pair or ``None``): the inverse size
    of the max pooling, ``(n - 1)*s - 2p + k`` unless ``output_size`` is given.
``add``
    Two or more inputs merged cell by cell (``fn`` names the operation: add, mul, ...), broadcast
    by the frameworks' rule: per axis equal sizes or a size 1 (a ``(C, 1, 1)`` gate times a
    ``(C, H, W)`` map); ``shape``, when given, is the framework's own answer for this size.
``concat``
    ``axis``, always ``0``: the channel axis in ``(C, H, W)`` terms; spatial sizes must agree.
``pointwise``
    Any per-pixel op (ReLU, BatchNorm, Dropout, sigmoid, a channel slice, ...); ``fn`` names it,
    ``params`` gives its parameter count when the framework knows it, ``params_per_channel``
    when it follows from the input channels (a convlib spec's BatchNorm: 2). ``shape`` (the
    framework's answer: a channel slice changes ``C``) or ``probe`` (a function ``(C, H, W) ->
    shape``, Keras's ``compute_output_spec``) replace the input's shape; ``space`` is
    ``"global"`` for a call that reads the whole grid (group norm) and ``"unknown"`` for one whose
    footprint in space the reader does not know; ``refused`` holds the framework's message where
    it refused the size at this node.
``flatten``
    ``(C, H, W) -> (C*H*W,)``.
``linear``
    ``in_features`` (``None`` when inferred), ``out_features``, ``bias``.

An attribute that PyTorch code computes from another tensor's size (``F.interpolate(x,
size=skip.shape[-2:])``, the pads of ``F.pad`` from a size difference, a transposed
convolution's ``output_size=skip.size()``) holds :class:`Size` expressions instead of ints;
:func:`evaluate` turns them into ints once the shapes of the nodes they name are known.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["OPS", "Node", "Graph", "Size", "evaluate"]

OPS = (
    "input",
    "conv",
    "conv_transpose",
    "max_pool",
    "avg_pool",
    "adaptive_pool",
    "global_pool",
    "pad",
    "crop",
    "upsample",
    "pixel_shuffle",
    "max_unpool",
    "add",
    "concat",
    "pointwise",
    "flatten",
    "linear",
)


@dataclass(frozen=True)
class Size:
    """An integer computed from node sizes: ``("dim", node, axis)``, ``("const", v)`` or an operation.

    ``axis`` counts in ``(C, H, W)`` terms (``"batch"`` is the batch axis, always 1 here). The
    operations are ``+ - * // %`` and unary ``-``, enough for the pad and crop arithmetic of
    U-Net code (``diff // 2, diff - diff // 2``, ``-n % 8``).

    Examples
    --------
    >>> d = Size.dim("skip", 1) - Size.dim("up", 1)
    >>> evaluate((d // 2, d - d // 2), {"skip": (4, 9, 9), "up": (4, 6, 6)})
    (1, 2)
    """

    op: str
    args: tuple

    @staticmethod
    def dim(node: str, axis) -> Size:
        return Size("dim", (node, axis))

    @staticmethod
    def lift(value) -> Size:
        return value if isinstance(value, Size) else Size("const", (int(value),))

    def _bin(self, op, other, swap=False):
        a, b = self, Size.lift(other)
        return Size(op, (b, a) if swap else (a, b))

    def __add__(self, o):
        return self._bin("+", o)

    def __radd__(self, o):
        return self._bin("+", o, True)

    def __sub__(self, o):
        return self._bin("-", o)

    def __rsub__(self, o):
        return self._bin("-", o, True)

    def __mul__(self, o):
        return self._bin("*", o)

    def __rmul__(self, o):
        return self._bin("*", o, True)

    def __floordiv__(self, o):
        return self._bin("//", o)

    def __rfloordiv__(self, o):
        return self._bin("//", o, True)

    def __mod__(self, o):
        return self._bin("%", o)

    def __rmod__(self, o):
        return self._bin("%", o, True)

    def __neg__(self):
        return Size("neg", (self,))

    def nodes(self) -> set[str]:
        """The node names this expression reads."""
        if self.op == "dim":
            return {self.args[0]}
        return set().union(*(a.nodes() for a in self.args if isinstance(a, Size)))

    def value(self, shapes: Mapping[str, tuple]) -> int:
        if self.op == "const":
            return self.args[0]
        if self.op == "dim":
            node, axis = self.args
            return 1 if axis == "batch" else int(shapes[node][axis])
        vals = [a.value(shapes) for a in self.args]
        if self.op == "neg":
            return -vals[0]
        a, b = vals
        if self.op in ("//", "%"):
            if b == 0:
                raise ValueError("a size expression divides by zero")
            return a // b if self.op == "//" else a % b
        return a + b if self.op == "+" else a - b if self.op == "-" else a * b


def evaluate(value, shapes: Mapping[str, tuple]):
    """``value`` with every :class:`Size` replaced by its int (tuples and lists recursively)."""
    if isinstance(value, Size):
        return value.value(shapes)
    if isinstance(value, (tuple, list)):
        return tuple(evaluate(v, shapes) for v in value)
    return value


def _size_nodes(value) -> set[str]:
    if isinstance(value, Size):
        return value.nodes()
    if isinstance(value, (tuple, list)):
        return set().union(set(), *(_size_nodes(v) for v in value))
    return set()


@dataclass(frozen=True)
class Node:
    """One operation: ``op`` from :data:`OPS`, its ``inputs`` by name, read-only ``attrs``.

    ``kind`` is the framework's class or function name (``"Conv2d"``, ``"MaxPooling2D"``,
    ``"interpolate"``), used in messages.

    Examples
    --------
    >>> n = Node("up", "upsample", ("x",), {"scale": (2, 2), "mode": "nearest"}, "Upsample")
    >>> n.attrs["scale"]
    (2, 2)
    """

    name: str
    op: str
    inputs: tuple[str, ...] = ()
    attrs: Mapping[str, object] = field(default_factory=dict, hash=False)
    kind: str = ""

    def __post_init__(self):
        if self.op not in OPS:
            raise ValueError(f"node {self.name!r}: unknown op {self.op!r}; the IR knows {', '.join(OPS)}")
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "attrs", MappingProxyType(dict(self.attrs)))  # frozen all the way down
        if not self.kind:
            object.__setattr__(self, "kind", self.op)

    @property
    def label(self) -> str:
        """``name (kind)``, as error messages name a layer."""
        return f"{self.name} ({self.kind})"

    def reads(self) -> set[str]:
        """Every node this one needs: its inputs and the nodes its :class:`Size` attributes name."""
        return set(self.inputs).union(*(_size_nodes(v) for v in self.attrs.values()))


@dataclass(frozen=True)
class Graph:
    """A network: ``nodes`` in topological order, one ``input`` node, the ``output`` node's name.

    Raises
    ------
    ValueError
        Duplicate names, a node that reads a later or unknown node, no single ``input`` node, or
        an ``output`` that names no node.

    Examples
    --------
    >>> g = Graph((Node("x", "input"), Node("relu", "pointwise", ("x",), {"fn": "relu"})), "x", "relu")
    >>> [n.name for n in g.nodes], g["relu"].inputs
    (['x', 'relu'], ('x',))
    """

    nodes: tuple[Node, ...]
    input: str
    output: str
    layout: str = "spec"
    # A model whose graph depends on the input size (Python that branches on sizes, read by
    # running it): ``at_size(input_shape) -> Graph``; :func:`convlib.graph.shapes.graph_at` uses it.
    at_size: object = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "nodes", tuple(self.nodes))
        seen: set[str] = set()
        for node in self.nodes:
            if node.name in seen:
                raise ValueError(f"graph: two nodes are named {node.name!r}")
            missing = node.reads() - seen
            if missing:
                raise ValueError(
                    f"graph: node {node.label} reads {sorted(missing)}, which no earlier node defines"
                )
            seen.add(node.name)
        inputs = [n.name for n in self.nodes if n.op == "input"]
        if inputs != [self.input]:
            raise ValueError(f"graph: needs exactly one input node named {self.input!r}, found {inputs}")
        if self.output not in seen:
            raise ValueError(f"graph: the output {self.output!r} names no node")

    def __getitem__(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"no node named {name!r} in this graph")
