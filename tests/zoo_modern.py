"""Today's architectures, written small from their published definitions, for the model readers.

Channels are 4 to 16 so that running the real framework on every size of a range stays quick.
Each torch builder returns a model in eval mode; each Keras builder a functional model: Xception's
entry flow (SeparableConv2D), EfficientNet's MBConv (Reshape + Multiply), MobileNetV3's hard-swish
in Keras operations, ConvNeXt (nested Sequential, a custom LayerScale layer), and
``keras.applications.MobileNetV3Small`` without weights.

- SE-ResNet (Hu et al. 2018): squeeze-and-excitation gates ``(C, 1, 1)`` times ``(C, H, W)``.
- MobileNetV3 (Howard et al. 2019): inverted residuals, hard-swish, SE with hard-sigmoid.
- EfficientNet (Tan & Le 2019): MBConv, SE, stochastic depth (identity in eval mode).
- ShuffleNetV2 (Ma et al. 2018): channel split (``chunk``), shuffle by ``view``/``transpose``.
- ConvNeXt (Liu et al. 2022): 7x7 depthwise, ``permute``, ``LayerNorm``, layer scale ``gamma * x``
  (a parameter used in ``forward``), downsampling ``LayerNorm2d`` + 2x2 stride-2 conv.
- RegNet (Radosavovic et al. 2020): grouped 3x3 convs, SE.
- DeepLabV3 (Chen et al. 2017): ASPP (dilated branches, image pooling), ``{"out", "aux"}``.
- A TensorFlow port: "same" pads from ``x.shape`` with ``math.ceil``, then ``F.pad``; a head that
  branches on ``x.shape[-2]``.
- Library blocks (timm style): fused BatchNorm + activation asserting ``x.ndim == 4`` and calling
  ``F.batch_norm`` with its buffers, a ``Linear`` subclass calling ``F.linear``, weight-standardised
  conv (``F.conv2d`` with a weight computed in ``forward``), ``x[:, a:b]``, ``torch.split``,
  ``x.split``, ``x.mean((2, 3))``, tuple and list outputs.
"""

from __future__ import annotations

import math

from convlib.proof.frameworks import load_tf, load_torch

torch = load_torch()
nn, F = torch.nn, torch.nn.functional


class SE(nn.Module):
    def __init__(self, c: int, r: int = 4, gate=nn.Sigmoid):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1, self.fc2, self.act, self.gate = (
            nn.Conv2d(c, c // r, 1),
            nn.Conv2d(c // r, c, 1),
            nn.ReLU(),
            gate(),
        )

    def forward(self, x):
        return x * self.gate(self.fc2(self.act(self.fc1(self.pool(x)))))


class SEBasic(nn.Module):
    def __init__(self, c_in: int, c: int, stride: int):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c_in, c, 3, stride, 1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c)
        self.se = SE(c)
        self.short = (
            nn.Sequential() if stride == 1 and c_in == c else nn.Sequential(nn.Conv2d(c_in, c, 1, stride))
        )

    def forward(self, x):
        y = self.se(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        return F.relu(y + self.short(x))


def se_resnet(width: int = 8) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, width, 7, 2, 3), nn.MaxPool2d(3, 2, 1), SEBasic(width, width, 1),
        SEBasic(width, 2 * width, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, 5),
    ).eval()  # fmt: skip


