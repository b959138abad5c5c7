"""The layers the benchmark times: convolutions of seven networks people actually use.

Each network contributes the layers that differ in kind (kernel, stride, dilation, groups,
map size), not every repeated block: ResNet-50 and VGG-16 (dense 3x3 and 1x1, big and small
maps), MobileNetV2 and EfficientNet-B0 (depthwise 3x3 and 5x5, thin 1x1), ResNeXt-50 32x4d
(32 groups of 4 to 32 channels), DeepLabv3 (dilated 3x3 of the atrous backbone and ASPP) and
Inception-v3 (asymmetric 1x7, 7x1, 1x3, 3x1). Sizes are those of a 224x224 input (299x299
for Inception-v3), float32, NHWC.
"""

from __future__ import annotations

from typing import NamedTuple

from ..shapes import conv_output_size

__all__ = ["Conv", "SUITE", "QUICK", "NETWORKS"]


class Conv(NamedTuple):
    """One benchmarked layer: input ``size x size x cin``, kernel ``kh x kw``, pads ``(ph, pw)``."""

    net: str
    name: str
    size: int
    cin: int
    cout: int
    kernel: tuple[int, int]
    stride: int = 1
    pad: tuple[int, int] = (0, 0)
    dilation: int = 1
    groups: int = 1

    @property
    def out_hw(self) -> tuple[int, int]:
        """Output height and width, from :func:`convlib.shapes.conv_output_size`."""
        return tuple(
            conv_output_size(self.size, k, stride=self.stride, padding=p, dilation=self.dilation)
            for k, p in zip(self.kernel, self.pad)
        )

    @property
    def depthwise(self) -> bool:
        return self.groups > 1 and self.groups == self.cin

    def gflop(self, batch: int) -> float:
        """Multiply-adds counted as two flops: ``2 N H_out W_out C_out (C_in / groups) kh kw``."""
        ho, wo = self.out_hw
        kh, kw = self.kernel
        return 2.0 * batch * ho * wo * self.cout * (self.cin // self.groups) * kh * kw / 1e9


def _layers(net, rows):
    out = []
    for name, size, cin, cout, k, s, d, g in rows:
        kernel = k if isinstance(k, tuple) else (k, k)
        pad = (d * (kernel[0] - 1) // 2, d * (kernel[1] - 1) // 2)
        out.append(Conv(net, name, size, cin, cout, kernel, s, pad, d, g))
    return out


# (name, input size, C_in, C_out, kernel, stride, dilation, groups); padding keeps the size
# ("same" for stride 1, PyTorch's k // 2 for stride 2), except Inception's valid stem.
SUITE = [
    *_layers(
        "ResNet-50",
        [
            ("stem 7x7/2", 224, 3, 64, 7, 2, 1, 1),
            ("res2 1x1 64-64", 56, 64, 64, 1, 1, 1, 1),
            ("res2 3x3 64", 56, 64, 64, 3, 1, 1, 1),
            ("res2 1x1 64-256", 56, 64, 256, 1, 1, 1, 1),
            ("res3 3x3/2 128", 56, 128, 128, 3, 2, 1, 1),
            ("res3 3x3 128", 28, 128, 128, 3, 1, 1, 1),
            ("res4 3x3 256", 14, 256, 256, 3, 1, 1, 1),
            ("res4 1x1 1024-256", 14, 1024, 256, 1, 1, 1, 1),
            ("res5 3x3 512", 7, 512, 512, 3, 1, 1, 1),
            ("res5 1x1 512-2048", 7, 512, 2048, 1, 1, 1, 1),
        ],
    ),
    *_layers(
        "VGG-16",
        [
            ("conv1_2 3x3 64", 224, 64, 64, 3, 1, 1, 1),
            ("conv2_2 3x3 128", 112, 128, 128, 3, 1, 1, 1),
            ("conv3_3 3x3 256", 56, 256, 256, 3, 1, 1, 1),
            ("conv4_3 3x3 512", 28, 512, 512, 3, 1, 1, 1),
            ("conv5_3 3x3 512", 14, 512, 512, 3, 1, 1, 1),
        ],
    ),
    *_layers(
        "MobileNetV2",
        [
            ("stem 3x3/2 3-32", 224, 3, 32, 3, 2, 1, 1),
            ("dw 3x3 32", 112, 32, 32, 3, 1, 1, 32),
            ("pw 1x1 32-16", 112, 32, 16, 1, 1, 1, 1),
            ("exp 1x1 16-96", 112, 16, 96, 1, 1, 1, 1),
            ("dw 3x3/2 96", 112, 96, 96, 3, 2, 1, 96),
            ("dw 3x3 144", 56, 144, 144, 3, 1, 1, 144),
            ("proj 1x1 144-24", 56, 144, 24, 1, 1, 1, 1),
            ("dw 3x3 576", 14, 576, 576, 3, 1, 1, 576),
            ("head 1x1 320-1280", 7, 320, 1280, 1, 1, 1, 1),
        ],
    ),
    *_layers(
        "EfficientNet-B0",
        [
            ("dw 3x3 32", 112, 32, 32, 3, 1, 1, 32),
            ("dw 5x5/2 144", 56, 144, 144, 5, 2, 1, 144),
            ("dw 5x5 240", 28, 240, 240, 5, 1, 1, 240),
            ("dw 3x3 480", 14, 480, 480, 3, 1, 1, 480),
            ("dw 5x5 672", 14, 672, 672, 5, 1, 1, 672),
            ("dw 5x5 1152", 7, 1152, 1152, 5, 1, 1, 1152),
        ],
    ),
    *_layers(
        "ResNeXt-50",
        [
            ("g32 3x3 128", 56, 128, 128, 3, 1, 1, 32),
            ("g32 3x3/2 256", 56, 256, 256, 3, 2, 1, 32),
            ("g32 3x3 256", 28, 256, 256, 3, 1, 1, 32),
            ("g32 3x3 512", 14, 512, 512, 3, 1, 1, 32),
            ("g32 3x3 1024", 7, 1024, 1024, 3, 1, 1, 32),
        ],
    ),
    *_layers(
        "DeepLabv3",
        [
            ("layer3 3x3 256 d2", 28, 256, 256, 3, 1, 2, 1),
            ("layer4 3x3 512 d4", 28, 512, 512, 3, 1, 4, 1),
            ("aspp d6 2048-256", 14, 2048, 256, 3, 1, 6, 1),
            ("aspp d12 2048-256", 14, 2048, 256, 3, 1, 12, 1),
            ("aspp 1x1 2048-256", 14, 2048, 256, 1, 1, 1, 1),
        ],
    ),
    *_layers(
        "Inception-v3",
        [
            ("6b 1x7 128", 17, 128, 128, (1, 7), 1, 1, 1),
            ("6b 7x1 128-192", 17, 128, 192, (7, 1), 1, 1, 1),
            ("6e 1x7 192", 17, 192, 192, (1, 7), 1, 1, 1),
            ("7b 1x3 384", 8, 384, 384, (1, 3), 1, 1, 1),
            ("7b 3x1 384", 8, 384, 384, (3, 1), 1, 1, 1),
        ],
    ),
]
SUITE.append(Conv("Inception-v3", "stem 3x3/2 valid", 299, 3, 32, (3, 3), 2, (0, 0), 1, 1))
NETWORKS = list(dict.fromkeys(c.net for c in SUITE))
# CI smoke test: one dense 3x3 (Winograd), one 1x1, one depthwise, one grouped, one dilated.
QUICK = [
    Conv("quick", "3x3 32", 16, 32, 32, (3, 3), 1, (1, 1)),
    Conv("quick", "1x1/2 32-64", 16, 32, 64, (1, 1), 2),
    Conv("quick", "dw 3x3 32", 16, 32, 32, (3, 3), 1, (1, 1), 1, 32),
    Conv("quick", "g8 3x3 32", 16, 32, 32, (3, 3), 1, (1, 1), 1, 8),
    Conv("quick", "1x7 16 d2", 12, 16, 16, (1, 7), 1, (0, 6), 2),
]
