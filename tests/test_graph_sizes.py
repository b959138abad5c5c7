"""convlib.input_sizes and size_rule against the real frameworks: every size of a range is run."""

from __future__ import annotations

import re

import numpy as np
import pytest
from models import keras_unet, nn, torch, torch_models

from convlib.graph import from_model, input_sizes, run, scan_sizes, size_rule
from convlib.graph.rule import Floor, formulas
from convlib.proof.frameworks import load_tf
from convlib.zoo import vgg16 as vgg16_spec

MODELS = torch_models()
RANGES = {
    "unet": (16, 80), "unet_output_size": (16, 48), "unet_interpolate": (16, 48), "unet_pad": (16, 48),
    "valid_unet": (36, 80), "fpn": (16, 80), "resnet18": (1, 24), "vgg16": (20, 64), "flatten_head": (20, 40),
    "vgg16_fixed": ((221, 226), (253, 258)), "dilated": (40, 80), "upsampling": (1, 40),
}  # fmt: skip
REFUSING = {"unet", "upsampling", "valid_unet", "fpn", "vgg16", "vgg16_fixed", "flatten_head", "dilated"}


def torch_accepts(model, shape) -> bool:
    try:
        with torch.no_grad():
            model(torch.zeros(1, *shape))
    except (RuntimeError, ValueError) as err:  # torch's shape errors; anything else is a failure
        assert re.search(r"size|shape|Expected|dimension|kernel|output", str(err)), err
        return False
    return True


@pytest.mark.parametrize("name", sorted(MODELS))
def test_input_sizes_equal_the_sizes_torch_runs(name):
    model, c = MODELS[name]
    graph, refused = from_model(model), 0
    for lo, hi in RANGES[name] if isinstance(RANGES[name][0], tuple) else [RANGES[name]]:
        real = [n for n in range(lo, hi + 1) if torch_accepts(model, (c, n, n))]
        assert input_sizes(graph, lo, hi, channels=c) == real and real
        refused += hi - lo + 1 - len(real)
    assert bool(refused) == (name in REFUSING)


def test_input_sizes_equal_the_sizes_keras_runs():
    load_tf()
    model = keras_unet()
    real = []
    for n in range(12, 41):
        try:
            model(np.zeros((1, n, n, 3), np.float32))
            real.append(n)
        except Exception as err:  # Keras wraps TensorFlow's InvalidArgumentError; demand the concat one
            assert "ConcatOp : Dimension 1 in both shapes must be equal" in str(err), err
    assert input_sizes(model, 12, 40) == real == list(range(12, 41, 4))


class TallUNet(nn.Module):
    """Pools and upsamples the height only: odd heights break the skip, any width is fine."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 3, padding=1)
        self.pool = nn.MaxPool2d((2, 1))
        self.up = nn.ConvTranspose2d(2, 2, (2, 1), stride=(2, 1))

    def forward(self, x):
        y = self.conv(x)
        return torch.cat([y, self.up(self.pool(y))], 1)


def test_per_axis_sizes():
    model = TallUNet().eval()
    heights = [n for n in range(2, 30) if torch_accepts(model, (2, n, 7))]
    widths = [n for n in range(1, 30) if torch_accepts(model, (2, 6, n))]
    assert input_sizes(model, 2, 29, channels=2, axis="height", other=7) == heights == list(range(2, 30, 2))
    assert input_sizes(model, 1, 29, channels=2, axis="width", other=6) == widths == list(range(1, 30))
    assert scan_sizes(model, 1, 9, channels=2, axis="width").other == 2  # the smallest square size
    assert size_rule(model, channels=2, axis="height", other=7, upto=40).text == "n >= 2 and n = 0 (mod 2)"
    with pytest.raises(ValueError, match="axis must be None, 'height' or 'width', got 'depth'"):
        input_sizes(model, 1, 9, axis="depth")


RULES = {
    "unet": ("n >= 8 and n = 0 (mod 8)", {"residue": "cat (cat), cat_1 (cat), cat_2 (cat)"}),
    "unet_output_size": ("n >= 8", {"lower bound": "pool#2 (MaxPool2d)"}),
    # n = 1: every level is 1x1, and a 1x1 map broadcasts against any other (PyTorch runs it)
    "fpn": ("n >= 8 and n = 0 (mod 8); also n in 1", {"residue": "add (add), add_1 (add), add_2 (add)"}),
    "flatten_head": ("only n in 29..32", {"size": "4 (Linear)"}),
    "dilated": ("n >= 55", {"lower bound": "6 (Conv2d)"}),
}


@pytest.mark.parametrize("name", sorted(RULES))
def test_size_rule_states_the_set(name):
    model, c = MODELS[name]
    graph = from_model(model)
    rule = size_rule(graph, channels=c, upto=96)
    assert (rule.text, rule.layers) == RULES[name]
    assert rule.between(1, 96) == input_sizes(graph, 1, 96, channels=c)


def test_size_formulas_per_layer():
    graph = from_model(MODELS["unet"][0])
    rule = size_rule(graph, upto=64)
    assert rule.sizes["pool#2"] == ("floor(n/8)", "floor(n/8)")
    assert rule.sizes["up.0"] == ("2*floor(n/8)", "2*floor(n/8)")
    assert rule.sizes["cat_2"] == ("n", "n")  # a merge takes its first input's size: the skip's
    forms = formulas(graph)
    for n in (40, 48, 56):
        got = run(graph, (3, n, n))
        assert all(got[k].shape[1] == f[0](n) for k, f in forms.items() if f[0] is not None)
    vgg = size_rule(vgg16_spec(), upto=256)
    assert vgg.text == "only n in 224..255" and vgg.layers == {"size": "classifier.0 (Dense)"}
    assert str(Floor(1, 3, 4, -1)) == "ceil(n/4) - 1" and str(Floor(3, 1, 3, 0)) == "3*floor((n + 1)/3)"
    assert Floor(2, 1, 3, 5)(10) == 2 * (11 // 3) + 5


def test_bad_ranges_are_refused():
    with pytest.raises(ValueError, match="lo <= hi, got lo=9, hi=3"):
        input_sizes(MODELS["fpn"][0], 9, 3)
    with pytest.raises(ValueError, match="holds 200001 sizes"):
        input_sizes(MODELS["fpn"][0], 1, 200001)
