"""conv2d, one concept per test, each checked against TensorFlow and PyTorch (float32, 1e-5)
and against the naive loop (float64, 1e-10)."""

import numpy as np
import pytest
from helpers import assert_agrees, assert_close, channels_first, random_inputs

import convlib
from convlib.proof.crosscheck import crosscheck_conv2d


def inputs(rng, n=2, h=9, w=10, c=4, k=(3, 3), o=6, groups=1, fmt="NHWC", dtype=np.float32):
    x, wt = random_inputs(rng, (n, h, w, c), (*k, c // groups, o), dtype=dtype)
    return channels_first(x, wt) if fmt == "NCHW" else (x, wt)


def check(rng, *, shape_kw=None, **kw):
    """Both frameworks ran and agree with convlib, and convlib's engines agree with the naive loop."""
    report = assert_agrees(crosscheck_conv2d(*inputs(rng, **(shape_kw or {})), **kw))
    x64, w64 = inputs(rng, dtype=np.float64, **(shape_kw or {}))
    fast = convlib.conv2d(x64, w64, **kw)
    naive = convlib.conv2d_naive(x64, w64, **kw)
    assert_close(fast, naive)
    return report


def test_valid(rng):
    assert check(rng).reference.shape == (2, 7, 8, 6)


@pytest.mark.parametrize("stride", [1, 2, 3, (1, 2), (3, 1)])
def test_stride(rng, stride):
    check(rng, stride=stride)


@pytest.mark.parametrize("padding", ["same", "full", 0, 2, (1, 2), ((0, 1), (2, 0)), ((3, 1), (0, 2))])
def test_padding(rng, padding):
    check(rng, padding=padding)


@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("k", [(1, 1), (2, 2), (3, 4), (5, 2)])
def test_same_with_stride_and_even_kernels(rng, stride, k):
    r = check(rng, shape_kw=dict(k=k), stride=stride, padding="same")
    assert r.reference.shape[1:3] == (-(-9 // stride), -(-10 // stride))


@pytest.mark.parametrize("dilation", [2, 3, (2, 1)])
@pytest.mark.parametrize("stride", [1, 2])
def test_dilation(rng, dilation, stride):
    check(rng, dilation=dilation, stride=stride, padding="same")


@pytest.mark.parametrize("groups, c, o", [(2, 4, 6), (4, 4, 8), (4, 4, 4)])
def test_groups_and_depthwise(rng, groups, c, o):
    check(rng, shape_kw=dict(groups=groups, c=c, o=o), groups=groups)


def test_nchw_layout(rng):
    r = check(rng, shape_kw=dict(fmt="NCHW"), data_format="NCHW", stride=2, padding="same")
    assert r.reference.shape == (2, 6, 5, 5)


def test_layouts_give_transposed_results(rng):
    x, w = inputs(rng)
    a = convlib.conv2d(x, w, padding=1)
    b = convlib.conv2d(x.transpose(0, 3, 1, 2), w.transpose(3, 2, 0, 1), padding=1, data_format="NCHW")
    np.testing.assert_array_equal(a, b.transpose(0, 2, 3, 1))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_padding_modes(rng, mode):
    check(rng, padding=2, padding_mode=mode)
    check(rng, padding="same", stride=2, padding_mode=mode)


def test_unbatched_input(rng):
    x, w = inputs(rng)
    y = convlib.conv2d(x[0], w, padding="same")
    assert y.shape == (9, 10, 6)
    # im2col may batch images into one product, so the rounding order can differ by one step.
    assert_close(y, convlib.conv2d(x, w, padding="same")[0])
    xn, wn = inputs(rng, fmt="NCHW")
    assert_agrees(crosscheck_conv2d(xn[0], wn, data_format="NCHW"))


def test_bias(rng):
    x, w = inputs(rng)
    b = rng.standard_normal(6).astype(np.float32)
    assert_agrees(crosscheck_conv2d(x, w, b, padding="same"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_dtype_follows_input(rng, dtype):
    x, w = inputs(rng, dtype=dtype)
    y = convlib.conv2d(x, w)
    assert y.dtype == dtype
    if dtype == np.float64:
        assert crosscheck_conv2d(x, w).tol == 1e-10


def test_cross_correlation_not_convolution():
    # An asymmetric kernel shows the kernel is not flipped: both frameworks do the same.
    x = np.zeros((1, 3, 3, 1))
    x[0, 1, 1, 0] = 1.0
    w = np.arange(9.0).reshape(3, 3, 1, 1)
    y = convlib.conv2d(x, w, padding="same")[0, :, :, 0]
    np.testing.assert_array_equal(y, w[::-1, ::-1, 0, 0])


def test_kernel_equal_to_input_gives_one_pixel(rng):
    r = check(rng, shape_kw=dict(h=3, w=4, k=(3, 4)))
    assert r.reference.shape == (2, 1, 1, 6)


@pytest.mark.parametrize("groups, o", [(1, 6), (2, 6), (4, 4)])  # plain, grouped, depthwise
@pytest.mark.parametrize("fmt", ["NHWC", "NCHW"])
def test_zero_batch(rng, groups, o, fmt):
    x, w = inputs(rng, n=0, groups=groups, o=o, fmt=fmt)
    y = convlib.conv2d(x, w, padding="same", groups=groups, data_format=fmt)
    assert y.shape == ((0, 9, 10, o) if fmt == "NHWC" else (0, o, 9, 10))


def test_lists_are_accepted():
    y = convlib.conv2d([[[[1.0], [2.0]], [[3.0], [4.0]]]], [[[[1.0]]]])
    assert y.shape == (1, 2, 2, 1)


def test_non_contiguous_views(rng):
    x, w = inputs(rng, w=20)
    view = x[:, :, ::2]
    assert not view.flags.c_contiguous
    assert_close(convlib.conv2d(view, w), convlib.conv2d(view.copy(), w))
