"""The engines: the fast room's against the teaching loop, the reference ones against the
frameworks, the auto rule, and the fast room's bounded memory."""

import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from convlib import conv2d, engines
from convlib.engines import naive
from convlib.fast import (
    ENGINES,
    _blocks,
    check_supported,
    choose_algorithm,
    select_engine,
    set_threads,
    supports,
    winograd,
)
from convlib.fast._slab import padded_shape
from convlib.padding import PADDING_MODES
from convlib.proof.crosscheck import crosscheck_conv2d, tolerance
from convlib.proof.workspace import WORKSPACE_LIMIT_MIB, peak_extra_mib

pytestmark = pytest.mark.slow  # run first: see conftest.py
FAST = list(ENGINES)
REFERENCE = [e for e in engines.ENGINES if e != "naive"]
# (x shape NHWC, kernel HWIO, stride, dilation, groups, pads, padding_mode): odd sizes, strides,
# dilations, groups, depthwise with and without a channel multiplier, and every padding mode.
CONFIGS = [
    ((2, 9, 11, 4), (3, 3, 4, 6), (1, 1), (1, 1), 1, ((1, 1), (1, 1)), "zeros"),
    ((1, 10, 7, 4), (3, 3, 2, 6), (1, 1), (1, 1), 2, ((0, 2), (1, 0)), "reflect"),
    ((2, 13, 12, 3), (3, 2, 3, 5), (2, 3), (1, 1), 1, ((1, 0), (2, 2)), "replicate"),
    ((1, 14, 15, 4), (3, 3, 1, 8), (2, 2), (2, 1), 4, ((2, 2), (1, 1)), "circular"),
    ((3, 6, 7, 5), (1, 1, 5, 4), (1, 1), (1, 1), 1, ((0, 0), (0, 0)), "zeros"),
    ((2, 9, 8, 6), (1, 1, 6, 4), (2, 2), (1, 1), 1, ((1, 1), (0, 1)), "zeros"),
    ((1, 20, 19, 2), (7, 7, 2, 3), (2, 2), (1, 1), 1, ((3, 3), (3, 3)), "reflect"),
    ((1, 5, 5, 2), (5, 5, 2, 2), (1, 1), (1, 1), 1, ((2, 2), (2, 2)), "zeros"),
    ((2, 11, 10, 6), (3, 3, 1, 6), (1, 1), (1, 1), 6, ((1, 1), (1, 1)), "zeros"),
    ((1, 12, 13, 5), (5, 5, 1, 5), (2, 1), (1, 2), 5, ((2, 2), (4, 4)), "replicate"),
    ((2, 8, 9, 8), (3, 3, 2, 8), (1, 2), (1, 1), 4, ((1, 1), (1, 1)), "circular"),
    ((1, 9, 9, 3), (3, 3, 1, 3), (1, 1), (1, 1), 3, ((5, 0), (0, 4)), "zeros"),  # a wide pad
    ((2, 9, 10, 4), (5, 5, 1, 4), (1, 1), (1, 1), 4, ((2, 2), (2, 2)), "zeros"),  # fused 5x5, edges
]


def _cases(engine):
    return [c for c in CONFIGS if supports(engine, c[1], stride=c[2], dilation=c[3], padding_mode=c[6])]


def _check(engine, case, rng, dtype=np.float64):
    xs, ws, stride, dilation, groups, pads, mode = case
    x, w = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype)
    ref = naive.conv(x.astype(np.float64), w.astype(np.float64), stride=stride, dilation=dilation,
                     groups=groups, pads=pads, padding_mode=mode)  # fmt: skip
    y = ENGINES[engine](x, w, stride=stride, dilation=dilation, groups=groups, pads=pads, padding_mode=mode)
    assert y.shape == ref.shape and y.dtype == dtype, (engine, case)
    scale = max(1.0, np.abs(ref).max())
    assert np.abs(y - ref).max() <= tolerance(dtype) * scale, (engine, case)


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request):
    old = set_threads(request.param)
    yield request.param
    set_threads(old)


