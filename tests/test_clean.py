"""The clean region of convlib.clean, proven by running PyTorch and TensorFlow on random inputs.

For each network and pair of sizes, the true-size input and the same input placed top-left in a
zero canvas both run; at every checked node the outputs must agree to float32 tolerance inside
the region, and the first row below it and the first column right of it must differ (where the
true output has one). Weights use He initialisation and BatchNorm gets random running
statistics, so that no layer hides a difference (default initialisations shrink the signal to
1e-7 after twenty layers, and fresh BatchNorm statistics keep zeros zero).
"""

from __future__ import annotations

import models
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convlib.bridges.porting import to_torch
from convlib.clean import clean_region
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
from convlib.zoo import resnet18


def _tol(y) -> float:
    return 1e-5 * max(1.0, float(np.abs(y).max()))


def _verdict(region, y_true, y_canvas, where: str) -> None:
    """Inside equal, the first row and column outside different; ``y_*`` are (C, H, W) arrays."""
    rows, cols = region.rows, region.cols
    y_true, y_canvas = (
        y.reshape(-1, 1, 1) if y.ndim == 1 else y for y in (y_true, y_canvas)
    )  # flat: one cell
    tol = _tol(y_true)
    if len(rows) and len(cols):
        inside = np.abs(
            y_true[:, rows.start : rows.stop, : cols.stop] - y_canvas[:, : rows.stop, : cols.stop]
        )
        assert inside.max() <= tol, f"{where}: clean cells differ by {inside.max():.3g} (tol {tol:.2g})"
    for axis, stop, other in ((1, rows.stop, cols), (2, cols.stop, rows)):
        if stop < y_true.shape[axis] and len(other):
            sl = (
                (slice(None), stop, slice(0, other.stop))
                if axis == 1
                else (slice(None), slice(0, other.stop), stop)
            )
            diff = np.abs(y_true[sl] - y_canvas[sl]).max()
            assert diff > tol, (
                f"{where}: the first {'row' if axis == 1 else 'column'} outside, {stop}, is clean too"
            )


def _canvas(x, padded_hw, channels_last: bool):
    h, w = x.shape[1:3] if channels_last else x.shape[2:4]
    out = np.zeros((1, *padded_hw, x.shape[3]) if channels_last else (1, x.shape[1], *padded_hw), x.dtype)
    if channels_last:
        out[:, :h, :w] = x
    else:
        out[:, :, :h, :w] = x
    return out


def _init_torch(torch, module) -> None:
    g = torch.Generator().manual_seed(0)
    nn = torch.nn
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                fan = m.weight[0].numel()
                if isinstance(m, nn.ConvTranspose2d):  # each output reads k*k/s^2 taps of every input channel
                    fan = m.weight.shape[0] * m.weight[0, 0].numel() // (m.stride[0] * m.stride[1])
                m.weight.normal_(0, (2 / fan) ** 0.5, generator=g)
                if m.bias is not None:
                    m.bias.normal_(0, 0.1, generator=g)
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.2, generator=g)
                m.running_var.uniform_(0.5, 2.0, generator=g)
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.normal_(0, 0.2, generator=g)
    module.eval()


def _first(y):
    return y[0] if isinstance(y, tuple) else y  # MaxPool2d(return_indices=True) returns (values, indices)


