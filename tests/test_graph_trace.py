"""convlib.graph.trace against real forward passes: every traced shape is one PyTorch or Keras produced."""

from __future__ import annotations

import numpy as np
import pytest
from models import FPN, UNet, keras_fpn_head, keras_unet, nn, torch, torch_models

import convlib
from convlib.bridges.porting import to_torch
from convlib.graph import Graph, GraphTrace, Node, Size, evaluate, from_model, run, trace
from convlib.zoo import resnet18 as resnet18_spec

MODELS = torch_models()
# Sizes per model: odd ones included, each accepted by the model (test_graph_sizes proves the set).
SIZES = {
    "unet": (32, 48), "unet_output_size": (33, 65), "unet_interpolate": (37, 64), "unet_pad": (45, 33),
    "valid_unet": (44, 61), "fpn": (32, 40), "resnet18": (33, 64), "vgg16": (32, 45), "vgg16_fixed": (239,),
    "flatten_head": (29, 32), "dilated": (55, 64), "upsampling": (17, 32),
}  # fmt: skip


def hooked_shapes(model, x) -> dict[str, list[tuple]]:
    """Every leaf module's output shapes (one per call), batch axis dropped."""
    seen: dict[str, list[tuple]] = {}

    def hook(name):
        def record(_m, _i, out):
            out = out[0] if isinstance(out, tuple) else out
            seen.setdefault(name, []).append(tuple(out.shape[1:]))

        return record

    handles = [
        m.register_forward_hook(hook(n)) for n, m in model.named_modules() if n and not list(m.children())
    ]
    try:
        with torch.no_grad():
            y = model(x)
    finally:
        for h in handles:
            h.remove()
    return seen, tuple(y.shape[1:])


@pytest.mark.parametrize("name", sorted(MODELS))
def test_torch_shapes_equal_the_forward_pass(name):
    model, c = MODELS[name]
    graph = from_model(model)  # read once, traced at every size
    for n in SIZES[name]:
        t = trace(graph, (c, n, n + 1 if name == "resnet18" else n))
        real, out = hooked_shapes(model, torch.zeros(1, c, *t.input_shape[1:]))
        assert t.output_shape == out
        checked = 0
        for module, shapes in real.items():
            for k, shape in enumerate(shapes):
                assert t[module if k == 0 else f"{module}#{k}"].output_shape == shape, (module, k)
                checked += 1
        assert checked >= 5
        assert t.total_params == sum(p.numel() for p in model.parameters())


def test_keras_shapes_equal_the_layer_outputs():
    keras = __import__("keras")
    for model, sizes in ((keras_unet(), (24, 36)), (keras_fpn_head(), (20,))):
        c = model.inputs[0].shape[-1]
        probe = keras.Model(model.inputs[0], [layer.output for layer in model.layers[1:]])
        for n in sizes:
            t = trace(model, (c, n, n))
            outs = probe(np.zeros((1, n, n, c), np.float32))
            for layer, out in zip(model.layers[1:], outs, strict=True):
                s = tuple(out.shape[1:])
                assert t[layer.name].output_shape == ((s[-1], *s[:-1]) if len(s) == 3 else s), layer.name
        assert t.total_params == model.count_params()
    L = keras.layers
    inp = keras.Input((8, 8, 2))
    odd = keras.Model(inp, L.Lambda(lambda x: x * 2, name="double")(L.Conv2D(2, 3)(inp)))
    # The Keras reader reads a Lambda by its operations (x * 2: a per-cell node), not by its class.
    assert from_model(odd)["double"].op == "pointwise" and trace(odd, (2, 8, 8)).output_shape == (2, 6, 6)
    shared = L.Conv2D(2, 3, padding="same", name="shared")
    twice = keras.Model(inp, shared(shared(inp)))
    with pytest.raises(ValueError, match=r"layer shared \(Conv2D\) is called 2 times"):
        from_model(twice)


