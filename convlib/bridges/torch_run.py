"""A ``torch.nn.Module`` read by running it for one input size on meta tensors (shapes, no data).

``torch.fx`` cannot follow Python that depends on sizes: TensorFlow-style "same" pads computed
from ``x.shape`` with ``math.ceil`` before ``F.pad``, a head that branches on ``x.shape[-2]``.
This reader runs the forward instead, on tensors of device ``"meta"`` (parameters and buffers
replaced by meta tensors of their shapes), under a ``TorchFunctionMode`` that sees every torch
function and tensor method the model calls and, through module forward hooks, the module path
it is called from. PyTorch computes every shape; convlib records:

- each windowed call (``conv2d``, ``conv_transpose2d``, ``pad``, pooling, ``interpolate``,
  pixel shuffle, ``max_unpool2d``) as an IR node with the arguments the model passed for this
  size; convlib's own geometry must give the shape PyTorch gave, else the op is refused by name;
- a mean or max over both spatial axes as ``global_pool`` (it reads every cell), a ``cat`` along
  channels as ``concat``, an operation on two or more activations as a broadcasting ``add``;
- every other call as ``pointwise`` with PyTorch's output shape: channel slices, ``split``,
  ``chunk``, normalisations over channels, ``linear`` on channels-last maps (a 1x1 convolution),
  activations. Layout changes (``permute``, ``transpose``, ``view`` for a channel shuffle) add no
  node: the reader tracks which tensor axis holds channels, rows and columns. A call whose
  footprint in space it does not know (``roll``, a softmax over rows) is kept with
  ``space="unknown"``; a call that merges or splits the spatial axes is refused by name.

A size PyTorch refuses ends the graph at the refusing call, marked ``refused`` with PyTorch's
message. A failure that depends on data the meta tensors do not hold (``.item()``, a tensor
created on another device) raises ``ValueError`` starting "cannot tell".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..graph.ir import Graph, Node

__all__ = ["run_graph"]

WINDOWS = {
    "conv2d": ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
    "conv_transpose2d": (
        "input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation"),
    "max_pool2d": ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"),
    "max_pool2d_with_indices": ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode"),
    "avg_pool2d": ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"),
    "pad": ("input", "pad", "mode", "value"),
    "interpolate": (
        "input", "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor", "antialias"),
    "adaptive_avg_pool2d": ("input", "output_size"),
    "adaptive_max_pool2d": ("input", "output_size"),
    "adaptive_max_pool2d_with_indices": ("input", "output_size"),
    "pixel_shuffle": ("input", "upscale_factor"),
    "pixel_unshuffle": ("input", "downscale_factor"),
    "max_unpool2d": ("input", "indices", "kernel_size", "stride", "padding", "output_size"),
}  # fmt: skip
REDUCTIONS = {"mean": "avg", "amax": "max", "max": "max", "sum": "sum", "amin": "min", "min": "min"}
CONCATS = {"cat", "concat", "concatenate"}
SPLITS = {"split", "chunk", "tensor_split", "unbind", "split_with_sizes"}
LAYOUT = {"permute", "transpose", "swapaxes", "swapdims", "movedim", "view", "reshape", "flatten",
          "unflatten", "squeeze", "unsqueeze", "contiguous", "view_as", "reshape_as", "detach", "clone",
          "float", "to", "type", "type_as", "requires_grad_"}  # fmt: skip
# Calls that act on each cell alone (their ``dim``, if any, is checked to hold no spatial axis).
POINTWISE = {
    "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "gelu", "silu", "sigmoid", "tanh", "elu", "selu",
    "celu", "hardswish", "hardsigmoid", "hardtanh", "hardtanh_", "mish", "softplus", "softsign", "prelu",
    "dropout", "dropout2d", "alpha_dropout", "feature_alpha_dropout", "batch_norm", "layer_norm", "linear",
    "softmax", "log_softmax", "stochastic_depth", "clamp", "clamp_", "clip", "exp", "log", "sqrt", "rsqrt",
    "abs", "neg", "pow", "erf", "where", "maximum", "minimum", "add", "sub", "mul", "div", "true_divide",
    "rsub", "radd", "rmul", "truediv", "rtruediv", "iadd", "imul", "isub", "add_", "sub_", "mul_", "div_",
    "sigmoid_", "tanh_", "channel_shuffle", "normalize",
}  # fmt: skip
SPATIAL_STATS = {"group_norm", "instance_norm", "local_response_norm"}  # statistics over the whole grid


class _Stop(BaseException):  # unwinds the model's forward at the refusing call (not an Exception)
    pass


class _Fault(BaseException):  # convlib cannot describe the call: a reader error, never a refusal
    pass


@dataclass(frozen=True)
class _Act:
    name: str  # the IR node this tensor is the output of
    axes: tuple[str, ...]  # per tensor dim: "n", "c", "h", "w", "1", "f" (flat) or "?" (mixed)


def _fname(func) -> str:
    name = getattr(func, "__name__", str(func))
    if name == "__get__":  # a property (x.shape, x.T)
        name = getattr(getattr(func, "__self__", None), "__name__", name)
    return name.strip("_") if name.startswith("__") else name.lstrip("_")


def _leaves(value):
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _leaves(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    else:
        yield value


def _pair(v) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _pads(p):
    return p if isinstance(p, str) else tuple((a, a) for a in _pair(p))


class _Recorder:
    def __init__(self, module):
        import torch

        self.torch = torch
        self.module = module
        self.paths = {id(m): name for name, m in module.named_modules()}
        self.stack: list[tuple[str, object]] = [("", module)]
        self.counted: set[int] = set()
        self.nodes: list[Node] = [Node("input", "input", (), {}, "input")]
        self.acts: dict[int, tuple[object, _Act]] = {}
        self.shapes: dict[str, tuple] = {}
        self.used: set[str] = set()
        self.last = "input"

    # --- names and shapes -------------------------------------------------------------------
    def where(self, fname: str) -> tuple[str, str]:
        path, mod = self.stack[-1]
        builtin = type(mod).__module__.startswith("torch.nn.modules") and mod is not self.module
        first = builtin and path not in self.used
        name = path if first else (f"{path}.{fname}" if path else fname)
        self.used.add(path)
        base, k = name, 1
        while any(n.name == name for n in self.nodes):
            name, k = f"{base}#{k}", k + 1
        return name, (type(mod).__name__ if builtin else fname)

    def ir_shape(self, t, act: _Act, what: str) -> tuple:
        shape = tuple(t.shape)
        if not shape:  # a reduction to one number (x.mean()): one flat cell
            return (1,)
        if "?" in act.axes or "n" not in act.axes or shape[act.axes.index("n")] != 1:
            raise _Fault(
                f"{what}: its output {shape} mixes the batch or spatial axes (axes {act.axes}); "
                "convlib cannot describe it"
            )
        if "f" in act.axes or not {"h", "w"} <= set(act.axes):
            if "h" in act.axes or "w" in act.axes:
                raise _Fault(
                    f"{what}: its output {shape} keeps only one spatial axis; convlib cannot describe it"
                )
            return (math.prod(s for s, a in zip(shape, act.axes) if a != "n"),)
        c = math.prod(s for s, a in zip(shape, act.axes) if a == "c")
        return c, shape[act.axes.index("h")], shape[act.axes.index("w")]

    def add(self, fname, op, inputs, attrs, outputs, axes_of, refused=None):
        """Record one node whose outputs are ``outputs`` (tensors), all with axes ``axes_of(i)``."""
        from ..graph.shapes import _RULES

        name, kind = self.where(fname)
        if refused is not None:
            attrs = {**attrs, "refused": refused}
        ins = [self.acts[id(t)][1].name for t in inputs]
        if op in ("pointwise", "add") and outputs:
            attrs = {**attrs, "shape": self.ir_shape(outputs[0], _Act(name, axes_of(0)), name)}
        node = Node(name, op, tuple(ins), attrs, kind)
        if refused is None and op not in ("pointwise", "add", "concat"):
            want = self.ir_shape(outputs[0], _Act(name, axes_of(0)), f"{name} ({kind})")
            try:
                got = _RULES[op](node, [self.shapes[i] for i in ins], self.shapes).shape
            except ValueError as err:
                got = f"a refusal ({err})"
            if got != want:
                raise _Fault(
                    f"layer {name} ({kind}): PyTorch gives {want}, convlib's geometry gives {got}; "
                    "convlib cannot describe this call"
                )
        self.nodes.append(node)
        self.last = name
        for i, t in enumerate(outputs):
            self.acts[id(t)] = (t, _Act(name, axes_of(i)))
        if outputs:
            self.shapes[name] = self.ir_shape(outputs[0], _Act(name, axes_of(0)), name)
        return name

    # --- the mode ---------------------------------------------------------------------------
    def call(self, func, args, kwargs):
        found = [
            v for v in _leaves((args, kwargs)) if isinstance(v, self.torch.Tensor) and id(v) in self.acts
        ]
        if not found:
            return func(*args, **kwargs)
        fname = _fname(func)
        try:
            out = _fast_shape(self.torch, fname, args, kwargs)
            out = func(*args, **kwargs) if out is None else out
        except Exception as err:  # PyTorch refuses this size here
            message = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
            if "meta" in message or "device" in message or isinstance(err, NotImplementedError):
                raise _Fault(
                    f"cannot tell: {fname} needs data or a device meta tensors lack ({message})"
                ) from None
            self.refuse(fname, args, kwargs, found, message)
            raise _Stop from None
        try:
            self.record(fname, args, kwargs, found, out)
        except _Fault:
            raise
        except Exception as err:  # a reader bug must never pass for a refusal
            raise _Fault(f"convlib's torch reader failed on {fname}: {type(err).__name__}: {err}") from None
        return out

    def refuse(self, fname, args, kwargs, found, message):
        x = found[0]
        if fname in WINDOWS and self.acts[id(x)][1].axes == ("n", "c", "h", "w"):
            op, attrs = _window(fname, _bind(WINDOWS[fname], args, kwargs))
            if op is not None:
                self.add(fname, op, [x], attrs, [], None, message)
                return
        self.add(fname, "pointwise", found, {"fn": fname, "shape": None}, [], None, message)

    def record(self, fname, args, kwargs, found, out):
        torch = self.torch
        x = found[0]
        act = self.acts[id(x)][1]
        outs = [t for t in _leaves(out) if isinstance(t, torch.Tensor)]
        if not outs:
            return
        if fname in ("shape", "T", "mT", "data", "grad"):
            if fname in ("data",):
                self.acts[id(out)] = (out, act)
            elif isinstance(out, torch.Tensor):
                raise _Fault(f"{fname}: convlib cannot describe x.{fname}")
            return
        if fname in WINDOWS:
            if act.axes != ("n", "c", "h", "w"):
                raise _Fault(f"{fname}: convlib reads it on an (N, C, H, W) tensor, got axes {act.axes}")
            bound = _bind(WINDOWS[fname], args, kwargs)
            op, attrs = _window(fname, bound)
            if op is None:
                raise _Fault(f"{fname}: {attrs}")
            first = outs[:1] if fname != "max_unpool2d" else outs
            self.add(fname, op, [x], attrs, first, lambda i: act.axes)
            if len(outs) > 1 and fname != "max_unpool2d":  # pooling indices: same grid as the values
                self.acts[id(outs[1])] = (outs[1], self.acts[id(outs[0])][1])
            return
        if fname in LAYOUT:
            axes = _relayout(fname, act, tuple(x.shape), tuple(outs[0].shape), args, kwargs)
            if "?" in axes:
                raise _Fault(
                    f"{fname}: its output {tuple(outs[0].shape)} merges or splits the spatial axes "
                    "(patch tokens, windows); convlib cannot describe it"
                )
            if "h" not in axes and "w" not in axes and "h" in act.axes:
                self.add(fname, "flatten", [x], {}, outs[:1], lambda i: ("n", "f"))
                return
            self.acts[id(outs[0])] = (outs[0], _Act(act.name, axes))
            if self.ir_shape(outs[0], self.acts[id(outs[0])][1], fname) != self.shapes[act.name]:
                raise _Fault(
                    f"{fname}: changes the shape {self.shapes[act.name]} in a way convlib cannot describe"
                )
            return
        dims = _dims(fname, args, kwargs, len(act.axes))
        if fname in REDUCTIONS and not outs[0].dim():  # every cell, batch included, into one number
            self.add(
                fname, "pointwise", [x], {"fn": fname, "params": 0, "space": "global"}, outs[:1], lambda i: ()
            )
            return
        if fname in REDUCTIONS and dims is not None:
            labels = {act.axes[d] for d in dims}
            keep = bool(
                kwargs.get("keepdim", args[2] if len(args) > 2 and isinstance(args[2], bool) else False)
            )
            axes = act.axes if keep else tuple(a for i, a in enumerate(act.axes) if i not in dims)
            if labels <= {"c", "1"} and "h" in axes:  # over channels (CBAM's spatial gate): per cell
                self.add(fname, "pointwise", [x], {"fn": fname, "params": 0}, outs, lambda i: axes)
                return
            if labels == {"h", "w"} or labels == {"h", "w", "1"}:
                self.add(
                    fname,
                    "global_pool",
                    [x],
                    {"mode": REDUCTIONS[fname], "keepdims": keep},
                    outs[:1],
                    lambda i: tuple("f" if a == "c" else a for a in axes) if not keep else axes,
                )
                return
        if fname in CONCATS:
            tensors = list(args[0]) if args else list(kwargs["tensors"])
            if any(id(t) not in self.acts for t in tensors) or dims is None or act.axes[dims[0]] not in "cf":
                raise _Fault(f"{fname}: convlib reads a concatenation of activations along channels only")
            self.add(fname, "concat", tensors, {"axis": 0}, outs, lambda i: act.axes)
            return
        if fname in SPLITS or fname == "getitem":
            self.slices(fname, args, x, act, outs, dims)
            return
        axes = self.broadcast_axes(fname, found, outs[0])
        space = "pointwise"
        if fname in SPATIAL_STATS or (
            fname == "batch_norm"
            and _bind(
                ("input", "running_mean", "running_var", "weight", "bias", "training"), args, kwargs
            ).get("training")
        ):
            space = "global"
        elif fname not in POINTWISE:
            space = "unknown"
        elif dims is not None and {axes[d] for d in dims} & {"h", "w"}:
            space = "unknown"
        elif fname == "layer_norm":
            n = len(_bind(("input", "normalized_shape"), args, kwargs)["normalized_shape"])
            space = "global" if set(axes[-n:]) & {"h", "w"} else "pointwise"
        params = sum(p.numel() for p in _leaves((args, kwargs)) if isinstance(p, torch.nn.Parameter))
        if fname == "linear" and "h" in axes:
            if axes[-1] != "c":
                raise _Fault("linear: applied to a spatial axis; convlib cannot describe it")
            w = args[1] if len(args) > 1 else kwargs["weight"]
            bias = (args[2] if len(args) > 2 else kwargs.get("bias")) is not None
            attrs = dict(
                out_channels=w.shape[0],
                in_channels=w.shape[1],
                kernel=(1, 1),
                stride=(1, 1),
                dilation=(1, 1),
                groups=1,
                padding=((0, 0), (0, 0)),
                padding_mode="zeros",
                bias=bias,
            )
            self.add(fname, "conv", [x], attrs, outs[:1], lambda i: axes)
            return
        if fname == "linear" and axes[-1] == "f":
            w = args[1] if len(args) > 1 else kwargs["weight"]
            bias = (args[2] if len(args) > 2 else kwargs.get("bias")) is not None
            attrs = {"in_features": w.shape[1], "out_features": w.shape[0], "bias": bias}
            self.add(fname, "linear", [x], attrs, outs[:1], lambda i: axes)
            return
        if len(found) > 1:
            self.add(fname, "add", found, {"fn": fname}, outs, lambda i: axes)
            return
        attrs = {"fn": fname, "params": params}
        if space != "pointwise":
            attrs["space"] = space
        self.add(fname, "pointwise", [x], attrs, outs, lambda i: axes)

    def broadcast_axes(self, fname, found, out) -> tuple[str, ...]:
        ranked = [self.acts[id(t)][1] for t in found if t.dim() == out.dim()]
        if not ranked:
            raise _Fault(
                f"{fname}: its output {tuple(out.shape)} has another rank than its inputs; "
                "convlib cannot describe it"
            )
        axes = ranked[0].axes
        for other in ranked[1:]:
            if any(a != b and "1" not in (a, b) for a, b in zip(other.axes, axes)):
                raise _Fault(f"cannot tell: {fname} combines tensors laid out as {axes} and {other.axes}")
        return axes

    def slices(self, fname, args, x, act, outs, dims):
        torch = self.torch
        if fname == "getitem":
            key = args[1] if isinstance(args[1], tuple) else (args[1],)
            if any(isinstance(k, torch.Tensor) or (isinstance(k, (list, bool))) for k in key):
                raise _Fault("getitem: indexing with tensors or lists; convlib cannot describe it")
            if Ellipsis in key:
                i = key.index(Ellipsis)
                rest = len(act.axes) - (len(key) - 1 - sum(k is None for k in key))
                key = key[:i] + (slice(None),) * rest + key[i + 1 :]
            axes, crops, d = [], {}, 0
            for k in key:
                if k is None:
                    axes.append("1")
                    continue
                a, n = act.axes[d], x.shape[d]
                if isinstance(k, slice):
                    start, stop, step = k.indices(n)
                    if a in "hw" and (start, stop, step) != (0, n, 1):
                        if step != 1:
                            raise _Fault(
                                f"getitem: a strided slice of the {a} axis; convlib cannot describe it"
                            )
                        crops[a] = (start, n - max(stop, start))
                    axes.append(a)
                elif a in "nhw":
                    raise _Fault(f"getitem: an integer index on the {a} axis; convlib cannot describe it")
                d += 1
            axes += act.axes[d:]
            src = x
            if crops:
                pair = (crops.get("h", (0, 0)), crops.get("w", (0, 0)))
                if act.axes != ("n", "c", "h", "w"):
                    raise _Fault("getitem: a spatial crop of a tensor not laid out as (N, C, H, W)")
                self.add("crop", "crop", [x], {"crops": pair}, outs[:1], lambda i: tuple(axes))
                src = outs[0]
            if (
                self.ir_shape(outs[0], _Act("", tuple(axes)), fname)[0] != self.shapes[act.name][0]
                or not crops
            ):
                self.add(
                    fname,
                    "pointwise",
                    [src] if src is not outs[0] else [x],
                    {"fn": "channel slice", "params": 0},
                    outs[:1],
                    lambda i: tuple(axes),
                )
            return
        d = dims[0] if dims else 0
        if act.axes[d] not in "cf":
            raise _Fault(f"{fname}: splits the {act.axes[d]} axis; convlib cannot describe it")
        axes = act.axes if fname != "unbind" else act.axes[:d] + act.axes[d + 1 :]
        for t in outs:
            self.add(fname, "pointwise", [x], {"fn": fname, "params": 0}, [t], lambda i: axes)

    # --- module paths -----------------------------------------------------------------------
    def pre_hook(self, mod, args):
        self.stack.append((self.paths.get(id(mod), type(mod).__name__), mod))

    def post_hook(self, mod, args, out):
        self.stack.pop()


def _fast_shape(torch, fname, args, kwargs):
    """The output of an eval-mode BatchNorm, a LayerNorm or a resize to a given size, or ``None``.

    On meta tensors PyTorch runs these through Python decompositions: 17 ms a BatchNorm (60 % of
    a ShuffleNetV2 reading), 84 ms a bilinear resize (DeepLabV3: 134 -> 32 ms a reading).
    Their output shape is the input's (the resize's: the size asked for) whenever the checks
    below pass, the checks PyTorch makes; any other case is left to PyTorch.
    """
    if fname == "interpolate":
        a = _bind(WINDOWS["interpolate"], args, kwargs)
        x, size = a["input"], a.get("size")
        if size is None or a.get("scale_factor") is not None or x.dim() != 4 or min(x.shape) < 1:
            return None
        mode = a.get("mode", "nearest")
        if a.get("antialias") or (a.get("align_corners") is not None and mode not in ("bilinear", "bicubic")):
            return None  # PyTorch's own checks decide these
        if mode not in ("nearest", "nearest-exact", "bilinear", "bicubic", "area"):
            return None
        size = _pair(size)
        if len(size) != 2 or not all(isinstance(v, int) and v > 0 for v in size):
            return None
        return torch.empty((*x.shape[:2], *size), dtype=x.dtype, device=x.device)
    if fname == "batch_norm":
        a = _bind(("input", "running_mean", "running_var", "weight", "bias", "training"), args, kwargs)
        x, stats = a["input"], [a.get(k) for k in ("running_mean", "running_var", "weight", "bias")]
        if a.get("training") or x.dim() < 2 or any(t is None or t.shape != (x.shape[1],) for t in stats[:2]):
            return None
        if any(t is not None and t.shape != (x.shape[1],) for t in stats[2:]):
            return None
        return torch.empty_like(x)
    if fname == "layer_norm":
        a = _bind(("input", "normalized_shape", "weight", "bias"), args, kwargs)
        x, shape = a["input"], tuple(a["normalized_shape"])
        ok = shape and tuple(x.shape[-len(shape) :]) == shape
        if not ok or any(a.get(k) is not None and tuple(a[k].shape) != shape for k in ("weight", "bias")):
            return None
        return torch.empty_like(x)
    return None


def _bind(names, args, kwargs) -> dict:
    bound = dict(zip(names, args))
    bound.update({k: v for k, v in kwargs.items() if k in names})
    return bound


def _dims(fname, args, kwargs, rank):
    d = kwargs.get("dim", kwargs.get("axis"))
    if d is None:
        pos = 2 if fname in ("split", "chunk", "tensor_split", "split_with_sizes") else 1
        d = args[pos] if len(args) > pos and not isinstance(args[pos], bool) else None
        if d is None and fname in SPLITS:
            d = 0
        if fname in CONCATS:
            d = args[1] if len(args) > 1 else kwargs.get("dim", 0)
    if d is None or (isinstance(d, (list, tuple)) and not all(isinstance(v, int) for v in d)):
        return None
    if not isinstance(d, (int, list, tuple)):
        return None
    return tuple(v % rank for v in (d if isinstance(d, (list, tuple)) else (d,)))


def _window(fname, a) -> tuple:
    """The IR op and attributes of a windowed call, or ``(None, why)``."""
    if fname == "conv2d" or fname == "conv_transpose2d":
        w, groups = a["weight"], a.get("groups", 1)
        transposed = fname == "conv_transpose2d"
        attrs = dict(
            out_channels=w.shape[1] * groups if transposed else w.shape[0],
            in_channels=w.shape[0] if transposed else w.shape[1] * groups,
            kernel=tuple(w.shape[2:]),
            stride=_pair(a.get("stride", 1)),
            dilation=_pair(a.get("dilation", 1)),
            groups=groups,
            padding=_pads(a.get("padding", 0)),
            padding_mode="zeros",
            bias=a.get("bias") is not None,
        )
        if transposed:
            attrs.update(output_padding=_pair(a.get("output_padding", 0)), output_size=None)
            return "conv_transpose", attrs
        return "conv", attrs
    if fname in ("max_pool2d", "max_pool2d_with_indices", "avg_pool2d"):
        k = _pair(a["kernel_size"])
        stride = a.get("stride")
        attrs = dict(
            kernel=k,
            stride=k if stride in (None, [], ()) else _pair(stride),
            padding=_pads(a.get("padding", 0)),
            dilation=_pair(a.get("dilation", 1)),
            ceil_mode=bool(a.get("ceil_mode", False)),
            count_include_pad=a.get("count_include_pad", True),
        )
        return ("avg_pool" if fname == "avg_pool2d" else "max_pool"), attrs
    if fname == "pad":
        pad = tuple(a["pad"])
        if len(pad) not in (2, 4):
            return None, f"F.pad with {len(pad)} values pads the channel or batch axis"
        left, right, top, bottom = pad + (0,) * (4 - len(pad))
        mode = a.get("mode", "constant")
        return "pad", {"pads": ((top, bottom), (left, right)), "mode": mode}
    if fname == "interpolate":
        if a.get("size") is not None:
            return "upsample", {"size": _pair(a["size"]), "mode": a.get("mode", "nearest")}
        return "upsample", {
            "scale": tuple(float(v) for v in _pair(a["scale_factor"])),
            "mode": a.get("mode", "nearest"),
        }
    if fname.startswith("adaptive"):
        out, mode = _pair(a["output_size"]), fname[9:12]
        if out == (1, 1):
            return "global_pool", {"mode": mode, "keepdims": True}
        return "adaptive_pool", {"output": out, "mode": mode}
    if fname in ("pixel_shuffle", "pixel_unshuffle"):
        r = a.get("upscale_factor", a.get("downscale_factor"))
        return "pixel_shuffle", {"factor": r if fname == "pixel_shuffle" else -r}
    size = a.get("output_size")
    return "max_unpool", dict(
        kernel=_pair(a["kernel_size"]),
        stride=_pair(a.get("stride") or a["kernel_size"]),
        padding=_pair(a.get("padding", 0)),
        output_size=None if size is None else tuple(size)[-2:],
    )


def _relayout(fname, act: _Act, shape, new, args, kwargs) -> tuple[str, ...]:
    """The axes labels after a layout call (``"?"`` where spatial axes are merged or split)."""
    if fname in ("permute", "transpose", "swapaxes", "swapdims", "movedim"):
        rank = len(shape)
        axes = list(act.axes)
        if fname == "permute":
            order = args[1:] if len(args) > 2 or not isinstance(args[1], (tuple, list)) else args[1]
            order = kwargs.get("dims", order)
            return tuple(axes[d % rank] for d in order)
        a, b = (args[1], args[2]) if len(args) > 2 else (kwargs.get("dim0"), kwargs.get("dim1"))
        if fname == "movedim":
            axes.insert(b % rank, axes.pop(a % rank))
            return tuple(axes)
        axes[a % rank], axes[b % rank] = axes[b % rank], axes[a % rank]
        return tuple(axes)
    if shape == new:
        return act.axes
    return _regroup(act.axes, shape, new)


def _regroup(axes, shape, new) -> tuple[str, ...]:
    out, i, j = [], 0, 0
    while i < len(shape) or j < len(new):
        if j < len(new) and new[j] == 1 and not (i < len(shape) and shape[i] == 1):
            out.append("1")
            j += 1
        elif i < len(shape) and shape[i] == 1 and not (j < len(new) and new[j] == 1):
            i += 1  # a size-1 axis dropped
        elif i < len(shape) and j < len(new) and shape[i] == new[j] == 1:
            out.append(axes[i])
            i, j = i + 1, j + 1
        else:
            if i >= len(shape) or j >= len(new):
                return ("?",) * len(new)
            gi, gj, p, q = [i], [j], shape[i], new[j]
            while p != q:
                if p < q:
                    i += 1
                    if i >= len(shape):
                        return ("?",) * len(new)
                    gi.append(i)
                    p *= shape[i]
                else:
                    j += 1
                    if j >= len(new):
                        return ("?",) * len(new)
                    gj.append(j)
                    q *= new[j]
            labels = {axes[k] for k in gi} - {"1"}
            if len(gi) == 1 and len(gj) == 1:
                out.append(axes[gi[0]])
            elif labels <= {"c"}:
                out += ["c"] * len(gj)
            elif len(gj) == 1 and (
                labels <= {"c", "f"} or labels == {"c", "h", "w"} or labels == {"f", "h", "w"}
            ):
                out.append("f")  # a flatten of channels and both spatial axes
            else:
                out += ["?"] * len(gj)
            i, j = i + 1, j + 1
    return tuple(out)


def run_graph(module, input_shape) -> Graph:
    """The graph of ``module`` for one input ``(C, H, W)``, read by running it on meta tensors.

    Raises
    ------
    ValueError
        A call convlib cannot describe (named, with its module path), or "cannot tell" where the
        answer needs data.
    """
    import torch
    from torch.overrides import TorchFunctionMode

    rec = _Recorder(module)

    class Mode(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            return rec.call(func, args, kwargs or {})

    state = {k: torch.nn.Parameter(v.to("meta"), v.requires_grad) for k, v in module.named_parameters()}
    state.update({k: v.to("meta") for k, v in module.named_buffers()})
    x = torch.empty(1, *input_shape, device="meta")
    rec.acts[id(x)] = (x, _Act("input", ("n", "c", "h", "w")))
    rec.shapes["input"] = tuple(input_shape)
    hooks = [
        torch.nn.modules.module.register_module_forward_pre_hook(rec.pre_hook),
        torch.nn.modules.module.register_module_forward_hook(rec.post_hook),
    ]
    out, output = None, None
    try:
        with torch.no_grad(), Mode():
            out = torch.func.functional_call(module, state, (x,))
    except _Stop:
        output = rec.last
    except _Fault as err:
        path, mod = rec.stack[-1]
        raise ValueError(f"in {path or 'forward'} ({type(mod).__name__}): {err}") from None
    except Exception as err:  # the model's own Python refused (an assert on sizes) or needs data
        message = f"{type(err).__name__}: {err}"
        if "meta" in message or isinstance(err, NotImplementedError):
            raise ValueError(f"cannot tell: {type(module).__name__} needs data: {message}") from None
        path, mod = rec.stack[-1]
        rec.nodes.append(
            Node(
                path or "forward",
                "pointwise",
                (rec.last,),
                {"refused": message, "shape": None},
                f"{type(mod).__name__}.forward",
            )
        )
        output = rec.nodes[-1].name
    finally:
        for h in hooks:
            h.remove()
    if output is None:
        leaves = [t for t in _leaves(out) if isinstance(t, torch.Tensor) and id(t) in rec.acts]
        if not leaves:
            raise ValueError(f"{type(module).__name__} returns no tensor computed from its input")
        output = rec.acts[id(leaves[0])][1].name
    return Graph(tuple(rec.nodes), "input", output, "NCHW")