def prove_torch(torch, module, channels, true_hw, padded_hw, *, rng, spec=None):
    """Run ``module`` on both inputs; check the output and every node that is a named leaf module.

    The region comes from ``module`` itself, or from the ``spec`` that ``to_torch`` built it from
    (its "same" padding runs in a module that ``torch.fx`` cannot read).
    """
    region = clean_region(module if spec is None else spec, true_hw, padded_hw, channels=channels)
    # A residual block's module returns relu(sum), its node the sum: compare layers, not blocks.
    names = {layer.name for layer in region.layers if layer.kind != "Residual"}
    seen: dict[str, list] = {}
    leaves = [(n, m) for n, m in module.named_modules() if n in names]
    hooks = [
        m.register_forward_hook(lambda _m, _i, y, n=n: seen.setdefault(n, []).append(_first(y)[0].numpy()))
        for n, m in leaves
    ]
    x = rng.standard_normal((1, channels, *true_hw)).astype(np.float32)
    try:
        with torch.no_grad():
            outs = [module(torch.from_numpy(a))[0].numpy() for a in (x, _canvas(x, padded_hw, False))]
    finally:
        for h in hooks:
            h.remove()
    _verdict(region, *outs, "output")
    once = {name: ys for name, ys in seen.items() if len(ys) == 2}  # a module called twice is several nodes
    for name, (y_true, y_canvas) in once.items():
        _verdict(region[name], y_true, y_canvas, name)
    return region, len(once)


def prove_keras(tf, model, true_hw, padded_hw, *, rng, probes=None, spec=None):
    """Run a Keras model on both inputs; check its output and ``probes``, ``{node name: tensor}``.

    The region comes from ``model`` (read by the Keras bridge), or from the ``spec`` it was built from.
    """
    probes = probes or {}
    region = clean_region(model if spec is None else spec, true_hw, padded_hw, channels=model.input.shape[-1])
    probe = tf.keras.Model(model.input, [model.output, *probes.values()])
    x = rng.standard_normal((1, *true_hw, model.input.shape[-1])).astype(np.float32)
    runs = [
        [np.moveaxis(np.asarray(y)[0], -1, 0) for y in tf.nest.flatten(probe(a))]
        for a in (x, _canvas(x, padded_hw, True))
    ]
    for i, name in enumerate(["output", *probes]):
        _verdict(region if i == 0 else region[name], runs[0][i], runs[1][i], name)
    return region


def spec_to_keras(tf, spec, channels: int, seed: int = 0):
    """A convlib spec as a Keras functional model (He weights, random BatchNorm statistics)."""
    keras = tf.keras
    L = keras.layers
    init = dict(
        kernel_initializer=keras.initializers.HeNormal(seed),
        bias_initializer=keras.initializers.RandomNormal(0, 0.1, seed),
    )
    rng = np.random.default_rng(seed)
    tensors = {}

    def sequence(layers, x, prefix):
        for i, layer in enumerate(layers):
            name = f"{prefix}{layer.name if layer.name is not None else i}"
            if isinstance(layer, SequentialSpec):
                x = sequence(layer.layers, x, name + ".")
            elif isinstance(layer, ResidualSpec):
                y = L.Add()(
                    [
                        sequence(layer.main, x, name + ".main."),
                        sequence(layer.shortcut, x, name + ".shortcut."),
                    ]
                )
                x = L.ReLU()(y) if layer.relu else y
            elif isinstance(layer, ConvSpec):
                if not isinstance(layer.padding, str):
                    x = L.ZeroPadding2D(layer.padding)(x)
                word = "same" if layer.padding == "same" else "valid"
                x = L.Conv2D(layer.filters, layer.kernel, layer.stride, word,
                             dilation_rate=layer.dilation, use_bias=layer.bias, **init)(x)  # fmt: skip
            elif isinstance(layer, (MaxPoolSpec, AvgPoolSpec)):
                pool = L.MaxPooling2D if isinstance(layer, MaxPoolSpec) else L.AveragePooling2D
                if not isinstance(layer.padding, str) and layer.padding != ((0, 0), (0, 0)):
                    # Zeros stand in for max pooling's ignored pads on a non-negative input (after ReLU).
                    assert isinstance(layer, MaxPoolSpec) and i and isinstance(layers[i - 1], ReLUSpec), name
                    x = L.ZeroPadding2D(layer.padding)(x)
                x = pool(layer.kernel, layer.stride, "same" if layer.padding == "same" else "valid")(x)
            elif isinstance(layer, BatchNormSpec):
                bn = L.BatchNormalization(epsilon=1e-5)
                x = bn(x)
                c = x.shape[-1]
                bn.set_weights(
                    [
                        rng.uniform(0.5, 1.5, c),
                        rng.normal(0, 0.2, c),
                        rng.normal(0, 0.2, c),
                        rng.uniform(0.5, 2, c),
                    ]
                )
            elif isinstance(layer, ReLUSpec):
                x = L.ReLU()(x)
            elif isinstance(layer, GlobalAvgPoolSpec):
                x = L.GlobalAveragePooling2D(keepdims=True)(x)
            elif isinstance(layer, FlattenSpec):
                x = L.Flatten()(x)
            elif isinstance(layer, DenseSpec):
                x = L.Dense(layer.units, use_bias=layer.bias, **init)(x)
            else:
                raise TypeError(type(layer).__name__)
            tensors[name] = x
        return x

    inp = keras.Input((None, None, channels))
    return keras.Model(inp, sequence(spec, inp, "")), tensors


