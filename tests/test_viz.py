"""convlib.viz: every drawn size agrees with convlib.shapes; animations render offline."""

import re

import pytest
from PIL import Image

from convlib import shapes, viz

# (n_h, n_w, k, stride, padding, dilation): valid, explicit, TF same (odd split), full,
# asymmetric pairs and dilation, so each padding form reaches the figure.
CONFIGS = [
    (5, 5, 3, 1, "valid", 1),
    (6, 7, 3, 2, 1, 1),
    (7, 8, 3, 2, "same", 2),
    (4, 4, 2, 1, "full", 1),
    (6, 5, (2, 3), (1, 2), ((0, 1), (2, 0)), (2, 1)),
]


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


def _expected(n_h, n_w, k, stride, padding, dilation):
    """Sizes straight from convlib.shapes, one axis at a time."""
    pads = padding if isinstance(padding, str) else None
    out = []
    for axis, n in enumerate((n_h, n_w)):
        kk, s, d = _pair(k)[axis], _pair(stride)[axis], _pair(dilation)[axis]
        if pads is None:
            p = padding[axis] if isinstance(padding, tuple) else (padding, padding)
        else:
            p = shapes.resolve_padding_1d(n, kk, pads, stride=s, dilation=d)
        out.append((p, shapes.conv_output_size(n, kk, stride=s, padding=p, dilation=d)))
    return out


def _count(ax, gid):
    return sum(p.get_gid() == gid for p in ax.patches)


@pytest.mark.parametrize("cfg", CONFIGS, ids=str)
def test_draw_conv_counts_match_shapes(cfg):
    n_h, n_w, k, stride, padding, dilation = cfg
    (ph, ho), (pw, wo) = _expected(*cfg)
    fig = viz.draw_conv(n_h, n_w, k, stride=stride, padding=padding, dilation=dilation)
    ax_in, ax_out = fig.axes
    padded = (n_h + sum(ph)) * (n_w + sum(pw))
    assert _count(ax_in, "input-cell") == n_h * n_w
    assert _count(ax_in, "pad-cell") == padded - n_h * n_w
    assert _count(ax_in, "tap") == _pair(k)[0] * _pair(k)[1]
    assert _count(ax_out, "output-cell") == ho * wo
    assert _count(ax_out, "output-current") == 1
    starts = [c for c in ax_in.collections if c.get_gid() == "window-starts"][0]
    assert len(starts.get_offsets()) == ho * wo
    assert ax_out.get_title() == f"output {ho}x{wo}"


@pytest.mark.parametrize("cfg", CONFIGS, ids=str)
def test_formula_text_evaluates_to_drawn_size(cfg):
    """The formula's numbers, evaluated independently, give the size convlib.shapes gives."""
    fig = viz.draw_conv(*cfg[:3], stride=cfg[3], padding=cfg[4], dilation=cfg[5])
    text = [t for t in fig.findobj() if getattr(t, "get_gid", lambda: None)() == "formula"][0].get_text()
    rows = re.findall(
        r"\\lfloor\((\d+) \+ (\d+) \+ (\d+) - (\d+)\\cdot\((\d+)-1\) - 1\)/(\d+)\\rfloor \+ 1 = (\d+)", text
    )
    assert len(rows) == 2
    for (n, pb, pa, d, k, s, shown), (_, out) in zip(rows, _expected(*cfg)):
        n, pb, pa, d, k, s, shown = map(int, (n, pb, pa, d, k, s, shown))
        assert (n + pb + pa - d * (k - 1) - 1) // s + 1 == shown == out


def test_taps_show_dilation_gaps_at_position():
    fig = viz.draw_conv(7, 7, 3, stride=2, dilation=2, position=(1, 0))
    xy = sorted(p.get_xy() for p in fig.axes[0].patches if p.get_gid() == "tap")
    assert sorted({y for _, y in xy}) == [2, 4, 6]  # rows i*s + a*d for i = 1
    assert sorted({x for x, _ in xy}) == [0, 2, 4]


def test_stride_arrows_only_where_windows_repeat():
    one_column = viz.draw_conv(5, 3, 3, stride=2)  # width: a single window
    gids = [t.get_gid() for t in one_column.axes[0].texts if t.get_gid() == "stride-label"]
    assert len(gids) == 1  # only the height axis steps


def test_draw_pool_ceil_mode_overhang_matches_pool_output_size():
    fig = viz.draw_pool(5, 6, 2, ceil_mode=True)
    ho = shapes.pool_output_size(5, 2, ceil_mode=True)
    wo = shapes.pool_output_size(6, 2, ceil_mode=True)
    assert (ho, wo) == (3, 3)
    assert _count(fig.axes[1], "output-cell") == ho * wo
    assert _count(fig.axes[0], "overhang-cell") == 6 * 6 - 5 * 6  # one overhanging row, no column
    assert r"\lceil" in fig.get_supxlabel()


