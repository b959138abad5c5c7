"""Convlib specs through the one tracer (:func:`convlib.graph.trace`): shapes and parameters against
PyTorch, receptive fields against NaN flow, and the table chapter 11 prints."""

from __future__ import annotations

import functools
import json

import pytest

from convlib.bridges.porting import to_torch
from convlib.bridges.spec_torch import record_shapes
from convlib.graph import trace
from convlib.proof.frameworks import load_torch
from convlib.records import (
    AvgPoolSpec,
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
from convlib.zoo import resnet18, resnet50, vgg16

torch = load_torch()

# Built from each spec alone (torchvision is not installed), cached: VGG-16 takes ~1.5 s to build.
NETWORKS = {
    "vgg16": vgg16,
    "vgg16_features": functools.partial(vgg16, include_top=False),
    "resnet18": resnet18,
    "resnet50": resnet50,
}


@functools.cache
def torch_net(name: str):
    torch.manual_seed(0)
    return to_torch(NETWORKS[name](), (3, 224, 224))


def assert_same_shapes(spec, net, input_shape):
    recorded = record_shapes(net, input_shape)
    rows = trace(spec, input_shape).rows
    # Every row is a module but the input and the ReLU after a residual sum (inside the block's module).
    sums = {f"{r.name}.relu" for r in rows if r.kind == "Residual"}
    assert {r.name for r in rows} - recorded.keys() == {"input"} | sums
    for row in rows:
        if row.name in recorded:
            assert recorded[row.name] == row.output_shape, row.name
    return rows


@pytest.mark.parametrize(
    "name, input_shape",
    [
        ("vgg16", (3, 224, 224)),
        ("vgg16_features", (3, 200, 300)),
        ("vgg16_features", (3, 67, 45)),
        ("resnet18", (3, 224, 224)),
        ("resnet18", (3, 200, 300)),
        ("resnet18", (3, 33, 97)),
        ("resnet50", (3, 224, 224)),
        ("resnet50", (3, 200, 300)),
        ("resnet50", (3, 65, 64)),
    ],
)
def test_trace_matches_torch_shapes(name, input_shape):
    rows = assert_same_shapes(NETWORKS[name](), torch_net(name), input_shape)
    assert len(rows) > 30


@pytest.mark.parametrize(
    "name, published",
    # torchvision's documented counts; the test asserts the torch build agrees before using them.
    [("vgg16", 138_357_544), ("resnet18", 11_689_512), ("resnet50", 25_557_032)],
)
def test_parameter_counts_match_torch(name, published):
    counted = sum(p.numel() for p in torch_net(name).parameters())
    assert trace(NETWORKS[name](), (3, 224, 224)).total_params == counted == published


def test_parameters_do_not_depend_on_input_size():
    sizes = [(3, 224, 224), (3, 200, 300), (3, 64, 64)]
    assert len({trace(resnet18(), s).total_params for s in sizes}) == 1


def test_resnet_output_grid_at_200x300():
    # 200 -> 100 -> 50 -> 50 -> 25 -> 13 -> 7; 300 -> 150 -> 75 -> 75 -> 38 -> 19 -> 10
    t = trace(resnet50(), (3, 200, 300))
    assert t["layer4.2"].output_shape == (2048, 7, 10)
    assert t.output_shape == (1000,)


# --- receptive fields -------------------------------------------------------------------


def measured_extent(net, input_shape, pos):
    """Input rows and columns that reach output ``pos``: a NaN in each row (column) in turn.

    NaN survives every op here (0 * NaN, max, average, ReLU all give NaN), so an output is NaN
    exactly when its value depends on that input row - the receptive field, found by running
    PyTorch rather than by the recurrence.
    """
    c, h, w = input_shape
    x = torch.zeros(h + w, c, h, w)
    for i in range(h):
        x[i, :, i, :] = float("nan")
    for j in range(w):
        x[h + j, :, :, j] = float("nan")
    with torch.no_grad():
        hit = torch.isnan(net(x)[:, 0, pos[0], pos[1]])
    rows, cols = hit[:h].nonzero().flatten(), hit[h:].nonzero().flatten()
    return (int(rows.min()), int(rows.max())), (int(cols.min()), int(cols.max()))


def predicted_extent(row, input_shape, pos):
    out = []
    for axis in range(2):
        lo, hi = row.field[axis].bounds(pos[axis])
        assert lo == int(lo) and hi == int(hi) and row.field[axis].exact  # edges fall on whole pixels
        out.append((max(int(lo), 0), min(int(hi), input_shape[axis + 1] - 1)))
    return tuple(out)


TINY = [
    (
        [
            ConvSpec(3, 3, stride=2, padding=1),
            ReLUSpec(),
            MaxPoolSpec(3, stride=2, padding=1),
            ConvSpec(3, 3, dilation=2, padding="same"),
            AvgPoolSpec(2),
            ConvSpec(2, (3, 5), stride=(1, 2), padding=((0, 1), (2, 0))),
        ],
        (2, 61, 75),
    ),
    (  # branches with different windows and centres: the sum sees their union
        [
            ConvSpec(3, 3, stride=2, padding=1),
            ResidualSpec(
                main=[ConvSpec(4, 2, stride=2), ConvSpec(4, 3, padding=1)],
                shortcut=[ConvSpec(4, 1, stride=2)],
            ),
        ],
        (1, 40, 44),
    ),
    ([MaxPoolSpec(2, padding="same"), ConvSpec(2, 4, stride=3, padding="same")], (1, 23, 30)),
    (resnet18()[:5], (3, 64, 80)),  # stem and layer1
    (list(vgg16(include_top=False)[0].layers[:10]), (3, 44, 40)),  # two VGG blocks
]


@pytest.mark.parametrize("spec, input_shape", TINY)
def test_receptive_field_matches_nan_propagation(spec, input_shape):
    torch.manual_seed(0)
    net = to_torch(spec, input_shape)
    t = trace(spec, input_shape)
    last = t[t.graph.output]
    _, ho, wo = last.output_shape
    for pos in [(0, 0), (ho // 2, wo // 2), (ho - 1, wo - 1)]:
        assert measured_extent(net, input_shape, pos) == predicted_extent(last, input_shape, pos), pos


def test_receptive_field_of_resnet50_and_vgg16():
    # Recurrence by hand for VGG's first block: two 3x3 convs (rf 5), a 2x2 pool (rf 6, jump 2,
    # start 0.5: the pool's first window covers pixels 0..5, centre 2.5 - see next assertion).
    row = trace(vgg16(), (3, 224, 224))["features.4"]
    assert (row.rf, row.jump, row.start) == ((6, 6), (2, 2), (0.5, 0.5))
    row = trace(resnet50(), (3, 224, 224))["layer4.2"]
    assert row.jump == (32, 32) and row.rf[0] == row.rf[1] > 224


# --- variable input sizes ---------------------------------------------------------------


def test_flatten_dense_names_expected_and_received_size():
    trace(vgg16(), (3, 224, 224))  # the size the head was built for
    with pytest.raises(
        ValueError, match=r"classifier\.0 .*expected 25088 input features but the flattened input has 27648"
    ):
        trace(vgg16(), (3, 200, 300))  # 512 * 6 * 9
    with pytest.raises(ValueError, match=r"expected 25088 .* has 512"):
        trace(vgg16(), (3, 32, 32))


def test_global_pooling_removes_the_size_limit():
    head = [GlobalAvgPoolSpec(), FlattenSpec(), DenseSpec(10, in_features=512)]
    spec = [*vgg16(include_top=False), *head]
    shapes = {trace(spec, (3, h, w)).output_shape for h, w in [(224, 224), (200, 300), (32, 32)]}
    assert shapes == {(10,)}


def test_torch_padding_variants_match_trace():
    spec = [
        ConvSpec(4, 3, stride=2, padding="same"),
        ConvSpec(4, 2, padding=((0, 1), (1, 0))),
        MaxPoolSpec(3, stride=2, padding="same"),
        AvgPoolSpec(2, padding="same"),
        AvgPoolSpec(3, stride=1, padding=1, count_include_pad=False),
        AvgPoolSpec(2, stride=1, padding=((1, 0), (0, 1)), count_include_pad=False),
        MaxPoolSpec(2, stride=1, padding=((0, 1), (1, 1)), ceil_mode=False),
        BatchNormSpec(),
        ConvSpec(6, 3, padding="full", groups=2),
        GlobalAvgPoolSpec(),
        FlattenSpec(),
        BatchNormSpec(),
        DenseSpec(3),
    ]
    net = to_torch(spec, (2, 13, 18))
    for shape in [(2, 13, 18), (2, 20, 9), (2, 31, 32)]:
        assert_same_shapes(spec, net, shape)


def test_avg_pool_same_excludes_padding_like_tensorflow():
    net = to_torch([AvgPoolSpec(2, padding="same")], (1, 5, 7))
    with torch.no_grad():
        y = net(torch.ones(1, 1, 5, 7))
    assert y.shape == (1, 1, 3, 4) and torch.all(y == 1)  # edge windows average real cells only


def test_to_dict_and_table():
    t = trace(resnet18(), (3, 200, 300))
    d = json.loads(json.dumps(t.to_dict()))
    assert d["total_params"] == t.total_params and d["output_shape"] == [1000]
    assert len(d["layers"]) == len(t.rows) and d["layers"][1]["output_shape"] == [64, 100, 150]
    assert d["layers"][1]["pads"] == [[3, 3], [3, 3]] and d["layers"][1]["rf_exact"]
    text = t.table(compact=True)
    lines = text.splitlines()
    assert lines[0].split() == ["layer", "kind", "output", "params", "rf", "jump", "start"]
    assert lines[2].split() == ["conv1", "Conv", "64x100x150", "9,408", "7", "2", "0"]
    assert len(lines) == len(t.rows) + 2 and max(map(len, lines)) <= 74  # no input row; the footer
    assert lines[-1] == f"input 3x200x300, total params {t.total_params:,}" and "*" not in text
    assert str(t) == t.table() and t.table().splitlines()[0].split()[-1] == "left"


def test_chapter_11_small_table():
    small = [
        ConvSpec(2, 3, padding=1),
        ReLUSpec(),
        MaxPoolSpec(2),
        ConvSpec(2, 3, stride=2, padding="same"),
        ConvSpec(1, 3),
    ]
    assert trace(small, (1, 20, 20)).table(compact=True).splitlines() == [
        "layer  kind     output   params  rf  jump  start",
        "------------------------------------------------",
        "0      Conv     2x20x20      20  3   1     0",
        "1      ReLU     2x20x20       0  3   1     0",
        "2      MaxPool  2x10x10       0  4   2     0.5",
        "3      Conv     2x5x5        38  8   4     2.5",
        "4      Conv     1x3x3        19  16  4     6.5",
        "input 1x20x20, total params 77",
    ]


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, input_shape, match",
    [
        (
            [ConvSpec(4, 7)],
            (3, 5, 9),
            r"layer 0 \(Conv\) on input \(3, 5, 9\): kernel height 7 .* padded input height 5",
        ),
        ([ConvSpec(4, 3, groups=2)], (3, 8, 8), r"groups=2 must divide the 3 input"),
        ([DenseSpec(3)], (3, 8, 8), r"layer 0 \(Dense\) .*needs a flat input, got shape \(3, 8, 8\)"),
        (
            [FlattenSpec(), ConvSpec(2, 1)],
            (3, 4, 4),
            r"layer 1 \(Conv\) .*needs a \(C, H, W\) input, got the flat shape \(48,\)",
        ),
        (
            [ResidualSpec(main=[ConvSpec(4, 3, stride=2, padding=1)])],
            (4, 8, 8),
            r"layer 0 \(Residual\) on input \(4, 4, 4\) and \(4, 8, 8\): the inputs have shapes",
        ),
        ([ReLUSpec()], (3, 8), r"input_shape must be \(C, H, W\), got \(3, 8\)"),
        ([ReLUSpec()], (3, 0, 8), r"input_shape must be three positive ints \(C, H, W\), got \(3, 0, 8\)"),
    ],
)
def test_bad_networks_raise_value_error(spec, input_shape, match):
    with pytest.raises(ValueError, match=match):
        trace(spec, input_shape)


def test_bad_records():
    with pytest.raises(ValueError, match=r"stride must be a positive integer, got 0"):
        ConvSpec(4, 3, stride=0)
    with pytest.raises(ValueError, match=r"groups=3 must divide filters=4"):
        ConvSpec(4, 3, groups=3)
    with pytest.raises(ValueError, match=r"padding must be one of"):
        MaxPoolSpec(2, padding="half")
    with pytest.raises(TypeError, match=r"SequentialSpec.layers\[1\] must be a layer record, got str"):
        SequentialSpec([ReLUSpec(), "relu"])
    with pytest.raises(TypeError, match=r"network entry 0 must be a layer record, got int"):
        trace([3], (3, 8, 8))
    with pytest.raises(ValueError, match=r"ceil_mode=True has no PyTorch equivalent"):
        to_torch([MaxPoolSpec(3, stride=2, padding=((0, 1), (0, 1)), ceil_mode=True)], (1, 6, 6))
