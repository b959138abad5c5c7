"""A ``torch.nn.Module`` as a :class:`convlib.graph.ir.Graph`, read with ``torch.fx`` (or by running it).

``torch.fx.symbolic_trace`` records the module's forward as a graph of module calls, function
calls and method calls on proxies; no tensor arithmetic runs and no weights are read beyond
their counts. Each fx node becomes one IR node, named after the module path for module calls
(``"enc.0.conv"``, as ``named_modules`` names them); a function called inside a module's
forward is named after that module (``"layer1.0.add"``), one in the model's own forward by fx
(``"cat"``, ``"add_1"``). Sizes that the code computes from other tensors (``x.size(2)``,
``skip.shape[-2:]``, ``diff // 2``) become :class:`~convlib.graph.ir.Size` expressions, so the
milesial-style ``F.pad(x1, [dx // 2, dx - dx // 2, ...])`` and ``F.interpolate(x,
size=skip.shape[-2:])`` are traced exactly. A module class or function not listed here, or a
forward that fx cannot trace (Python that branches on sizes), sends the model to
:mod:`convlib.bridges.torch_run`, which runs it on meta tensors once per input size; nothing
is skipped silently.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass

from ..graph.ir import Graph, Node, Size

__all__ = ["torch_graph"]

# Per-pixel, shape-preserving modules and functions (their parameters are counted, not read).
POINTWISE = {
    "ReLU", "ReLU6", "LeakyReLU", "PReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Sigmoid", "Tanh",
    "Hardswish", "Hardsigmoid", "Hardtanh", "Softplus", "Softsign", "Identity", "Dropout", "Dropout2d",
    "AlphaDropout", "BatchNorm2d", "InstanceNorm2d", "GroupNorm", "LocalResponseNorm", "Softmax2d",
}  # fmt: skip
POINTWISE_FUNCTIONS = {
    "relu", "relu_", "relu6", "leaky_relu", "gelu", "silu", "sigmoid", "tanh", "elu", "hardswish",
    "dropout", "dropout2d", "batch_norm", "contiguous", "clone", "mish", "softplus", "hardtanh",
}  # fmt: skip
PADS = {"ZeroPad2d": "constant", "ConstantPad2d": "constant", "ReflectionPad2d": "reflect",
        "ReplicationPad2d": "replicate", "CircularPad2d": "circular"}  # fmt: skip


@dataclass(frozen=True)
class _Tensor:
    name: str
    rank: int  # 4 for (N, C, H, W), 2 for (N, F)


@dataclass(frozen=True)
class _WithIndices:
    name: str  # a max pooling with return_indices=True: (values, indices)


def _pair(v) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _pads(p) -> object:
    """torch's symmetric ``padding=`` as IR pads (or its word)."""
    if isinstance(p, str):
        return p
    ph, pw = _pair(p)
    return (ph, ph), (pw, pw)


class _Reader:
    def __init__(self, module):
        self.module = module
        self.nodes: list[Node] = []
        self.env: dict[str, object] = {}
        self.used: dict[str, int] = {}

    def add(self, name: str, op: str, inputs, attrs, kind: str, rank: int = 4) -> _Tensor:
        if any(n.name == name for n in self.nodes):
            name = f"{name}#{sum(1 for n in self.nodes if n.name.split('#')[0] == name)}"
        self.nodes.append(Node(name, op, tuple(t.name for t in inputs), attrs, kind))
        return _Tensor(name, rank)

    def tensor(self, value, what: str) -> _Tensor:
        if isinstance(value, _WithIndices):
            return _Tensor(value.name, 4)  # a pooling's values used directly
        if not isinstance(value, _Tensor):
            raise ValueError(f"{what}: expected a tensor, got {value!r}")
        return value

    def value(self, arg):
        """An fx argument with every fx node replaced by what it stands for."""
        import torch.fx as fx

        if isinstance(arg, fx.Node):
            return self.env[arg.name]
        if isinstance(arg, (list, tuple)):
            return type(arg)(self.value(a) for a in arg)
        if isinstance(arg, dict):
            return {k: self.value(v) for k, v in arg.items()}
        if isinstance(arg, slice):
            return slice(self.value(arg.start), self.value(arg.stop), self.value(arg.step))
        return arg