class InvertedResidual(nn.Module):
    """MobileNetV3 / EfficientNet MBConv: expand 1x1, depthwise kxk, SE, project 1x1, residual."""

    def __init__(self, c_in, c_out, k, stride, expand, act, se_gate, drop=False):
        super().__init__()
        mid = c_in * expand
        self.expand = nn.Sequential(nn.Conv2d(c_in, mid, 1, bias=False), nn.BatchNorm2d(mid), act())
        self.dw = nn.Sequential(
            nn.Conv2d(mid, mid, k, stride, k // 2, groups=mid, bias=False), nn.BatchNorm2d(mid), act()
        )
        self.se = SE(mid, 4, se_gate)
        self.project = nn.Sequential(nn.Conv2d(mid, c_out, 1, bias=False), nn.BatchNorm2d(c_out))
        self.residual, self.drop = stride == 1 and c_in == c_out, drop

    def forward(self, x):
        y = self.project(self.se(self.dw(self.expand(x))))
        if self.residual:
            y = _stochastic_depth(y, 0.2 if self.drop else 0.0, self.training) + x
        return y


def _stochastic_depth(x, p: float, training: bool):
    """torchvision.ops.stochastic_depth, "row" mode: identity in eval mode."""
    if not training or p == 0.0:
        return x
    keep = torch.empty([x.shape[0], 1, 1, 1], dtype=x.dtype, device=x.device).bernoulli_(1 - p)
    return x * keep / (1 - p)


def mobilenet_v3(width: int = 8) -> nn.Module:
    hs = nn.Hardswish
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(3, width, 3, 2, 1, bias=False), nn.BatchNorm2d(width), hs()),
        InvertedResidual(width, width, 3, 1, 2, nn.ReLU, nn.Hardsigmoid),
        InvertedResidual(width, 2 * width, 5, 2, 2, hs, nn.Hardsigmoid),
        InvertedResidual(2 * width, 2 * width, 5, 1, 2, hs, nn.Hardsigmoid),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, 5),
    ).eval()  # fmt: skip


def efficientnet(width: int = 8) -> nn.Module:
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(3, width, 3, 2, 1, bias=False), nn.BatchNorm2d(width), nn.SiLU()),
        InvertedResidual(width, width, 3, 1, 1, nn.SiLU, nn.Sigmoid, drop=True),
        InvertedResidual(width, 2 * width, 3, 2, 4, nn.SiLU, nn.Sigmoid),
        InvertedResidual(2 * width, 2 * width, 5, 1, 4, nn.SiLU, nn.Sigmoid, drop=True),
        InvertedResidual(2 * width, 2 * width, 5, 2, 4, nn.SiLU, nn.Sigmoid),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(2 * width, 5),
    ).eval()  # fmt: skip


def _shuffle(x, groups: int):
    n, c, h, w = x.size()
    x = x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous()
    return x.view(n, c, h, w)


