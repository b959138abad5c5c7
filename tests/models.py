"""Small PyTorch and Keras models written in code, as readers write them, for the graph tests.

Channels are 2 to 8 so that a real forward pass over every size of a range takes milliseconds.
Each builder takes no required argument and returns a model in eval mode.
"""

from __future__ import annotations

from convlib.proof.frameworks import load_tf, load_torch

torch = load_torch()
nn, F = torch.nn, torch.nn.functional


def double_conv(c_in: int, c_out: int, padding: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=padding),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=padding),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """U-Net with "same" 3x3 convs, 2x2 max pooling, ConvTranspose2d(k=2, s=2) and torch.cat skips.

    ``fix`` repairs odd sizes: ``None`` (crashes on them), ``"output_size"`` (the transposed conv
    is given the skip's size), ``"interpolate"`` (resize to the skip's size) or ``"pad"`` (pad the
    upsampled map to the skip's size, the milesial Pytorch-UNet way).
    """

    def __init__(self, depth: int = 3, width: int = 4, c_in: int = 3, fix: str | None = None):
        super().__init__()
        chans = [width * 2**i for i in range(depth + 1)]
        self.fix = fix
        self.down = nn.ModuleList([double_conv(c_in, chans[0])])
        self.down.extend(double_conv(chans[i], chans[i + 1]) for i in range(depth))
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(chans[i + 1], chans[i], 2, stride=2) for i in reversed(range(depth))
        )
        self.dec = nn.ModuleList(double_conv(2 * chans[i], chans[i]) for i in reversed(range(depth)))
        self.head = nn.Conv2d(chans[0], 2, 1)

    def forward(self, x):
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else self.pool(x))
            skips.append(x)
        x = skips.pop()
        for up, dec in zip(self.up, self.dec):
            skip = skips.pop()
            if self.fix == "output_size":
                x = up(x, output_size=skip.shape[-2:])
            else:
                x = up(x)
            if self.fix == "interpolate":
                x = F.interpolate(x, size=skip.shape[-2:], mode="nearest")
            if self.fix == "pad":
                dy, dx = skip.size(2) - x.size(2), skip.size(3) - x.size(3)
                x = F.pad(x, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
            x = dec(torch.cat([skip, x], dim=1))
        return self.head(x)


class ValidUNet(nn.Module):
    """The original U-Net (Ronneberger et al. 2015): valid convs, the skips centre-cropped."""

    def __init__(self, depth: int = 2, width: int = 2):
        super().__init__()
        chans = [width * 2**i for i in range(depth + 1)]
        self.down = nn.ModuleList([double_conv(1, chans[0], 0)])
        self.down.extend(double_conv(chans[i], chans[i + 1], 0) for i in range(depth))
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(chans[i + 1], chans[i], 2, stride=2) for i in reversed(range(depth))
        )
        self.dec = nn.ModuleList(double_conv(2 * chans[i], chans[i], 0) for i in reversed(range(depth)))

    def forward(self, x):
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        x = skips.pop()
        for up, dec in zip(self.up, self.dec):
            skip, x = skips.pop(), up(x)
            top, left = (skip.size(2) - x.size(2)) // 2, (skip.size(3) - x.size(3)) // 2
            skip = skip[:, :, top : top + x.size(2), left : left + x.size(3)]
            x = dec(torch.cat([skip, x], dim=1))
        return x


class FPN(nn.Module):
    """A feature pyramid: stride-2 convs down, 1x1 laterals, nearest upsampling by 2 and add."""

    def __init__(self, levels: int = 3, width: int = 4):
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1)
        self.down = nn.ModuleList(nn.Conv2d(width, width, 3, stride=2, padding=1) for _ in range(levels))
        self.lateral = nn.ModuleList(nn.Conv2d(width, 2, 1) for _ in range(levels + 1))
        self.up = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x):
        feats = [torch.relu(self.stem(x))]
        for conv in self.down:
            feats.append(torch.relu(conv(feats[-1])))
        y = self.lateral[-1](feats[-1])
        for lat, f in zip(reversed(self.lateral[:-1]), reversed(feats[:-1])):
            y = lat(f) + self.up(y)
        return y


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    """torchvision's ResNet-18 layout (stem, four stages of two basic blocks, global pool, fc)."""

    def __init__(self, width: int = 2, classes: int = 5):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        chans, layers, c = [width * 2**i for i in range(4)], [], width
        for i, w in enumerate(chans):
            layers.append(nn.Sequential(BasicBlock(c, w, 1 if i == 0 else 2), BasicBlock(w, w, 1)))
            c = w
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def vgg16(width: int = 2, adaptive: bool = True) -> nn.Module:
    """VGG-16 (configuration D); ``adaptive=False`` drops torchvision's AdaptiveAvgPool2d((7, 7))."""
    layers, c = [], 3
    for v in (1, 1, "M", 2, 2, "M", 4, 4, 4, "M", 8, 8, 8, "M", 8, 8, 8, "M"):
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, v * width, 3, padding=1), nn.ReLU(inplace=True)]
            c = v * width
    pool = [nn.AdaptiveAvgPool2d((7, 7))] if adaptive else []
    head = [nn.Flatten(), nn.Linear(c * 49, 16), nn.ReLU(inplace=True), nn.Dropout(), nn.Linear(16, 5)]
    return nn.Sequential(*layers, *pool, *head).eval()


