"""Pooling against tf.nn.max_pool2d / avg_pool2d and torch.nn.functional (float32, 1e-5), with the
edge rules that differ: TF's "same" ignores padded cells, PyTorch's ceil_mode and count_include_pad."""

import numpy as np
import pytest
from helpers import assert_agrees, assert_close, channels_first, random_inputs
from hypothesis import given, settings
from hypothesis import strategies as st

import convlib
from convlib.pool import (
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool2d,
    global_avg_pool2d,
    global_max_pool2d,
    max_pool2d,
)
from convlib.proof.crosscheck import crosscheck_pool2d


def x_of(rng, n=2, h=7, w=8, c=3, fmt="NHWC", dtype=np.float32):
    (x,) = random_inputs(rng, (n, h, w, c), dtype=dtype)
    return x if fmt == "NHWC" else channels_first(x)


def check(rng, kind, *args, cannot=(), shape_kw=None, **kw):
    """Both frameworks ran and agree with convlib, but those in ``cannot`` (named, with the reason)."""
    return assert_agrees(crosscheck_pool2d(kind, x_of(rng, **(shape_kw or {})), *args, **kw), cannot)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("k, s", [(2, None), (3, 2), (3, 1), ((2, 3), (3, 1)), (1, 2)])
def test_words_against_both(rng, kind, padding, k, s):
    # "same" in PyTorch is emulated (F.pad, and a real-cell count for avg), TF runs it natively.
    check(rng, kind, k, s, padding)


def test_tf_same_avg_ignores_padded_cells(rng):
    x = np.ones((1, 5, 5, 1), np.float32)
    # Every window averages real cells only, so a constant image stays constant (PyTorch's
    # count_include_pad=True would give 4/9 in the corner instead).
    np.testing.assert_array_equal(avg_pool2d(x, 3, 2, "same"), np.ones((1, 3, 3, 1)))
    assert avg_pool2d(x, 3, 2, 1)[0, 0, 0, 0] == pytest.approx(4 / 9)


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("padding", [1, (0, 1), (1, 2)])
def test_avg_count_include_pad(rng, count_include_pad, padding):
    # TF expresses only count_include_pad=True (tf.pad zeros then VALID); False is PyTorch alone.
    cannot = () if count_include_pad else ("TensorFlow",)
    check(rng, "avg", (3, 4), 2, padding, count_include_pad=count_include_pad, cannot=cannot)


@pytest.mark.parametrize(
    "h, k, s, p",
    [
        (5, 2, 2, 0),
        (6, 3, 2, 1),
        (7, 3, 3, 1),
        (4, 2, 3, 1),
        (5, 3, 2, 1),
        (8, 4, 3, 2),
        (2, 2, 2, 1),
        (1, 2, 2, 0),
        (3, 4, 2, 0),
    ],
)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_ceil_mode_corner_cases(rng, h, k, s, p, kind):
    # TF has no ceil_mode: PyTorch is the witness. (4, 2, 3, 1) and (2, 2, 2, 1) are where the last
    # ceil window would start in the right padding and PyTorch drops it; in (1, 2, 2, 0) and
    # (3, 4, 2, 0) the window is larger than the input, which ceil_mode allows (one partial window).
    r = check(rng, kind, k, s, p, ceil_mode=True, cannot=("TensorFlow",), shape_kw=dict(h=h, w=h + 1))
    assert r.reference.shape[1] == convlib.pool_output_size(h, k, stride=s, padding=p, ceil_mode=True)


@pytest.mark.parametrize("count_include_pad", [True, False])
def test_ceil_mode_cells_are_never_counted(rng, count_include_pad):
    # The last window of 5 cells, k = s = 2, ceil_mode: covers cell 4 and one cell past the input.
    y = avg_pool2d(np.ones((1, 5, 5, 1)), 2, ceil_mode=True, count_include_pad=count_include_pad)
    np.testing.assert_array_equal(y, np.ones((1, 3, 3, 1)))


