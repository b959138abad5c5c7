"""Every fast engine equals its reference engine on random layers (hypothesis, float64, 1e-10).

The layers are drawn per engine, inside what that engine accepts (Winograd: 3x3 and stride 1;
depthwise: one channel per group; taps: zero padding), so every example runs the engine: none
passes by being skipped. Odd sizes, strides, dilations, groups and every padding mode.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convlib import engines, fast
from convlib.engines import naive
from convlib.padding import PADDING_MODES, apply_padding
from convlib.proof.crosscheck import tolerance
from convlib.shapes import effective_kernel_size


@st.composite
def layers(draw, engine):
    groups = draw(st.sampled_from([1, 2, 3]))
    cg = 1 if engine.startswith("depthwise") else draw(st.integers(1, 3))
    c, o = groups * cg, groups * draw(st.integers(1, 3))
    winograd = engine.startswith("winograd")
    kh, kw = (3, 3) if winograd else (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    sh, sw = (1, 1) if winograd else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    zeros_only = engine == "taps" or (winograd and (dh, dw) != (1, 1))
    mode = "zeros" if zeros_only else draw(st.sampled_from(sorted(PADDING_MODES)))
    caps = [n - 1 if mode == "reflect" else (n if mode == "circular" else 6) for n in (h, w)]
    pads = tuple(tuple(draw(st.integers(0, max(0, cap))) for _ in range(2)) for cap in caps)
    # Too small for one window: widen the zero padding, or (other modes) the map itself.
    windows = (effective_kernel_size(kh, dh), effective_kernel_size(kw, dw))
    short = [max(0, e - (n + sum(p))) for n, p, e in zip((h, w), pads, windows)]
    if mode == "zeros":
        pads = tuple((p[0], p[1] + s) for p, s in zip(pads, short))
    else:
        h, w = h + short[0], w + short[1]
    return (draw(st.integers(1, 2)), h, w, c), (kh, kw, cg, o), (sh, sw), (dh, dw), groups, pads, mode


@pytest.mark.parametrize("engine", list(fast.ENGINES))
def test_fast_engine_equals_its_reference(engine):
    reference = engines.ENGINES[fast.REFERENCE[engine]]

    @settings(max_examples=30, deadline=None, derandomize=True)
    @given(layer=layers(engine))
    def check(layer):
        xs, ws, stride, dilation, groups, pads, mode = layer
        rng = np.random.default_rng(7)
        x, w = rng.standard_normal(xs), rng.standard_normal(ws)
        kw = dict(stride=stride, dilation=dilation, groups=groups)
        y = fast.ENGINES[engine](x, w, pads=pads, padding_mode=mode, **kw)
        xp = apply_padding(x, pads, mode)
        ref = reference(xp, w, pads=pads, **kw) if engine == "taps" else reference(xp, w, **kw)
        assert y.shape == ref.shape == naive.conv(xp, w, **kw).shape, layer
        assert np.abs(y - ref).max() <= tolerance(np.float64) * max(1.0, np.abs(ref).max()), layer

    check()


@settings(max_examples=40, deadline=None, derandomize=True)
@given(layer=layers("im2col"))
def test_every_reference_engine_that_runs_a_layer_equals_naive(layer):
    xs, ws, stride, dilation, groups, pads, mode = layer
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    kw = dict(stride=stride, dilation=dilation, groups=groups)
    xp = apply_padding(x, pads, mode)
    ref = naive.conv(xp, w, **kw)
    ran = []
    for name, engine in engines.ENGINES.items():
        if not engines.supports(name, ws, stride=stride, dilation=dilation, padding_mode=mode):
            continue
        y = engine(xp, w, pads=pads, **kw) if name == "taps" else engine(xp, w, **kw)
        assert y.shape == ref.shape, (name, layer)
        assert np.abs(y - ref).max() <= tolerance(np.float64) * max(1.0, np.abs(ref).max()), (name, layer)
        ran.append(name)
    assert {"naive", "im2col", "shifted", "fft"} <= set(ran)
