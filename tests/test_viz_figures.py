"""The figures beyond one window: each fact read back from the drawing must match the arithmetic.

Groups, transposed-convolution stamps and shifts, gradient coverage, receptive fields and size
flow. Counts are checked against brute force written here from the definitions, or against
convlib's computations (conv_transpose2d, conv2d_backward, conv2d), not against the formulas the
figures themselves use.
"""

import io
import os
import re

import numpy as np
import pytest

import convlib
from convlib import viz
from convlib.records import ConvSpec, DenseSpec, FlattenSpec, GlobalAvgPoolSpec, MaxPoolSpec, ReLUSpec
from convlib.viz.geometry import COLORS

pytestmark = pytest.mark.slow  # run first: see conftest.py
FIGS = os.environ.get("CONVLIB_FIG_DIR", "/tmp/figs")


def _patches(ax, gid):
    return [p for p in ax.patches if p.get_gid() == gid]


def _texts(fig_or_ax, gid):
    return [t for t in fig_or_ax.findobj() if getattr(t, "get_gid", lambda: None)() == gid]


def _grid(ax, gid, shape):
    """Integers drawn at cell centres ``(c + 0.5, r + 0.5)``, as an array."""
    out = np.full(shape, -1)
    for t in ax.texts:
        if t.get_gid() == gid:
            x, y = t.get_position()
            out[int(y), int(x)] = int(t.get_text())
    return out


def _render(fig, name):
    """Draw to PNG (proves it renders) and keep one copy for looking at."""
    fig.savefig(io.BytesIO(), format="png")
    os.makedirs(FIGS, exist_ok=True)
    fig.savefig(os.path.join(FIGS, f"{name}.png"), format="png", bbox_inches="tight")
    assert fig.get_size_inches()[0] <= 8.0 + 1e-9  # fits an 800-px book column at 100 dpi


# --- grouped convolution -------------------------------------------------------------------


