"""A PyTorch module as a Keras layer (or a small ``keras.Sequential``) computing the same function
on NHWC input.

As in :mod:`.keras_to_torch`, each conversion is first Keras source text
(:func:`keras_expression`, framework-free) and the layer is made by evaluating that text in the
namespace of :data:`LAYER_SOURCE`. Keras has no reflection or replication padding, no numeric
pooling pads, no ``ceil_mode``, no dilated pooling and no ``count_include_pad``; the two layers
of :data:`LAYER_SOURCE` supply exactly those, with every size from :mod:`convlib.shapes.geometry`.

Examples
--------
>>> keras_expression({"kind": "Conv2d", "in": 3, "out": 8, "kernel": (3, 3), "stride": (2, 2),
...                   "pads": (1, 1), "dilation": (1, 1), "groups": 1, "bias": True, "mode": "zeros"})
"keras.Sequential([layers.ZeroPadding2D(((1, 1), (1, 1))), layers.Conv2D(8, (3, 3), strides=(2, 2), \
padding='valid', dilation_rate=(1, 1), use_bias=True)])"
"""

from __future__ import annotations

import functools

import numpy as np

from ..padding import normalize_padding_mode
from ..shapes.geometry import resolve_padding, transpose_axes

__all__ = ["LAYER_SOURCE", "SUPPORTED_TORCH", "torch_config", "keras_expression", "torch_to_keras"]

LAYER_SOURCE = '''\
import keras
import numpy as np
from keras import layers, ops

from convlib.shapes.geometry import pool_axes


def known_hw(x, layer):
    """The input's height and width: these layers compute their indices and pads from them."""
    h, w = x.shape[1], x.shape[2]
    if h is None or w is None:
        raise ValueError(f"{layer} needs a known input height and width, got shape {tuple(x.shape)}; "
                         "call it on an input of concrete size")
    return int(h), int(w)


@keras.saving.register_keras_serializable(package="convlib")
class Pad2D(layers.Layer):
    """PyTorch's F.pad on NHWC: mode "constant" (with value), "reflect", "replicate", "circular"."""

    def __init__(self, pads, mode="constant", value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.pads, self.mode, self.value = tuple(tuple(p) for p in pads), mode, float(value)

    def call(self, x):
        (t, b), (l, r) = self.pads
        if self.mode == "constant":
            return ops.pad(x, [[0, 0], [t, b], [l, r], [0, 0]], constant_values=self.value)
        # np.pad of the indices gives the cells each mode reads: reflect, edge (replicate), wrap.
        mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[self.mode]
        h, w = known_hw(x, "Pad2D")
        rows, cols = np.pad(np.arange(h), (t, b), mode=mode), np.pad(np.arange(w), (l, r), mode=mode)
        return ops.take(ops.take(x, rows, axis=1), cols, axis=2)

    def get_config(self):
        return {**super().get_config(), "pads": self.pads, "mode": self.mode, "value": self.value}


@keras.saving.register_keras_serializable(package="convlib")
class TorchPool2D(layers.Layer):
    """nn.MaxPool2d / nn.AvgPool2d on NHWC: numeric pads, dilation, ceil_mode, count_include_pad."""

    def __init__(self, kind, pool_size, strides, pads, dilation=(1, 1), ceil_mode=False,
                 count_include_pad=True, **kwargs):
        super().__init__(**kwargs)
        self.kind, self.pool_size, self.strides = kind, tuple(pool_size), tuple(strides)
        self.pads, self.dilation = tuple(tuple(p) for p in pads), tuple(dilation)
        self.ceil_mode, self.count_include_pad = bool(ceil_mode), bool(count_include_pad)

    def call(self, x):
        axes = pool_axes(known_hw(x, "TorchPool2D"), self.pool_size, self.strides, self.pads,
                         dilation=self.dilation, ceil_mode=self.ceil_mode)
        fill = float("-inf") if self.kind == "max" else 0.0
        # ceil_mode's last window may overhang the padded input: pad that too (never counted).
        widths = [[0, 0]] + [[a.before, a.after + a.overhang] for a in axes] + [[0, 0]]
        xp = ops.pad(x, widths, constant_values=fill)
        # Tap (i, j) of every window at once: a strided slice starting at the tap's offset.
        rows = [slice(i * a.dilation, i * a.dilation + a.extent - a.window + 1, a.stride)
                for a in axes[:1] for i in range(a.k)]
        cols = [slice(j * a.dilation, j * a.dilation + a.extent - a.window + 1, a.stride)
                for a in axes[1:] for j in range(a.k)]
        taps = [xp[:, r, c] for r in rows for c in cols]
        if self.kind == "max":
            return ops.max(ops.stack(taps), axis=0)
        return ops.sum(ops.stack(taps), axis=0) / self._counts(axes)[None, :, :, None]

    def _counts(self, axes):
        """Cells each window divides by: the padded input's (count_include_pad) or the real ones."""
        per_axis = []
        for a in axes:
            first = 0 if self.count_include_pad else a.before
            last = a.padded if self.count_include_pad else a.before + a.n
            starts = np.arange(a.out) * a.stride
            per_axis.append(np.clip(np.minimum(starts + a.window, last) - np.maximum(starts, first), 0, None))
        return np.outer(*per_axis).astype("float32")

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "pool_size": self.pool_size,
                "strides": self.strides, "pads": self.pads, "dilation": self.dilation,
                "ceil_mode": self.ceil_mode, "count_include_pad": self.count_include_pad}
'''