def flatten_head(width: int = 4) -> nn.Module:
    """Two stride-2 convs, Flatten, then a Linear built for a 32x32 input: 8x8 reach the Flatten."""
    return nn.Sequential(
        nn.Conv2d(3, width, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(width, width, 3, stride=2, padding=1),
        nn.Flatten(),
        nn.Linear(width * 8 * 8, 10),
    ).eval()


def dilated(width: int = 4) -> nn.Module:
    """Dilated 3x3 convs (1, 2, 4, 8), valid padding, with one stride-2 pooling."""
    return nn.Sequential(
        nn.Conv2d(3, width, 3, dilation=1),
        nn.ReLU(),
        nn.Conv2d(width, width, 3, dilation=2),
        nn.MaxPool2d(2, ceil_mode=True),
        nn.Conv2d(width, width, 3, dilation=4),
        nn.ReLU(),
        nn.Conv2d(width, 2, 3, dilation=8),
    ).eval()


class UpsamplingZoo(nn.Module):
    """The four ways back up side by side, each from one 2x-pooled map: sizes only differ."""

    def __init__(self, c: int = 4):
        super().__init__()
        self.pool = nn.MaxPool2d(2, return_indices=True)
        self.tconv = nn.ConvTranspose2d(c, c, 3, stride=2, padding=1, output_padding=1)
        self.resize = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="bilinear"), nn.Conv2d(c, c, 3, padding=1)
        )
        self.expand, self.shuffle = nn.Conv2d(c, 4 * c, 3, padding=1), nn.PixelShuffle(2)
        self.unpool = nn.MaxUnpool2d(2)

    def forward(self, x):
        y, idx = self.pool(x)
        a, b, c = self.tconv(y), self.resize(y), self.shuffle(self.expand(y))
        d = self.unpool(y, idx)
        return torch.cat([a, b, c, d], dim=1)


def torch_models() -> dict:
    """Every torch test model by name, in eval mode, with its input channels."""
    torch.manual_seed(0)
    models = {
        "unet": (UNet(), 3),
        "unet_output_size": (UNet(fix="output_size"), 3),
        "unet_interpolate": (UNet(fix="interpolate"), 3),
        "unet_pad": (UNet(fix="pad"), 3),
        "valid_unet": (ValidUNet(), 1),
        "fpn": (FPN(), 3),
        "resnet18": (ResNet18(), 3),
        "vgg16": (vgg16(), 3),
        "vgg16_fixed": (vgg16(adaptive=False), 3),
        "flatten_head": (flatten_head(), 3),
        "dilated": (dilated(), 3),
        "upsampling": (UpsamplingZoo(), 4),
    }
    return {k: (m.eval(), c) for k, (m, c) in models.items()}


def keras_unet(depth: int = 2, width: int = 4):
    """A Keras functional U-Net: "same" convs, MaxPooling2D, Conv2DTranspose(2, strides=2), Concatenate."""
    keras = load_tf().keras
    L = keras.layers
    x = inp = keras.Input((None, None, 3))
    skips = []
    for i in range(depth + 1):
        if i:
            x = L.MaxPooling2D(2)(x)
        x = L.Conv2D(width * 2**i, 3, padding="same", activation="relu")(x)
        x = L.BatchNormalization()(x)
        skips.append(x)
    x = skips.pop()
    for i in reversed(range(depth)):
        x = L.Conv2DTranspose(width * 2**i, 2, strides=2, padding="same")(x)
        x = L.Concatenate()([skips.pop(), x])
        x = L.Conv2D(width * 2**i, 3, padding="same", activation="relu")(x)
    return keras.Model(inp, L.Conv2D(2, 1)(x))


def keras_fpn_head():
    """Keras: a stride-2 "valid" conv, UpSampling2D, ZeroPadding2D, Cropping2D, Add, Flatten, Dense."""
    keras = load_tf().keras
    L = keras.layers
    inp = keras.Input((20, 20, 2))
    a = L.Conv2D(4, 3, strides=2, padding="same")(inp)
    b = L.UpSampling2D(2)(a)
    c = L.Cropping2D(((1, 1), (2, 0)))(L.ZeroPadding2D(((1, 1), (0, 2)))(b))
    d = L.Add()([c, L.Conv2D(4, 1)(inp)])
    e = L.AveragePooling2D(3, strides=2)(L.ReLU()(d))
    return keras.Model(inp, L.Dense(3)(L.Flatten()(e)))