def test_a_spec_and_its_torch_module_trace_alike():
    # The spec is read by graph.build, the module built from it by torch.fx: two readers, one table.
    spec = resnet18_spec()
    ours, fx = trace(spec, (3, 200, 300)), trace(to_torch(spec, (3, 224, 224)), (3, 200, 300))
    assert len(ours.rows) == len(fx.rows) == 70
    for a, b in zip(ours.rows, fx.rows, strict=True):
        assert (a.op, a.output_shape, a.params, a.field) == (b.op, b.output_shape, b.params, b.field), a.name
        assert a.name == b.name or a.op in ("add", "pointwise"), (
            a.name,
            b.name,
        )  # fx names the sums add_1...
    assert ours.total_params == 11_689_512


def test_the_odd_size_mismatch_is_named():
    # 65 -> 32 -> 16 -> 8 and back 16, 32, 64: only the last skip (65) disagrees.
    with pytest.raises(
        ValueError, match=r"layer cat_2 \(cat\) on input \(4, 65, 65\) and \(4, 64, 64\): .*65x65"
    ):
        trace(UNet(), (3, 65, 65))
    with pytest.raises(ValueError, match=r"layer cat \(cat\) on input \(4, 33, 33\) and \(4, 32, 32\)"):
        trace(UNet(depth=1), (3, 33, 33))
    with pytest.raises(ValueError, match=r"layer add \(add\) on input \(2, 9, 9\) and \(2, 10, 10\)"):
        trace(FPN(), (3, 33, 33))
    with pytest.raises(ValueError, match=r"layer 4 \(Linear\) .*expected 256 input features .* 144"):
        trace(MODELS["flatten_head"][0], (3, 24, 24))
    with pytest.raises(
        ValueError, match=r"layer 0 \(Conv2d\) on input \(3, 2, 2\): kernel height 3 .* no window"
    ):
        trace(MODELS["dilated"][0], (3, 2, 2))
    with pytest.raises(ValueError, match=r"expected 3 input channels, got 4"):
        trace(MODELS["fpn"][0], (4, 32, 32))


def test_unknown_layers_are_named_not_skipped():
    with pytest.raises(
        ValueError, match=r"layer 1 \(LSTM.forward\) on input \(1, 6, 6\): the framework refuses"
    ):
        trace(
            nn.Sequential(nn.Conv2d(1, 1, 1), nn.LSTM(2, 2)), (1, 6, 6)
        )  # run on meta tensors: torch's own error

    class Roll(nn.Module):
        def forward(self, x):
            return torch.roll(x, 1, 2)

    t = trace(Roll(), (1, 4, 4))  # read by running it; where a roll moves each cell is not known
    assert np.isnan(t["roll"].rf[0]) and not t["roll"].field[0].exact
    assert t.table().splitlines()[3].split()[:5] == ["roll", "roll", "1x4x4", "0", "?"]
    assert "?: convlib cannot tell" in " ".join(t.table(legend=True).split("total params 0")[1].split())

    class View(nn.Module):
        def forward(self, x):
            return x.view(-1, 4, 4)

    with pytest.raises(ValueError, match=r"merges or splits the spatial axes .* is not a Flatten from dim 1"):
        from_model(View())


def test_transposed_output_size_out_of_reach_is_refused():
    up = nn.ConvTranspose2d(2, 2, 3, stride=2)

    class Up(nn.Module):
        def __init__(self):
            super().__init__()
            self.up = up

        def forward(self, x):
            return self.up(x, output_size=(x.size(2) * 3, x.size(3) * 3))

    with pytest.raises(
        ValueError, match=r"layer up .* output_size \(15, 15\) is not reachable: .* between 11 and 12"
    ):
        trace(Up(), (2, 5, 5))
    with pytest.raises(
        ValueError,
        match=r"requested an output size of \(15, 15\), but valid sizes range from \[11, 11\] to \[12, 12\]",
    ):
        up(torch.zeros(1, 2, 5, 5), output_size=(15, 15))


