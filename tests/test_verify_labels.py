"""The verification matrix's labels say who refused what, checked against the frameworks' own calls.

Three labels were wrong in an earlier full run: a PyTorch ``TypeError`` about asymmetric pads was
counted as PyTorch refusing an undefined request; TensorFlow's SIGFPE hid convlib's and PyTorch's
answers; and PyTorch was never asked a ``ceil_mode`` request with the word ``"valid"``, so six
answers it gives were filed as refusals. Each test calls the framework directly as well, so that
the label is compared with what the framework does, not with the harness.
"""

import numpy as np
import pytest

from convlib.proof.frameworks import load_tf, load_torch
from convlib.proof.verify import Case, run_cases
from convlib.proof.verify.reasons import API_LIMITS, SIGFPE

pytestmark = pytest.mark.slow  # run first: see conftest.py
torch = load_torch()
F = torch.nn.functional


def _pool(x_shape, pool_size, strides, padding, ceil_mode, fmt):
    kw = dict(pool_size=pool_size, strides=strides, padding=padding, ceil_mode=ceil_mode,
              data_format=fmt, dilation=1)  # fmt: skip
    return Case("max_pool2d", x_shape, None, kw, "float32", 0)


TRANSPOSED = dict(stride=2, padding=2, output_padding=1, dilation=2, groups=2)
AVG = dict(pool_size=2, strides=None, padding="valid", ceil_mode=False, data_format="NHWC")
BACKWARD = dict(stride=1, padding="same", dilation=2, groups=1, data_format="NHWC")
CASES = {
    "asymmetric pads": _pool((1, 2, 2, 1), 4, 1, ((2, 0), (1, 1)), False, "NCHW"),
    "tf dies": _pool((1, 1, 1, 2), 2, 1, "valid", False, "NHWC"),
    "ceil 1x1": _pool((1, 2, 1, 1), 3, None, "valid", True, "NCHW"),
    "ceil 7x1": _pool((1, 2, 7, 1), 3, None, "valid", True, "NCHW"),
    "ceil stride 1": _pool((1, 2, 1, 1), 3, 1, "valid", True, "NCHW"),
    "tf empty avg": Case("avg_pool2d", (1, 1, 1, 2), None, AVG, "float32", 0),
    "torch empty transposed": Case(
        "conv_transpose2d", (2, 2, 6, 2), (1, 1, 2, 2), dict(TRANSPOSED, data_format="NHWC"), "float32", 0
    ),
    "ceil same": _pool((1, 2, 3, 4), 1, 3, "same", True, "NCHW"),
    "tf dilated gradient": Case("conv2d_backward", (2, 2, 2, 1), (2, 2, 1, 1), BACKWARD, "float64", 30016),
}


@pytest.fixture(scope="module")
def label():
    """Every case's label from one ``run_cases`` call: the cases convlib refuses share one isolated
    worker (one TensorFlow import) instead of starting one each."""
    return dict(zip(CASES, run_cases(list(CASES.values()))))


def test_an_api_limit_is_not_counted_as_a_refusal(label):
    # Asymmetric pads: PyTorch's max_pool2d cannot take them (a TypeError), whatever the sizes.
    with pytest.raises(TypeError, match="must be tuple of ints"):
        F.max_pool2d(torch.zeros(1, 2, 2, 1), 4, 1, ((2, 0), (1, 1)))
    got = label["asymmetric pads"]
    assert got["kind"] == "refused" and got["who"] == "convlib", got
    assert "no window fits" in got["reason"] and API_LIMITS[0] in got["reason"], got
    assert "PyTorch" in got["errors"]  # its message is kept, under its own reason


def test_every_library_is_recorded_where_tensorflow_dies(label):
    # A 2-wide window over a 1x1 map at stride 1: no window fits. TensorFlow's max pool dies of
    # SIGFPE on some CPUs; convlib and PyTorch refuse in any case, and the record says so.
    with pytest.raises(RuntimeError, match="Output size is too small"):
        F.max_pool2d(torch.zeros(1, 2, 1, 1), 2, 1)
    got = label["tf dies"]
    assert got["kind"] == "refused", got
    assert {"convlib", "PyTorch", "TensorFlow"} <= set(got["who"].split("+")), got
    assert "no window fits" in got["reason"].split(";")[0], got
    if "killed by signal" in got["errors"]["TensorFlow"]:
        assert SIGFPE in got["reason"], got


