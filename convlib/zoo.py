"""Built-in shape-level networks (VGG-16, ResNet-18, ResNet-50) as convlib specs.

The specs describe architectures only, no weights: lists of :mod:`convlib.records`, read by
:func:`convlib.graph.trace` like any model. :func:`convlib.bridges.porting.to_torch` builds one as
a ``torch.nn.Module`` whose module names are the trace's row names.
"""

from __future__ import annotations

from .records import (
    BatchNormSpec,
    ConvSpec,
    DenseSpec,
    FlattenSpec,
    GlobalAvgPoolSpec,
    MaxPoolSpec,
    ReLUSpec,
    ResidualSpec,
    SequentialSpec,
)

__all__ = ["vgg16", "resnet18", "resnet50"]

_VGG16 = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


def vgg16(num_classes: int = 1000, include_top: bool = True) -> list:
    """VGG-16 (configuration D) as in the paper: 13 3x3 convs with padding 1, 5 max pools.

    The classifier starts with ``DenseSpec(4096, in_features=512*7*7)``, so the full network
    only accepts inputs whose ``features`` output is 7x7 (224x224 up to rounding).
    torchvision hides this with an ``AdaptiveAvgPool2d((7, 7))``; this spec shows it.

    Parameters
    ----------
    num_classes : int, default 1000
        Output features of the last dense layer.
    include_top : bool, default True
        Append the ``flatten`` and ``classifier`` layers; ``False`` gives only ``features``,
        which accepts any input of at least 32x32.

    Returns
    -------
    list
        A convlib spec: ``SequentialSpec`` ``features``, then (with the top) ``flatten`` and
        ``classifier``.

    Examples
    --------
    >>> from convlib.graph import trace
    >>> trace(vgg16(), (3, 224, 224)).total_params
    138357544
    """
    features = []
    for v in _VGG16:
        features += [MaxPoolSpec(2, 2)] if v == "M" else [ConvSpec(v, 3, padding=1), ReLUSpec()]
    spec = [SequentialSpec(features, name="features")]
    if include_top:
        head = [
            DenseSpec(4096, in_features=512 * 7 * 7),
            ReLUSpec(),
            DenseSpec(4096),
            ReLUSpec(),
            DenseSpec(num_classes),
        ]
        spec += [FlattenSpec(name="flatten"), SequentialSpec(head, name="classifier")]
    return spec


def _stem() -> list:
    return [
        ConvSpec(64, 7, stride=2, padding=3, bias=False, name="conv1"),
        BatchNormSpec(name="bn1"),
        ReLUSpec(name="relu"),
        MaxPoolSpec(3, stride=2, padding=1, name="maxpool"),
    ]


def _projection(c_in: int, c_out: int, stride: int) -> list:
    # torchvision's "downsample": a 1x1 conv with the block's stride, only where shapes change.
    if stride == 1 and c_in == c_out:
        return []
    return [ConvSpec(c_out, 1, stride=stride, bias=False), BatchNormSpec()]


def _resnet(block, depths, expansion: int, num_classes: int) -> list:
    spec, c_in = _stem(), 64
    for stage, (planes, depth) in enumerate(zip((64, 128, 256, 512), depths, strict=True)):
        blocks = []
        for b in range(depth):
            stride = 2 if stage > 0 and b == 0 else 1
            main = block(planes, stride)
            blocks.append(ResidualSpec(main, _projection(c_in, planes * expansion, stride), name=str(b)))
            c_in = planes * expansion
        spec.append(SequentialSpec(blocks, name=f"layer{stage + 1}"))
    return spec + [
        GlobalAvgPoolSpec(name="avgpool"),
        FlattenSpec(name="flatten"),
        DenseSpec(num_classes, in_features=c_in, name="fc"),
    ]


def _basic(planes: int, stride: int) -> list:
    return [
        ConvSpec(planes, 3, stride=stride, padding=1, bias=False, name="conv1"),
        BatchNormSpec(name="bn1"),
        ReLUSpec(name="relu"),
        ConvSpec(planes, 3, padding=1, bias=False, name="conv2"),
        BatchNormSpec(name="bn2"),
    ]


def _bottleneck(planes: int, stride: int) -> list:
    # torchvision (ResNet v1.5) puts the stride on the 3x3 conv, not on the first 1x1.
    return [
        ConvSpec(planes, 1, bias=False, name="conv1"),
        BatchNormSpec(name="bn1"),
        ReLUSpec(name="relu1"),
        ConvSpec(planes, 3, stride=stride, padding=1, bias=False, name="conv2"),
        BatchNormSpec(name="bn2"),
        ReLUSpec(name="relu2"),
        ConvSpec(planes * 4, 1, bias=False, name="conv3"),
        BatchNormSpec(name="bn3"),
    ]


def resnet18(num_classes: int = 1000) -> list:
    """ResNet-18 with torchvision's layout: basic blocks ``[2, 2, 2, 2]``, global pooling head.

    Parameters
    ----------
    num_classes : int, default 1000
        Output features of ``fc``.

    Returns
    -------
    list
        A convlib spec named as torchvision's modules: ``conv1``, ``bn1``, ``relu``,
        ``maxpool``, ``layer1`` to ``layer4``, ``avgpool``, ``flatten``, ``fc``.

    Examples
    --------
    >>> from convlib.graph import trace
    >>> trace(resnet18(), (3, 200, 300))["layer4.1"].output_shape
    (512, 7, 10)
    """
    return _resnet(_basic, (2, 2, 2, 2), 1, num_classes)


def resnet50(num_classes: int = 1000) -> list:
    """ResNet-50 with torchvision's layout: bottlenecks ``[3, 4, 6, 3]``, stride on the 3x3.

    Parameters
    ----------
    num_classes : int, default 1000
        Output features of ``fc``.

    Returns
    -------
    list
        A convlib spec named as torchvision's modules: ``conv1``, ``bn1``, ``relu``,
        ``maxpool``, ``layer1`` to ``layer4`` (2048 channels out), ``avgpool``, ``flatten``, ``fc``.

    Examples
    --------
    >>> from convlib.graph import trace
    >>> trace(resnet50(), (3, 224, 224)).output_shape
    (1000,)
    """
    return _resnet(_bottleneck, (3, 4, 6, 3), 4, num_classes)
