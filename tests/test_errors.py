"""Bad input: every case raises ValueError naming the parameter and the sizes involved."""

from typing import NamedTuple

import numpy as np
import pytest

import convlib

X = np.zeros((1, 5, 6, 4), np.float32)
W = np.zeros((3, 3, 4, 8), np.float32)


class Case(NamedTuple):
    """An invalid call and the regex its message must match; ``naive``: conv2d_naive takes the same
    arguments and must refuse them with the same message (False for conv2d-only arguments)."""

    desc: str
    args: tuple
    kwargs: dict
    pattern: str
    naive: bool = True


CASES = [
    Case(
        "kernel larger than input",
        (X, np.zeros((7, 3, 4, 8), np.float32)),
        {},
        r"kernel height 7 .* larger than the padded input height 5 \(input 5 \+ padding \(0, 0\)\)",
    ),
    Case(
        "dilated kernel larger than input",
        (X, W),
        {"dilation": 3},
        r"kernel height 3 \(dilated to 7 by dilation 3\) is larger than the padded input height 5",
    ),
    Case(
        "padding does not save a too-large kernel",
        (X, np.zeros((9, 3, 4, 8), np.float32)),
        {"padding": 1},
        r"larger than the padded input height 7 \(input 5 \+ padding \(1, 1\)\)",
    ),
    Case(
        "channel mismatch",
        (X, np.zeros((3, 3, 3, 8), np.float32)),
        {},
        r"kernel expects 3 input channels per group .* the input has 4 channels",
    ),
    Case(
        "groups do not divide input channels",
        (X, np.zeros((3, 3, 2, 8), np.float32)),
        {"groups": 3},
        r"groups=3 must divide the input channels, got 4",
    ),
    Case(
        "groups do not divide output channels",
        (X, np.zeros((3, 3, 2, 7), np.float32)),
        {"groups": 2},
        r"groups=2 must divide the output channels, got 7",
    ),
    Case("zero stride", (X, W), {"stride": 0}, r"stride must be a positive integer, got 0"),
    Case(
        "negative stride in a pair", (X, W), {"stride": (1, -2)}, r"stride\[1\] \(width\) must be a positive"
    ),
    Case("zero dilation", (X, W), {"dilation": 0}, r"dilation must be a positive integer, got 0"),
    Case("zero groups", (X, W), {"groups": 0}, r"groups must be a positive integer, got 0"),
    Case("fractional stride", (X, W), {"stride": 1.5}, r"stride must be an integer, got 1.5"),
    Case("boolean stride", (X, W), {"stride": True}, r"stride must be an integer, got True"),
    Case("negative padding", (X, W), {"padding": -1}, r"padding must be non-negative, got -1"),
    Case(
        "negative padding in nested form",
        (X, W),
        {"padding": ((0, -2), (1, 1))},
        r"padding \(after\) must be non-negative, got -2",
    ),
    Case(
        "unknown padding word",
        (X, W),
        {"padding": "half"},
        r"padding must be one of \['valid', 'same', 'full'\]",
    ),
    Case("padding tuple of three", (X, W), {"padding": (1, 2, 3)}, r"padding must be .* with 3 entries"),
    Case("mixed padding tuple", (X, W), {"padding": (1, (2, 3))}, r"got a mixed form"),
    Case(
        "unknown padding mode",
        (X, W),
        {"padding": 1, "padding_mode": "mirror"},
        r"padding_mode must be one of \['circular', 'reflect', 'replicate', 'zeros'\], got 'mirror'",
    ),
    Case(
        "reflect pad as large as the input",
        (X, W),
        {"padding": 5, "padding_mode": "reflect"},
        r"padding_mode='reflect' needs padding <= 4 on the height axis of size 5, got \(5, 5\)",
    ),
    Case(
        "circular pad larger than the input",
        (X, W),
        {"padding": 6, "padding_mode": "circular"},
        r"padding_mode='circular' needs padding <= 5 on the height axis of size 5",
    ),
    Case("2-D input", (X[0, :, :, 0], W), {}, r"input x must be 4-D .* got 2-D shape \(5, 6\)"),
    Case("5-D input", (X[None], W), {}, r"got 5-D shape \(1, 1, 5, 6, 4\)"),
    Case("3-D kernel", (X, W[0]), {}, r"kernel w must be 4-D HWIO .* got 3-D shape \(3, 4, 8\)"),
    Case(
        "zero-size spatial input",
        (np.zeros((1, 0, 6, 4), np.float32), W),
        {},
        r"input height must be positive, got 0",
    ),
    Case(
        "zero channels",
        (np.zeros((1, 5, 6, 0), np.float32), np.zeros((3, 3, 0, 8), np.float32)),
        {},
        r"input channel count must be positive, got 0",
    ),
    Case(
        "integer input",
        (X.astype(np.int32), W),
        {},
        r"x must be float16, float32 or float64 .* got dtype int32",
    ),
    Case("string input", ("abc", W), {}, r"x must be a numeric array, got str"),
    Case("object array", (np.array([[object()]]), W), {}, r"x must be a numeric array, got dtype object"),
    Case(
        "mismatched dtypes", (X, W.astype(np.float64)), {}, r"dtypes must match: x is float32, w is float64"
    ),
    Case(
        "bias of wrong length",
        (X, W, np.zeros(3, np.float32)),
        {},
        r"bias b must have shape \(8,\), got \(3,\)",
    ),
    Case("unknown data format", (X, W), {"data_format": "NWHC"}, r"data_format must be 'NHWC' or 'NCHW'"),
    Case(
        "unknown algorithm",
        (X, W),
        {"algorithm": "magic"},
        r"algorithm must be 'auto' or one of",
        naive=False,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.desc for c in CASES])
