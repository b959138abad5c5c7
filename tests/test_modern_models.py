"""The model readers on today's architectures (tests/zoo_modern.py), against the real framework.

Every size of each range is run in PyTorch; the accepted sizes, every leaf module's output shape
and the clean region must be the framework's. The reference is always PyTorch, never convlib.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_clean import _canvas, _init_torch, _verdict
from zoo_modern import F, convnext, nn, outputs, torch, torch_modern

from convlib.clean import clean_region
from convlib.graph import from_model, input_sizes, scan_sizes, size_rule
from convlib.graph.shapes import broadcast, graph_at, run

MODELS = torch_modern()
RANGES = [(1, 12), (29, 33)]  # small sizes (where refusals live) and odd and even ones further up


def torch_shapes(model, shape):
    """The first output's shape and every leaf module's, from PyTorch; ``None`` if it refuses."""
    seen = {}
    hooks = [
        m.register_forward_hook(lambda _m, _i, y, n=n: seen.setdefault(n, tuple(y.shape[1:])) and None)
        for n, m in model.named_modules()
        if n and not list(m.children()) and type(m).__module__.startswith("torch.nn")
    ]
    try:
        with torch.no_grad():
            out = outputs(model(torch.zeros(1, *shape)))[0]
    except (RuntimeError, ValueError, AssertionError) as err:  # PyTorch's size refusals
        assert re.search(r"size|shape|Expected|dimension|kernel|output|Padding", str(err)), err
        return None
    finally:
        for h in hooks:
            h.remove()
    return tuple(out.shape[1:]), seen


@pytest.mark.parametrize("name", sorted(MODELS))
def test_sizes_and_shapes_equal_pytorch(name):
    model, c = MODELS[name]
    graph = from_model(model)
    for lo, hi in RANGES:
        real = {n: torch_shapes(model, (c, n, n)) for n in range(lo, hi + 1)}
        assert input_sizes(graph, lo, hi, channels=c) == [n for n, r in real.items() if r]
        for n, r in real.items():
            if r is None:
                continue
            g = graph_at(graph, (c, n, n))
            got = run(g, (c, n, n))
            assert got[g.output].shape == r[0], (name, n)
            leaves = {k: v for k, v in r[1].items() if k in got}
            # a module run on a channels-last tensor (LayerNorm, Linear in ConvNeXt) gives (H, W, C)
            assert leaves and all(got[k].shape in (v, v[-1:] + v[:-1]) for k, v in leaves.items()), (name, n)


def test_broadcast_follows_the_frameworks_rule():
    assert broadcast([(8, 1, 1), (8, 9, 7)]) == (8, 9, 7)  # a squeeze-and-excitation gate
    assert broadcast([(8, 2, 2), (1, 1, 1)]) == (8, 2, 2)
    with pytest.raises(ValueError, match=r"\(8, 9, 9\) and \(8, 8, 8\).*equal sizes or a size 1"):
        broadcast([(8, 9, 9), (8, 8, 8)])


def test_which_reader_reads_which_model():
    """torch.fx where it can (one graph for every size), the meta run where it cannot."""
    read = {name: from_model(m).at_size is None for name, (m, _) in MODELS.items()}
    assert read == {
        "se_resnet": True, "mobilenet_v3": True, "efficientnet": True, "regnet": True, "shufflenet_v2": False,
        "convnext": False, "deeplabv3": False, "tf_port": False, "library_blocks": False,
    }  # fmt: skip


def test_module_paths_and_layout_changes():
    g = graph_at(from_model(MODELS["convnext"][0]), (3, 32, 32))
    names = [n.name for n in g.nodes]
    # permute adds no node; LayerNorm over channels and Linear on channels-last are per cell
    assert names[:5] == ["input", "0.0", "0.1.layer_norm", "1.dwconv", "1.norm"]
    assert g["1.pwconv1"].op == "conv" and g["1.pwconv1"].attrs["kernel"] == (1, 1)
    assert g["1.mul"].attrs["params"] == 8  # gamma, a parameter used in forward
    port = from_model(MODELS["tf_port"][0])
    nine, big = graph_at(port, (3, 9, 9)), graph_at(port, (3, 32, 32))
    assert nine["stem.pad"].attrs["pads"] == ((1, 1), (1, 1))  # math.ceil "same" on 9: 2 rows
    assert big["stem.pad"].attrs["pads"] == ((0, 1), (0, 1))  # on 32: 1 row, at the end
    assert (nine.output, big.output) == ("small", "large")  # the branch on y.shape[-2] < 4


def test_size_rule_through_a_run_reading():
    # ConvNeXt's 4x4 stride-4 stem and 2x2 stride-2 downsampling: the sizes of RANGES, as a rule
    rule = size_rule(MODELS["convnext"][0], upto=32)
    assert (rule.text, rule.layers) == ("n >= 8", {"lower bound": "2.1 (Conv2d)"})


@pytest.mark.parametrize(
    ("name", "true_hw", "padded_hw"),
    [
        ("convnext_block", (45, 40), (56, 56)),
        ("shufflenet_v2", (37, 45), (48, 48)),
        ("tf_port", (32, 28), (40, 40)),
    ],
)
def test_clean_region_against_pytorch(name, true_hw, padded_hw, rng):
    model = convnext()[:2] if name == "convnext_block" else MODELS[name][0]
    _init_torch(torch, model)
    for m in model.modules():  # layer scale starts at 1e-6, which hides a block's reach below float noise
        if hasattr(m, "gamma"):
            m.gamma.data.fill_(1.0)
    region = clean_region(model, true_hw, padded_hw, channels=3)
    x = rng.standard_normal((1, 3, *true_hw)).astype(np.float32)
    with torch.no_grad():
        y_true, y_canvas = (
            outputs(model(torch.from_numpy(a)))[0][0].numpy() for a in (x, _canvas(x, padded_hw, False))
        )
    _verdict(region, y_true, y_canvas, name)
    assert len(region.rows) and len(region.cols)


class Tokens(nn.Module):
    def forward(self, x):
        return x.flatten(2).transpose(1, 2)  # a ViT's patch tokens: rows and columns merged


class NeedsData(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        y = self.conv(x)
        return y if y.mean().item() > 0 else -y


class Rolled(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        return torch.roll(self.conv(x), 1, dims=2)


def test_refusals_name_the_call_and_cannot_tell_is_said():
    with pytest.raises(ValueError, match=r"in forward \(Tokens\): flatten: its output \(1, 3, 4096\) merges"):
        input_sizes(Tokens(), 64, 65)
    with pytest.raises(ValueError, match=r"cannot tell: .*item"):
        input_sizes(NeedsData().eval(), 8, 9)
    model = Rolled().eval()
    assert input_sizes(model, 1, 6) == list(range(1, 7))  # shapes from PyTorch itself
    region = clean_region(model, (5, 5), (8, 8))
    assert (len(region.rows), region["roll"].note) == (
        0,
        "roll: reads the grid in a way convlib cannot follow",
    )


def test_channel_ops_through_fx_and_run():
    """A channel split meets a spatial size check: a refusal is PyTorch's, at PyTorch's sizes."""

    class Split(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(2, 2, 3, padding=1), nn.Conv2d(2, 2, 3, stride=2, padding=1)

        def forward(self, x):
            p, q = torch.split(x, [2, 2], dim=1)
            return self.a(p) * F.interpolate(self.b(q), scale_factor=2.0)

    model = Split().eval()
    real = [n for n in range(1, 20) if torch_shapes(model, (4, n, n))]
    assert input_sizes(model, 1, 19, channels=4) == real == [1, *range(2, 20, 2)]


@pytest.fixture(scope="module")
def keras_models():
    from zoo_modern import keras_modern

    return keras_modern()


def keras_shape(model, n):
    """Keras's output shape as (C, H, W) for an n x n input, or ``None`` where Keras refuses it."""
    try:
        y = model(np.zeros((1, n, n, 3), np.float32))
    except Exception as err:  # Keras's ValueError or TensorFlow's InvalidArgumentError: sizes only
        assert re.search(r"size|shape|[Dd]imension", str(err)), err
        return None
    return (y.shape[3], y.shape[1], y.shape[2])