@pytest.mark.parametrize("engine", FAST)
def test_engine_matches_naive_float64(engine, threads, rng):
    # float64 vs the naive loop: 1e-10 relative to max(1, max|ref|). Winograd F(4x4)'s
    # transforms amplify rounding by about 100x (entries up to 8 and 1/24); FFT's by log L:
    # both stay near 1e-13 here, far below the bound.
    cases = _cases(engine)
    assert cases, engine
    for case in cases:
        _check(engine, case, rng)


@pytest.mark.parametrize("engine", FAST)
def test_engine_matches_naive_float32(engine, rng):
    for case in _cases(engine):
        _check(engine, case, rng, np.float32)


@pytest.mark.parametrize("engine", FAST)
def test_engine_in_small_blocks(engine, threads, rng, monkeypatch):
    # A tiny workspace forces row blocks within one image, output-channel chunks and, with
    # two threads, blocks dealt to both workers.
    monkeypatch.setattr(_blocks, "BUFFER_BYTES", 3000)
    monkeypatch.setattr(_blocks, "CACHE_BYTES", 3000)
    monkeypatch.setattr(winograd, "SPLIT_U_BYTES", 0)  # Winograd's kernel transform split too
    for case in _cases(engine):
        _check(engine, case, rng)


def test_winograd_kernel_transform_split_over_threads(threads, rng, monkeypatch):
    # Every output-channel chunk's U, made by input-channel ranges on the worker threads (5 input
    # channels: ranges of 3 and 2 on two threads), is the U of the one product per chunk.
    monkeypatch.setattr(winograd, "SPLIT_U_BYTES", 0)
    w = rng.standard_normal((3, 3, 5, 12))
    chunks = [(0, 5), (5, 12)]
    for m in (2, 4):
        got = winograd._kernel_transforms(m, w, chunks, np.dtype(np.float64))
        assert sorted(got) == [0, 5]
        for o0, o1 in chunks:
            want = winograd._kernel_transform(m, w[..., o0:o1], np.dtype(np.float64))
            np.testing.assert_allclose(got[o0], want, rtol=1e-14, atol=1e-14)


FRAMEWORK_CASES = [
    dict(padding="same"),
    dict(padding=1, groups=2),
    dict(stride=2, padding="same"),
    dict(dilation=2, padding=((2, 1), (0, 3))),
    dict(padding=1, padding_mode="reflect"),
    dict(padding=1, groups=4),
    dict(stride=2, padding=2, groups=4, padding_mode="circular"),
]