def torch_graph(module) -> Graph:
    """Read ``module`` into a graph (layout ``"NCHW"``): with ``torch.fx`` where it can, else by running it.

    ``torch.fx`` gives one graph for every size, with sizes computed in the code kept as
    :class:`~convlib.graph.ir.Size` expressions (a scan of a thousand sizes takes milliseconds).
    A forward that ``torch.fx`` cannot trace (Python that branches on sizes) or that calls
    something this reader has no rule for is read by :func:`convlib.bridges.torch_run.run_graph`
    instead, once per input size (tens of milliseconds each): the graph returned then is the
    reading at a reference size and :attr:`~convlib.graph.ir.Graph.at_size` re-reads it at any
    other (:func:`convlib.graph.shapes.graph_at`).

    Raises
    ------
    ValueError
        A call convlib cannot describe, named with its module path; "cannot tell" where the
        shapes depend on data; more than one tensor input.
    """
    try:
        return _fx_graph(module)
    except ValueError as fx_error:
        return _run_reading(module, fx_error)


def _run_reading(module, fx_error) -> Graph:
    from .torch_run import run_graph

    cache: dict[tuple, Graph] = {}

    def at_size(shape) -> Graph:
        if shape not in cache:
            cache[shape] = run_graph(module, shape)
        return cache[shape]

    channels = next((m.in_channels for m in module.modules() if hasattr(m, "in_channels")), 3)
    for n in (64, 224, 32, 128, 17):  # a reference reading: the first size the model takes
        try:
            ref = at_size((channels, n, n))
        except ValueError as err:
            raise ValueError(f"{err} (torch.fx could not read it either: {fx_error})") from None
        if all(not node.attrs.get("refused") for node in ref.nodes):
            break
    return Graph(ref.nodes, ref.input, ref.output, "NCHW", at_size)


def _fx_graph(module) -> Graph:
    import torch.fx as fx
    from torch import nn

    if type(module).__module__.startswith("torch.nn.modules") and not isinstance(module, nn.Sequential):
        module = nn.Sequential(module)  # one bare layer: fx would trace into its own forward; named "0"
    try:
        traced = fx.symbolic_trace(module)
    except Exception as err:  # fx raises TraceError, TypeError, ...: report, do not guess
        raise ValueError(f"torch.fx cannot trace {type(module).__name__}: {err}") from None
    r = _Reader(module)
    inputs, output = [], None
    for node in traced.graph.nodes:
        if node.op == "placeholder":
            if inputs:
                raise ValueError(f"{type(module).__name__}.forward takes more than one tensor ({node.name})")
            inputs.append(node.name)
            r.nodes.append(Node("input", "input", (), {}, "input"))
            r.env[node.name] = _Tensor("input", 4)
        elif node.op == "output":
            output = r.tensor(r.value(node.args[0]), "the model's output")
        elif node.op == "get_attr":
            raise ValueError(
                f"node {node.name}: a tensor attribute ({node.target}) used in forward is not sizes"
            )
        else:
            r.env[node.name] = _node(r, node)
    return Graph(tuple(r.nodes), "input", output.name, "NCHW")


@dataclass(frozen=True)
class _Named:
    name: str  # an fx function or method call, named after the module whose forward makes it


def _path_name(node) -> _Named:
    """``"decoder.up3.cat"`` for a call inside ``decoder.up3``'s forward (fx's ``nn_module_stack``);
    a call in the model's own forward keeps fx's name (``"cat_1"``)."""
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return _Named(node.name)
    key, value = list(stack.items())[-1]
    path = value[0] if isinstance(value, tuple) and isinstance(value[0], str) else key
    return _Named(f"{path}.{re.sub(r'_[0-9]+$', '', node.name)}")


