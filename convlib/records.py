"""The network spec language: plain frozen dataclasses that describe a layer's arguments
(normalised once, at creation) and compute nothing.

The names end in ``Spec`` (:class:`ConvSpec`, :class:`MaxPoolSpec`, ...) so that ``Conv2D`` means
one thing, the layer :class:`convlib.layers.Conv2D` that computes. :mod:`convlib.zoo` writes VGG
and ResNet with these records; :func:`convlib.graph.trace` reads a list of them like any model
(:func:`convlib.graph.build.from_model`), and :func:`convlib.bridges.porting.to_torch` builds one
as a PyTorch module.
"""

from __future__ import annotations

from dataclasses import dataclass

from .padding import check_positive_int, normalize_padding, normalize_pair
from .shapes import resolve_padding

__all__ = [
    "LayerSpec",
    "ConvSpec",
    "MaxPoolSpec",
    "AvgPoolSpec",
    "GlobalAvgPoolSpec",
    "FlattenSpec",
    "DenseSpec",
    "ReLUSpec",
    "BatchNormSpec",
    "ResidualSpec",
    "SequentialSpec",
    "resolve_pads",
    "iter_layers",
]


class LayerSpec:
    """Base class of the layer records (plain frozen dataclasses that describe, not compute)."""

    name: str | None = None


def _set(obj, **values) -> None:
    for key, value in values.items():
        object.__setattr__(obj, key, value)  # the records are frozen; normalise once, at creation


def _layers(items, what: str) -> tuple:
    items = tuple(items)
    for i, item in enumerate(items):
        if not isinstance(item, LayerSpec):
            raise TypeError(f"{what}[{i}] must be a layer record, got {type(item).__name__}")
    return items


@dataclass(frozen=True)
class ConvSpec(LayerSpec):
    """A convolution: ``filters`` outputs, ``kernel``/``stride``/``dilation`` as int or (h, w).

    ``padding`` takes every form of :func:`convlib.padding.normalize_padding`; ``"same"``
    follows TensorFlow (extra cell bottom/right).
    """

    filters: int
    kernel: int | tuple[int, int] = 3
    stride: int | tuple[int, int] = 1
    padding: object = 0
    dilation: int | tuple[int, int] = 1
    groups: int = 1
    bias: bool = True
    name: str | None = None

    def __post_init__(self):
        _set(
            self,
            filters=check_positive_int(self.filters, "filters"),
            kernel=normalize_pair(self.kernel, "kernel"),
            stride=normalize_pair(self.stride, "stride"),
            dilation=normalize_pair(self.dilation, "dilation"),
            groups=check_positive_int(self.groups, "groups"),
            padding=normalize_padding(self.padding),
        )
        if self.filters % self.groups:
            raise ValueError(f"groups={self.groups} must divide filters={self.filters}")


@dataclass(frozen=True)
class MaxPoolSpec(LayerSpec):
    """Max pooling; ``stride`` defaults to ``kernel``; ``ceil_mode`` as in PyTorch."""

    kernel: int | tuple[int, int]
    stride: int | tuple[int, int] | None = None
    padding: object = 0
    dilation: int | tuple[int, int] = 1
    ceil_mode: bool = False
    name: str | None = None

    def __post_init__(self):
        kernel = normalize_pair(self.kernel, "kernel")
        stride = kernel if self.stride is None else normalize_pair(self.stride, "stride")
        _set(self, kernel=kernel, stride=stride, padding=normalize_padding(self.padding))
        _set(self, dilation=normalize_pair(self.dilation, "dilation"))


@dataclass(frozen=True)
class AvgPoolSpec(LayerSpec):
    """Average pooling; ``count_include_pad`` as in PyTorch (``"same"`` always excludes pads, as TF)."""

    kernel: int | tuple[int, int]
    stride: int | tuple[int, int] | None = None
    padding: object = 0
    ceil_mode: bool = False
    count_include_pad: bool = True
    name: str | None = None
    dilation = (1, 1)  # a class constant, not a field: average pooling has no dilation

    def __post_init__(self):
        kernel = normalize_pair(self.kernel, "kernel")
        stride = kernel if self.stride is None else normalize_pair(self.stride, "stride")
        _set(self, kernel=kernel, stride=stride, padding=normalize_padding(self.padding))


@dataclass(frozen=True)
class GlobalAvgPoolSpec(LayerSpec):
    """Average over the whole grid: ``(C, H, W) -> (C, 1, 1)``, like ``AdaptiveAvgPool2d(1)``."""

    name: str | None = None


@dataclass(frozen=True)
class FlattenSpec(LayerSpec):
    """``(C, H, W) -> (C*H*W,)``."""

    name: str | None = None


@dataclass(frozen=True)
class DenseSpec(LayerSpec):
    """A fully connected layer; a fixed ``in_features`` is checked against the flattened size."""

    units: int
    in_features: int | None = None
    bias: bool = True
    name: str | None = None

    def __post_init__(self):
        _set(self, units=check_positive_int(self.units, "units"))
        if self.in_features is not None:
            _set(self, in_features=check_positive_int(self.in_features, "in_features"))


@dataclass(frozen=True)
class ReLUSpec(LayerSpec):
    """Shape-neutral, no parameters."""

    name: str | None = None


@dataclass(frozen=True)
class BatchNormSpec(LayerSpec):
    """Shape-neutral; ``2*C`` parameters (scale and shift; the running statistics are buffers)."""

    name: str | None = None


@dataclass(frozen=True)
class SequentialSpec(LayerSpec):
    """A named group of layers (a ResNet stage); its children are named ``<name>.<i>``."""

    layers: tuple = ()
    name: str | None = None

    def __post_init__(self):
        _set(self, layers=_layers(self.layers, "SequentialSpec.layers"))


@dataclass(frozen=True)
class ResidualSpec(LayerSpec):
    """``relu(main(x) + shortcut(x))``; an empty ``shortcut`` is the identity."""

    main: tuple = ()
    shortcut: tuple = ()
    relu: bool = True
    name: str | None = None

    def __post_init__(self):
        _set(
            self,
            main=_layers(self.main, "ResidualSpec.main"),
            shortcut=_layers(self.shortcut, "ResidualSpec.shortcut"),
        )


def resolve_pads(layer, h: int, w: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """``((top, bottom), (left, right))`` of a window layer on an ``h x w`` input.

    Examples
    --------
    >>> resolve_pads(ConvSpec(1, 3, stride=2, padding="same"), 10, 11)
    ((0, 1), (1, 1))
    """
    return resolve_padding((h, w), layer.kernel, layer.padding, stride=layer.stride, dilation=layer.dilation)


def iter_layers(spec, prefix: str = ""):
    """Yield ``(name, layer)`` for every record, containers included, in execution order.

    Names join the path with dots, as the rows of :func:`convlib.graph.trace` and ``torch``'s
    ``named_modules`` do.

    Examples
    --------
    >>> [name for name, _ in iter_layers([ConvSpec(2, 3), ResidualSpec([ReLUSpec()], name="r")])]
    ['0', 'r', 'r.main.0']
    """
    for i, layer in enumerate(spec.layers if isinstance(spec, SequentialSpec) else spec):
        name = f"{prefix}{layer.name if layer.name is not None else i}"
        yield name, layer
        if isinstance(layer, SequentialSpec):
            yield from iter_layers(layer.layers, name + ".")
        elif isinstance(layer, ResidualSpec):
            yield from iter_layers(layer.main, name + ".main.")
            yield from iter_layers(layer.shortcut, name + ".shortcut.")