@pytest.mark.parametrize("dilation", [2, (1, 2)])
def test_max_dilation(rng, dilation):
    # tf.nn.max_pool2d has no dilation, but tf.nn.pool has, at stride 1 ("VALID" after tf.pad).
    r = check(rng, "max", 3, 1, 1, dilation=dilation)
    assert r.others[0].how.startswith("tf.nn.pool(tf.pad(x")


def test_max_dilation_with_stride_tf_cannot(rng):
    r = check(rng, "max", 3, 2, "same", dilation=2, cannot=("TensorFlow",))
    assert r.cannot["TensorFlow"] == "tf.nn.pool allows dilations only with strides 1"


def test_max_same_pads_with_minus_inf(rng):
    x = -np.ones((1, 1, 3, 3)) - np.arange(9.0).reshape(1, 1, 3, 3)  # all negative: a 0 pad would win
    np.testing.assert_array_equal(
        max_pool2d(x, 2, padding="same", data_format="NCHW"), [[[[-1, -3], [-7, -9]]]]
    )


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_nchw_layout(rng, kind):
    r = check(rng, kind, 3, 2, "same", data_format="NCHW", shape_kw=dict(fmt="NCHW"))
    assert r.reference.shape == (2, 3, 4, 4)


def test_unbatched_input():
    x = np.arange(16.0).reshape(4, 4, 1)
    assert max_pool2d(x, 2).shape == (2, 2, 1)
    assert avg_pool2d(x.reshape(1, 4, 4), 2, data_format="NCHW").shape == (1, 2, 2)


def test_global_pools(rng, tf, torch):
    for h, w in ((5, 7), (1, 1), (9, 4)):
        x = x_of(rng, h=h, w=w)
        assert_close(global_avg_pool2d(x), tf.keras.layers.GlobalAveragePooling2D()(x))
        assert_close(global_max_pool2d(x), tf.keras.layers.GlobalMaxPooling2D()(x))
        xn = channels_first(x)
        assert_close(
            global_avg_pool2d(xn, keepdims=True, data_format="NCHW"),
            torch.nn.functional.adaptive_avg_pool2d(torch.from_numpy(xn), 1),
        )
        assert global_max_pool2d(x, keepdims=True).shape == (2, 1, 1, 3)


@pytest.mark.parametrize(
    "h, w, out", [(7, 8, 3), (5, 5, (2, 4)), (4, 6, (6, 7)), (9, 10, (None, 4)), (6, 6, 1)]
)
@pytest.mark.parametrize("kind", ["avg", "max"])
def test_adaptive_against_torch(rng, torch, h, w, out, kind):
    # TensorFlow has no adaptive pooling; PyTorch defines the windows, so it is the witness.
    x = x_of(rng, h=h, w=w, fmt="NCHW")
    ours = (adaptive_avg_pool2d if kind == "avg" else adaptive_max_pool2d)(x, out, data_format="NCHW")
    ref = getattr(torch.nn.functional, f"adaptive_{kind}_pool2d")(torch.from_numpy(x), out).numpy()
    assert_close(ours, ref)


def test_adaptive_equals_plain_pool_when_sizes_divide(rng, tf):
    x = x_of(rng, h=6, w=8)
    assert_close(adaptive_avg_pool2d(x, (3, 2)), tf.nn.avg_pool2d(x, (2, 4), (2, 4), "VALID"))