def test_conv2d_refuses(case):
    with pytest.raises(ValueError, match=case.pattern):
        convlib.conv2d(*case.args, **case.kwargs)


NAIVE = [c for c in CASES if c.naive]


@pytest.mark.parametrize("case", NAIVE, ids=[c.desc for c in NAIVE])
def test_naive_refuses_the_same_way(case):
    with pytest.raises(ValueError, match=case.pattern):
        convlib.conv2d_naive(*case.args, **case.kwargs)


def test_nchw_messages_name_the_layout():
    with pytest.raises(ValueError, match=r"kernel w must be 4-D OIHW \(C_out, C_in/groups, kh, kw\)"):
        convlib.conv2d(np.zeros((1, 4, 5, 6)), np.zeros((8, 4, 3)), data_format="NCHW")
    with pytest.raises(ValueError, match=r"input x must be 4-D \(N, C, H, W\) or 3-D \(C, H, W\)"):
        convlib.conv2d(np.zeros((4, 5)), np.zeros((8, 4, 3, 3)), data_format="NCHW")


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: convlib.conv_output_size(0, 3), r"input size must be a positive integer, got 0"),
        (lambda: convlib.conv_output_size(5, 0), r"kernel size must be a positive integer, got 0"),
        (lambda: convlib.conv_output_size(2, 3), r"kernel size 3 .* larger than the padded input size 2"),
        (lambda: convlib.conv_output_size(5, 3, stride=-1), r"stride must be a positive integer"),
        (lambda: convlib.conv_output_size(5, 3, padding="big"), r"got the word 'big'"),
        (lambda: convlib.conv_output_size(5, 3, padding=(1, 2, 3)), r"one axis must be an int or"),
        (lambda: convlib.conv_output_size(float("nan"), 3), r"input size must be an integer, got nan"),
        (lambda: convlib.same_padding(5, 3, stride=0), r"stride must be a positive integer"),
        (lambda: convlib.conv_output_shape((1, 5, 5, 3), (3, 3, 4, 2)), r"kernel expects 4 input channels"),
    ],
)
def test_size_functions_refuse(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


# Hostile sizes: refused from the geometry, before anything is allocated. Each would need far more
# than any machine's memory; tracemalloc proves that nothing large was allocated on the way.
XT = np.zeros((1, 8, 8, 4), np.float32)
WT = np.zeros((3, 3, 2, 4), np.float32)  # conv_transpose2d: (kh, kw, C_out, C_in)
HOSTILE = [
    ("padding", lambda: convlib.conv2d(X, W, padding=10**9), r"padding=1000000000 makes the padded input"),
    (
        "same padding from dilation",
        lambda: convlib.conv2d(X, W, padding="same", dilation=10**9),
        r"padding='same' with dilation=1000000000 and kernel size 3 makes the padded input",
    ),
    (
        "transpose stride",
        lambda: convlib.conv_transpose2d(XT, WT, stride=10**6),
        r"stride=1000000 makes the zero-inserted input \(1, 7000001, 7000001, 4\)",
    ),
    (
        "transpose dilation",
        lambda: convlib.conv_transpose2d(XT, WT, dilation=10**6),
        r"dilation=1000000 makes the padded zero-inserted input",
    ),
    (
        "adaptive output size",
        lambda: convlib.adaptive_max_pool2d(X, 10**7),
        r"output_size=10000000 makes the output \(1, 10000000, 10000000, 4\)",
    ),
    ("layer filters", lambda: convlib.Conv2D(10**12, 3)(X), r"filters=1000000000000 makes the kernel"),
    (
        "gradient padding",
        lambda: convlib.conv2d_backward(X, W, np.zeros((1, 3, 4, 8), np.float32), padding=10**9),
        r"padding=1000000000 makes the padded input",
    ),
    (
        "pool ceil_mode overhang",
        lambda: convlib.max_pool2d(X, 10**9, ceil_mode=True),
        r"overhangs the padded input height 5 by 999999995 cells",
    ),
]


@pytest.mark.parametrize("call, pattern", [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_sizes_are_refused_before_allocating(call, pattern):
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=pattern) as err:
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "GiB" in str(err.value) or "cells" in str(err.value)
    assert peak < 16 * 2**20, f"allocated {peak} bytes before refusing"


@pytest.mark.parametrize("name", ["stride", "dilation", "groups", "padding"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1.5])
def test_non_integer_arguments_name_the_parameter(name, value):
    with pytest.raises(ValueError, match=rf"^{name} must be an integer, got {value!r}"):
        convlib.conv2d(X, W, **{name: value})


def test_exact_integer_floats_are_accepted():
    # The documented choice: 2.0 is the integer 2 (TensorFlow truncates 1.5 to 1; convlib refuses it).
    assert convlib.conv2d(X, W, stride=2.0).shape == convlib.conv2d(X, W, stride=2).shape


@pytest.mark.parametrize(
    "call",
    [
        lambda s: convlib.conv2d(X, W, stride=s),
        lambda s: convlib.max_pool2d(X, 2, s),
        lambda s: convlib.avg_pool2d(X, 2, s),
    ],
    ids=["conv2d", "max_pool2d", "avg_pool2d"],
)
def test_a_stride_past_numpys_step_range(call):
    # A stride larger than the input reads one window; 2**63 - 1 times the item size does not fit
    # a NumPy stride, so this size must be handled before any strided view (found by test_fuzz).
    try:
        y = call(2**63 - 1)
    except ValueError as exc:
        assert "stride" in str(exc)
    else:
        assert y.shape == call(10**9).shape
