"""A built Keras layer as a ``torch.nn.Module`` computing the same function on NCHW input.

Each conversion is first written as PyTorch source text (:func:`torch_expression`), and the
module is then made by evaluating *that text* in the namespace of :data:`MODULE_SOURCE`, so
the text a reader pastes is the very code that was proven. Layers with a one-to-one PyTorch
twin become it (``nn.Conv2d``, ``nn.MaxPool2d``, ...), with explicit numeric pads wherever the pads
are the same for every input size (so that an ONNX export writes plain ``pads``); TensorFlow's
"same" with a stride, whose pads depend on the input size, becomes a small module of
:data:`MODULE_SOURCE` that works out the pads of every input it sees, as TensorFlow does. The
source needs torch only: the pasted code runs without convlib.

Examples
--------
>>> torch_expression({"kind": "conv", "in": 3, "filters": 8, "kernel": (3, 3), "strides": (2, 2),
...                   "padding": "same", "dilation": (1, 1), "groups": 1, "bias": True})
'Conv2dSame(3, 8, (3, 3), stride=(2, 2), dilation=(1, 1), groups=1, bias=True)'
>>> torch_expression({"kind": "conv", "in": 3, "filters": 8, "kernel": (3, 3), "strides": (1, 1),
...                   "padding": "same", "dilation": (2, 2), "groups": 1, "bias": True})
'nn.Conv2d(3, 8, (3, 3), stride=(1, 1), padding=(2, 2), dilation=(2, 2), groups=1, bias=True)'
"""

from __future__ import annotations

import functools

import numpy as np

from ..shapes.geometry import transpose_axes

__all__ = [
    "MODULE_SOURCE",
    "SUPPORTED_KERAS",
    "keras_config",
    "torch_expression",
    "torch_module",
    "keras_to_torch",
]

MODULE_SOURCE = '''\
import torch
import torch.nn.functional as F
from torch import nn


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def tf_same_pads(x, kernel, stride, dilation=1):
    """TensorFlow's "same" pads of x, as F.pad takes them: (l, r, t, b).

    Per axis, ceil(n / s) outputs need (ceil(n / s) - 1)*s + d*(k - 1) + 1
    cells; the missing ones are split with the odd cell after. Integer
    arithmetic on x.shape, so a dynamic-shape export keeps it as graph
    arithmetic (no negative floor division: ONNX's Div truncates).
    """
    pads = []
    for n, k, s, d in zip(x.shape[:1:-1], _pair(kernel)[::-1],
                          _pair(stride)[::-1], _pair(dilation)[::-1]):
        if not isinstance(n, (int, torch.SymInt)):
            n = int(n)  # the TorchScript tracer hands out tensors
        need = ((n + s - 1) // s - 1) * s + d * (k - 1) + 1
        total = torch.sym_max(need - n, 0)
        pads += [total // 2, total - total // 2]
    return tuple(pads)


class Conv2dSame(nn.Conv2d):
    """nn.Conv2d with TensorFlow's "same": pads by each input's own size."""

    def forward(self, x):
        pads = tf_same_pads(x, self.kernel_size, self.stride, self.dilation)
        return self._conv_forward(F.pad(x, pads), self.weight, self.bias)


class MaxPool2dSame(nn.MaxPool2d):
    """TensorFlow's "same" max pooling: padded cells are -inf, never win."""

    def forward(self, x):
        pads = tf_same_pads(x, self.kernel_size, self.stride)
        x = F.pad(x, pads, value=float("-inf"))
        return F.max_pool2d(x, self.kernel_size, self.stride)


class AvgPool2dSame(nn.AvgPool2d):
    """TensorFlow's "same" average pooling: the mean of real cells only."""

    def forward(self, x):
        pads = tf_same_pads(x, self.kernel_size, self.stride)
        k, s = self.kernel_size, self.stride
        ones = torch.ones_like(x[:, :1])
        total = F.avg_pool2d(F.pad(x, pads), k, s)
        return total / F.avg_pool2d(F.pad(ones, pads), k, s)


class ConvTranspose2dCrop(nn.ConvTranspose2d):
    """ConvTranspose2d, then a crop per side: TF crops the odd cell last."""

    def __init__(self, *args, crops=((0, 0), (0, 0)), **kwargs):
        super().__init__(*args, **kwargs)
        self.crops = crops

    def forward(self, x):
        (t, b), (l, r) = self.crops
        y = super().forward(x)
        return y[..., t : y.shape[-2] - b, l : y.shape[-1] - r]


class Crop2d(nn.Module):
    """Keras Cropping2D: drop ((top, bottom), (left, right)) cells."""

    def __init__(self, cropping):
        super().__init__()
        self.cropping = cropping

    def forward(self, x):
        (t, b), (l, r) = self.cropping
        return x[..., t : x.shape[-2] - b, l : x.shape[-1] - r]
'''