def _runnable(engine, kw):
    s, d, g = kw.get("stride", 1), kw.get("dilation", 1), kw.get("groups", 1)
    mode = kw.get("padding_mode", "zeros")
    return engines.supports(engine, (3, 3, 4 // g, 8), stride=(s, s), dilation=(d, d), padding_mode=mode)


# conv2d with a named algorithm runs the reference engine; the fast ones equal those
# (tests/test_engines_props.py). Winograd's refusals are tested in test_winograd_refuses.
@pytest.mark.parametrize(
    "engine, kwargs", [(e, kw) for e in REFERENCE for kw in FRAMEWORK_CASES if _runnable(e, kw)]
)
def test_engine_matches_frameworks_float32(engine, kwargs, rng):
    x = rng.standard_normal((2, 12, 11, 4)).astype(np.float32)
    w = rng.standard_normal((3, 3, 4 // kwargs.get("groups", 1), 8)).astype(np.float32)
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
    fast = ENGINES[engine](x.astype(np.float32), w.astype(np.float32), stride=(1, 1), dilation=(1, 1),
                           groups=1, pads=((1, 1), (1, 1)))  # fmt: skip
    err_fast = np.abs(fast - ref).max() / max(1.0, np.abs(ref).max())
    print(f"{engine}: float32 max rel error {err:.2e}, fast {err_fast:.2e} (im2col float32: {base:.2e})")
    assert err <= tolerance(np.float32) and err_fast <= tolerance(np.float32)


@pytest.mark.parametrize("engine", ["winograd_f2", "winograd_f4"])
def test_winograd_refuses(engine):
    x, w = np.ones((1, 9, 9, 2), np.float32), np.ones((3, 3, 2, 2), np.float32)
    with pytest.raises(ValueError, match=r"winograd needs a 3x3 kernel.*stride \(2, 2\)"):
        conv2d(x, w, algorithm=engine, stride=2)
    with pytest.raises(ValueError, match=r"kernel 5x5"):
        conv2d(np.ones((1, 9, 9, 2)), np.ones((5, 5, 2, 2)), algorithm=engine)
    # The reference pads first, so any padding mode splits into phases; the fast engine pads
    # block by block and splits only zero padding.
    y = conv2d(x, w, algorithm=engine, dilation=2, padding=2, padding_mode="reflect")
    assert y.shape == (1, 9, 9, 2)
    with pytest.raises(ValueError, match=r"dilation \(2, 2\), padding_mode 'reflect'"):
        check_supported(engine, w.shape, (1, 1), (2, 2), "reflect")


@pytest.mark.parametrize("engine", ["winograd_f2", "winograd_f4"])
@pytest.mark.parametrize("dilation", [(2, 2), (3, 1), (4, 6)])
def test_winograd_dilated_by_phases(engine, dilation, rng):
    # A dilated 3x3 layer as d_h * d_w undilated Winograd convolutions of the input's phases,
    # each with its share of the zero padding; map sizes not divisible by the dilation included.
    x = rng.standard_normal((2, 29, 26, 6))
    w = rng.standard_normal((3, 3, 6, 5))
    for pads in [((0, 0), (0, 0)), (dilation, dilation), ((3, 0), (1, 5))]:
        ref = conv2d(x, w, padding=pads, dilation=dilation, algorithm="naive")
        y = conv2d(x, w, padding=pads, dilation=dilation, algorithm=engine)
        fast = ENGINES[engine](x, w, stride=(1, 1), dilation=dilation, groups=1, pads=pads)
        assert y.shape == ref.shape == fast.shape
        np.testing.assert_allclose(y, ref, atol=1e-10 * np.abs(ref).max())
        np.testing.assert_allclose(fast, ref, atol=1e-10 * np.abs(ref).max())


def test_taps_refuses_other_padding_modes():
    x, w = np.ones((1, 5, 5, 2)), np.ones((3, 3, 2, 2))
    with pytest.raises(
        ValueError, match=r"taps engine skips zero pad cells only; got padding_mode='reflect'"
    ):
        conv2d(x, w, padding=1, padding_mode="reflect", algorithm="taps")
    assert conv2d(x, w, padding=1, padding_mode="reflect").shape == (1, 5, 5, 2)  # auto: not taps


def test_depthwise_refuses_dense_kernels():
    x, w = np.ones((1, 9, 9, 4), np.float32), np.ones((3, 3, 2, 4), np.float32)
    why = r"depthwise needs one input channel per group .*C/groups = 2"
    with pytest.raises(ValueError, match=why):
        conv2d(x, w, groups=2, algorithm="depthwise")
    with pytest.raises(ValueError, match=why):
        check_supported("depthwise_jit", w.shape, (1, 1), (1, 1))
    assert not supports("depthwise_jit", (3, 3), stride=(1, 1), dilation=(1, 1))  # no channel count
    assert not engines.supports("depthwise", (3, 3), stride=(1, 1), dilation=(1, 1))


def test_unknown_algorithm():
    why = r"algorithm must be 'auto' or one of .*'winograd_f4'.*got 'gemm'"
    with pytest.raises(ValueError, match=why):
        select_engine("gemm", (1, 5, 5, 1), (3, 3, 1, 1), stride=(1, 1), dilation=(1, 1), groups=1)
    with pytest.raises(ValueError, match=why):
        conv2d(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 1)), algorithm="gemm")
    with pytest.raises(ValueError, match=r"got 'planes_jit'"):  # a fast engine is not a reference
        conv2d(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 1)), algorithm="planes_jit")


