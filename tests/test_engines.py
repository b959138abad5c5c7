"""The fast engines: same answer as the teaching loop and the frameworks, bounded memory."""

import time
import tracemalloc

import numpy as np
import pytest

from convlib import conv2d
from convlib.engines import ENGINES, _blocks, choose_algorithm, naive, select_engine, supports
from convlib.proof.crosscheck import crosscheck_conv2d, tolerance

FAST = [e for e in ENGINES if e != "naive"]
# (x shape NHWC, kernel HWIO, stride, dilation, groups): odd sizes, strides, dilation, groups.
CONFIGS = [
    ((2, 9, 11, 4), (3, 3, 4, 6), (1, 1), (1, 1), 1),
    ((1, 10, 7, 4), (3, 3, 2, 6), (1, 1), (1, 1), 2),
    ((2, 13, 12, 3), (3, 2, 3, 5), (2, 3), (1, 1), 1),
    ((1, 14, 15, 4), (3, 3, 1, 8), (2, 2), (2, 1), 4),
    ((3, 6, 7, 5), (1, 1, 5, 4), (1, 1), (1, 1), 1),
    ((2, 9, 8, 6), (1, 1, 6, 4), (2, 2), (1, 1), 1),
    ((1, 20, 19, 2), (7, 7, 2, 3), (2, 2), (1, 1), 1),
    ((1, 5, 5, 2), (5, 5, 2, 2), (1, 1), (1, 1), 1),
]


def _cases(engine):
    return [c for c in CONFIGS if supports(engine, c[1], stride=c[2], dilation=c[3])]


@pytest.mark.parametrize("engine", FAST)
def test_engine_matches_naive_float64(engine, rng):
    # float64 vs the naive loop: 1e-10 relative to max(1, max|ref|). Winograd F(4x4)'s
    # transforms amplify rounding by about 100x (entries up to 8 and 1/24); FFT's by log L:
    # both stay near 1e-13 here, far below the bound.
    for xs, ws, stride, dilation, groups in _cases(engine):
        x, w = rng.standard_normal(xs), rng.standard_normal(ws)
        ref = naive.conv(x, w, stride=stride, dilation=dilation, groups=groups)
        y = ENGINES[engine](x, w, stride=stride, dilation=dilation, groups=groups)
        assert y.shape == ref.shape and y.dtype == np.float64
        scale = max(1.0, np.abs(ref).max())
        assert np.abs(y - ref).max() <= tolerance(np.float64) * scale, (engine, xs, ws, stride)


@pytest.mark.parametrize("engine", FAST)
def test_engine_in_small_blocks(engine, rng, monkeypatch):
    # A tiny workspace forces row blocks within one image and output-channel chunks.
    monkeypatch.setattr(_blocks, "BUFFER_BYTES", 3000)
    for xs, ws, stride, dilation, groups in _cases(engine):
        x, w = rng.standard_normal(xs), rng.standard_normal(ws)
        ref = naive.conv(x, w, stride=stride, dilation=dilation, groups=groups)
        y = ENGINES[engine](x, w, stride=stride, dilation=dilation, groups=groups)
        assert np.abs(y - ref).max() <= tolerance(np.float64) * max(1.0, np.abs(ref).max())


FRAMEWORK_CASES = [
    dict(padding="same"),
    dict(padding=1, groups=2),
    dict(stride=2, padding="same"),
    dict(dilation=2, padding=((2, 1), (0, 3))),
    dict(padding=1, padding_mode="reflect"),
]


def _runnable(engine, kw):
    s, d = kw.get("stride", 1), kw.get("dilation", 1)
    return supports(engine, (3, 3), stride=(s, s), dilation=(d, d))