# fmt: off
SUPPORTED_KERAS = (
    "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose", "MaxPooling2D",
    "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "ZeroPadding2D",
    "Cropping2D", "UpSampling2D", "ReLU",
)
_ACTIVATIONS = {"linear": None, "relu": "nn.ReLU()", "relu6": "nn.ReLU6()", "sigmoid": "nn.Sigmoid()",
                "tanh": "nn.Tanh()", "elu": "nn.ELU()", "silu": "nn.SiLU()", "swish": "nn.SiLU()"}
# fmt: on
# A probe size for transposed crops: with the words and Keras's output_padding they do not
# depend on the input size (the forward "same" total of the output is d*(k-1)+1 - s - op).
_PROBE = 16


@functools.cache
def _namespace() -> dict:
    namespace: dict = {}
    exec(compile(MODULE_SOURCE, "<convlib.bridges.keras_to_torch.MODULE_SOURCE>", "exec"), namespace)
    return namespace


def torch_module(text: str):
    """The module that the source ``text`` of :func:`torch_expression` builds, ``source`` set to it.

    The text is evaluated in the namespace of :data:`MODULE_SOURCE`: what is shown is what runs.
    """
    module = eval(text, _namespace())
    module.source = text
    return module


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if np.isscalar(v) else (int(v[0]), int(v[1]))


def keras_config(layer) -> dict:
    """The framework-free description of a built Keras layer that :func:`torch_expression` reads.

    Both data formats are accepted: the PyTorch module is the same either way (NCHW).

    Raises
    ------
    ValueError
        An unbuilt layer, a layer not in :data:`SUPPORTED_KERAS`, an activation without a
        PyTorch twin, a padding other than "valid"/"same", an interpolation whose kernel
        differs between the frameworks, or a ReLU with options.
    """
    kind = type(layer).__name__
    if kind not in SUPPORTED_KERAS:
        raise ValueError(
            f"to_torch: Keras {kind} has no exact PyTorch equivalent in convlib "
            f"(supported: {', '.join(SUPPORTED_KERAS)})"
        )
    if not layer.built:
        raise ValueError(f"to_torch: Keras {kind} {layer.name!r} is not built; call it on an input first")
    cfg: dict = {"kind": kind}
    if kind in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose"):
        act = getattr(layer.activation, "__name__", str(layer.activation))
        if act not in _ACTIVATIONS:
            raise ValueError(f"to_torch: activation {act!r} of {layer.name!r} has no PyTorch layer here")
        cfg.update(
            kernel=_pair(layer.kernel_size),
            strides=_pair(layer.strides),
            padding=layer.padding,
            dilation=_pair(layer.dilation_rate),
            bias=bool(layer.use_bias),
            activation=act,
        )
        if layer.padding not in ("valid", "same"):
            raise ValueError(
                f"to_torch: padding {layer.padding!r} of {layer.name!r} is not 'valid' or 'same'"
            )
    if kind == "Conv2D":
        cfg.update(kernel_shape=tuple(layer.kernel.shape), groups=int(layer.groups))
    elif kind in ("DepthwiseConv2D", "SeparableConv2D"):
        shape = tuple((layer.kernel if kind == "DepthwiseConv2D" else layer.depthwise_kernel).shape)
        cfg.update(kernel_shape=shape, multiplier=int(layer.depth_multiplier))
        if kind == "SeparableConv2D":
            cfg["filters"] = int(layer.filters)
    elif kind == "Conv2DTranspose":
        op = layer.output_padding
        cfg.update(kernel_shape=tuple(layer.kernel.shape), output_padding=None if op is None else _pair(op))
    elif kind in ("MaxPooling2D", "AveragePooling2D"):
        cfg.update(kernel=_pair(layer.pool_size), strides=_pair(layer.strides), padding=layer.padding)
    elif kind in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        cfg["keepdims"] = bool(layer.keepdims)
    elif kind == "ZeroPadding2D":
        cfg["pads"] = tuple(_pair(p) for p in layer.padding)
    elif kind == "Cropping2D":
        cfg["pads"] = tuple(_pair(p) for p in layer.cropping)
    elif kind == "UpSampling2D":
        if layer.interpolation not in ("nearest", "bilinear"):
            raise ValueError(
                f"to_torch: UpSampling2D interpolation {layer.interpolation!r} differs from PyTorch's "
                "(TensorFlow's bicubic uses a = -0.5, PyTorch's a = -0.75; lanczos has no torch mode); "
                "only 'nearest' and 'bilinear' are exact"
            )
        cfg.update(size=_pair(layer.size), interpolation=layer.interpolation)
    elif kind == "ReLU":
        if layer.max_value is not None or float(layer.negative_slope) or float(layer.threshold):
            raise ValueError(
                "to_torch: only a plain ReLU (no max_value, negative_slope or threshold) is exact"
            )
    cfg["channels_first"] = getattr(layer, "data_format", "channels_last") == "channels_first"
    return cfg