# fmt: off
SUPPORTED_TORCH = (
    "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "ZeroPad2d", "ConstantPad2d",
    "ReflectionPad2d", "ReplicationPad2d", "CircularPad2d", "ReLU", "Sequential",
)
# fmt: on
_PROBES = ((13, 13), (16, 16))  # two sizes, odd and even, for "is this pad the same for every size?"


@functools.cache
def _namespace() -> dict:
    namespace: dict = {}
    exec(compile(LAYER_SOURCE, "<convlib.bridges.torch_to_keras.LAYER_SOURCE>", "exec"), namespace)
    return namespace


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if np.isscalar(v) else (int(v[0]), int(v[1]))


def _refuse(module, why: str):
    raise ValueError(f"to_keras: {type(module).__name__} has no exact Keras equivalent: {why}")


def torch_config(module) -> dict:
    """The framework-free description of a torch module that :func:`keras_expression` reads."""
    kind = type(module).__name__
    if kind not in SUPPORTED_TORCH:
        _refuse(module, f"convlib converts {', '.join(SUPPORTED_TORCH)}")
    cfg: dict = {"kind": kind}
    if kind == "Conv2d":
        if isinstance(module.padding, str):  # "valid", or "same" (stride 1): PyTorch's split is TF's
            pads = resolve_padding(_PROBES[0], module.kernel_size, module.padding, dilation=module.dilation)
        else:
            pads = tuple((p, p) for p in module.padding)
        cfg.update(
            in_=module.in_channels,
            out=module.out_channels,
            kernel=_pair(module.kernel_size),
            stride=_pair(module.stride),
            pads=pads,
            dilation=_pair(module.dilation),
            groups=int(module.groups),
            bias=module.bias is not None,
            mode=normalize_padding_mode(module.padding_mode),
        )
        cfg["in"] = cfg.pop("in_")
    elif kind == "ConvTranspose2d":
        if module.groups != 1:
            _refuse(module, f"groups={module.groups} (Keras Conv2DTranspose has no groups)")
        cfg.update(
            kernel=_pair(module.kernel_size),
            stride=_pair(module.stride),
            out=module.out_channels,
            padding=_pair(module.padding),
            output_padding=_pair(module.output_padding),
            dilation=_pair(module.dilation),
            bias=module.bias is not None,
        )
    elif kind in ("MaxPool2d", "AvgPool2d"):
        k = _pair(module.kernel_size)
        cfg.update(
            kernel=k,
            stride=k if module.stride is None else _pair(module.stride),
            padding=_pair(module.padding),
            ceil_mode=bool(module.ceil_mode),
            dilation=_pair(getattr(module, "dilation", 1)),
            count_include_pad=bool(getattr(module, "count_include_pad", True)),
        )
        if kind == "AvgPool2d" and module.divisor_override is not None:
            _refuse(module, "divisor_override (Keras divides by the window's cells)")
    elif kind.endswith("Pad2d"):
        left, r, t, b = (int(p) for p in module.padding)
        cfg.update(pads=((t, b), (left, r)), value=float(getattr(module, "value", 0.0)))
    elif kind == "Sequential":
        cfg["children"] = [torch_config(m) for m in module]
    return cfg


