"""Every engine equals the naive loop on random layers (hypothesis, fixed seed, bounded examples)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from convlib.engines import ENGINES, choose_algorithm, naive, supports
from convlib.engines._slab import padded_shape
from convlib.padding import PADDING_MODES
from convlib.proof.crosscheck import tolerance
from convlib.shapes import effective_kernel_size


@st.composite
def layers(draw):
    groups = draw(st.sampled_from([1, 2, 3]))
    cg = draw(st.integers(1, 3))
    c, o = groups * cg, groups * draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw, dh, dw = (draw(st.integers(1, 3)) for _ in range(4))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    mode = draw(st.sampled_from(sorted(PADDING_MODES)))
    cap_h = h - 1 if mode == "reflect" else (h if mode == "circular" else 6)
    cap_w = w - 1 if mode == "reflect" else (w if mode == "circular" else 6)
    pads = tuple(tuple(draw(st.integers(0, max(0, cap))) for _ in range(2)) for cap in (cap_h, cap_w))
    hp, wp = padded_shape((1, h, w, c), pads)[1:3]
    if hp < effective_kernel_size(kh, dh) or wp < effective_kernel_size(kw, dw):
        pads = (
            ((pads[0][0], pads[0][1] + effective_kernel_size(kh, dh)), pads[1]) if mode == "zeros" else pads
        )
        hp, wp = padded_shape((1, h, w, c), pads)[1:3]
        if hp < effective_kernel_size(kh, dh) or wp < effective_kernel_size(kw, dw):
            kh = kw = dh = dw = 1
    return (draw(st.integers(1, 2)), h, w, c), (kh, kw, cg, o), (sh, sw), (dh, dw), groups, pads, mode


@settings(max_examples=40, deadline=None, derandomize=True)
@given(layer=layers())
def test_every_engine_that_runs_a_layer_equals_naive(layer):
    xs, ws, stride, dilation, groups, pads, mode = layer
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    ref = naive.conv(x, w, stride=stride, dilation=dilation, groups=groups, pads=pads, padding_mode=mode)
    ran = []
    for name, engine in ENGINES.items():
        if name == "naive" or not supports(name, ws, stride=stride, dilation=dilation, padding_mode=mode):
            continue
        y = engine(x, w, stride=stride, dilation=dilation, groups=groups, pads=pads, padding_mode=mode)
        assert y.shape == ref.shape, (name, layer)
        assert np.abs(y - ref).max() <= tolerance(np.float64) * max(1.0, np.abs(ref).max()), (name, layer)
        ran.append(name)
    assert "im2col" in ran and "shifted" in ran
    auto = choose_algorithm(padded_shape(xs, pads), ws, stride=stride, dilation=dilation, groups=groups,
                            pads=pads, padding_mode=mode)  # fmt: skip
    assert auto in ran, (auto, ran, layer)
