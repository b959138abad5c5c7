"""Built-in shape-level networks (VGG-16, ResNet-18, ResNet-50) and their PyTorch twins.

The specs describe architectures only, no weights. :func:`to_torch` builds the same spec
as a ``torch.nn.Module`` with random weights and module names equal to the row names of
:func:`convlib.network.trace`, and :func:`record_shapes` runs it with forward hooks, so
every traced shape can be compared with what PyTorch actually produces.
"""

from __future__ import annotations

import functools
from collections import OrderedDict

from .bridges import Inexpressible, express_pool2d
from .network import iter_layers, trace
from .records import (
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Flatten,
    GlobalAvgPool,
    MaxPool2D,
    ReLU,
    Residual,
    Sequential,
    resolve_pads,
)

__all__ = ["vgg16", "resnet18", "resnet50", "to_torch", "record_shapes"]

_VGG16 = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


def vgg16(num_classes: int = 1000, include_top: bool = True) -> list:
    """VGG-16 (configuration D) as in the paper: 13 3x3 convs with padding 1, 5 max pools.

    The classifier starts with ``Dense(4096, in_features=512*7*7)``, so the full network
    only accepts inputs whose ``features`` output is 7x7 (224x224 up to rounding).
    torchvision hides this with an ``AdaptiveAvgPool2d((7, 7))``; this spec shows it.

    Examples
    --------
    >>> trace(vgg16(), (3, 224, 224)).total_params
    138357544
    """
    features = []
    for v in _VGG16:
        features += [MaxPool2D(2, 2)] if v == "M" else [Conv2D(v, 3, padding=1), ReLU()]
    spec = [Sequential(features, name="features")]
    if include_top:
        head = [Dense(4096, in_features=512 * 7 * 7), ReLU(), Dense(4096), ReLU(), Dense(num_classes)]
        spec += [Flatten(name="flatten"), Sequential(head, name="classifier")]
    return spec


def _stem() -> list:
    return [
        Conv2D(64, 7, stride=2, padding=3, bias=False, name="conv1"),
        BatchNorm(name="bn1"),
        ReLU(name="relu"),
        MaxPool2D(3, stride=2, padding=1, name="maxpool"),
    ]


def _projection(c_in: int, c_out: int, stride: int) -> list:
    # torchvision's "downsample": a 1x1 conv with the block's stride, only where shapes change.
    if stride == 1 and c_in == c_out:
        return []
    return [Conv2D(c_out, 1, stride=stride, bias=False), BatchNorm()]


def _resnet(block, depths, expansion: int, num_classes: int) -> list:
    spec, c_in = _stem(), 64
    for stage, (planes, depth) in enumerate(zip((64, 128, 256, 512), depths, strict=True)):
        blocks = []
        for b in range(depth):
            stride = 2 if stage > 0 and b == 0 else 1
            main = block(planes, stride)
            blocks.append(Residual(main, _projection(c_in, planes * expansion, stride), name=str(b)))
            c_in = planes * expansion
        spec.append(Sequential(blocks, name=f"layer{stage + 1}"))
    return spec + [
        GlobalAvgPool(name="avgpool"),
        Flatten(name="flatten"),
        Dense(num_classes, in_features=c_in, name="fc"),
    ]


def _basic(planes: int, stride: int) -> list:
    return [
        Conv2D(planes, 3, stride=stride, padding=1, bias=False, name="conv1"),
        BatchNorm(name="bn1"),
        ReLU(name="relu"),
        Conv2D(planes, 3, padding=1, bias=False, name="conv2"),
        BatchNorm(name="bn2"),
    ]


def _bottleneck(planes: int, stride: int) -> list:
    # torchvision (ResNet v1.5) puts the stride on the 3x3 conv, not on the first 1x1.
    return [
        Conv2D(planes, 1, bias=False, name="conv1"),
        BatchNorm(name="bn1"),
        ReLU(name="relu1"),
        Conv2D(planes, 3, stride=stride, padding=1, bias=False, name="conv2"),
        BatchNorm(name="bn2"),
        ReLU(name="relu2"),
        Conv2D(planes * 4, 1, bias=False, name="conv3"),
        BatchNorm(name="bn3"),
    ]