def _node(r: _Reader, node):
    args, kwargs = r.value(node.args), r.value(dict(node.kwargs))
    if node.op == "call_module":
        return _module(r, node, r.module.get_submodule(node.target), args, kwargs)
    named = _path_name(node)
    if node.op == "call_method":
        return _method(r, named, node.target, args, kwargs)
    return _function(r, named, node.target, args, kwargs)


def _conv_attrs(m) -> dict:
    return dict(out_channels=m.out_channels, in_channels=m.in_channels, kernel=_pair(m.kernel_size),
                stride=_pair(m.stride), dilation=_pair(m.dilation), groups=m.groups, padding=_pads(m.padding),
                padding_mode=m.padding_mode, bias=m.bias is not None)  # fmt: skip


def _pool_attrs(kernel, stride, padding, dilation=1, ceil_mode=False, count_include_pad=True) -> dict:
    kernel = _pair(kernel)
    stride = kernel if stride is None or stride == [] else _pair(stride)
    return dict(kernel=kernel, stride=stride, padding=_pads(padding), dilation=_pair(dilation),
                ceil_mode=bool(ceil_mode), count_include_pad=count_include_pad)  # fmt: skip


def _module(r: _Reader, node, m, args, kwargs):
    kind, name = type(m).__name__, node.target
    x = r.tensor(args[0], f"{name} ({kind})")
    count = sum(p.numel() for p in m.parameters())
    if kind == "Conv2d":
        return r.add(name, "conv", [x], _conv_attrs(m), kind)
    if kind == "ConvTranspose2d":
        size = kwargs.get("output_size", args[1] if len(args) > 1 else None)
        attrs = {**_conv_attrs(m), "output_padding": _pair(m.output_padding),
                 "output_size": None if size is None else tuple(size)[-2:]}  # fmt: skip
        return r.add(name, "conv_transpose", [x], attrs, kind)
    if kind in ("MaxPool2d", "AvgPool2d"):
        attrs = _pool_attrs(m.kernel_size, m.stride, m.padding, getattr(m, "dilation", 1), m.ceil_mode,
                            getattr(m, "count_include_pad", True))  # fmt: skip
        t = r.add(name, "max_pool" if kind == "MaxPool2d" else "avg_pool", [x], attrs, kind)
        return _WithIndices(t.name) if getattr(m, "return_indices", False) else t
    if kind == "MaxUnpool2d":
        size = kwargs.get("output_size", args[2] if len(args) > 2 else None)
        attrs = dict(kernel=_pair(m.kernel_size), stride=_pair(m.stride), padding=_pair(m.padding),
                     output_size=None if size is None else tuple(size)[-2:])  # fmt: skip
        return r.add(name, "max_unpool", [x], attrs, kind)
    if kind in ("AdaptiveAvgPool2d", "AdaptiveMaxPool2d"):
        out = _pair(m.output_size)
        if out == (1, 1):
            return r.add(name, "global_pool", [x], {"mode": kind[8:11].lower(), "keepdims": True}, kind)
        return r.add(name, "adaptive_pool", [x], {"output": out, "mode": kind[8:11].lower()}, kind)
    if kind in PADS:
        left, right, top, bottom = m.padding
        return r.add(name, "pad", [x], {"pads": ((top, bottom), (left, right)), "mode": PADS[kind]}, kind)
    if kind == "Upsample":
        return r.add(name, "upsample", [x], _resize(m.size, m.scale_factor, m.mode), kind)
    if kind in ("PixelShuffle", "PixelUnshuffle"):
        factor = m.upscale_factor if kind == "PixelShuffle" else -m.downscale_factor
        return r.add(name, "pixel_shuffle", [x], {"factor": factor}, kind)
    if kind == "Flatten":
        if (m.start_dim, m.end_dim) != (1, -1):
            raise ValueError(f"{name} (Flatten): start_dim={m.start_dim}, end_dim={m.end_dim}; only (1, -1)")
        return r.add(name, "flatten", [x], {}, kind, 2)
    if kind == "Linear":
        attrs = {"in_features": m.in_features, "out_features": m.out_features, "bias": m.bias is not None}
        return r.add(name, "linear", [x], attrs, kind, 2)
    if kind in POINTWISE:
        attrs = {"fn": kind, "params": count}
        stats = getattr(m, "track_running_stats", False) and not m.training  # BatchNorm2d in eval mode
        if kind in ("GroupNorm", "InstanceNorm2d", "BatchNorm2d") and not stats:
            attrs["space"] = "global"  # statistics over every cell of the grid
        return r.add(name, "pointwise", [x], attrs, kind, x.rank)
    raise ValueError(f"layer {name} ({kind}): convlib's torch reader does not know this module class")