def _conv_text(cin: int, cout: int, k, s, padding, d, groups: int, bias: bool) -> str:
    # TF's "same" at stride 1 is d*(k-1) cells in all, the odd one last, for every input size: with
    # an even total, explicit symmetric pads are exact. They are written as numbers, not as
    # padding="same": the TorchScript exporter writes that as auto_pad SAME_UPPER, which ONNX
    # Runtime refuses with dilation (KNOWN_DEFECTS["ort-conv-same-dilated"]). An odd total or a
    # stride leaves Conv2dSame, which pads each input by its own size.
    half = tuple(d[i] * (k[i] - 1) // 2 for i in range(2))
    tail = f"groups={groups}, bias={bias})"
    even = all(d[i] * (k[i] - 1) % 2 == 0 for i in range(2))
    if padding == "valid" or (s == (1, 1) and even):
        pad = (0, 0) if padding == "valid" else half
        return f"nn.Conv2d({cin}, {cout}, {k}, stride={s}, padding={pad}, dilation={d}, {tail}"
    return f"Conv2dSame({cin}, {cout}, {k}, stride={s}, dilation={d}, {tail}"


def _pool_text(kind: str, k, s, padding) -> str:
    name = "MaxPool2d" if kind == "MaxPooling2D" else "AvgPool2d"
    if padding == "valid":
        return f"nn.{name}({k}, stride={s})"
    if s == (1, 1) and k[0] % 2 and k[1] % 2:  # symmetric and the same for every input size
        p = ((k[0] - 1) // 2, (k[1] - 1) // 2)
        extra = ", count_include_pad=False" if name == "AvgPool2d" else ""
        return f"nn.{name}({k}, stride={s}, padding={p}{extra})"
    return f"{name}Same({k}, stride={s})"


def _transpose_text(cfg: dict, cin: int, cout: int) -> str:
    k, s, d = cfg["kernel"], cfg["strides"], cfg["dilation"]
    probe = (_PROBE, _PROBE)
    axes = transpose_axes(
        probe, k, stride=s, padding=cfg["padding"], output_padding=cfg["output_padding"], dilation=d
    )
    crops = tuple(a.pads for a in axes)
    op = tuple(a.left for a in axes)
    tail = f"dilation={d}, bias={cfg['bias']}"
    if all(b == a for b, a in crops):
        return (
            f"nn.ConvTranspose2d({cin}, {cout}, {k}, stride={s}, padding={(crops[0][0], crops[1][0])}, "
            + (f"output_padding={op}, {tail})")
        )
    return f"ConvTranspose2dCrop({cin}, {cout}, {k}, stride={s}, output_padding={op}, {tail}, crops={crops})"


def torch_expression(cfg: dict) -> str:
    """PyTorch source text of the module equivalent to a :func:`keras_config` description.

    The names in the text are ``nn`` and the classes of :data:`MODULE_SOURCE`.
    """
    kind = cfg["kind"]
    if kind == "conv":  # the bare convolution, also used by the CLI
        return _conv_text(
            cfg["in"],
            cfg["filters"],
            cfg["kernel"],
            cfg["strides"],
            cfg["padding"],
            cfg["dilation"],
            cfg["groups"],
            cfg["bias"],
        )
    if kind == "Conv2D":
        kh, kw, cin_g, cout = cfg["kernel_shape"]
        text = _conv_text(
            cin_g * cfg["groups"],
            cout,
            cfg["kernel"],
            cfg["strides"],
            cfg["padding"],
            cfg["dilation"],
            cfg["groups"],
            cfg["bias"],
        )
    elif kind in ("DepthwiseConv2D", "SeparableConv2D"):
        cin, m = cfg["kernel_shape"][2], cfg["multiplier"]
        dw_bias = cfg["bias"] and kind == "DepthwiseConv2D"
        text = _conv_text(
            cin, cin * m, cfg["kernel"], cfg["strides"], cfg["padding"], cfg["dilation"], cin, dw_bias
        )
        if kind == "SeparableConv2D":
            text = f"nn.Sequential({text}, nn.Conv2d({cin * m}, {cfg['filters']}, 1, bias={cfg['bias']}))"
    elif kind == "Conv2DTranspose":
        kh, kw, cout, cin = cfg["kernel_shape"]
        text = _transpose_text(cfg, cin, cout)
    elif kind in ("MaxPooling2D", "AveragePooling2D"):
        return _pool_text(kind, cfg["kernel"], cfg["strides"], cfg["padding"])
    elif kind in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        pool = "nn.AdaptiveAvgPool2d(1)" if kind == "GlobalAveragePooling2D" else "nn.AdaptiveMaxPool2d(1)"
        return pool if cfg["keepdims"] else f"nn.Sequential({pool}, nn.Flatten())"
    elif kind == "ZeroPadding2D":
        (t, b), (left, r) = cfg["pads"]
        return f"nn.ZeroPad2d({(left, r, t, b)})"
    elif kind == "Cropping2D":
        return f"Crop2d({cfg['pads']})"
    elif kind == "UpSampling2D":
        extra = ", align_corners=False" if cfg["interpolation"] == "bilinear" else ""
        return f"nn.Upsample(scale_factor={cfg['size']}, mode={cfg['interpolation']!r}{extra})"
    else:
        return "nn.ReLU()"
    act = _ACTIVATIONS[cfg["activation"]]
    return text if act is None else f"nn.Sequential({text}, {act})"


def _state(layer, cfg: dict) -> dict[str, np.ndarray]:
    """The Keras weights in PyTorch's layouts, keyed by the module's parameter names."""
    kind = cfg["kind"]
    w = [np.asarray(v) for v in layer.get_weights()]
    prefix = "0." if cfg.get("activation") not in (None, "linear") and kind != "SeparableConv2D" else ""
    if kind in ("Conv2D", "Conv2DTranspose"):
        # HWIO (Conv2D) and (kh, kw, C_out, C_in) (Conv2DTranspose) both become (3, 2, 0, 1).
        state = {"weight": w[0].transpose(3, 2, 0, 1)}
        if cfg["bias"]:
            state["bias"] = w[1]
    elif kind == "DepthwiseConv2D":
        kh, kw, cin, m = w[0].shape  # output channel c*m + j reads input channel c
        state = {"weight": w[0].reshape(kh, kw, 1, cin * m).transpose(3, 2, 0, 1)}
        if cfg["bias"]:
            state["bias"] = w[1]
    elif kind == "SeparableConv2D":
        kh, kw, cin, m = w[0].shape
        state = {
            "0.weight": w[0].reshape(kh, kw, 1, cin * m).transpose(3, 2, 0, 1),
            "1.weight": w[1].transpose(3, 2, 0, 1),
        }
        if cfg["bias"]:
            state["1.bias"] = w[2]
        prefix = "0." if cfg["activation"] != "linear" else ""
    else:
        return {}
    return {prefix + name: np.ascontiguousarray(v, dtype=np.float32) for name, v in state.items()}


def keras_to_torch(layer):
    """A built Keras layer as a ``torch.nn.Module`` (eval mode) with the layer's weights.

    Parameters
    ----------
    layer : keras.layers.Layer
        One of :data:`SUPPORTED_KERAS`, built (called once on an input).

    Returns
    -------
    torch.nn.Module
        Computes the layer's function on NCHW input; ``module.source`` holds its source text.

    Raises
    ------
    ValueError
        As :func:`keras_config`: the layer has no exact PyTorch equivalent, or is not built.
    """
    import torch

    cfg = keras_config(layer)
    module = torch_module(torch_expression(cfg))
    state = _state(layer, cfg)
    if state:
        module.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    return module.eval()