SPECS = {
    "bias": [ConvSpec(4, 3, padding=1), ReLUSpec(), ConvSpec(4, 3, padding=1), ConvSpec(3, 3, padding=1)],
    "no-bias": [ConvSpec(4, 3, padding=1, bias=False), ConvSpec(4, 3, padding=1, bias=False), ConvSpec(3, 1)],
    "relu-max": [
        ConvSpec(4, 3, padding=1, bias=False),
        ReLUSpec(),
        MaxPoolSpec(2),
        ConvSpec(3, 3, padding=1),
    ],
    "batchnorm": [
        ConvSpec(4, 3, padding=1, bias=False),
        BatchNormSpec(),
        ReLUSpec(),
        ConvSpec(3, 3, padding=1),
    ],
    "same-s2": [ConvSpec(4, 3, stride=2, padding="same"), ReLUSpec(), ConvSpec(3, 3, padding="same")],
    "dilated-avg": [ConvSpec(4, 3, padding=2, dilation=2), AvgPoolSpec(2), ConvSpec(3, 3, padding=1)],
    "residual": [
        ConvSpec(4, 3, padding=1),
        ResidualSpec([ConvSpec(4, 3, padding=1), ReLUSpec(), ConvSpec(4, 3, padding=1)]),
        ConvSpec(2, 1),
    ],
}
SIZES = [((9, 11), (16, 16)), ((10, 13), (16, 14)), ((12, 12), (12, 15))]


@pytest.mark.parametrize("name", SPECS)
def test_specs_in_both_frameworks(name, torch, tf, rng):
    spec = SPECS[name]
    module = to_torch(spec, (3, 8, 8))
    _init_torch(torch, module)
    keras_model = spec_to_keras(tf, spec, 3)[0]
    for true_hw, padded_hw in SIZES:
        region, checked = prove_torch(torch, module, 3, true_hw, padded_hw, rng=rng, spec=spec)
        assert checked >= 3
        prove_keras(tf, keras_model, true_hw, padded_hw, rng=rng, spec=spec)
        # The Keras bridge reads the built model (ZeroPadding2D + valid Conv2D): the same region.
        assert tuple(prove_keras(tf, keras_model, true_hw, padded_hw, rng=rng)) == tuple(region)


def test_same_padding_with_a_stride_aligns_only_sizes_of_one_parity():
    spec = SPECS["same-s2"]
    assert clean_region(spec, (10, 10), (16, 16)).rows == range(0, 4)  # pads (0, 1) in both runs
    shifted = clean_region(spec, (9, 10), (16, 16))  # (1, 1) on 9 rows, (0, 1) on 16
    assert shifted.rows == range(0) and shifted.cols == range(0, 4)
    assert shifted["0"].note == "rows: pads (1, 1) on 9 vs (0, 1) on 16"