def _resize(size, scale, mode) -> dict:
    if size is not None:
        return {"size": tuple(size)[-2:] if isinstance(size, (tuple, list)) else (size, size), "mode": mode}
    return {"scale": tuple(float(v) for v in _pair(scale)), "mode": mode}


def _shape_of(t: _Tensor) -> tuple:
    if t.rank == 4:
        return (Size.dim(t.name, "batch"), *(Size.dim(t.name, a) for a in range(3)))
    return Size.dim(t.name, "batch"), Size.dim(t.name, 0)


def _method(r: _Reader, node, name: str, args, kwargs):
    x = args[0]
    if name == "size":
        shape = _shape_of(r.tensor(x, "size()"))
        dim = args[1] if len(args) > 1 else kwargs.get("dim")
        return shape if dim is None else shape[dim]
    if name in POINTWISE_FUNCTIONS or name in ("add", "mul", "sub", "view", "reshape", "flatten"):
        return _function(r, node, name, args, kwargs)
    raise ValueError(f"node {node.name}: the tensor method .{name}() is not known to convlib's torch reader")


def _function(r: _Reader, node, target, args, kwargs):
    name = target if isinstance(target, str) else getattr(target, "__name__", str(target))
    if target is getattr and args[1] == "shape":
        return _shape_of(r.tensor(args[0], "shape"))
    if target is operator.getitem:
        return _getitem(r, node, *args)
    if target in (
        operator.add,
        operator.sub,
        operator.mul,
        operator.floordiv,
        operator.mod,
        operator.neg,
    ) and not any(isinstance(a, _Tensor) for a in args):
        return target(*args)  # size arithmetic: ints and Size expressions
    if name in ("add", "iadd", "sub", "mul", "imul", "isub"):
        tensors = [a for a in args if isinstance(a, (_Tensor, _WithIndices))]
        if len(tensors) == 1:
            return r.add(node.name, "pointwise", tensors, {"fn": name}, name, tensors[0].rank)
        return r.add(
            node.name, "add", [r.tensor(t, name) for t in tensors], {"fn": name}, name, tensors[0].rank
        )
    if name == "cat":
        tensors = [r.tensor(t, "cat") for t in args[0]]
        dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
        if dim not in (1, -3) or any(t.rank != 4 for t in tensors):
            raise ValueError(f"node {node.name}: torch.cat along dim={dim} is not a channel concatenation")
        return r.add(node.name, "concat", tensors, {"axis": 0}, "cat")
    if name in POINTWISE_FUNCTIONS:
        x = r.tensor(args[0], name)
        return r.add(node.name, "pointwise", [x], {"fn": name, "params": 0}, name, x.rank)
    if name in ("flatten", "view", "reshape"):
        return _flatten(r, node, name, args, kwargs)
    return _functional(r, node, name, args, kwargs)