KERAS_SIZES = {  # small sizes (where refusals live) and a few odd and even ones further up
    "xception": [*range(1, 9), 31, 32],
    "efficientnet": [*range(1, 9), 31, 32],
    "mobilenet_v3": [*range(1, 9), 31, 32],
    "convnext": [*range(1, 13), 31, 32],
}


@pytest.mark.parametrize("name", sorted(KERAS_SIZES))
def test_keras_sizes_and_shapes_equal_keras(name, keras_models):
    model = keras_models[name]
    graph = from_model(model)
    for n in KERAS_SIZES[name]:
        real = keras_shape(model, n)
        assert (input_sizes(graph, n, n) == [n]) == (real is not None), (name, n)
        if real is not None:
            assert run(graph, (3, n, n))[graph.output].shape == real, (name, n)


def test_a_top_level_sequential_is_read(keras_models):
    """A Sequential keeps its layer graph in a functional model of its own; the reader finds it."""
    import keras

    model = keras.Sequential(
        [keras.Input((None, None, 3)), keras.layers.Conv2D(4, 3, strides=2, padding="same"),
         keras.layers.MaxPooling2D(2), keras.layers.Conv2D(2, 1)]
    )  # fmt: skip
    graph = from_model(model)
    for n in (7, 8, 13):
        assert run(graph, (3, n, n))[graph.output].shape == keras_shape(model, n), n