@pytest.mark.parametrize("cin,cout,groups,k", [(4, 8, 2, 3), (6, 6, 6, 3), (8, 8, 1, 1), (6, 12, 3, (3, 5))])
def test_groups_connections_stay_inside_their_group(cin, cout, groups, k):
    fig = viz.draw_groups(cin, cout, groups, k)
    ax = fig.axes[0]
    assert len(_patches(ax, "in-channel")) == cin
    assert len(_patches(ax, "out-channel")) == cout
    blocks = _patches(ax, "group-block")
    assert len(blocks) == groups
    lines = [c for c in ax.collections if c.get_gid() == "connections"]
    assert len(lines) == groups
    for block, coll in zip(blocks, lines):
        segs = coll.get_segments()
        assert len(segs) == (cin // groups) * (cout // groups)  # dense inside the group
        y0 = block.get_y()
        y1 = y0 + block.get_height()
        assert all(y0 < seg[0][1] < y1 and y0 < seg[1][1] < y1 for seg in segs)  # none across
    kh, kw = (k, k) if isinstance(k, int) else k
    total = kh * kw * (cin // groups) * (cout // groups) * groups
    title = ax.get_title()
    assert title.endswith(f"= {total:,}")
    assert ("depthwise" in title) == (groups == cin)
    per_group = [t.get_text() for t in _texts(ax, "group-weights")]
    assert len(per_group) == groups
    assert all(t.endswith(f"= {total // groups:,}") for t in per_group)
    # The same count as the parameters convlib's tracer gives the bias-free layer.
    traced = convlib.trace([ConvSpec(cout, k, groups=groups, bias=False)], (cin, 8, 8)).total_params
    assert traced == total


@pytest.mark.parametrize(
    "args,name",
    [((4, 8, 3), "groups"), ((6, 8, 3), "groups"), ((0, 8, 1), "in_channels"), ((4, -1, 1), "out_channels")],
)
def test_groups_refusals_name_the_parameter(args, name):
    with pytest.raises(ValueError, match=name):
        viz.draw_groups(*args)


def test_groups_renders():
    _render(viz.draw_groups(4, 8, 2), "groups")
    _render(viz.draw_groups(6, 6, 6), "groups_depthwise")


# --- transposed convolution ----------------------------------------------------------------


def _brute_stamps(n, k, s, d):
    """Per 2-D cell of the full scatter: how many (input cell, kernel tap) pairs land on it."""
    full = (n - 1) * s + d * (k - 1) + 1
    out = np.zeros((full + s + d, full + s + d), dtype=int)  # room for output_padding cells
    for i in range(n):
        for j in range(n):
            for a in range(k):
                for b in range(k):
                    out[i * s + a * d, j * s + b * d] += 1
    return out


def _ones_transpose(n, k, s, p, op, d):
    """conv_transpose2d of all ones through an all-ones kernel: the overlap count of each kept cell."""
    y = convlib.conv_transpose2d(
        np.ones((1, n, n, 1)), np.ones((k, k, 1, 1)), stride=s, padding=p, output_padding=op, dilation=d
    )
    return np.rint(y[0, :, :, 0]).astype(int)


STAMP_CASES = [
    (3, 3, 2, 0, 0, 1),
    (4, 3, 2, 1, 1, 1),
    (4, 4, 2, 1, 0, 1),
    (3, 3, 3, 0, 2, 1),
    (3, 2, 1, 0, 0, 2),
]


@pytest.mark.parametrize("n,k,s,p,op,d", STAMP_CASES)
def test_stamp_counts_equal_brute_force(n, k, s, p, op, d):
    fig = viz.draw_stamps(n, k, s, padding=p, output_padding=op, dilation=d)
    ax = fig.axes[1]
    full = (n - 1) * s + d * (k - 1) + 1
    n_out = full - 2 * p + op
    side = max(full, p + n_out)
    drawn = _grid(ax, "overlap-count", (side, side))
    assert (drawn >= 0).all()
    brute = _brute_stamps(n, k, s, d)[:side, :side]
    np.testing.assert_array_equal(drawn, brute)
    kept = drawn[p : p + n_out, p : p + n_out]
    np.testing.assert_array_equal(kept, _ones_transpose(n, k, s, p, op, d))
    assert len(_patches(ax, "kept-cell")) + len(_patches(ax, "bias-cell")) == n_out * n_out
    assert len(_patches(ax, "crop-cell")) == side * side - n_out * n_out
    assert len(_patches(fig.axes[0], "input-cell")) == n * n
    summary = _texts(fig, "summary")[0].get_text()
    assert f"stamps per kept output cell {kept.min()}..{kept.max()}" in summary
    # Where every stamp reaches (away from the borders) the counts alternate or not.
    w = d * (k - 1) + 1
    inner = brute[w - 1 : full - w + 1, w - 1 : full - w + 1]
    if inner.size:
        assert ("no checkerboard" not in summary and "checkerboard" in summary) == (
            inner.min() != inner.max()
        )


def test_stamps_checkerboard_when_kernel_not_multiple_of_stride():
    odd = _grid(viz.draw_stamps(4, 3, 2).axes[1], "overlap-count", (9, 9))
    even = _grid(viz.draw_stamps(4, 4, 2, padding=2).axes[1], "overlap-count", (10, 10))
    assert len(set(odd[2:-2, 2:-2].ravel())) > 1  # 1, 2, 4 alternate in the interior
    assert set(even[2:-2, 2:-2].ravel()) == {4}  # k = 2s: every interior cell is hit 2 x 2 times


def test_stamp_outline_at_input_position():
    fig = viz.draw_stamps(3, 3, 2, position=(1, 2))
    (stamp,) = _patches(fig.axes[1], "stamp")
    assert (stamp.get_x(), stamp.get_y(), stamp.get_width()) == (4, 2, 3)


@pytest.mark.parametrize("n,k,s,p,op,d", STAMP_CASES)
def test_zero_insertion_cells_and_window(n, k, s, p, op, d):
    n_out = (n - 1) * s + d * (k - 1) + 1 - 2 * p + op
    pos = (n_out - 1, n_out // 2)
    fig = viz.draw_zero_insertion(n, k, s, padding=p, output_padding=op, dilation=d, position=pos)
    ax_in, ax_out = fig.axes
    inserted = (n - 1) * s + 1
    assert len(_patches(ax_in, "input-cell")) == n * n
    before, after = d * (k - 1) - p, d * (k - 1) - p + op
    side = max(before, 0) + inserted + max(after, 0)
    kinds = ("input-cell", "zero-cell", "pad-cell", "crop-cell")
    assert sum(len(_patches(ax_in, g)) for g in kinds) == side * side
    assert len(_patches(ax_in, "zero-cell")) == inserted * inserted - n * n
    assert len(_patches(ax_in, "pad-cell")) == side * side - inserted * inserted
    taps = _patches(ax_in, "tap")
    assert len(taps) == k * k
    # A stride-1 window over the padded grid: its output count is the transposed conv's size.
    assert len(_patches(ax_out, "output-cell")) + len(_patches(ax_out, "output-current")) == n_out * n_out
    (cur,) = _patches(ax_out, "output-current")
    assert (cur.get_y(), cur.get_x()) == pos
    # The taps that land on real input cells are exactly the stamps covering that output cell.
    real = sum(np.allclose(t.get_facecolor()[:3], _rgb(COLORS["tap"])) for t in taps)
    assert real == _ones_transpose(n, k, s, p, op, d)[pos]
    assert f"window reads {real} of {k * k} taps" in ax_in.get_title()


def _rgb(hex_color):
    from matplotlib.colors import to_rgb

    return to_rgb(hex_color)


def test_zero_insertion_refuses_position_outside():
    with pytest.raises(ValueError, match="outside"):
        viz.draw_zero_insertion(3, 3, 2, position=(7, 0))


@pytest.mark.parametrize("n", [3, 4, 5])
def test_transpose_shift_keras_and_torch_one_cell_apart(n):
    fig = viz.draw_transpose_shift(n)
    ax = fig.axes[0]
    (keras,) = _patches(ax, "keras-kept")
    (torch,) = _patches(ax, "torch-kept")
    assert keras.get_width() == torch.get_width() == 2 * n
    assert torch.get_x() - keras.get_x() == 1
    assert (keras.get_x(), torch.get_x()) == (0, 1)
    axis = convlib.shapes.transpose_axis(n, 3, "same", stride=2)
    assert axis.pads == (0, 1)
    assert f"crop ({axis.before}, {axis.after})" in _texts(ax, "keras-label")[0].get_text()
    assert "padding=1, output_padding=1): crop (1, 0)" in _texts(ax, "torch-label")[0].get_text()
    # The kept windows are where convlib's own transposed convs read the full scatter.
    x = np.arange(1.0, n + 1).reshape(1, 1, n, 1)
    w = np.array([1.0, 10.0, 100.0]).reshape(1, 3, 1, 1)
    full = convlib.conv_transpose2d(x, w, stride=(1, 2))[0, 0, :, 0]
    full = np.concatenate([full, [0.0]])  # output_padding may reach one cell past the scatter
    y_keras = convlib.conv_transpose2d(x, w, stride=(1, 2), padding="same")[0, 0, :, 0]
    y_torch = convlib.conv_transpose2d(x, w, stride=(1, 2), padding=(0, 1), output_padding=(0, 1))[0, 0, :, 0]
    kx, tx, width = int(keras.get_x()), int(torch.get_x()), int(keras.get_width())
    np.testing.assert_array_equal(y_keras, full[kx : kx + width])
    np.testing.assert_array_equal(y_torch, full[tx : tx + width])
    counts = [int(t.get_text()) for t in _texts(ax, "overlap-count")]
    brute = [sum(2 * i + b == t for i in range(n) for b in range(3)) for t in range(len(counts))]
    assert counts == brute


def test_transpose_renders():
    _render(viz.draw_zero_insertion(3, 3, 2, padding=1, output_padding=1, position=(2, 3)), "zero_insertion")
    _render(viz.draw_stamps(4, 3, 2, padding=1, output_padding=1, position=(1, 1)), "stamps")
    _render(viz.draw_transpose_shift(4), "transpose_shift")


def test_transpose_refusals_name_the_parameter():
    with pytest.raises(ValueError, match="output_padding"):
        viz.draw_stamps(3, 3, 2, padding=1, output_padding=2)
    with pytest.raises(ValueError, match="stride"):
        viz.draw_transpose_shift(3, 3, 0)


# --- gradient coverage ---------------------------------------------------------------------


COVERAGE = [
    dict(n=7, k=3),
    dict(n=7, k=3, padding="same"),
    dict(n=8, k=2, stride=3),
    dict(n=9, k=3, stride=2, dilation=2),
    dict(n=(6, 5), k=(3, 2), padding=1, stride=(2, 1)),
]


@pytest.mark.parametrize("case", COVERAGE, ids=str)
def test_coverage_numbers_are_gradient_coverage_outer_products(case):
    fig = viz.draw_coverage(**case)
    ax = fig.axes[0]
    nh, nw = convlib.normalize_pair(case["n"], "n")
    kh, kw = convlib.normalize_pair(case["k"], "k")
    sh, sw = convlib.normalize_pair(case.get("stride", 1), "s")
    d = case.get("dilation", 1)
    pads = convlib.shapes.resolve_padding((nh, nw), (kh, kw), case.get("padding", "valid"), stride=(sh, sw))
    ph, pw = pads[0][0], pads[1][0]
    expected = np.outer(
        convlib.gradient_coverage(nh, kh, stride=sh, padding=pads[0], dilation=d),
        convlib.gradient_coverage(nw, kw, stride=sw, padding=pads[1], dilation=d),
    )
    drawn = np.full((nh, nw), -1)
    for t in _texts(ax, "coverage-count"):
        x, y = t.get_position()
        drawn[int(y) - ph, int(x) - pw] = int(t.get_text())
    np.testing.assert_array_equal(drawn, expected)
    assert len(_patches(ax, "zero-cell")) == int((expected == 0).sum())
    assert len(_patches(ax, "covered-cell")) == int((expected > 0).sum())
    assert f"{int((expected == 0).sum())} pixels get no gradient" in ax.get_title()


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_coverage_with_copies_counts_them_for_their_source(mode):
    fig = viz.draw_coverage(5, 3, padding="same", padding_mode=mode)
    drawn = np.full((5, 5), -1)
    for t in _texts(fig.axes[0], "coverage-count"):
        x, y = t.get_position()
        drawn[int(y) - 1, int(x) - 1] = int(t.get_text())
    # Brute force: every tap of every window on the padded grid, mapped back to its source pixel.
    np_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    src = np.pad(np.arange(5), 1, mode=np_mode)
    line = np.zeros(5, dtype=int)
    for u in range(5):
        for b in range(3):
            line[src[u + b]] += 1
    np.testing.assert_array_equal(drawn, np.outer(line, line))
    assert drawn.sum() == 25 * 9  # no tap is lost: every window reads 9 pixels or their copies


def test_coverage_grid_titles_and_refusals():
    fig = viz.draw_coverage_grid()
    assert len(fig.axes) == 5
    assert [ax.get_title() for ax in fig.axes] == [
        "n=7 k=3 valid",
        "n=7 k=3 same",
        "n=8 k=2 s=3 valid",
        "n=9 k=3 s=2 d=2 valid",
        "n=7 k=3 same reflect",
    ]
    for ax in fig.axes:
        assert len(_texts(ax, "coverage-count")) == 49 or len(_texts(ax, "coverage-count")) in (64, 81)
    _render(fig, "coverage_grid")
    _render(viz.draw_coverage(9, 3, stride=2, dilation=2), "coverage")
    with pytest.raises(ValueError, match="padding_mode"):
        viz.draw_coverage(5, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="cases"):
        viz.draw_coverage_grid([])


# --- whole networks ------------------------------------------------------------------------


NET = [
    ConvSpec(1, 3, padding=1, bias=False),
    MaxPoolSpec(2),
    ConvSpec(1, 3, stride=2, padding=1, bias=False),
    ConvSpec(1, 3, padding=1, bias=False),
]
DILATED = [*NET[:3], ConvSpec(1, 3, dilation=2, padding=2, bias=False)]


def _run(x, dilation):
    """NET (or DILATED) on a batch (N, H, W, 1), all-ones kernels: nonnegative, so nothing cancels."""
    w = np.ones((3, 3, 1, 1))
    x = convlib.conv2d(x, w, padding=1)
    x = convlib.max_pool2d(x, 2)
    x = convlib.conv2d(x, w, stride=2, padding=1)
    return convlib.conv2d(x, w, dilation=dilation, padding=dilation)


def _seen(h, w, position, dilation):
    """Brute force: one one-hot input per pixel; the output cell moves iff the pixel is read."""
    eye = np.eye(h * w).reshape(h * w, h, w, 1)
    return _run(eye, dilation)[:, position[0], position[1], 0].reshape(h, w) > 0


@pytest.mark.parametrize("position", [(0, 0), (1, 2), (3, 3)])
def test_receptive_field_rectangle_is_the_set_of_pixels_that_matter(position):
    h = w = 16
    fig = viz.draw_receptive_field(NET, (h, w), position, channels=1)
    (rf,) = _patches(fig.axes[0], "receptive-field")
    seen = _seen(h, w, position, 1)
    rows, cols = np.flatnonzero(seen.any(axis=1)), np.flatnonzero(seen.any(axis=0))
    assert (rf.get_y(), rf.get_x()) == (rows[0], cols[0])
    assert (rf.get_height(), rf.get_width()) == (rows[-1] + 1 - rows[0], cols[-1] + 1 - cols[0])
    assert seen[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].all()  # the field is a full rectangle
    row = convlib.trace(NET, (1, h, w)).rows[-1]
    (full,) = _patches(fig.axes[0], "receptive-field-full")
    assert (full.get_width(), full.get_height()) == (row.rf[1], row.rf[0])
    assert full.get_x() == row.field[1].bounds(position[1])[0]
    centres = [c for c in fig.axes[0].collections if c.get_gid() == "rf-centres"][0]
    assert len(centres.get_offsets()) == 4 * 4


@pytest.mark.parametrize("position", [(0, 0), (1, 2), (3, 3)])
def test_dilated_receptive_field_bounds_every_pixel_read(position):
    """With dilation the trace's field is a bounding box: every pixel read lies inside it (some
    inside it are reached only through padding taps, so they are not read)."""
    fig = viz.draw_receptive_field(DILATED, 16, position, channels=1)
    (rf,) = _patches(fig.axes[0], "receptive-field")
    x, y, wd, ht = (int(v) for v in (rf.get_x(), rf.get_y(), rf.get_width(), rf.get_height()))
    seen = _seen(16, 16, position, 2)
    inside = np.zeros_like(seen)
    inside[y : y + ht, x : x + wd] = True
    assert seen.any() and not (seen & ~inside).any()


def test_receptive_field_refuses_position_outside():
    with pytest.raises(ValueError, match="outside"):
        viz.draw_receptive_field(NET, 16, (4, 0), channels=1)
    with pytest.raises(ValueError, match="position"):
        viz.draw_receptive_field(NET, 16, (-1, 0), channels=1)


def _label(shape):
    c, h, w = shape if len(shape) == 3 else (shape[0], None, None)
    return f"{h}x{w}x{c}" if h is not None else str(c)


def _legible(fig, *, points=8.0, width=7.5):
    """Text readable where the book shows the figure unscaled (100 dpi, at most ``width`` inches).

    Every text at least ``points`` (11 px at 100 dpi), and no two texts overlapping.
    """
    assert fig.get_size_inches()[0] <= width
    fig.canvas.draw()
    texts = [t for ax in fig.axes for t in (*ax.texts, ax.title) if t.get_text().strip()]
    assert min(t.get_fontsize() for t in texts) >= points
    boxes = [t.get_window_extent() for t in texts]
    for i, a in enumerate(boxes):
        for j in range(i):
            assert not a.overlaps(boxes[j]), (texts[i].get_text(), texts[j].get_text())


def test_size_flow_labels_are_the_trace_shapes():
    spec = [*NET[:2], ReLUSpec(), ConvSpec(4, 3, stride=2), GlobalAvgPoolSpec(), FlattenSpec(), DenseSpec(10)]
    t = convlib.trace(spec, (3, 32, 32))
    fig = viz.draw_size_flow(t)
    ax = fig.axes[0]
    labels = [x.get_text() for x in _texts(ax, "shape-label")]
    assert t.rows[0].op == "input"  # drawn once, as the first box
    assert labels == [_label(r.output_shape) for r in t.rows]
    boxes = _patches(ax, "layer-box")
    assert len(boxes) == len(t.rows)
    assert len(_patches(ax, "flow-arrow")) == len(t.rows) - 1
    # Boxes scale with the spatial size: the 16x16 pool output is half the input's side.
    sides = {lab: (b.get_width(), b.get_height()) for lab, b in zip(labels, boxes)}
    assert sides["16x16x1"][0] == pytest.approx(sides["32x32x3"][0] / 2)
    skipped = viz.draw_size_flow(t, skip=("ReLU",))
    assert len(_patches(skipped.axes[0], "layer-box")) == len(t.rows) - 1
    assert f"{t.total_params:,} parameters" in ax.get_title()


def test_size_flow_resnet_wraps_and_renders():
    t = convlib.trace(convlib.resnet18(), (3, 224, 224))
    fig = viz.draw_size_flow(t, skip=("ReLU", "BatchNorm"))
    rows = [r for r in t.rows if r.kind not in ("ReLU", "BatchNorm", "input")]
    assert len(_patches(fig.axes[0], "flow-arrow")) == len(rows)
    assert len(_patches(fig.axes[0], "flow-arrow-in")) == -(-(len(rows) + 1) // 4) - 1
    names = [x.get_text().split("\n")[0] for x in _texts(fig.axes[0], "layer-label")]
    assert names == ["input", *(r.name for r in rows)]  # whole names, none cut
    _legible(fig)
    _render(fig, "size_flow_resnet18")
    _render(viz.draw_receptive_field(NET, 16, (1, 2), channels=1), "receptive_field")
    _render(viz.draw_size_flow(convlib.trace(NET, (1, 16, 16))), "size_flow")
    with pytest.raises(ValueError, match="skip"):
        viz.draw_size_flow(t, skip=tuple({r.kind for r in t.rows}))


# --- package -------------------------------------------------------------------------------


def test_new_figures_are_exported():
    names = [
        "draw_groups",
        "draw_zero_insertion",
        "draw_stamps",
        "draw_transpose_shift",
        "draw_coverage",
        "draw_coverage_grid",
        "draw_receptive_field",
        "draw_size_flow",
    ]
    assert set(names) <= set(viz.__all__)
    assert len(viz.__all__) == len(set(viz.__all__))
    assert all(re.fullmatch(r"\w+", n) for n in viz.__all__)


def test_unet_flow_is_legible_and_keeps_the_mismatch(torch):
    from models import UNet

    from convlib.viz.unet import draw_unet_flow

    fig = draw_unet_flow(UNet().eval(), (3, 65, 65))
    ax = fig.axes[0]
    _legible(fig)
    sizes = [x.get_text() for x in _texts(ax, "size-label")]
    assert sizes[0] == "65x65" and sizes[-1] == "65x65\nvs 64x64"
    kinds = [x.get_text().replace("\n", "") for x in _texts(ax, "kind-label")]
    assert "ConvTranspose2d" in kinds and kinds[-1] == "cat"
    # The title sits above the axes, and the skip arcs stay inside them.
    fig.canvas.draw()
    inside = ax.get_window_extent()
    skips = [p for p in ax.patches if (p.get_gid() or "").startswith("skip-")]
    assert skips and all(p.get_window_extent().y1 <= inside.y1 + 1 for p in skips)
    assert ax.title.get_window_extent().y0 >= inside.y1
    _render(fig, "unet_flow_65")