def _functional(r: _Reader, node, name: str, args, kwargs):
    x = r.tensor(args[0], name)
    arg = lambda i, key, default=None: args[i] if len(args) > i else kwargs.get(key, default)  # noqa: E731
    if name == "interpolate":
        return r.add(
            node.name,
            "upsample",
            [x],
            _resize(arg(1, "size"), arg(2, "scale_factor"), arg(3, "mode", "nearest")),
            name,
        )
    if name == "pad":
        pad, mode = tuple(arg(1, "pad")), arg(2, "mode", "constant")
        if len(pad) != 4:
            raise ValueError(
                f"node {node.name}: F.pad with {len(pad)} values; convlib reads 4 (left, right, top, bottom)"
            )
        left, right, top, bottom = pad
        return r.add(node.name, "pad", [x], {"pads": ((top, bottom), (left, right)), "mode": mode}, name)
    if name in ("max_pool2d", "avg_pool2d"):
        attrs = _pool_attrs(arg(1, "kernel_size"), arg(2, "stride"), arg(3, "padding", 0),
                            arg(4, "dilation", 1) if name == "max_pool2d" else 1,
                            arg(5 if name == "max_pool2d" else 4, "ceil_mode", False),
                            True if name == "max_pool2d" else arg(5, "count_include_pad", True))  # fmt: skip
        return r.add(node.name, name[:3] + "_pool", [x], attrs, name)
    if name in ("adaptive_avg_pool2d", "adaptive_max_pool2d"):
        out = _pair(arg(1, "output_size"))
        mode = name[9:12]
        if out == (1, 1):
            return r.add(node.name, "global_pool", [x], {"mode": mode, "keepdims": True}, name)
        return r.add(node.name, "adaptive_pool", [x], {"output": out, "mode": mode}, name)
    if name in ("pixel_shuffle", "pixel_unshuffle"):
        factor = arg(1, "upscale_factor" if name == "pixel_shuffle" else "downscale_factor")
        return r.add(
            node.name, "pixel_shuffle", [x], {"factor": factor if name == "pixel_shuffle" else -factor}, name
        )
    raise ValueError(f"node {node.name}: the function {name}() is not known to convlib's torch reader")


def _flatten(r, node, name, args, kwargs):
    x = r.tensor(args[0], name)
    rest = list(args[1:]) or [kwargs.get("start_dim", kwargs.get("shape"))]
    if len(rest) == 1 and isinstance(rest[0], (tuple, list)):
        rest = list(rest[0])
    first = rest[0] if rest else None
    batch_first = isinstance(first, Size) and first.op == "dim" and first.args[1] == "batch"
    if (name == "flatten" and rest[0] == 1) or (name != "flatten" and rest[1:] == [-1] and batch_first):
        return r.add(node.name, "flatten", [x], {}, name, 2)
    raise ValueError(
        f"node {node.name}: {name}{tuple(args[1:])} is not a Flatten from dim 1; convlib reads no reshapes"
    )


def _index(value, n: Size):
    if value is None:
        return None
    return n + value if isinstance(value, int) and value < 0 else value


def _getitem(r: _Reader, node, obj, key):
    if isinstance(obj, _WithIndices):
        return _Tensor(obj.name, 4) if key == 0 else ("indices", obj.name)
    if isinstance(obj, tuple):
        return obj[key]
    x = r.tensor(obj, "indexing")
    key = key if isinstance(key, tuple) else (key,)
    if (
        x.rank != 4
        or len(key) != 4
        or any(k != slice(None) for k in key[:2])
        or any(not isinstance(k, slice) or k.step not in (None, 1) for k in key)
    ):
        raise ValueError(f"node {node.name}: indexing {key} is not a spatial crop x[:, :, a:b, c:d]")
    crops = []
    for axis, k in ((1, key[2]), (2, key[3])):
        n = Size.dim(x.name, axis)
        start, stop = _index(k.start, n), _index(k.stop, n)
        crops.append((0 if start is None else start, 0 if stop is None else n - stop))
    return r.add(node.name, "crop", [x], {"crops": tuple(crops)}, "getitem")