class ShuffleUnit(nn.Module):
    def __init__(self, c: int, stride: int):
        super().__init__()
        half = c // 2
        self.stride = stride
        c_in = c if stride > 1 else half
        self.branch2 = nn.Sequential(
            nn.Conv2d(c_in, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(),
            nn.Conv2d(half, half, 3, stride, 1, groups=half, bias=False), nn.BatchNorm2d(half),
            nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(),
        )  # fmt: skip
        if stride > 1:
            self.branch1 = nn.Sequential(
                nn.Conv2d(c, c, 3, stride, 1, groups=c, bias=False), nn.BatchNorm2d(c),
                nn.Conv2d(c, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(),
            )  # fmt: skip

    def forward(self, x):
        if self.stride == 1:
            a, b = x.chunk(2, dim=1)
            out = torch.cat((a, self.branch2(b)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return _shuffle(out, 2)


def shufflenet_v2(width: int = 8) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, width, 3, 2, 1), nn.MaxPool2d(3, 2, 1), ShuffleUnit(width, 2), ShuffleUnit(width, 1),
        nn.Conv2d(width, 16, 1),
    ).eval()  # fmt: skip


class LayerNorm2d(nn.LayerNorm):
    """timm's LayerNorm2d: permute to channels-last, F.layer_norm, permute back."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.dwconv = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm = nn.LayerNorm(c, eps=1e-6)
        self.pwconv1, self.act, self.pwconv2 = nn.Linear(c, 4 * c), nn.GELU(), nn.Linear(4 * c, c)
        self.gamma = nn.Parameter(1e-6 * torch.ones(c))

    def forward(self, x):
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(self.act(self.pwconv1(self.norm(y))))
        return x + (self.gamma * y).permute(0, 3, 1, 2)


def convnext(width: int = 8) -> nn.Module:
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(3, width, 4, 4), LayerNorm2d(width)), ConvNeXtBlock(width),
        nn.Sequential(LayerNorm2d(width), nn.Conv2d(width, 2 * width, 2, 2)), ConvNeXtBlock(2 * width),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(2 * width), nn.Linear(2 * width, 5),
    ).eval()  # fmt: skip


class RegNetBlock(nn.Module):
    def __init__(self, c_in: int, c: int, stride: int, group: int = 4):
        super().__init__()
        self.a = nn.Sequential(nn.Conv2d(c_in, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.b = nn.Sequential(
            nn.Conv2d(c, c, 3, stride, 1, groups=c // group, bias=False), nn.BatchNorm2d(c), nn.ReLU()
        )
        self.se = SE(c, 4)
        self.c = nn.Sequential(nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c))
        self.proj = (
            None
            if stride == 1 and c_in == c
            else nn.Sequential(nn.Conv2d(c_in, c, 1, stride, bias=False), nn.BatchNorm2d(c))
        )

    def forward(self, x):
        short = x if self.proj is None else self.proj(x)
        return F.relu(self.c(self.se(self.b(self.a(x)))) + short)


def regnet(width: int = 8) -> nn.Module:
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(3, width, 3, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()),
        RegNetBlock(width, 2 * width, 2), RegNetBlock(2 * width, 2 * width, 1),
        RegNetBlock(2 * width, 4 * width, 2),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(4 * width, 5),
    ).eval()  # fmt: skip


class ASPP(nn.Module):
    def __init__(self, c_in: int, c: int, rates=(2, 3)):
        super().__init__()
        self.convs = nn.ModuleList(
            [nn.Sequential(nn.Conv2d(c_in, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU())]
        )
        self.convs.extend(
            nn.Sequential(
                nn.Conv2d(c_in, c, 3, padding=r, dilation=r, bias=False), nn.BatchNorm2d(c), nn.ReLU()
            )
            for r in rates
        )
        self.pooling = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c_in, c, 1, bias=False), nn.ReLU())
        self.project = nn.Sequential(
            nn.Conv2d(c * (len(rates) + 2), c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU()
        )

    def forward(self, x):
        res = [conv(x) for conv in self.convs]
        res.append(F.interpolate(self.pooling(x), size=x.shape[-2:], mode="bilinear", align_corners=False))
        return self.project(torch.cat(res, dim=1))


class DeepLabV3(nn.Module):
    def __init__(self, width: int = 8, classes: int = 3):
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Conv2d(3, width, 3, 2, 1), nn.ReLU(), nn.Conv2d(width, 2 * width, 3, 2, 1), nn.ReLU(),
            nn.Conv2d(2 * width, 2 * width, 3, 1, 2, dilation=2), nn.ReLU(),
        )  # fmt: skip
        self.classifier = nn.Sequential(ASPP(2 * width, width), nn.Conv2d(width, classes, 1))
        self.aux = nn.Conv2d(2 * width, classes, 1)

    def forward(self, x):
        size = x.shape[-2:]
        f = self.backbone(x)
        out = F.interpolate(self.classifier(f), size=size, mode="bilinear", align_corners=False)
        aux = F.interpolate(self.aux(f), size=size, mode="bilinear", align_corners=False)
        return {"out": out, "aux": aux}


class Conv2dSame(nn.Conv2d):
    """TensorFlow "same" in PyTorch (timm's ``Conv2dSame``): pads from ``x.shape`` at run time."""

    def forward(self, x):
        ih, iw = x.shape[-2:]
        pads = []
        for n, k, s, d in zip((ih, iw), self.kernel_size, self.stride, self.dilation):
            pads.append(max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0))
        ph, pw = pads
        x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class TFPort(nn.Module):
    """A ported TensorFlow net, "same" strided convs, and a head that branches on the height."""

    def __init__(self, width: int = 4):
        super().__init__()
        self.stem = Conv2dSame(3, width, 3, 2)
        self.block = Conv2dSame(width, width, 5, 2)
        self.small, self.large = nn.Conv2d(width, 2, 1), nn.Conv2d(width, 2, 3, 2)

    def forward(self, x):
        y = F.relu(self.block(F.relu(self.stem(x))))
        return self.small(y) if y.shape[-2] < 4 else self.large(y)


class BatchNormAct2d(nn.BatchNorm2d):
    """timm's BatchNormAct2d: asserts a 4-d input, calls F.batch_norm with its own buffers."""

    def forward(self, x):
        assert x.ndim == 4, f"expected 4D input (got {x.ndim}D input)"
        x = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        return F.relu(x)


class StdConv2d(nn.Conv2d):
    """Weight standardisation (BiT): the kernel is normalised in forward, then F.conv2d."""

    def forward(self, x):
        w = self.weight
        w = (w - w.mean(dim=(1, 2, 3), keepdim=True)) / (w.std(dim=(1, 2, 3), keepdim=True) + 1e-5)
        return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Head(nn.Linear):
    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


class LibraryBlocks(nn.Module):
    """Fused norm+act, std conv, channel slices and splits, mean((2, 3)); a tuple output."""

    def __init__(self, width: int = 8):
        super().__init__()
        self.conv1, self.bn1 = StdConv2d(3, width, 3, 2, 1), BatchNormAct2d(width)
        self.conv2, self.bn2 = StdConv2d(width // 2, width, 3, 1, 1), BatchNormAct2d(width)
        self.conv3 = nn.Conv2d(width // 4 + width // 4, width, 3, 2)
        self.head = Head(width + width // 2, 5)

    def forward(self, x):
        y = self.bn1(self.conv1(x))
        y = self.bn2(self.conv2(y[:, : y.shape[1] // 2]))
        a, b, _ = torch.split(y, [2, 2, 4], dim=1)
        c, d = y.split(4, dim=1)
        z = self.conv3(torch.cat([a, b], 1))
        pooled = torch.cat([z.mean((2, 3)), c.mean([2, 3])], 1)
        return self.head(pooled), [z, d]


def torch_modern() -> dict:
    """Every modern torch test model by name, in eval mode, with its input channels."""
    torch.manual_seed(0)
    models = {
        "se_resnet": se_resnet(), "mobilenet_v3": mobilenet_v3(), "efficientnet": efficientnet(),
        "shufflenet_v2": shufflenet_v2(), "convnext": convnext(), "regnet": regnet(),
        "deeplabv3": DeepLabV3(), "tf_port": TFPort(), "library_blocks": LibraryBlocks(),
    }  # fmt: skip
    return {k: (m.eval(), 3) for k, m in models.items()}


def outputs(result) -> list:
    """Every tensor a model returns (a dict, tuple or list of them, or one)."""
    if isinstance(result, dict):
        return [t for v in result.values() for t in outputs(v)]
    if isinstance(result, (tuple, list)):
        return [t for v in result for t in outputs(v)]
    return [result]


def _keras():
    keras = load_tf().keras
    return keras, keras.layers


def keras_xception(width: int = 8):
    """Xception's entry flow: SeparableConv2D pairs, a strided max pooling, a 1x1 stride-2 shortcut."""
    keras, L = _keras()
    x = inp = keras.Input((None, None, 3))
    x = L.Activation("relu")(L.BatchNormalization()(L.Conv2D(width, 3, strides=2, use_bias=False)(x)))
    for c in (2 * width, 4 * width):
        short = L.BatchNormalization()(L.Conv2D(c, 1, strides=2, padding="same", use_bias=False)(x))
        x = L.SeparableConv2D(c, 3, padding="same", use_bias=False)(x)
        x = L.SeparableConv2D(c, 3, padding="same", use_bias=False, activation="relu")(
            L.BatchNormalization()(x)
        )
        x = L.Add()([L.MaxPooling2D(3, strides=2, padding="same")(x), short])
    return keras.Model(inp, L.Conv2D(3, 1)(x))


def keras_efficientnet(width: int = 8):
    """EfficientNet's MBConv with squeeze-and-excitation as Keras writes it: Reshape + Multiply."""
    keras, L = _keras()
    x = inp = keras.Input((None, None, 3))
    x = L.Activation("swish")(L.BatchNormalization()(L.Conv2D(width, 3, strides=2, padding="same")(x)))
    for stride in (1, 2):
        y = L.Activation("swish")(L.Conv2D(4 * width, 1, padding="same")(x))
        y = L.DepthwiseConv2D(3, strides=stride, padding="same", activation="swish")(y)
        se = L.Reshape((1, 1, 4 * width))(L.GlobalAveragePooling2D()(y))
        se = L.Conv2D(4 * width, 1, activation="sigmoid")(L.Conv2D(width // 2, 1, activation="swish")(se))
        y = L.Conv2D(width, 1, padding="same")(L.Multiply()([y, se]))
        x = L.Add()([L.Dropout(0.2, noise_shape=(None, 1, 1, 1))(y), x]) if stride == 1 else y
    return keras.Model(inp, x)


def keras_mobilenet_v3(width: int = 8):
    """MobileNetV3 as keras.applications writes hard-swish: Keras ops on tensors, not layers."""
    keras, L = _keras()

    def hard_swish(x):
        return x * (keras.ops.relu6(x + 3.0) * (1.0 / 6.0))

    x = inp = keras.Input((None, None, 3))
    x = hard_swish(L.Conv2D(width, 3, strides=2, padding="same")(x))
    y = hard_swish(L.DepthwiseConv2D(5, strides=2, padding="same")(x))
    gate = L.GlobalAveragePooling2D(keepdims=True)(y)
    gate = keras.ops.relu6(L.Conv2D(width, 1)(L.ReLU()(L.Conv2D(width // 2, 1)(gate))) + 3.0) * (1.0 / 6.0)
    return keras.Model(inp, L.Conv2D(4, 1)(L.Multiply()([y, gate])))


def keras_convnext(width: int = 8):
    """ConvNeXt as keras.applications builds it: nested Sequential stem and downsampling, LayerScale."""
    keras, L = _keras()

    class LayerScale(L.Layer):
        def __init__(self, init: float, dim: int, **kw):
            super().__init__(**kw)
            self.gamma = self.add_weight(shape=(dim,), initializer=keras.initializers.Constant(init))

        def call(self, x):
            return x * self.gamma

    def block(x, c, name):
        y = L.DepthwiseConv2D(7, padding="same", name=name + "_dw")(x)
        y = L.Dense(4 * c, name=name + "_pw1")(L.LayerNormalization(epsilon=1e-6, name=name + "_ln")(y))
        y = L.Dense(c, name=name + "_pw2")(L.Activation("gelu", name=name + "_gelu")(y))
        return L.Add(name=name + "_add")([x, LayerScale(1e-6, c, name=name + "_scale")(y)])

    inp = keras.Input((None, None, 3))
    stem = keras.Sequential([L.Conv2D(width, 4, strides=4), L.LayerNormalization(epsilon=1e-6)], name="stem")
    x = block(stem(inp), width, "s0")
    down = keras.Sequential(
        [L.LayerNormalization(epsilon=1e-6), L.Conv2D(2 * width, 2, strides=2)], name="down"
    )
    return keras.Model(inp, block(down(x), 2 * width, "s1"))


def keras_modern() -> dict:
    """Every modern Keras test model by name."""
    keras, _ = _keras()
    keras.utils.set_random_seed(0)
    return {
        "xception": keras_xception(), "efficientnet": keras_efficientnet(),
        "mobilenet_v3": keras_mobilenet_v3(), "convnext": keras_convnext(),
    }  # fmt: skip


def keras_applications_small():
    """keras.applications' MobileNetV3Small without weights (no download), any input size."""
    keras, _ = _keras()
    keras.utils.set_random_seed(0)
    return keras.applications.MobileNetV3Small(
        input_shape=(None, None, 3), alpha=0.75, include_top=False, weights=None, include_preprocessing=True
    )