# Winograd's refusals of strides and dilations are tested in test_winograd_refuses.
@pytest.mark.parametrize(
    "engine, kwargs", [(e, kw) for e in FAST for kw in FRAMEWORK_CASES if _runnable(e, kw)]
)
def test_engine_matches_frameworks_float32(engine, kwargs, rng):
    x = rng.standard_normal((2, 12, 11, 4)).astype(np.float32)
    w = rng.standard_normal((3, 3, 4 // kwargs.get("groups", 1), 6)).astype(np.float32)
    report = crosscheck_conv2d(x, w, algorithm=engine, **kwargs)
    assert report.agree, report.table()


@pytest.mark.parametrize("engine", ["winograd_f2", "winograd_f4", "fft"])
def test_float32_error_vs_float64(engine, rng):
    # Measured error of the transform engines in float32 against a float64 reference, on a
    # ResNet-like 3x3 layer with 64 channels (He-scaled weights); printed for the report.
    x = rng.standard_normal((2, 16, 16, 64))
    w = rng.standard_normal((3, 3, 64, 64)) / np.sqrt(9 * 64)
    ref = conv2d(x, w, padding="same", algorithm="im2col")
    y = conv2d(x.astype(np.float32), w.astype(np.float32), padding="same", algorithm=engine)
    err = np.abs(y - ref).max() / max(1.0, np.abs(ref).max())
    y32 = conv2d(x.astype(np.float32), w.astype(np.float32), padding="same", algorithm="im2col")
    base = np.abs(y32 - ref).max() / max(1.0, np.abs(ref).max())
    print(f"{engine}: float32 max rel error {err:.2e} (im2col float32: {base:.2e})")
    assert err <= tolerance(np.float32)


@pytest.mark.parametrize(
    "kwargs, why",
    [
        (dict(stride=2), r"stride \(2, 2\)"),
        (dict(dilation=2), r"dilation \(2, 2\)"),
    ],
)
@pytest.mark.parametrize("engine", ["winograd_f2", "winograd_f4"])
def test_winograd_refuses(engine, kwargs, why):
    x, w = np.ones((1, 9, 9, 2), np.float32), np.ones((3, 3, 2, 2), np.float32)
    with pytest.raises(ValueError, match="winograd needs a 3x3 kernel.*" + why):
        conv2d(x, w, algorithm=engine, **kwargs)
    with pytest.raises(ValueError, match=r"kernel 5x5"):
        conv2d(np.ones((1, 9, 9, 2)), np.ones((5, 5, 2, 2)), algorithm=engine)


def test_unknown_algorithm():
    with pytest.raises(ValueError, match=r"algorithm must be 'auto' or one of .*'winograd_f4'.*got 'gemm'"):
        select_engine("gemm", (1, 5, 5, 1), (3, 3, 1, 1), stride=(1, 1), dilation=(1, 1), groups=1)


@pytest.mark.parametrize(
    "xp, w, stride, dilation, want",
    [
        ((8, 58, 58, 64), (3, 3, 64, 64), (1, 1), (1, 1), "winograd_f4"),
        ((8, 58, 58, 64), (3, 3, 64, 64), (2, 2), (1, 1), "im2col"),
        ((8, 58, 58, 64), (3, 3, 64, 64), (1, 1), (2, 2), "im2col"),
        ((8, 9, 9, 512), (3, 3, 512, 512), (1, 1), (1, 1), "winograd_f2"),  # 8 x 16 tiles of 2x2
        ((1, 9, 9, 512), (3, 3, 512, 512), (1, 1), (1, 1), "im2col"),  # 4 tiles of 4x4, 16 of 2x2
        ((8, 16, 16, 256), (3, 3, 256, 256), (1, 1), (1, 1), "winograd_f4"),  # 8 x 16 tiles of 4x4
        ((1, 16, 16, 256), (3, 3, 256, 256), (1, 1), (1, 1), "winograd_f2"),  # 16 of 4x4, 49 of 2x2
        ((1, 30, 30, 1024), (3, 3, 1024, 64), (1, 1), (1, 1), "im2col"),
        ((1, 230, 230, 3), (7, 7, 3, 64), (2, 2), (1, 1), "im2col"),
        ((1, 80, 80, 8), (15, 15, 8, 8), (1, 1), (1, 1), "fft"),
        ((1, 80, 80, 8), (11, 11, 8, 8), (1, 1), (1, 1), "im2col"),
        ((1, 80, 80, 8), (15, 15, 8, 8), (2, 2), (1, 1), "im2col"),
    ],
)
def test_auto_rule(xp, w, stride, dilation, want):
    got = choose_algorithm(xp, w, stride=stride, dilation=dilation, groups=1)
    assert got == want
    assert supports(got, w, stride=stride, dilation=dilation)


@pytest.mark.parametrize("engine", FAST)
def test_workspace_bounded(engine):
    # im2col's full patch matrix here is 1398*1398 x 144 float32 = 1.05 GiB; every engine
    # must stay within 64 MiB of workspace besides the output (traced by tracemalloc).
    x = np.random.default_rng(0).standard_normal((1, 1400, 1400, 16), dtype=np.float32)
    w = np.full((3, 3, 16, 2), 0.1, np.float32)
    assert 1398 * 1398 * 144 * 4 > 2**30
    tracemalloc.start()
    t0 = time.perf_counter()
    y = ENGINES[engine](x, w, stride=(1, 1), dilation=(1, 1), groups=1)
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    extra = (peak - y.nbytes) / 2**20
    print(f"{engine}: {extra:.1f} MiB workspace, {elapsed:.2f} s")
    assert extra <= 64
    ref = x[0, 500:503, 700:703].sum() * 0.1
    assert abs(y[0, 500, 700, 1] - ref) <= 1e-4 * max(1.0, abs(ref))
