"""A convlib spec as a ``torch.nn.Module`` with random weights, and the shapes it really produces.

:func:`spec_to_torch` (reached through :func:`convlib.bridges.porting.to_torch`) builds a list of
:mod:`convlib.records` as PyTorch modules whose names are the row names of
:func:`convlib.graph.trace`; :func:`record_shapes` runs a module once with forward hooks, so every
traced shape can be compared with what PyTorch produces. Pads that do not depend on the input size
are written into the modules; TensorFlow's "same" with a stride becomes ``Conv2dSame`` /
``MaxPool2dSame`` / ``AvgPool2dSame`` of :data:`~convlib.bridges.keras_to_torch.MODULE_SOURCE`,
which work out their pads from each input without convlib. torch is imported on first use.
"""

from __future__ import annotations

import functools
from collections import OrderedDict

from .. import records as rec
from ..graph.trace import trace
from .express import Inexpressible, express_pool2d
from .keras_to_torch import torch_expression, torch_module

__all__ = ["spec_to_torch", "record_shapes"]


@functools.cache
def _torch_parts():
    """torch module classes, defined on first use so that convlib imports without torch."""
    import torch

    nn, F = torch.nn, torch.nn.functional

    class Padded(nn.Module):
        """Fixed pads ``(left, right, top, bottom)`` that ``inner``'s own ``padding=`` cannot take."""

        def __init__(self, pads, inner):
            super().__init__()
            self.pads, self.inner = pads, inner

        def forward(self, x):
            return self.inner(F.pad(x, self.pads))

    class Pool(nn.Module):
        """A pooling layer as :func:`convlib.bridges.express_pool2d` expresses it for this input's
        pads (dilated or ``ceil_mode`` pooling whose pads torch's ``padding=`` cannot take)."""

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

    return nn, Padded, Block, Pool


def _conv(layer: rec.ConvSpec, shape, nn, Padded):
    cin, h, w = shape
    if layer.padding == "same" and layer.stride != (1, 1):  # pads that depend on the input size
        cfg = dict(kind="conv", filters=layer.filters, kernel=layer.kernel, strides=layer.stride,
                   padding="same", dilation=layer.dilation, groups=layer.groups, bias=layer.bias)  # fmt: skip
        return torch_module(torch_expression({**cfg, "in": cin}))
    (t, b), (left, r) = rec.resolve_pads(layer, h, w)  # the same for every input size
    symmetric = t == b and left == r
    conv = nn.Conv2d(cin, layer.filters, layer.kernel, layer.stride, (t, left) if symmetric else 0,
                     layer.dilation, layer.groups, bias=layer.bias)  # fmt: skip
    return conv if symmetric else Padded((left, r, t, b), conv)


def _pool_expression(layer, h: int, w: int):
    """The PyTorch call of a pooling layer on an ``h x w`` input (:mod:`convlib.bridges.express`)."""
    kind = "max" if isinstance(layer, rec.MaxPoolSpec) else "avg"
    return express_pool2d(
        "pytorch", kind, pool_size=layer.kernel, strides=layer.stride, padding=layer.padding,
        pads=rec.resolve_pads(layer, h, w), dilation=layer.dilation, ceil_mode=layer.ceil_mode,
        count_include_pad=getattr(layer, "count_include_pad", True),
    )  # fmt: skip


def _pool(layer, shape, nn, Pool):
    max_pool = isinstance(layer, rec.MaxPoolSpec)
    if layer.padding == "same" and layer.dilation == (1, 1) and not layer.ceil_mode:
        kind = "MaxPooling2D" if max_pool else "AveragePooling2D"  # TF's "same", as Keras's layers
        return torch_module(
            torch_expression(dict(kind=kind, kernel=layer.kernel, strides=layer.stride, padding="same"))
        )
    native = (0, 0) if layer.padding == "valid" else None
    if not isinstance(layer.padding, str):
        (t, b), (left, r) = layer.padding
        native = (t, left) if t == b and left == r else None
    # torch refuses pads over half the window; pad outside then (values as the pooling needs).
    if native is not None and all(p <= k // 2 for p, k in zip(native, layer.kernel, strict=True)):
        if max_pool:
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


def _leaf(layer, shape, parts):
    nn, Padded, _, Pool = parts
    if isinstance(layer, rec.ConvSpec):
        return _conv(layer, shape, nn, Padded)
    if isinstance(layer, (rec.MaxPoolSpec, rec.AvgPoolSpec)):
        return _pool(layer, shape, nn, Pool)
    if isinstance(layer, rec.GlobalAvgPoolSpec):
        return nn.AdaptiveAvgPool2d(1)
    if isinstance(layer, rec.FlattenSpec):
        return nn.Flatten()
    if isinstance(layer, rec.DenseSpec):
        return nn.Linear(shape[0], layer.units, bias=layer.bias)
    if isinstance(layer, rec.BatchNormSpec):
        return nn.BatchNorm2d(shape[0]) if len(shape) == 3 else nn.BatchNorm1d(shape[0])
    return nn.ReLU()


def spec_to_torch(spec, input_shape: tuple[int, int, int]):
    """Build ``spec`` as a ``torch.nn.Module`` (random weights, eval mode); the door is
    :func:`convlib.bridges.porting.to_torch`.

    Parameters
    ----------
    spec : list of convlib.records layers
    input_shape : (C, H, W)
        Fixes the channel counts (and a :class:`~convlib.records.DenseSpec`'s inputs when it
        gives none).

    Returns
    -------
    torch.nn.Module
        Module names equal the row names of ``convlib.graph.trace(spec, input_shape)``.

    Raises
    ------
    ValueError
        Whatever :func:`convlib.graph.trace` raises for this input, or a pooling layer PyTorch
        cannot express.
    """
    t = trace(spec, input_shape)
    parts = _torch_parts()
    nn, _, Block, _ = parts
    modules: dict[str, object] = {}
    # Build leaves first, then containers from their children, deepest first.
    for name, layer in reversed(list(rec.iter_layers(spec))):
        if isinstance(layer, rec.SequentialSpec):
            modules[name] = _sequential(nn, modules, name, layer.layers)
        elif isinstance(layer, rec.ResidualSpec):
            main = _sequential(nn, modules, name + ".main", layer.main)
            short = _sequential(nn, modules, name + ".shortcut", layer.shortcut)
            modules[name] = Block(main, short, layer.relu)
        else:
            modules[name] = _leaf(layer, t[t[name].inputs[0]].output_shape, parts)
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
    import torch

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
