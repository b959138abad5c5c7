"""Hostile arguments to the public API: a correct array, or ValueError/TypeError with a message.

Never IndexError, ZeroDivisionError, MemoryError, a hang (hypothesis's deadline) or a
silently wrong shape. ``CONVLIB_FUZZ=full`` (used by ``make verify``) runs 5,000 examples per
test instead of CI's 300.
"""

import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convlib
from convlib.proof.frameworks import load_torch
from convlib.shapes import check_transpose_shapes

EXAMPLES = 5000 if os.environ.get("CONVLIB_FUZZ") == "full" else 300
FUZZ = settings(max_examples=EXAMPLES, deadline=2000, suppress_health_check=list(HealthCheck))

# Sizes, including zero, negative, huge, fractional, NaN, inf, bool, None, text and odd lists.
ints = st.integers(-3, 4) | st.sampled_from([10**9, 2**63 - 1])
weird = st.sampled_from([None, "2", 1.5, float("nan"), float("inf"), True, 2.0, np.int64(2), b"1"])
scalar = ints | weird
pair = st.lists(scalar, min_size=0, max_size=3).map(tuple) | st.lists(scalar, min_size=2, max_size=2)
param = scalar | pair
padding = param | st.sampled_from(["valid", "same", "full", "SAME", "half", ""]) | st.tuples(pair, pair)
dtypes = st.sampled_from(["float16", "float32", "float64", "int32", "bool", "complex64"])


@st.composite
def arrays(draw, rank=None):
    """An array of any rank 1..5 (zero sizes allowed), dtype, layout, and NaN/inf values; or a list."""
    r = draw(st.integers(1, 5)) if rank is None else rank
    shape = tuple(draw(st.lists(st.integers(0, 5), min_size=r, max_size=r)))
    a = np.random.default_rng(draw(st.integers(0, 99))).standard_normal(shape).astype(draw(dtypes))
    if a.size and a.dtype.kind == "f" and draw(st.booleans()):
        a.flat[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    view = draw(st.sampled_from(["as is", "transposed", "strided", "list"]))
    if view == "transposed":
        a = a.T
    elif view == "strided" and a.ndim:
        a = np.repeat(a, 2, axis=0)[::2]  # same values, a non-contiguous view
    return a.tolist() if view == "list" else a


def _call(fn, *args, **kwargs):
    """Run one call; return the array, or None after checking the refusal is a proper one."""
    try:
        return fn(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a message"
        return None


def _expected_conv_shape(x, w, **kw):
    kw = {k: v for k, v in kw.items() if k != "padding_mode"}
    return convlib.conv_output_shape(np.shape(x), np.shape(w), **kw)


@FUZZ
@given(x=arrays(), w=arrays(), stride=param, padding=padding, dilation=param, groups=scalar,
       fmt=st.sampled_from(["NHWC", "NCHW", "nchw", "NCWH", None]))  # fmt: skip
def test_conv2d_hostile(x, w, stride, padding, dilation, groups, fmt):
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, data_format=fmt)
    y = _call(convlib.conv2d, x, w, **kw)
    if y is not None:
        assert isinstance(y, np.ndarray) and y.dtype == np.asarray(x).dtype
        assert y.shape == _expected_conv_shape(x, w, **kw)


@FUZZ
@given(x=arrays(), w=arrays(), stride=param, padding=padding, output_padding=st.none() | param,
       dilation=param, groups=scalar, fmt=st.sampled_from(["NHWC", "NCHW"]))  # fmt: skip
def test_conv_transpose2d_hostile(x, w, stride, padding, output_padding, dilation, groups, fmt):
    kw = dict(stride=stride, padding=padding, output_padding=output_padding, dilation=dilation)
    y = _call(convlib.conv_transpose2d, x, w, groups=groups, data_format=fmt, **kw)
    if y is not None:
        assert y.ndim == np.ndim(x) and y.dtype == np.asarray(x).dtype
        # The adjoint identity pins the shape: the forward conv being transposed maps y's shape back
        # onto x's, wherever output_padding < stride (PyTorch allows up to the dilation, and the
        # forward floor then drops the extra cells: k=1, d=2, s=1, op=1 maps 1 -> 2 -> 2).
        geo = check_transpose_shapes(np.shape(x), np.shape(w), groups=groups, data_format=fmt, **kw)
        if all(a.left < a.stride for a in geo.axes):
            back = convlib.conv_output_shape(
                y.shape,
                np.shape(w),
                stride=tuple(a.stride for a in geo.axes),
                padding=tuple(a.pads for a in geo.axes),
                dilation=tuple(a.dilation for a in geo.axes),
                groups=groups,
                data_format=fmt,
            )
            assert back == tuple(np.shape(x)), (back, np.shape(x))


@FUZZ
@given(x=arrays(), pool=param, strides=st.none() | param, padding=padding, ceil=st.booleans(),
       kind=st.sampled_from(["max", "avg"]), fmt=st.sampled_from(["NHWC", "NCHW"]))  # fmt: skip
def test_pooling_hostile(x, pool, strides, padding, ceil, kind, fmt):
    fn = convlib.max_pool2d if kind == "max" else convlib.avg_pool2d
    y = _call(fn, x, pool, strides, padding, ceil_mode=ceil, data_format=fmt)
    if y is not None:
        assert y.ndim == np.ndim(x) and y.dtype == np.asarray(x).dtype
        c_axis = -1 if fmt == "NHWC" else -3
        assert y.shape[c_axis] == np.shape(x)[c_axis]
        if y.ndim == 4:  # 3-D inputs are unbatched
            assert y.shape[0] == np.shape(x)[0]


@FUZZ
@given(x=arrays(4), w=arrays(4), g=arrays(), stride=param, padding=padding, dilation=param)
def test_conv2d_backward_hostile(x, w, g, stride, padding, dilation):
    out = _call(convlib.conv2d_backward, x, w, g, stride=stride, padding=padding, dilation=dilation)
    if out is not None:
        assert [a.shape for a in out[:2]] == [np.shape(x), np.shape(w)]


@FUZZ
@given(seed=st.integers(0, 10**6), special=st.sampled_from([np.nan, np.inf, -np.inf]),
       stride=st.integers(1, 3), padding=st.sampled_from(["valid", "same", 1]))  # fmt: skip
def test_nan_and_inf_propagate_as_in_pytorch(seed, special, stride, padding):
    # Which outputs become NaN/inf is fixed by which windows touch the bad pixel (and inf*0 = NaN
    # where a kernel tap is zero); PyTorch's float64 conv is the reference for the pattern.
    torch = load_torch()
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, 6, 7, 2))
    w = rng.integers(-1, 2, (3, 3, 2, 2)).astype(np.float64)  # zeros included on purpose
    x[0, rng.integers(6), rng.integers(7), rng.integers(2)] = special
    with np.errstate(invalid="ignore"):  # inf * 0 is the NaN under test, not a warning to show
        y = convlib.conv2d(x, w, stride=stride, padding=padding)
    pads = convlib.check_conv_shapes(x.shape, w.shape, stride=stride, padding=padding).pads
    xt = torch.nn.functional.pad(torch.from_numpy(x.transpose(0, 3, 1, 2)), (*pads[1], *pads[0]))
    ref = torch.nn.functional.conv2d(xt, torch.from_numpy(w.transpose(3, 2, 0, 1)), stride=stride)
    ref = ref.numpy().transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ref))
    np.testing.assert_array_equal(np.isposinf(y), np.isposinf(ref))
    np.testing.assert_array_equal(np.isneginf(y), np.isneginf(ref))