def resnet18(num_classes: int = 1000) -> list:
    """ResNet-18 with torchvision's layout: basic blocks ``[2, 2, 2, 2]``, global pooling head.

    Examples
    --------
    >>> trace(resnet18(), (3, 200, 300))["layer4.1"].output_shape
    (512, 7, 10)
    """
    return _resnet(_basic, (2, 2, 2, 2), 1, num_classes)


def resnet50(num_classes: int = 1000) -> list:
    """ResNet-50 with torchvision's layout: bottlenecks ``[3, 4, 6, 3]``, stride on the 3x3.

    Examples
    --------
    >>> trace(resnet50(), (3, 224, 224)).output_shape
    (1000,)
    """
    return _resnet(_bottleneck, (3, 4, 6, 3), 4, num_classes)


@functools.cache
def _torch_parts():
    """torch module classes, defined on first use so that convlib imports without torch."""
    import torch

    nn, F = torch.nn, torch.nn.functional

    class Padded(nn.Module):
        """Pad by the layer's pads for this input size (TF "same" depends on it), then run ``inner``."""

        def __init__(self, layer, inner):
            super().__init__()
            self.layer, self.inner = layer, inner

        def forward(self, x):
            (t, b), (left, r) = resolve_pads(self.layer, x.shape[-2], x.shape[-1])
            return self.inner(F.pad(x, (left, r, t, b)))

    class Pool(nn.Module):
        """A pooling layer as :func:`convlib.bridges.express_pool2d` expresses it for this input's
        pads (TF's "same" average: a sum over the real-cell count)."""

        def __init__(self, layer):
            super().__init__()
            self.layer = layer

        def forward(self, x):
            return _pool_expression(self.layer, x.shape[-2], x.shape[-1]).call(x)

    class Block(nn.Module):
        def __init__(self, main, shortcut, relu):
            super().__init__()
            self.main, self.shortcut, self.relu = main, shortcut, relu

        def forward(self, x):
            y = self.main(x) + self.shortcut(x)  # an empty Sequential is the identity
            return torch.relu(y) if self.relu else y

    return torch, nn, Padded, Block, Pool


def _torch_layer(layer, shape, parts):
    torch, nn, Padded, Block, Pool = parts
    if isinstance(layer, Conv2D):
        native = _symmetric(layer.padding)
        conv = nn.Conv2d(shape[0], layer.filters, layer.kernel, layer.stride, native or 0,
                         layer.dilation, layer.groups, bias=layer.bias)  # fmt: skip
        return conv if native is not None else Padded(layer, conv)
    if isinstance(layer, (MaxPool2D, AvgPool2D)):
        return _torch_pool(layer, shape, nn, Pool)
    if isinstance(layer, GlobalAvgPool):
        return nn.AdaptiveAvgPool2d(1)
    if isinstance(layer, Flatten):
        return nn.Flatten()
    if isinstance(layer, Dense):
        return nn.Linear(shape[0], layer.units, bias=layer.bias)
    if isinstance(layer, BatchNorm):
        return nn.BatchNorm2d(shape[0]) if len(shape) == 3 else nn.BatchNorm1d(shape[0])
    return nn.ReLU()


def _symmetric(padding):
    """``(ph, pw)`` when torch's own ``padding=`` can express the pads, else None."""
    if isinstance(padding, str):
        return (0, 0) if padding == "valid" else None
    (t, b), (left, r) = padding
    return (t, left) if t == b and left == r else None


