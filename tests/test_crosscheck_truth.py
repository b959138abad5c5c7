"""A cross-check reports only what a framework did: a framework reported as agreeing or refusing
was called; one reported as unable to express the request ("cannot express") was not.

Every framework entry point the cross-checks reach is wrapped by a spy that records which
framework was called (a call made inside another framework's call, such as Keras's layer
reaching ``tf.nn``, counts for the outer one only).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from convlib.proof.crosscheck import crosscheck_backward, crosscheck_conv_transpose2d, crosscheck_pool2d
from convlib.proof.frameworks import load_tf, load_torch

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

TORCH_FNS = ("conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d")
TF_FNS = ("conv2d", "conv2d_transpose", "max_pool2d", "avg_pool2d", "pool")


@pytest.fixture
def called(monkeypatch):
    """The set of frameworks called since the fixture was set up."""
    tf, torch = load_tf(), load_torch()
    seen, inside = set(), []

    def spy(framework, fn):
        def wrapped(*args, **kwargs):
            if not inside:
                seen.add(framework)
            inside.append(framework)
            try:
                return fn(*args, **kwargs)
            finally:
                inside.pop()

        return wrapped

    F = torch.nn.functional
    for name in TORCH_FNS:
        monkeypatch.setattr(F, name, spy("PyTorch", getattr(F, name)))
    for name in TF_FNS:
        monkeypatch.setattr(tf.nn, name, spy("TensorFlow", getattr(tf.nn, name)))
    layer = tf.keras.layers.Conv2DTranspose
    monkeypatch.setattr(layer, "call", spy("Keras", layer.call))
    # Keras refuses some requests when the layer is built: the constructor is a call to Keras.
    monkeypatch.setattr(tf.keras.layers, "Conv2DTranspose", spy("Keras", layer))
    return seen


def assert_truthful(reports, called):
    """Each outcome is what its framework did: called when agreeing, differing or refusing."""
    for r in reports if isinstance(reports, list) else [reports]:
        for o in r.others:
            if o.cannot is not None:
                assert o.framework not in called, (
                    f"{o.framework} reported 'cannot express' but was called\n{r}"
                )
            else:
                assert o.framework in called, (
                    f"{o.framework} reported as {r.verdict(o)} but never called\n{r}"
                )


def nhwc(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


POOLS = {
    # convlib refuses a padding word: PyTorch is asked it ("valid" is padding 0) and keeps the window.
    "word refused": (("max", (1, 2, 1, 2), 3), dict(padding="valid", ceil_mode=True), {"TensorFlow"}),
    # convlib refuses numeric pads: PyTorch gets them literally; TF has no numeric pads of its own.
    "numbers refused": (("max", (1, 5, 5, 2), 3, 1), dict(padding=2), {"TensorFlow"}),
    "same": (("avg", (1, 5, 6, 2), 3, 2), dict(padding="same"), set()),
    "ceil_mode": (("max", (1, 5, 5, 2), 2), dict(ceil_mode=True), {"TensorFlow"}),
    "dilation with a stride": (("max", (1, 7, 7, 2), 3, 2), dict(padding="same", dilation=2), {"TensorFlow"}),
}


@pytest.mark.parametrize("case", POOLS)
def test_pool_reports_only_calls_made(rng, called, case):
    (kind, shape, *args), kw, unable = POOLS[case]
    r = crosscheck_pool2d(kind, nhwc(rng, *shape), *args, **kw)
    assert set(r.cannot) == unable, str(r)
    assert_truthful(r, called)


def test_pool_word_convlib_refuses_shows_pytorchs_own_answer(rng, called):
    r = crosscheck_pool2d("max", nhwc(rng, 1, 2, 1, 2), 3, padding="valid", ceil_mode=True)
    torch_o = next(o for o in r.others if o.framework == "PyTorch")
    assert r.reference.refused and not torch_o.refused and torch_o.shape == (1, 1, 1, 2), str(r)
    assert r.status == "FAIL" and "refused" not in r.verdict(torch_o).replace("convlib refused", "")


TRANSPOSES = {
    # TF's CPU kernel refuses dilation with explicit pads: it is called and its own message shown.
    "dilation, numbers": (((1, 4, 5, 4), (3, 3, 6, 4)), dict(dilation=2, padding=1), {"Keras"}),
    "groups, numbers": (((1, 4, 5, 4), (3, 3, 3, 4)), dict(groups=2, stride=2, padding=1), {"Keras"}),
    "words": (((1, 4, 5, 4), (3, 3, 6, 4)), dict(stride=2, padding="same"), set()),
    # convlib refuses: PyTorch gets the literal numbers and refuses by its own rule.
    "refused, numbers": (
        ((1, 4, 5, 4), (3, 3, 6, 4)),
        dict(stride=2, padding=1, output_padding=3),
        {"TensorFlow", "Keras"},
    ),  # fmt: skip
    # convlib refuses a word: Keras is asked; PyTorch has no words; TF has no size to run at.
    "refused, words": (
        ((1, 4, 5, 4), (3, 3, 6, 4)),
        dict(stride=2, padding="same", output_padding=3),
        {"TensorFlow", "PyTorch"},
    ),  # fmt: skip
}


@pytest.mark.parametrize("case", TRANSPOSES)
def test_transpose_reports_only_calls_made(rng, called, case):
    (xs, ws), kw, unable = TRANSPOSES[case]
    r = crosscheck_conv_transpose2d(nhwc(rng, *xs), nhwc(rng, *ws), **kw)
    assert set(r.cannot) == unable, str(r)
    assert_truthful(r, called)


def test_transpose_tf_refusal_is_tensorflows_own_message(rng, called):
    r = crosscheck_conv_transpose2d(nhwc(rng, 1, 4, 5, 4), nhwc(rng, 3, 3, 6, 4), dilation=2, padding=1)
    tf_o = r.others[0]
    assert tf_o.framework == "TensorFlow" and tf_o.refused, str(r)
    assert tf_o.error.startswith("InvalidArgumentError"), tf_o.error  # raised by TF's op, not by convlib


def tf_onednn_default():
    load_tf()
    return os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "1"


@pytest.mark.parametrize(
    "conv_kw, shapes",
    [
        (dict(groups=2, stride=2, padding=1), ((1, 6, 7, 4), (3, 3, 2, 6), (1, 3, 4, 6))),
        (dict(dilation=2, stride=2, padding="same"), ((1, 6, 7, 4), (3, 3, 4, 6), (1, 3, 4, 6))),
        (dict(dilation=(1, 3), padding=1), ((1, 6, 9, 4), (3, 3, 4, 6), (1, 6, 5, 6))),
    ],
)
def test_tf_grouped_and_dilated_gradients_are_computed(rng, called, conv_kw, shapes):
    if not tf_onednn_default():
        pytest.skip("TF_ENABLE_ONEDNN_OPTS is set to something else in this environment")
    reports = crosscheck_backward(*(nhwc(rng, *s) for s in shapes), **conv_kw)
    assert "TensorFlow" in called
    for r in reports.values():
        assert r.cannot == {} and r.agree, str(r)
    assert_truthful(list(reports.values()), called)


def test_backward_convlib_refuses_calls_no_framework(rng, called):
    x, w, g = nhwc(rng, 1, 6, 7, 4), nhwc(rng, 3, 3, 4, 6), nhwc(rng, 1, 2, 2, 6)  # grad_out: wrong shape
    reports = crosscheck_backward(x, w, g, stride=2, padding=1)
    assert not called
    for r in reports.values():
        assert r.reference.refused and set(r.cannot) == {"TensorFlow", "PyTorch"}, str(r)
        assert all(why.startswith("not called") for why in r.cannot.values())