@pytest.mark.parametrize(
    "n, k, stride, padding, op",
    [(3, 3, 2, 1, 1), (3, 3, 2, 0, 1), (4, 2, 3, "same", None), (2, 3, 1, "valid", None)],
)
def test_draw_transpose_matches_transpose_shapes(n, k, stride, padding, op):
    fig = viz.draw_transpose(n, n + 1, k, stride=stride, padding=padding, output_padding=op, position=(1, 0))
    outs = [
        shapes.conv_transpose_output_size(m, k, stride=stride, padding=padding, output_padding=op)
        for m in (n, n + 1)
    ]
    full = [(m - 1) * stride + k for m in (n, n + 1)]  # the scatter's span, dilation 1
    ax_out = fig.axes[1]
    kept = _count(ax_out, "output-cell") + _count(ax_out, "bias-cell")
    assert kept == outs[0] * outs[1]
    canvas = len([p for p in ax_out.patches if p.get_gid() != "tap"])
    assert canvas >= full[0] * full[1] and kept + _count(ax_out, "crop-cell") == canvas
    assert _count(ax_out, "tap") == k * k
    assert f"output {outs[0]}x{outs[1]}" in ax_out.get_title()


def test_transpose_output_padding_past_the_scatter_is_bias_only():
    fig = viz.draw_transpose(2, 2, 1, stride=2, output_padding=1)  # scatter 3, output 4
    assert _count(fig.axes[1], "bias-cell") == 4 * 4 - 3 * 3


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_h": 2, "n_w": 5, "k": 3}, "kernel height 3 .* larger than the padded input height 2"),
        ({"n_h": 5, "n_w": 5, "k": 3, "position": (3, 0)}, r"position \(3, 0\) is outside the 3x3 output"),
        ({"n_h": 5, "n_w": 5, "k": 3, "stride": 0}, "stride"),
        ({"n_h": 5, "n_w": 5, "k": 3, "padding": "middle"}, "middle"),
    ],
)
def test_draw_conv_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        viz.draw_conv(**kwargs)


def test_animation_frames_and_offline_html():
    anim = viz.animate_conv(3, 4, 2, stride=2, padding="same")
    (_, ho), (_, wo) = _expected(3, 4, 2, 2, "same", 1)
    html = viz.to_jshtml(anim)
    assert html.frames == ho * wo == 4
    text = str(html)
    assert "http://" not in text and "https://" not in text
    assert text.count('class="anim-buttons"') == 1 and 'class="fa' not in text
    assert str(viz.to_jshtml(viz.animate_conv(3, 4, 2, stride=2, padding="same"))) == text
    assert repr(html) == "<animation: 4 frames>"


def test_gif_writes_every_frame(tmp_path):
    path = tmp_path / "slide.gif"
    viz.save_gif(viz.animate_conv(3, 3, 2), path, dpi=30)
    with Image.open(path) as im:
        assert im.format == "GIF" and im.n_frames == 4


def test_output_size_curve_matches_shapes():
    ns = range(1, 10)
    fig = viz.plot_output_size_curve(ns, 4, configs=[("valid", 1), ("same", 2)], dilation=1)
    for line, (padding, stride) in zip(fig.axes[0].lines, [("valid", 1), ("same", 2)]):
        want = {
            n: shapes.conv_output_size(n, 4, stride=stride, padding=padding)
            for n in ns
            if padding != "valid" or n >= 4
        }
        assert dict(zip(map(int, line.get_xdata()), map(int, line.get_ydata()))) == want


def test_explore_builds_sliders_and_redraws():
    box = viz.explore(n=5, k=3)
    sliders = [w for row in box.children[:2] for w in row.children]
    assert [s.description for s in sliders] == ["n", "k", "s", "p", "d"]
    sliders[1].value = 5  # kernel 5 on a 5-wide input: one output cell; then too large
    sliders[0].value = 4
    assert len(box.children) == 3


def test_draw_pool_ceil_mode_shows_the_dropped_window():
    """ceil((5+1+1-1-1)/2)+1 is 4; PyTorch drops the window that starts in the padding: 3."""
    fig = viz.draw_pool(5, 5, 2, stride=2, padding=1, ceil_mode=True)
    assert shapes.pool_output_size(5, 2, stride=2, padding=1, ceil_mode=True) == 3
    assert fig.get_supxlabel().count(r"+ 1 = 4 \rightarrow 3$") == 2
    assert "right padding" in fig.get_supxlabel()