def test_size_expressions_and_graph_validation():
    d = Size.dim("a", 1) - Size.dim("b", 1)
    assert evaluate([d // 2, d - d // 2, -d], {"a": (1, 9, 9), "b": (1, 4, 4)}) == (2, 3, -5)
    with pytest.raises(ValueError, match="divides by zero"):
        evaluate(d // (d - d), {"a": (1, 9, 9), "b": (1, 4, 4)})
    with pytest.raises(ValueError, match=r"node r \(relu\) reads \['later'\], which no earlier node"):
        Graph((Node("x", "input"), Node("r", "pointwise", ("later",), kind="relu")), "x", "r")
    with pytest.raises(ValueError, match="unknown op 'softmax'"):
        Node("s", "softmax")
    with pytest.raises(ValueError, match=r"input_shape must be three positive ints"):
        run(from_model(FPN()), (3, 0, 4))
    node = Node("n", "pointwise", ("x",), {"fn": "relu"})
    with pytest.raises(TypeError):
        node.attrs["fn"] = "tanh"


def test_table_fits_74_columns_and_html_is_stable():
    t = trace(MODELS["resnet18"][0], (3, 64, 64))
    lines = t.table().splitlines()
    assert max(map(len, lines)) <= 74 and lines[0].split()[:3] == ["layer", "kind", "output"]
    assert lines[-1] == f"input 3x64x64, total params {t.total_params:,}"
    assert t._repr_html_() == trace(MODELS["resnet18"][0], (3, 64, 64))._repr_html_()
    assert t.to_dict()["layers"][1]["name"] == "conv1"


def _footprints(model, c: int, n: int):
    """hit[a, b, u, v]: does a NaN at input pixel (a, b) reach output (u, v)? (one batch of n*n images)"""
    x = torch.zeros(n * n, c, n, n)
    idx = torch.arange(n * n)
    x[idx, 0, idx // n, idx % n] = float("nan")
    with torch.no_grad():
        y = model(x)
    return torch.isnan(y).any(dim=1).numpy().reshape(n, n, *y.shape[2:])


def _predicted(row, n: int, out: tuple[int, int]):
    sees = []
    for ax in (0, 1):
        centre = row.start[ax] + np.arange(out[ax])[:, None] * row.jump[ax]
        sees.append(np.abs(centre - np.arange(n)) <= (row.rf[ax] - 1) / 2 + 1e-9)
    return np.einsum("ua,vb->abuv", sees[0], sees[1])


class SkipNet(nn.Module):
    """Down-sampling with a dilated branch and a strided shortcut, merged by addition."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(1, 2, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.b = nn.Conv2d(2, 2, 3, padding=2, dilation=2)
        self.short = nn.Conv2d(1, 2, 1, stride=2)

    def forward(self, x):
        return self.b(self.pool(torch.relu(self.a(x)))) + self.short(x)


def _interior(row, n: int, out: tuple[int, int]):
    """Outputs whose predicted field lies inside the image: there no layer reads padding instead."""
    inside = []
    for ax in (0, 1):
        centre, half = row.start[ax] + np.arange(out[ax]) * row.jump[ax], (row.rf[ax] - 1) / 2
        inside.append((centre - half >= 0) & (centre + half <= n - 1))
    return np.outer(inside[0], inside[1])


def test_receptive_field_with_a_skip_matches_nan_footprints():
    torch.manual_seed(0)
    model, n = SkipNet().eval(), 32
    row = trace(model, (1, n, n))["add"]
    assert row.rf == (12, 12) and row.jump == (2, 2) and row.start == (0.5, 0.5)
    hit, predicted = _footprints(model, 1, n), _predicted(row, n, row.output_shape[1:])
    assert not (hit & ~predicted).any()  # near the border padding stands in for some pixels: a bound
    inner = _interior(row, n, row.output_shape[1:])
    assert inner.sum() == 100 and (hit[:, :, inner] == predicted[:, :, inner]).all()


def test_receptive_field_of_a_unet_bounds_every_footprint():
    torch.manual_seed(0)
    model, n = UNet(depth=2, width=2).eval(), 16
    row = trace(model, (3, n, n))[model_out := "head"]
    assert not row.field[0].exact  # through the transposed convolutions: a bound
    hit = _footprints(model, 3, n)
    predicted = _predicted(row, n, row.output_shape[1:])
    assert model_out and not (hit & ~predicted).any()  # every footprint inside the predicted field
    assert hit[n // 2, n // 2].sum() > 1 and row.jump == (1, 1)


def test_size_flow_figure_and_strip():
    from convlib.graph import scan_sizes
    from convlib.viz.unet import draw_size_strip, draw_unet_flow, flow_boxes

    unet = UNet(depth=2, width=2)
    boxes, err = flow_boxes(unet, (3, 32, 32))
    assert err is None and [b["size"][0] for b in boxes if b["op"] == "conv_transpose"] == [16, 32]
    gids = {p.get_gid() for p in draw_unet_flow(unet, (3, 32, 32)).axes[0].patches}
    assert {g for g in gids if g.startswith("skip-")} == {"skip-input-cat_1", "skip-pool-cat"}
    boxes, err = flow_boxes(unet, (3, 33, 33))
    assert err.node == "cat_1" and boxes[-1]["failed"] and boxes[-1]["sizes"] == [(33, 33), (32, 32)]
    scan = scan_sizes(unet, 16, 40)
    strip = draw_size_strip(scan, per_row=10)
    cells = [p for p in strip.axes[0].patches if (p.get_gid() or "").startswith("size-")]
    assert len(cells) == 25 and strip.axes[0].get_title() == "input sizes 16..40: 7 accepted"
    with pytest.raises(ValueError, match="per_row must be a positive int, got 0"):
        draw_size_strip(scan, per_row=0)


def test_convlib_trace_is_the_graph_tracer_for_every_model():
    assert isinstance(convlib.trace(resnet18_spec(), (3, 64, 64)), GraphTrace)
    assert convlib.trace(MODELS["fpn"][0], (3, 32, 32)).output_shape == (2, 32, 32)
    with pytest.raises(TypeError, match="from_model takes a convlib spec .* got str"):
        convlib.trace("resnet", (3, 8, 8))


def test_a_field_through_an_up_step_is_marked_as_a_bound():
    up = trace(
        nn.Sequential(nn.Conv2d(1, 2, 3), nn.ConvTranspose2d(2, 2, 3, stride=2), nn.Conv2d(2, 1, 3)),
        (1, 9, 9),
    )
    assert [(r.op, r.field[0].exact) for r in up.rows] == [
        ("input", True), ("conv", True), ("conv_transpose", False), ("conv", False)]  # fmt: skip
    lines = up.table().splitlines()
    assert [ln.split()[4] for ln in lines[2:6]] == ["1", "3", "≤4", "≤5"]  # at most 4 cells, where
    assert lines[-1] == "input 1x9x9, total params 77" and max(map(len, lines)) <= 74
    assert up.to_dict()["layers"][3]["rf_exact"] is False and "≤5" in up._repr_html_()
    flat = trace(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ConvTranspose2d(2, 2, 3)), (1, 9, 9))
    assert all(f.exact for r in flat.rows for f in r.field) and "≤" not in flat.table()  # stride 1: a window


def test_a_call_reading_the_whole_grid_bounds_every_output_by_the_whole_input():
    class Centred(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv2d(1, 1, 3)

        def forward(self, x):
            y = self.c(x)
            return y - y.mean()  # the mean reads every cell: each output depends on the whole input

    t = trace(Centred(), (1, 9, 9))
    f = t["sub"].field[0]
    assert not f.exact and all(f.bounds(u)[0] <= 0 and f.bounds(u)[1] >= 8 for u in range(7))