def test_pytorch_is_asked_a_valid_ceil_mode_request_convlib_refuses(label):
    # A 3-row window over 1 row with ceil_mode: PyTorch keeps one window (overhang 2 < stride 3).
    assert F.max_pool2d(torch.zeros(1, 2, 1, 1), 3, ceil_mode=True).shape == (1, 2, 1, 1)
    got = label["ceil 1x1"]
    assert (got["kind"], got["who"]) == ("disagree", "PyTorch"), got
    assert "PyTorch keeps a ceil_mode window" in got["reason"], got
    # The same window over a 7x1 map: only the width overhangs, and PyTorch's answer is 3x1.
    assert F.max_pool2d(torch.zeros(1, 2, 7, 1), 3, ceil_mode=True).shape == (1, 2, 3, 1)
    got = label["ceil 7x1"]
    assert (got["kind"], got["who"]) == ("disagree", "PyTorch"), got
    assert "PyTorch keeps a ceil_mode window" in got["reason"], got
    # At stride 1 the overhang is not below the stride: PyTorch refuses, and is recorded refusing.
    with pytest.raises(RuntimeError, match="Output size is too small"):
        F.max_pool2d(torch.zeros(1, 2, 1, 1), 3, 1, ceil_mode=True)
    got = label["ceil stride 1"]
    assert got["kind"] == "refused" and "PyTorch" in got["who"].split("+"), got


def test_an_empty_answer_is_labelled_with_who_gave_it(label):
    # TensorFlow's average pooling returns an empty tensor where no window fits (PyTorch refuses);
    # PyTorch's float32 conv_transpose2d returns one, on this kernel path, for a transposed size of 0
    # (float64 goes another path and raises).
    tf = load_tf()
    assert tf.nn.avg_pool2d(np.zeros((1, 1, 1, 2), np.float32), 2, 2, "VALID").shape == (1, 0, 0, 2)
    got = label["tf empty avg"]
    assert (got["kind"], got["who"]) == ("disagree", "TensorFlow") and "average pooling" in got["reason"], got

    x, w = torch.zeros(2, 2, 2, 6), torch.zeros(2, 2, 1, 1)  # NCHW, (in, out / groups, kh, kw)
    assert F.conv_transpose2d(x, w, **TRANSPOSED).shape == (2, 4, 0, 8)
    with pytest.raises(RuntimeError, match="Output size is too small"):
        F.conv_transpose2d(x.double(), w.double(), **TRANSPOSED)
    got = label["torch empty transposed"]
    assert (got["kind"], got["who"]) == ("disagree", "PyTorch"), got
    assert got["reason"].startswith("PyTorch returns an empty tensor"), got


def test_pytorch_answering_a_ceil_mode_same_request_is_explained(label):
    # convlib refuses ceil_mode with 'same' (ambiguous); PyTorch, given the 'same' pads (here 0 for a
    # 1x1 window) as numbers, answers. Its answer is a disagreement with a reason, not UNEXPLAINED.
    assert F.max_pool2d(torch.zeros(1, 2, 3, 4), 1, 3, 0, ceil_mode=True).shape == (1, 2, 1, 2)
    got = label["ceil same"]
    assert (got["kind"], got["who"]) == ("disagree", "PyTorch"), got
    assert "PyTorch, given the 'same' pads" in got["reason"], got


def test_tensorflows_own_transposed_kernel_refuses_dilation_where_onednn_does_not_run(label):
    # Conv2DBackpropInput (conv2d_transpose and conv2d's input gradient): oneDNN runs float32 with the
    # words, dilation included; TF's own kernel runs float64 and numeric pads, and refuses dilation > 1.
    tf = load_tf()
    x, w = np.ones((1, 4, 4, 2)), np.ones((2, 2, 3, 2))  # dilated kernel 3: output 6 x 6
    call = dict(output_shape=(1, 6, 6, 3), strides=1, dilations=2)
    y = tf.nn.conv2d_transpose(x.astype("float32"), w.astype("float32"), padding="VALID", **call)
    assert y.shape == (1, 6, 6, 3)
    for dt, pad in [("float64", "VALID"), ("float32", [[0, 0]] * 4)]:
        with pytest.raises(tf.errors.InvalidArgumentError, match="dilation rates larger than 1"):
            tf.nn.conv2d_transpose(x.astype(dt), w.astype(dt), padding=pad, **call)
    got = label["tf dilated gradient"]
    assert (got["kind"], got["who"], got["reason"]) == ("refused", "TensorFlow", API_LIMITS[5]), got