def _conv_layer(cfg: dict) -> str:
    k, s, d, cin, cout, g = (
        cfg["kernel"],
        cfg["stride"],
        cfg["dilation"],
        cfg["in"],
        cfg["out"],
        cfg["groups"],
    )
    same = tuple(resolve_padding(p, k, "same", stride=s, dilation=d) for p in _PROBES)
    pads = tuple((p, p) if np.isscalar(p) else tuple(p) for p in cfg["pads"])  # (p, p) or (before, after)
    zeros = cfg["mode"] == "zeros" or pads == ((0, 0), (0, 0))
    # TF's "same" when it pads exactly these cells at every size (stride 1 and d*(k-1) = 2p).
    word = "same" if zeros and all(x == pads for x in same) and pads != ((0, 0), (0, 0)) else "valid"
    if s != (1, 1) and d != (1, 1):
        # TF's CPU kernels refuse dilation > 1 with stride > 1; a kernel of d*(k-1)+1 taps with
        # zeros between the real ones is the same function (:func:`_kernels` writes it).
        k, d = tuple(d[i] * (k[i] - 1) + 1 for i in range(2)), (1, 1)
    tail = f"padding={word!r}, dilation_rate={d}, use_bias={cfg['bias']})"
    if g == cin and g > 1 and cout % cin == 0:
        layer = f"layers.DepthwiseConv2D({k}, strides={s}, depth_multiplier={cout // cin}, {tail}"
    else:
        group = f"groups={g}, " if g != 1 else ""
        layer = f"layers.Conv2D({cout}, {k}, strides={s}, {group}{tail}"
    if word == "same" or pads == ((0, 0), (0, 0)):
        return layer
    pad = f"layers.ZeroPadding2D({pads})" if zeros else f"Pad2D({pads}, mode={cfg['mode']!r})"
    return f"keras.Sequential([{pad}, {layer}])"


def _transpose_layer(cfg: dict) -> str:
    k, s, d, op = cfg["kernel"], cfg["stride"], cfg["dilation"], cfg["output_padding"]
    p = tuple((c, c) if np.isscalar(c) else tuple(c) for c in cfg["padding"])  # per-side crops
    if any(o >= st for o, st in zip(op, s)):
        raise ValueError(
            f"to_keras: ConvTranspose2d output_padding {op} is not smaller than the stride {s} "
            "(Keras Conv2DTranspose refuses it; PyTorch allows it only through dilation)"
        )
    # Keras "same" when it starts at the same cell and gives the same size at every input size.
    torch_axes = [transpose_axes(n, k, stride=s, padding=p, output_padding=op, dilation=d) for n in _PROBES]
    keras_axes = [transpose_axes(n, k, stride=s, padding="same", dilation=d) for n in _PROBES]
    if d == (1, 1) and all(
        [(a.before, a.n) for a in ta] == [(b.before, b.n) for b in ka]
        for ta, ka in zip(torch_axes, keras_axes, strict=True)
    ):
        return (
            f"layers.Conv2DTranspose({cfg['out']}, {k}, strides={s}, padding='same', use_bias={cfg['bias']})"
        )
    # A dilated kernel is a larger kernel with zeros between its taps: exact, and it runs on TF's
    # CPU kernels, which refuse dilation > 1 with stride > 1.
    eff = tuple(d[i] * (k[i] - 1) + 1 for i in range(2))
    layer = f"layers.Conv2DTranspose({cfg['out']}, {eff}, strides={s}, padding='valid', output_padding={op}, "
    layer += f"use_bias={cfg['bias']})"
    if p == ((0, 0), (0, 0)):
        return layer
    return f"keras.Sequential([{layer}, layers.Cropping2D({p})])"


def _pool_layer(cfg: dict) -> str:
    kind = "max" if cfg["kind"] == "MaxPool2d" else "avg"
    k, s, p, d = cfg["kernel"], cfg["stride"], cfg["padding"], cfg["dilation"]
    name = "MaxPooling2D" if kind == "max" else "AveragePooling2D"
    pads = ((p[0], p[0]), (p[1], p[1]))
    plain = not cfg["ceil_mode"] and d == (1, 1)
    if plain and p == (0, 0):
        return f"layers.{name}({k}, strides={s}, padding='valid')"
    same = all(resolve_padding(n, k, "same", stride=s) == pads for n in _PROBES)
    if plain and same and (kind == "max" or not cfg["count_include_pad"]):
        return f"layers.{name}({k}, strides={s}, padding='same')"  # TF's same never lets a pad win or count
    if plain and (kind == "max" or cfg["count_include_pad"]):
        pad = f"Pad2D({pads}, value=float('-inf'))" if kind == "max" else f"layers.ZeroPadding2D({pads})"
        return f"keras.Sequential([{pad}, layers.{name}({k}, strides={s}, padding='valid')])"
    return (
        f"TorchPool2D({kind!r}, {k}, {s}, {pads}, dilation={d}, ceil_mode={cfg['ceil_mode']}, "
        f"count_include_pad={cfg['count_include_pad']})"
    )


