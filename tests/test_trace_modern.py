"""``trace`` on today's architectures (tests/zoo_modern.py): every row's shape is PyTorch's.

The reference is PyTorch: forward hooks record each module's output shape, and the row of the
same module path must hold it, at an odd and an even input size. A model read by running it is
read again at each size (the pads a TensorFlow port computes, the branch it takes).
"""

from __future__ import annotations

import pytest
from zoo_modern import F, nn, torch, torch_modern

from convlib.graph import trace
from convlib.graph.trace import trace_until

MODELS = torch_modern()


def module_shapes(model, shape) -> dict:
    """``{module path: output shape without the batch}`` for every module PyTorch runs."""
    seen, hooks = {}, []
    for name, m in model.named_modules():
        if name:
            hooks.append(m.register_forward_hook(lambda _m, _i, y, n=name: seen.setdefault(n, y)))
    try:
        with torch.no_grad():
            model(torch.zeros(1, *shape))
    finally:
        for h in hooks:
            h.remove()
    return {k: tuple(v.shape[1:]) for k, v in seen.items() if isinstance(v, torch.Tensor)}


@pytest.mark.parametrize("name", ["tf_port", "se_resnet", "deeplabv3"])
@pytest.mark.parametrize("n", [9, 32])
def test_rows_are_pytorchs_shapes(name, n):
    model, c = MODELS[name]
    real = module_shapes(model, (c, n, n))
    t = trace(model, (c, n, n))
    # a module's output is its own row, or the last row of a call made inside its forward
    rows = {}
    for r in t.rows:
        parts = r.name.split("#")[0].split(".")
        for i in range(1, len(parts) + 1):
            rows[".".join(parts[:i])] = r.output_shape
    common = [k for k in real if k in rows]
    assert len(common) >= min(len(real), 5), (name, sorted(real), sorted(rows))
    for k in common:
        assert rows[k] == real[k], (name, n, k)


def test_a_tensorflow_port_is_traced_at_its_own_size():
    """Its pads come from ``x.shape`` and its head from ``y.shape[-2] < 4``: the trace at 9 is the
    model's reading at 9 (pads (1, 1), head ``small``), not the reference size's."""
    model, c = MODELS["tf_port"]
    nine, big = trace(model, (c, 9, 9)), trace(model, (c, 32, 32))
    assert [r.axes[0].pads for r in nine.rows if r.axes] == [(0, 0), (0, 0), (0, 0)]
    assert nine["stem.pad"].field[0].start == -1 and big["stem.pad"].field[0].start == 0
    assert (nine.rows[-1].name, big.rows[-1].name) == ("small", "large")
    assert nine.output_shape == module_shapes(model, (c, 9, 9))["small"]


def test_a_broadcast_gate_widens_the_field_to_what_it_reads():
    """A squeeze-and-excitation gate ``(C, 1, 1)`` read from the whole map multiplies every cell:
    each output of the product depends on every input cell its pool read, so its field holds the
    gate's at every position (a bound, never the map's alone)."""
    model, c = MODELS["se_resnet"]
    t = trace(model, (c, 17, 17))
    gate, product = t["2.se.gate"], t["2.mul"] if "2.mul" in {r.name for r in t.rows} else None
    product = product or next(r for r in t.rows if r.op == "add" and r.inputs[-1] == "2.se.gate")
    m = product.output_shape[1]
    lo, hi = gate.field[0].bounds(0)
    for u in range(m):
        first, last = product.field[0].bounds(u)
        assert first <= lo and last >= hi, u
    assert not product.field[0].exact and t.table().count("≤") >= 1


def test_field_of_a_broadcast_sum_is_checked_by_autograd():
    """The input cells each output depends on (by the gradient of PyTorch's own output) lie
    inside ``bounds(u)`` for every row of a net with a gate, a bilinear resize and a group norm."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(1, 2, 3, stride=2)
            self.gate = nn.Conv2d(2, 2, 1)
            self.norm = nn.GroupNorm(1, 2)

        def forward(self, x):
            y = self.a(x)
            g = torch.sigmoid(self.gate(F.adaptive_avg_pool2d(y[:, :, :2, :2], 1)))  # reads a corner
            z = F.interpolate(y * g, size=x.shape[-2:], mode="bilinear", align_corners=False)
            return self.norm(z)

    model = Net().eval()
    torch.manual_seed(0)
    n = 13
    t = trace(model, (1, n, n))
    x = torch.randn(1, 1, n, n, requires_grad=True)
    y = model(x)
    out_field = t.rows[-1].field
    assert not out_field[0].exact
    for u in range(n):
        (grad,) = torch.autograd.grad(y[0, 0, u].sum(), x, retain_graph=True)
        rows = torch.nonzero(grad[0, 0].abs().sum(1)).flatten().tolist()
        lo, hi = out_field[0].bounds(u)
        assert rows and lo <= min(rows) and max(rows) <= hi, (u, rows, (lo, hi))


def test_trace_until_gives_the_rows_before_a_refusal():
    model, c = MODELS["deeplabv3"]
    rows, error = trace_until(
        nn.Sequential(nn.Conv2d(3, 4, 3), nn.MaxPool2d(4), nn.Conv2d(4, 4, 3)), (3, 9, 9)
    )
    assert [r.name for r in rows.rows] == ["input", "0", "1"] and error.node == "2"
    with pytest.raises(ValueError, match=r"layer 2 \(Conv2d\) on input \(4, 1, 1\)"):
        trace(nn.Sequential(nn.Conv2d(3, 4, 3), nn.MaxPool2d(4), nn.Conv2d(4, 4, 3)), (3, 9, 9))
    assert trace_until(model, (c, 17, 17))[1] is None