def _pool_expression(layer, h: int, w: int):
    """The PyTorch call of a pooling layer on an ``h x w`` input (:mod:`convlib.bridges`)."""
    kind = "max" if isinstance(layer, MaxPool2D) else "avg"
    return express_pool2d(
        "pytorch", kind, pool_size=layer.kernel, strides=layer.stride, padding=layer.padding,
        pads=resolve_pads(layer, h, w), dilation=layer.dilation, ceil_mode=layer.ceil_mode,
        count_include_pad=getattr(layer, "count_include_pad", True),
    )  # fmt: skip


def _torch_pool(layer, shape, nn, Pool):
    native = _symmetric(layer.padding)
    # torch refuses pads over half the window; pad outside then (values as the pooling needs).
    if native is not None and all(p <= k // 2 for p, k in zip(native, layer.kernel, strict=True)):
        if isinstance(layer, MaxPool2D):
            return nn.MaxPool2d(layer.kernel, layer.stride, native, layer.dilation, ceil_mode=layer.ceil_mode)
        return nn.AvgPool2d(layer.kernel, layer.stride, native, layer.ceil_mode, layer.count_include_pad)
    try:
        _pool_expression(layer, shape[-2], shape[-1])
    except Inexpressible as exc:
        raise ValueError(
            f"to_torch: {type(layer).__name__} with padding {layer.padding!r} and ceil_mode=True has "
            f"no PyTorch equivalent ({exc.reason}: padding outside the pool changes ceil_mode's "
            "last-window rule)"
        ) from None
    return Pool(layer)


def to_torch(spec, input_shape: tuple[int, int, int]):
    """Build ``spec`` as a ``torch.nn.Module`` (random weights, eval mode).

    Parameters
    ----------
    spec : list of layer records
    input_shape : (C, H, W)
        Fixes the channel counts (and a :class:`Dense` layer's inputs when it gives none).

    Returns
    -------
    torch.nn.Module
        Module names equal the row names of ``trace(spec, input_shape)``.

    Raises
    ------
    ValueError
        Whatever :func:`convlib.network.trace` raises for this input, or a pooling layer
        PyTorch cannot express.

    Examples
    --------
    >>> net = to_torch([Conv2D(4, 3, stride=2, padding="same"), Flatten()], (1, 5, 6))
    >>> tuple(net(__import__("torch").zeros(1, 1, 5, 6)).shape)
    (1, 36)
    """
    rows = {r.name: r for r in trace(spec, input_shape).rows}
    parts = _torch_parts()
    torch, nn, Padded, Block, Pool = parts
    modules: dict[str, object] = {}
    # Build leaves first, then containers from their children, deepest first.
    for name, layer in reversed(list(iter_layers(spec))):
        if isinstance(layer, Sequential):
            modules[name] = _sequential(nn, modules, name, layer.layers)
        elif isinstance(layer, Residual):
            main = _sequential(nn, modules, name + ".main", layer.main)
            short = _sequential(nn, modules, name + ".shortcut", layer.shortcut)
            modules[name] = Block(main, short, layer.relu)
        else:
            modules[name] = _torch_layer(layer, rows[name].input_shape, parts)
    return _sequential(nn, modules, "", spec).eval()


def _sequential(nn, modules, prefix, layers):
    pre = f"{prefix}." if prefix else ""
    keys = [layer.name if layer.name is not None else str(i) for i, layer in enumerate(layers)]
    return nn.Sequential(OrderedDict((k, modules[pre + k]) for k in keys))


def record_shapes(module, input_shape: tuple[int, int, int]) -> dict[str, tuple[int, ...]]:
    """Run ``module`` once on zeros of shape ``(1, *input_shape)`` and record every output shape.

    Returns
    -------
    dict
        ``{module name: output shape without the batch axis}`` for every named submodule.
    """
    torch = _torch_parts()[0]
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = [
        m.register_forward_hook(lambda _m, _i, out, n=name: shapes.__setitem__(n, tuple(out.shape[1:])))
        for name, m in module.named_modules()
        if name
    ]
    try:
        with torch.no_grad():
            module(torch.zeros(1, *input_shape))
    finally:
        for h in hooks:
            h.remove()
    return shapes