def _pad_layer(cfg: dict) -> str:
    kind, pads = cfg["kind"], cfg["pads"]
    if kind in ("ZeroPad2d", "ConstantPad2d") and cfg["value"] == 0.0:
        grow = tuple((max(b, 0), max(a, 0)) for b, a in pads)
        crop = tuple((max(-b, 0), max(-a, 0)) for b, a in pads)  # negative pads crop, as in F.pad
        parts = [f"layers.ZeroPadding2D({grow})"] if any(map(any, grow)) else []
        parts += [f"layers.Cropping2D({crop})"] if any(map(any, crop)) else []
        if not parts:
            return "layers.Identity()"
        return parts[0] if len(parts) == 1 else f"keras.Sequential([{', '.join(parts)}])"
    if min(min(pair) for pair in pads) < 0:
        raise ValueError(f"to_keras: {kind} with negative pads {pads} is only exact for zero padding")
    if kind == "ConstantPad2d":
        return f"Pad2D({pads}, value={cfg['value']!r})"
    mode = {"ReflectionPad2d": "reflect", "ReplicationPad2d": "replicate", "CircularPad2d": "circular"}[kind]
    return f"Pad2D({pads}, mode={mode!r})"


def keras_expression(cfg: dict) -> str:
    """Keras source text of the layer equivalent to a :func:`torch_config` description.

    The names in the text are ``keras``, ``layers`` and the classes of :data:`LAYER_SOURCE`.

    Raises
    ------
    ValueError
        A configuration Keras cannot compute exactly (see :func:`torch_to_keras`).
    """
    kind = cfg["kind"]
    if kind == "Conv2d":
        return _conv_layer(cfg)
    if kind == "ConvTranspose2d":
        return _transpose_layer(cfg)
    if kind in ("MaxPool2d", "AvgPool2d"):
        return _pool_layer(cfg)
    if kind.endswith("Pad2d"):
        return _pad_layer(cfg)
    if kind == "Sequential":
        return f"keras.Sequential([{', '.join(keras_expression(c) for c in cfg['children'])}])"
    return "layers.ReLU()"


def _kernels(module, cfg: dict) -> list[np.ndarray]:
    """The module's weights in Keras's layouts, in ``layer.get_weights()`` order."""
    w = module.weight.detach().cpu().numpy()
    d = cfg["dilation"]
    if cfg["kind"] == "Conv2d":
        if cfg["groups"] == cfg["in"] and cfg["groups"] > 1 and cfg["out"] % cfg["in"] == 0:
            kernel = w.transpose(2, 3, 0, 1).reshape(*w.shape[2:], cfg["in"], cfg["out"] // cfg["in"])
        else:
            kernel = w.transpose(2, 3, 1, 0)  # OIHW -> HWIO
        dilate = cfg["stride"] != (1, 1) and d != (1, 1)
    else:  # ConvTranspose2d (C_in, C_out, kh, kw) -> (kh, kw, C_out, C_in)
        kernel = w.transpose(2, 3, 1, 0)
        dilate = d != (1, 1)
    if dilate:  # zeros between the taps: the dilated kernel as a plain one
        big = np.zeros(
            ((kernel.shape[0] - 1) * d[0] + 1, (kernel.shape[1] - 1) * d[1] + 1, *kernel.shape[2:]),
            dtype=kernel.dtype,
        )
        big[:: d[0], :: d[1]] = kernel
        kernel = big
    out = [np.ascontiguousarray(kernel, dtype=np.float32)]
    if module.bias is not None:
        out.append(module.bias.detach().cpu().numpy().astype(np.float32))
    return out


def _weighted(layer):
    """The one Conv2D / DepthwiseConv2D / Conv2DTranspose in ``layer`` (a layer or a Sequential)."""
    inner = getattr(layer, "layers", [layer])
    return next(x for x in inner if type(x).__name__.startswith(("Conv2D", "DepthwiseConv2D")))


def torch_to_keras(module):
    """A torch module as a built Keras layer (or ``keras.Sequential``) with the module's weights.

    Parameters
    ----------
    module : torch.nn.Module
        One of :data:`SUPPORTED_TORCH` (an ``nn.Sequential`` of them converts child by child).

    Returns
    -------
    keras.layers.Layer
        Computes the module's function on NHWC input; ``layer.source`` holds its source text.

    Raises
    ------
    ValueError
        A module without an exact Keras equivalent, with the reason: a grouped
        ``ConvTranspose2d``, an ``output_padding`` not below the stride, ``divisor_override``,
        negative non-zero pads, or an unsupported module.
    """
    cfg = torch_config(module)
    text = keras_expression(cfg)
    layer = _build(module, cfg, text)
    layer.source = text
    return layer


def _build(module, cfg: dict, text: str):
    layer = eval(text, _namespace())  # the source text is the layer: what is shown is what runs
    _load(module, cfg, layer)
    return layer


def _load(module, cfg: dict, layer) -> None:
    if cfg["kind"] == "Sequential":
        for child, child_cfg, sub in zip(module, cfg["children"], layer.layers, strict=True):
            _load(child, child_cfg, sub)
    elif cfg["kind"] in ("Conv2d", "ConvTranspose2d"):
        target = _weighted(layer)
        target.build((None, None, None, module.in_channels))
        target.set_weights(_kernels(module, cfg))