@pytest.mark.parametrize(
    "xp, w, stride, dilation, groups, want",
    [
        ((8, 58, 58, 64), (3, 3, 64, 64), (1, 1), (1, 1), 1, "winograd_f4"),
        ((8, 58, 58, 64), (3, 3, 64, 64), (2, 2), (1, 1), 1, "im2col"),
        ((8, 58, 58, 64), (3, 3, 64, 64), (1, 1), (2, 2), 1, "winograd_f4"),  # 4 phases of 7x7 tiles
        ((8, 58, 58, 64), (3, 3, 64, 64), (1, 1), (4, 4), 1, "im2col"),  # 16 phases
        ((8, 9, 9, 512), (3, 3, 512, 512), (1, 1), (1, 1), 1, "winograd_f2"),  # 8 x 16 tiles of 2x2
        ((1, 9, 9, 512), (3, 3, 512, 512), (1, 1), (1, 1), 1, "im2col"),  # 4 tiles of 4x4, 16 of 2x2
        ((8, 16, 16, 256), (3, 3, 256, 256), (1, 1), (1, 1), 1, "winograd_f4"),  # 8 x 16 tiles of 4x4
        ((1, 16, 16, 256), (3, 3, 256, 256), (1, 1), (1, 1), 1, "winograd_f2"),  # 16 of 4x4, 49 of 2x2
        ((1, 30, 30, 1024), (3, 3, 1024, 64), (1, 1), (1, 1), 1, "im2col"),
        ((1, 230, 230, 3), (7, 7, 3, 64), (2, 2), (1, 1), 1, "im2col"),
        ((1, 80, 80, 8), (15, 15, 8, 8), (1, 1), (1, 1), 1, "fft"),
        ((1, 80, 80, 8), (11, 11, 8, 8), (1, 1), (1, 1), 1, "im2col"),
        ((1, 80, 80, 8), (15, 15, 8, 8), (2, 2), (1, 1), 1, "im2col"),
        ((8, 114, 114, 96), (3, 3, 1, 96), (2, 2), (1, 1), 96, "depthwise_jit"),  # MobileNetV2
        ((1, 18, 18, 672), (5, 5, 1, 672), (1, 1), (1, 1), 672, "depthwise_jit"),  # EfficientNet
        ((8, 58, 58, 128), (3, 3, 4, 128), (1, 1), (1, 1), 32, "planes_jit"),  # ResNeXt, 4 per group
        ((8, 30, 30, 256), (3, 3, 8, 256), (1, 1), (1, 1), 32, "planes_jit"),  # 8 per group
        ((1, 58, 58, 256), (3, 3, 8, 256), (2, 2), (1, 1), 32, "planes_jit"),  # 8 per group, stride 2
        ((1, 58, 58, 8), (3, 3, 8, 256), (1, 1), (1, 1), 1, "im2col"),  # dense, 8 channels: not planes
        ((1, 226, 226, 3), (3, 3, 3, 32), (2, 2), (1, 1), 1, "im2col"),  # 3-channel stem: dense
        ((8, 16, 16, 512), (3, 3, 16, 512), (1, 1), (1, 1), 32, "im2col"),  # 16 per group: batched GEMM
    ],
)
def test_auto_rule(xp, w, stride, dilation, groups, want):
    got = choose_algorithm(xp, w, stride=stride, dilation=dilation, groups=groups)
    assert got == want
    assert supports(got, w, stride=stride, dilation=dilation)


@pytest.mark.parametrize(
    "size, d, mode, want",
    [
        (14, 12, "zeros", "taps"),
        (14, 6, "zeros", "taps"),
        (28, 6, "zeros", "im2col"),
        (14, 12, "reflect", "im2col"),
    ],
)
def test_auto_takes_taps_where_most_reads_are_padding(size, d, mode, want):
    # DeepLabv3's ASPP: 3x3, dilation d, padding d; 18.4% (d=12) and 51.0% (d=6) of the reads
    # land inside a 14x14 map, 73.5% inside a 28x28 one (d=6). Only zeros can be skipped.
    xp, w, pads = (8, size + 2 * d, size + 2 * d, 64), (3, 3, 64, 32), ((d, d), (d, d))
    got = choose_algorithm(xp, w, stride=(1, 1), dilation=(d, d), groups=1, pads=pads, padding_mode=mode)
    assert got == want
    assert supports(got, w, stride=(1, 1), dilation=(d, d), padding_mode=mode)