def test_resnet18_torch_and_keras(torch, tf, rng):
    module, c = models.ResNet18(width=8), 3
    _init_torch(torch, module)
    for true_hw, padded_hw in (((45, 61), (64, 80)), ((64, 64), (96, 72))):
        region, checked = prove_torch(torch, module, c, true_hw, padded_hw, rng=rng)
        assert checked > 40
    # A 64x64 image in a 96x72 canvas keeps a clean 3x3 corner at layer2; nothing survives layer3.
    assert (region["layer2.1.bn2"].rows, region["layer3.1.bn2"].rows) == (range(0, 3), range(0))
    spec = resnet18(num_classes=4)
    keras_model, tensors = spec_to_keras(tf, spec, 3)
    probes = {f"layer{i}.1.relu": tensors[f"layer{i}.1"] for i in (1, 2, 3, 4)}
    for true_hw, padded_hw in (((45, 61), (64, 80)), ((64, 64), (96, 72))):
        spec_region = prove_keras(tf, keras_model, true_hw, padded_hw, rng=rng, probes=probes, spec=spec)
    # The spec and the torch module are the same network: the same regions, stage by stage.
    assert [spec_region[f"layer{i}.1.relu"].rows for i in (1, 2, 3, 4)] == [
        region[f"layer{i}.1.bn2"].rows for i in (1, 2, 3, 4)
    ]


@pytest.mark.parametrize("fix", ["output_size", "pad", "interpolate"])
def test_unet_torch_odd_sizes(fix, torch, rng):
    module = models.UNet(fix=fix)
    _init_torch(torch, module)
    for true_hw, padded_hw in (((45, 61), (64, 80)), ((37, 50), (48, 64))):
        prove_torch(torch, module, 3, true_hw, padded_hw, rng=rng)


def test_unet_keras(tf, rng):
    model = models.keras_unet()
    rng_bn = np.random.default_rng(1)
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            c = layer.get_weights()[0].shape[0]
            layer.set_weights(
                [
                    rng_bn.uniform(0.5, 1.5, c),
                    rng_bn.normal(0, 0.2, c),
                    rng_bn.normal(0, 0.2, c),
                    rng_bn.uniform(0.5, 2, c),
                ]
            )
    # Keras numbers layer names per process ("concatenate_4" after other tests): find it by class.
    concat = next(layer for layer in model.layers if isinstance(layer, tf.keras.layers.Concatenate))
    probes = {concat.name: concat.output}
    region = prove_keras(tf, model, (36, 52), (48, 64), rng=rng, probes=probes)
    assert region.rows == range(0, 25) and region.cols == range(0, 41)
    prove_keras(tf, model, (64, 64), (96, 72), rng=rng)


@settings(max_examples=12, deadline=None, derandomize=True)
@given(
    k=st.sampled_from([1, 2, 3, 5]),
    stride=st.integers(1, 2),
    pad=st.integers(0, 2),
    bias=st.booleans(),
    pool=st.sampled_from([None, "max", "avg"]),
    true_hw=st.tuples(st.integers(8, 14), st.integers(8, 14)),
    extra=st.tuples(st.integers(0, 5), st.integers(0, 5)),
)
def test_random_small_networks_torch(torch, k, stride, pad, bias, pool, true_hw, extra):
    spec = [ConvSpec(4, k, stride=stride, padding=pad, bias=bias), ReLUSpec()]
    spec += [MaxPoolSpec(2)] if pool == "max" else [AvgPoolSpec(2)] if pool == "avg" else []
    spec += [ConvSpec(4, 3, padding=1, bias=bias)]
    module = to_torch(spec, (2, 8, 8))
    _init_torch(torch, module)
    padded = (true_hw[0] + extra[0], true_hw[1] + extra[1])
    prove_torch(torch, module, 2, true_hw, padded, rng=np.random.default_rng(0), spec=spec)


def test_region_table_and_mask():
    region = clean_region(SPECS["bias"], (9, 11), (16, 16))
    assert region.mask().sum() == len(region.rows) * len(region.cols) and region.mask().shape == (16, 16)
    rows, cols = region
    assert (rows, cols) == (range(0, 7), range(0, 9))
    assert region.table().splitlines()[1].split() == ["0", "9x11", "16x16", "0..8", "0..10"]