def test_adaptive_bounds_overlap():
    assert convlib.shapes.adaptive_pool_bounds(5, 3) == [(0, 2), (1, 4), (3, 5)]
    assert convlib.shapes.adaptive_pool_bounds(2, 4) == [(0, 1), (0, 1), (1, 2), (1, 2)]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda x: max_pool2d(x, 9), r"pool size 9 .* larger than the padded input size 7"),
        (
            lambda x: max_pool2d(x, 3, padding=2),
            r"pool padding \(2, 2\) must be at most half the pool size, k // 2 = 1",
        ),
        (lambda x: avg_pool2d(x, 2, padding="full"), "padding='full' is not a pooling padding"),
        (lambda x: max_pool2d(x, 2, padding="same", ceil_mode=True), "ceil_mode=True cannot be combined"),
        (lambda x: max_pool2d(x, 0), "pool_size must be a positive integer, got 0"),
        (lambda x: avg_pool2d(x, 2, strides=-1), "strides must be a positive integer, got -1"),
        (lambda x: max_pool2d(x, 2, padding=-1), "padding must be non-negative, got -1"),
        (lambda x: max_pool2d(x[0, 0], 2), r"input x must be 4-D .* got 2-D shape \(8, 3\)"),
        (lambda x: max_pool2d(x, 2, data_format="NWHC"), "data_format must be 'NHWC' or 'NCHW'"),
        (lambda x: max_pool2d(x.astype(int), 2), "x must be float16, float32 or float64"),
        (lambda x: adaptive_avg_pool2d(x, 0), "output_size must be a positive integer, got 0"),
        (lambda x: adaptive_max_pool2d(x, (1, 2, 3)), r"output_size must be an int or a pair"),
        (lambda x: global_avg_pool2d(x[0, 0]), "input x must be 4-D"),
        # "same" pads a huge window by itself: refused before np.pad allocates (found by test_fuzz)
        (
            lambda x: avg_pool2d(x[:, :1, :1].astype(np.float16), 10**9, padding="same"),
            r"pool_size=1000000000 with padding='same' makes the padded input \(2, 1000000000, ",
        ),
        (
            lambda x: max_pool2d(x, 10**9, padding="same"),
            r"pool_size=1000000000 with padding='same' makes the padded input",
        ),
    ],
)
def test_errors(rng, call, match):
    with pytest.raises(ValueError, match=match):
        call(x_of(rng))


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 7),
    k=st.integers(1, 4),
    s=st.integers(1, 3),
    p=st.integers(0, 2),
    ceil_mode=st.booleans(),
    cip=st.booleans(),
    kind=st.sampled_from(["max", "avg"]),
    seed=st.integers(0, 99),
)
def test_property_against_torch(h, k, s, p, ceil_mode, cip, kind, seed):
    """Any small configuration PyTorch accepts, convlib computes identically; PyTorch's refusals too."""
    r = crosscheck_pool2d(
        kind,
        x_of(np.random.default_rng(seed), n=1, h=h, w=h + 1),
        k,
        s,
        p,
        ceil_mode=ceil_mode,
        count_include_pad=cip,
    )
    torch_run = next(o for o in r.others if o.framework == "PyTorch")
    if r.reference.refused and "with ceil_mode overhangs" in r.reference.error:
        # The one deliberate difference (verification appendix): PyTorch keeps a ceil_mode window
        # larger than the whole padded input and pools the cells that exist; convlib refuses it.
        assert ceil_mode and k > h + 2 * p, str(r)
        return
    if r.reference.refused:
        assert (
            "at most half the pool size" in r.reference.error or "larger than the padded" in r.reference.error
        )
        assert torch_run.refused, str(r)  # PyTorch refuses the same request with its own message
    else:
        assert "PyTorch" not in r.cannot and not torch_run.refused, str(r)
        assert_agrees(r, cannot=("TensorFlow",) if ceil_mode or (kind == "avg" and p and not cip) else ())


@settings(max_examples=30, deadline=None)
@given(
    h=st.integers(1, 7),
    k=st.integers(1, 4),
    s=st.integers(1, 3),
    kind=st.sampled_from(["max", "avg"]),
    padding=st.sampled_from(["same", "valid"]),
    seed=st.integers(0, 99),
)
def test_property_words_against_tf(h, k, s, kind, padding, seed):
    r = crosscheck_pool2d(kind, x_of(np.random.default_rng(seed), n=1, h=h, w=h + 2), k, s, padding)
    if r.reference.refused:  # "valid" with a window larger than the input
        assert padding == "valid" and k > h
        # TF does not refuse: it returns an empty array (a 0 in the shape); convlib raises instead.
        tf_run = next(o for o in r.others if o.framework == "TensorFlow")
        assert tf_run.refused or 0 in tf_run.shape, str(r)
    else:
        assert_agrees(r)