@pytest.mark.parametrize(
    "x, w, dilation, mode, want",
    [
        ((1, 17, 17, 128), (1, 7, 128, 128), (1, 1), "zeros", "taps"),  # Inception 6b: K = C = 128
        ((1, 17, 17, 64), (1, 7, 64, 64), (1, 1), "zeros", "im2col"),  # K = 64: too thin
        ((1, 17, 17, 128), (1, 7, 128, 128), (1, 1), "reflect", "im2col"),  # only zeros are skipped
        ((1, 28, 28, 512), (3, 3, 512, 512), (4, 4), "zeros", "taps"),  # DeepLabv3 layer4: 16 phases
        ((8, 28, 28, 256), (3, 3, 256, 256), (2, 2), "zeros", "winograd_f4"),  # layer3: 4 phases
        ((8, 28, 28, 256), (3, 3, 256, 256), (2, 2), "reflect", "im2col"),  # phases need zeros
    ],
)
def test_auto_rule_with_padding(x, w, dilation, mode, want):
    pads = tuple((d * (k - 1) // 2,) * 2 for d, k in zip(dilation, w[:2]))
    xp = (x[0], x[1] + sum(pads[0]), x[2] + sum(pads[1]), x[3])
    got = choose_algorithm(xp, w, stride=(1, 1), dilation=dilation, groups=1, pads=pads, padding_mode=mode)
    assert got == want
    assert supports(got, w, stride=(1, 1), dilation=dilation, padding_mode=mode)


def test_auto_never_picks_an_engine_that_cannot_run():
    # Every kernel size, stride, dilation and grouping of a small grid, on three map sizes.
    seen = set()
    for k in (1, 2, 3, 5, 7, 15):
        for s in (1, 2):
            for d in (1, 2):
                for cin, groups, cout in ((8, 1, 16), (16, 16, 16), (16, 16, 32), (32, 2, 32), (64, 1, 64)):
                    for n, size in ((1, 9), (1, 16), (8, 40)):
                        xp = (n, size + d * (k - 1), size + d * (k - 1), cin)
                        w = (k, k, cin // groups, cout)
                        got = choose_algorithm(xp, w, stride=(s, s), dilation=(d, d), groups=groups)
                        assert supports(got, w, stride=(s, s), dilation=(d, d)), (xp, w, s, d, got)
                        seen.add(got)
    assert {"im2col", "winograd_f2", "winograd_f4", "fft", "depthwise_jit"} <= seen


# A padded copy of this input alone is 1026 * 1026 * 16 float32 = 64.25 MiB, over the limit.
BIG = (1, 1024, 1024, 16)


@pytest.mark.parametrize(
    "engine, mode",
    [(e, "zeros") for e in FAST]
    + [
        (e, m)
        for e, m in zip(FAST, [*PADDING_MODES][1:] * 3)
        if supports(e, (3, 3, 16, 4), stride=(1, 1), dilation=(1, 1), padding_mode=m)
    ],
)
def test_workspace_bounded_with_padding(engine, mode):
    assert 4 * np.prod(padded_shape(BIG, ((1, 1), (1, 1)))) / 2**20 > WORKSPACE_LIMIT_MIB
    x = np.random.default_rng(0).standard_normal(BIG, dtype=np.float32)
    depthwise = engine.startswith("depthwise")
    w = np.full((3, 3, 1, 16) if depthwise else (3, 3, 16, 4), 0.1, np.float32)
    kw = dict(stride=(1, 1), dilation=(1, 1), groups=16 if depthwise else 1, pads=((1, 1), (1, 1)))
    ENGINES[engine](x[:, :8], w, padding_mode=mode, **kw)  # compiles depthwise_jit outside the trace
    # BLAS at one thread: with two, OpenBLAS's spinning workers stall for seconds on a busy machine.
    with threadpool_limits(limits=1, user_api="blas"):
        y = None
        extra = peak_extra_mib(lambda: ENGINES[engine](x, w, padding_mode=mode, **kw))
        y = ENGINES[engine](x[:, :40], w, padding_mode=mode, **kw)
    print(f"{engine} {mode}: {extra:.1f} MiB workspace")
    assert extra <= WORKSPACE_LIMIT_MIB
    # One interior output checked by hand: the 3x3 window sum times 0.1 (x16 channels if dense).
    window = x[0, 19:22, 29:32]
    ref = 0.1 * (window[..., 5].sum() if depthwise else window.sum())
    assert abs(y[0, 20, 30, 5 if depthwise else 1] - ref) <= 1e-4 * max(1.0, abs(ref))


@pytest.mark.parametrize("mode", [*PADDING_MODES])
def test_conv2d_nchw_workspace_bounded(mode):
    # Through conv2d in NCHW: the input is read through a transposed view and the output is
    # moved into NCHW a batch chunk at a time, so no second whole-size array appears.
    x = np.random.default_rng(0).standard_normal((1, 16, 1024, 1024), dtype=np.float32)
    w = np.full((4, 16, 3, 3), 0.1, np.float32)
    with threadpool_limits(limits=1, user_api="blas"):
        extra = peak_extra_mib(lambda: conv2d(x, w, padding=1, data_format="NCHW", padding_mode=mode))
    assert extra <= WORKSPACE_LIMIT_MIB, extra


@pytest.mark.parametrize("engine", ["grouped_jit", "planes_jit"])
@pytest.mark.parametrize("stride, mode", [((1, 1), "zeros"), ((2, 3), "reflect"), ((1, 2), "circular")])
def test_grouped_column_blocks(monkeypatch, engine, stride, mode, rng):
    # With a tiny buffer cap one output row no longer fits a block: the engine cuts rows into
    # column blocks, each gathered with its own padding and phases; the result must not change.
    x = rng.standard_normal((2, 9, 40, 8))
    w = rng.standard_normal((3, 3, 2, 12))
    kw = dict(stride=stride, dilation=(1, 2), groups=4, pads=((1, 1), (2, 2)), padding_mode=mode)
    whole = ENGINES[engine](x, w, **kw)
    monkeypatch.setattr(_blocks, "BUFFER_BYTES", 2 * 5 * 12 * 8 * 8)  # a few output columns
    cut = ENGINES[engine](x, w, **kw)
    mode_np = {"zeros": "constant", "reflect": "reflect", "circular": "wrap"}[mode]
    ref = naive.conv(np.pad(x, ((0, 0), (1, 1), (2, 2), (0, 0)), mode=mode_np), w, stride=stride,
                     dilation=(1, 2), groups=4)  # fmt: skip
    np.testing.assert_allclose(whole, ref, atol=1e-12 * np.abs(ref).max())
    np.testing.assert_array_equal(cut, whole)


def test_scratch_reuses_caps_and_releases(monkeypatch):
    _blocks.release()
    a = _blocks.scratch("test.a", 1000, np.float32)
    b = _blocks.scratch("test.a", 500, np.float64)  # the same slot, same bytes: the same memory
    assert np.shares_memory(a, b) and b.dtype == np.float64 and b.size == 500
    c = _blocks.scratch("test.a", 4000, np.float32)  # larger: a new buffer, kept instead
    assert not np.shares_memory(a, c) and _blocks.kept_bytes() == 16000
    monkeypatch.setattr(_blocks, "KEEP_BYTES", 20000)
    big = _blocks.scratch("test.b", 6000, np.float32)  # larger than the cap alone: never kept
    assert big.size == 6000 and _blocks.kept_bytes() == 16000
    assert not np.shares_memory(big, _blocks.scratch("test.b", 6000, np.float32))
    assert _blocks.kept_bytes() == 16000
    d = _blocks.scratch("test.d", 1000, np.float32)  # 4000 more fit beside test.a
    assert _blocks.kept_bytes() == 20000 and np.shares_memory(d, _blocks.scratch("test.d", 10, np.float32))
    e = _blocks.scratch("test.e", 1000, np.float32)  # does not fit: the least recently used goes
    assert _blocks.kept_bytes() == 8000  # test.a (16000) dropped, test.d and test.e kept
    assert not np.shares_memory(e, d) and not np.shares_memory(e, c)
    assert not np.shares_memory(_blocks.scratch("test.a", 10, np.float32), c)  # a new test.a
    c = d  # the thread check below compares against a kept buffer of this thread
    done = []
    threading.Thread(target=lambda: done.append(_blocks.scratch("test.a", 10, np.float32))).start()
    while not done:
        pass
    assert not np.shares_memory(done[0], c)  # every thread has its own buffers
    assert _blocks.release() == 4000 + 4000 + 40 + 40 and _blocks.kept_bytes() == 0


@pytest.mark.parametrize("engine", FAST)
def test_kept_workspace_counts_toward_the_limit(engine):
    # Run every other engine first so that their kept buffers sit beside this engine's.
    x = np.random.default_rng(0).standard_normal((1, 300, 300, 16), dtype=np.float32)
    depthwise = engine.startswith("depthwise")
    w = np.full((3, 3, 1, 16) if depthwise else (3, 3, 16, 16), 0.1, np.float32)
    kw = dict(stride=(1, 1), dilation=(1, 1), groups=16 if depthwise else 1, pads=((1, 1), (1, 1)))
    for other in FAST:
        if supports(other, w.shape, stride=(1, 1), dilation=(1, 1)) and other != engine:
            ENGINES[other](x, w, **kw)
    with threadpool_limits(limits=1, user_api="blas"):
        extra = peak_extra_mib(lambda: ENGINES[engine](x, w, **kw))
    assert _blocks.kept_bytes() <= _blocks.KEEP_BYTES * 2  # this thread and at most one worker
    assert extra <= WORKSPACE_LIMIT_MIB, f"{engine}: {extra:.1f} MiB with kept buffers"


@pytest.mark.parametrize("run_bytes", [16, 100, 2**15])
def test_depthwise_rows_match_naive(threads, rng, monkeypatch, run_bytes):
    # depthwise_jit's row runs (stride-1 3x3, zero padding, few channels): runs shorter than a row
    # with a remainder (16 and 100 bytes: 1 and 3 pixels of 7 float32 channels), dilations, no
    # padding, a map too small for any interior output, against the naive loop.
    from convlib.fast import depthwise_jit

    monkeypatch.setattr(depthwise_jit, "ROW_RUN_BYTES", run_bytes)
    cases = [
        ((2, 9, 13, 7), (1, 1), ((1, 1), (1, 1))),
        ((1, 12, 11, 7), (2, 3), ((2, 2), (3, 3))),
        ((2, 8, 10, 7), (1, 1), ((0, 0), (0, 0))),
        ((1, 2, 2, 7), (1, 1), ((1, 1), (1, 1))),
        ((1, 10, 9, 7), (1, 1), ((3, 0), (0, 2))),
    ]
    for shape, dilation, pads in cases:
        for dtype in (np.float32, np.float64):
            x = rng.standard_normal(shape).astype(dtype)
            w = rng.standard_normal((3, 3, 1, 7)).astype(dtype)
            kw = dict(stride=(1, 1), dilation=dilation, groups=7, pads=pads)
            y = depthwise_jit.conv(x, w, **kw)
            ref = naive.conv(x.astype(np.float64), w.astype(np.float64), **kw)
            assert y.shape == ref.shape and y.dtype == dtype
            assert np.abs(y - ref).max() <= tolerance(dtype) * max(1.0, np.abs(ref).max()), (shape, pads)


def test_the_core_does_not_enter_the_fast_room():
    # Arrows point one way: the fast room imports the reference engines, never the reverse. Only
    # conv.py's dispatch (convolve, which conv2d, transpose and grad share) enters it, for "auto".
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "convlib"
    core = [*root.glob("engines/*.py"), *root.glob("shapes/*.py")]
    core += [root / f"{m}.py" for m in ("conv", "transpose", "pool", "grad", "layout", "padding")]
    entering = set()
    for path in core:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or "", *(a.name for a in node.names)]
                if any(n == "fast" or n.startswith("fast.") or ".fast" in n for n in names):
                    entering.add(str(path.relative_to(root)))
    assert entering <= {"conv.py"}, entering
