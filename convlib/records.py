"""The layer records of the network spec language: plain frozen dataclasses that describe a
layer's arguments (normalised once, at creation) and compute nothing. :mod:`convlib.network`
walks them; :mod:`convlib.zoo` writes VGG and ResNet with them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .padding import check_positive_int, normalize_padding, normalize_pair
from .shapes import resolve_padding

__all__ = [
    "Layer",
    "Conv2D",
    "MaxPool2D",
    "AvgPool2D",
    "GlobalAvgPool",
    "Flatten",
    "Dense",
    "ReLU",
    "BatchNorm",
    "Residual",
    "Sequential",
    "resolve_pads",
]


class Layer:
    """Base class of the layer records (plain frozen dataclasses that describe, not compute)."""

    name: str | None = None


def _set(obj, **values) -> None:
    for key, value in values.items():
        object.__setattr__(obj, key, value)  # the records are frozen; normalise once, at creation


def _layers(items, what: str) -> tuple:
    items = tuple(items)
    for i, item in enumerate(items):
        if not isinstance(item, Layer):
            raise TypeError(f"{what}[{i}] must be a layer record, got {type(item).__name__}")
    return items


@dataclass(frozen=True)
class Conv2D(Layer):
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
class MaxPool2D(Layer):
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
class AvgPool2D(Layer):
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
class GlobalAvgPool(Layer):
    """Average over the whole grid: ``(C, H, W) -> (C, 1, 1)``, like ``AdaptiveAvgPool2d(1)``."""

    name: str | None = None


@dataclass(frozen=True)
class Flatten(Layer):
    """``(C, H, W) -> (C*H*W,)``."""

    name: str | None = None


@dataclass(frozen=True)
class Dense(Layer):
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
class ReLU(Layer):
    """Shape-neutral, no parameters."""

    name: str | None = None


@dataclass(frozen=True)
class BatchNorm(Layer):
    """Shape-neutral; ``2*C`` parameters (scale and shift; the running statistics are buffers)."""

    name: str | None = None


@dataclass(frozen=True)
class Sequential(Layer):
    """A named group of layers (a ResNet stage); its children are named ``<name>.<i>``."""

    layers: tuple = ()
    name: str | None = None

    def __post_init__(self):
        _set(self, layers=_layers(self.layers, "Sequential.layers"))


@dataclass(frozen=True)
class Residual(Layer):
    """``relu(main(x) + shortcut(x))``; an empty ``shortcut`` is the identity."""

    main: tuple = ()
    shortcut: tuple = ()
    relu: bool = True
    name: str | None = None

    def __post_init__(self):
        _set(
            self,
            main=_layers(self.main, "Residual.main"),
            shortcut=_layers(self.shortcut, "Residual.shortcut"),
        )


def resolve_pads(layer, h: int, w: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """``((top, bottom), (left, right))`` of a window layer on an ``h x w`` input.

    Examples
    --------
    >>> resolve_pads(Conv2D(1, 3, stride=2, padding="same"), 10, 11)
    ((0, 1), (1, 1))
    """
    return resolve_padding((h, w), layer.kernel, layer.padding, stride=layer.stride, dilation=layer.dilation)