def test_bad_sizes_and_training_mode(torch):
    with pytest.raises(ValueError, match=r"true_hw \(20, 10\) must fit in padded_hw \(16, 16\)"):
        clean_region(SPECS["bias"], (20, 10), (16, 16))
    with pytest.raises(ValueError, match=r"true_hw\[0\] \(height\) must be a positive integer, got 0"):
        clean_region(SPECS["bias"], (0, 10), (16, 16))
    with pytest.raises(
        ValueError, match=r"refuses the true size 4x4: layer 1 \(MaxPool\) on input \(2, 2, 2\)"
    ):
        clean_region([ConvSpec(2, 3), MaxPoolSpec(3)], (4, 4), (16, 16))
    with pytest.raises(ValueError, match="training mode with batchnorm: batch statistics"):
        clean_region(models.ResNet18().train(), (32, 32), (40, 40))


def test_upsampling_and_padding_modes_torch(torch, rng):
    nn = torch.nn
    modes = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1, padding_mode="reflect"),
        nn.ReLU(),
        nn.Conv2d(6, 6, 3, padding=2, padding_mode="replicate", dilation=2),
        nn.Conv2d(6, 3, 3, padding=1, padding_mode="circular"),
    )
    for module, c in ((models.UpsamplingZoo(c=6), 6), (modes, 3)):
        _init_torch(torch, module)
        for true_hw, padded_hw in (((36, 50), (48, 64)), ((64, 64), (64, 72))):
            prove_torch(torch, module, c, true_hw, padded_hw, rng=rng)
    # Circular padding wraps the true run to its own last row: unless that is the canvas's, nothing is clean.
    assert clean_region(modes, (36, 50), (48, 64)).rows == range(0)
    assert clean_region(modes, (64, 64), (64, 72)).rows == range(0, 64)


def test_keras_fused_activation(tf, rng):
    L = tf.keras.layers
    inp = tf.keras.Input((None, None, 3))
    init = tf.keras.initializers.HeNormal(0)
    x = L.Conv2D(6, 3, padding="same", use_bias=False, activation="sigmoid", kernel_initializer=init)(inp)
    model = tf.keras.Model(inp, L.Conv2D(3, 3, padding="same", use_bias=False, kernel_initializer=init)(x))
    # sigmoid(0) = 0.5: the canvas's zeros do not stay zeros, so the second conv loses a row and a column.
    assert tuple(prove_keras(tf, model, (20, 25), (24, 32), rng=rng)) == (range(0, 19), range(0, 24))


@pytest.mark.parametrize(
    "name, channels, odd",
    [
        ("valid_unet", 1, (range(0, 52), range(0))),  # the skips' centre crop moves with the size
        ("dilated", 3, (range(0, 19), range(0, 18))),  # ceil_mode's last window overhangs differently
    ],
)
def test_valid_padding_torch(name, channels, odd, torch, rng):
    # No layer reads padding, so on sizes that keep the grids aligned the canvas cannot reach the
    # output; odd sizes move a centre crop or a ceil_mode window, and the region shrinks.
    module = {"valid_unet": models.ValidUNet, "dilated": models.dilated}[name]()
    _init_torch(torch, module)
    region, _ = prove_torch(torch, module, channels, (64, 64), (96, 72), rng=rng)
    out = region[region.output]
    assert (region.rows, region.cols) == (range(out.true_hw[0]), range(out.true_hw[1]))
    region, _ = prove_torch(torch, module, channels, (93, 91), (124, 140), rng=rng)
    assert (region.rows, region.cols) == odd
    if name == "valid_unet":
        assert [r.note for r in region.layers if r.note] == [
            "cols: crop (17, 18) in the true run vs (16, 16) on the canvas"
        ]