def test_keras_reader_names_what_it_read(keras_models):
    g = from_model(keras_models["convnext"])
    kinds = {n.name: (n.op, n.kind) for n in g.nodes}
    assert (
        kinds["stem.conv2d" if "stem.conv2d" in kinds else next(k for k in kinds if k.startswith("stem."))][0]
        == "conv"
    )
    assert kinds["s0_scale"] == ("pointwise", "LayerScale")  # a custom layer: Keras's own shape inference
    assert g["s0_scale"].attrs["space"] == "unknown"
    x = from_model(keras_models["xception"])
    sep = [n for n in x.nodes if n.kind == "SeparableConv2D"]
    assert [n.attrs["groups"] > 1 for n in sep[:2]] == [True, False]  # depthwise, then pointwise
    ops = {n.kind for n in from_model(keras_models["mobilenet_v3"]).nodes}
    assert {"Add", "Relu6", "Multiply"} <= ops  # Keras 3 operations, not layers


@pytest.mark.slow  # building it takes 12-20 s on a loaded machine
def test_keras_applications_mobilenet_v3_small():
    """Below 31, keras.applications' MobileNetV3Small feeds a 2x2 map to a 3x3 "valid" stride-2
    DepthwiseConv2D. Keras's layer refuses that input on its own ("Computed output size would be
    zero or negative"); inside the functional model TensorFlow's kernel runs it anyway and returns
    a 2x2 map. convlib follows the layer's rule and names the layer: the one place in these tests
    where it refuses a size a framework runs (the sizes in between give degenerate maps)."""
    from zoo_modern import _keras, keras_applications_small

    keras, L = _keras()
    with pytest.raises(ValueError, match="Computed output size would be zero or negative"):
        L.DepthwiseConv2D(3, strides=2)(np.zeros((1, 2, 2, 16), np.float32))
    model = keras_applications_small()
    graph = from_model(model)
    for n in (31, 32, 47, 48):  # from 31 up every map is one TensorFlow's own rules allow
        assert input_sizes(graph, n, n) == [n]
        assert run(graph, (3, n, n))[graph.output].shape == keras_shape(model, n)
    assert keras_shape(model, 1) == (432, 2, 2)
    scan = scan_sizes(model, 1, 1)
    assert scan.reasons() == {"expanded_conv_depthwise (DepthwiseConv2D)": [1]}


def test_spatial_attention_gate():
    """CBAM's spatial gate: a mean and a max over channels, a 7x7 conv, then (1, H, W) times (C, H, W)."""

    class CBAM(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.gate = nn.Conv2d(3, 4, 3, stride=2), nn.Conv2d(2, 1, 7, padding=3)

        def forward(self, x):
            y = self.conv(x)
            pooled = torch.cat([y.mean(1, keepdim=True), y.max(dim=1, keepdim=True)[0]], dim=1)
            return y * torch.sigmoid(self.gate(pooled))

    model = CBAM().eval()
    real = [n for n in range(1, 12) if torch_shapes(model, (3, n, n))]
    graph = from_model(model)
    assert input_sizes(graph, 1, 11) == real == list(range(3, 12))
    g = graph_at(graph, (3, 9, 9))
    assert [g[n].op for n in ("mean", "max", "mul")] == ["pointwise", "pointwise", "add"]
    assert run(g, (3, 9, 9))["mean"].shape == (1, 4, 4)
