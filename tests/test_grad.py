"""conv2d_backward against tf.GradientTape and torch.autograd (float32, 1e-5) and torch.autograd in
float64 (1e-10); zero-gradient pixels and padded cells made visible."""

import numpy as np
import pytest
from helpers import assert_agrees, assert_close, channels_first, random_inputs
from hypothesis import given, settings
from hypothesis import strategies as st

import convlib
from convlib.grad import conv2d_backward, gradient_coverage
from convlib.proof.crosscheck import crosscheck_backward


def data(rng, n=2, h=7, w=8, c=4, k=(3, 3), o=6, groups=1, fmt="NHWC", dtype=np.float32, **conv_kw):
    """x, the kernel and an upstream gradient of the forward output's shape."""
    x, wt = random_inputs(rng, (n, h, w, c), (*k, c // groups, o), dtype=dtype)
    if fmt == "NCHW":
        x, wt = channels_first(x, wt)
    out = convlib.conv_output_shape(x.shape, wt.shape, groups=groups, data_format=fmt, **conv_kw)
    return x, wt, *random_inputs(rng, out, dtype=dtype)


def check(rng, shape_kw=None, **kw):
    """All three gradients: both frameworks ran and agree with convlib."""
    shape_kw = dict(shape_kw or {})
    conv_kw = {k: v for k, v in kw.items() if k in ("stride", "padding", "dilation")}
    fmt = kw.get("data_format", "NHWC")
    reports = crosscheck_backward(
        *data(rng, fmt=fmt, groups=kw.get("groups", 1), **shape_kw, **conv_kw), **kw
    )
    return assert_agrees(reports)


@pytest.mark.parametrize("stride", [1, 2, 3, (3, 1)])
def test_stride(rng, stride):
    check(rng, stride=stride)


@pytest.mark.parametrize("padding", ["same", "full", 1, (2, 0), ((0, 2), (1, 0))])
@pytest.mark.parametrize("stride", [1, 2])
def test_padding(rng, padding, stride):
    check(rng, padding=padding, stride=stride)


# TF's Eigen CPU kernels refuse dilated and grouped gradients; its oneDNN kernels, which load_tf
# turns on, compute them, so both frameworks must run and agree.
@pytest.mark.parametrize("dilation", [2, (1, 3)])
def test_dilation(rng, dilation):
    check(rng, dilation=dilation, stride=2, padding="same")


@pytest.mark.parametrize("groups, c, o", [(2, 4, 6), (4, 4, 4)])
def test_groups(rng, groups, c, o):
    check(rng, shape_kw=dict(c=c, o=o), groups=groups, stride=2, padding=1)


def test_nchw_layout(rng):
    r = check(rng, data_format="NCHW", stride=2, padding="same")
    assert r["grad_w"].reference.shape == (6, 4, 3, 3)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_padding_modes_fold_back_into_source_pixels(rng, mode):
    # TF pads with tf.pad / tf.gather inside the tape, PyTorch with F.pad: both fold like convlib.
    check(rng, padding=2, stride=2, padding_mode=mode)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("stride, dilation, groups", [(1, 1, 1), (2, 2, 2), (3, 1, 4)])
def test_float64_against_torch_autograd(rng, torch, mode, stride, dilation, groups):
    x, w, g = data(
        rng, fmt="NCHW", dtype=np.float64, groups=groups, o=8, stride=stride, padding=2, dilation=dilation
    )
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    y = torch.nn.functional.conv2d(
        torch.nn.functional.pad(xt, (2,) * 4, mode="constant" if mode == "zeros" else mode),
        wt,
        stride=stride,
        dilation=dilation,
        groups=groups,
    )
    y.backward(torch.from_numpy(g))
    gx, gw, gb = conv2d_backward(
        x,
        w,
        g,
        stride=stride,
        padding=2,
        dilation=dilation,
        groups=groups,
        data_format="NCHW",
        padding_mode=mode,
    )
    for ours, ref in ((gx, xt.grad), (gw, wt.grad), (gb, g.sum(axis=(0, 2, 3)))):
        assert_close(ours, ref)  # float64 vs torch float64


def test_stride_3_kernel_2_leaves_pixels_without_gradient(rng):
    coverage = gradient_coverage(11, 2, stride=3)
    assert coverage.tolist() == [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1]
    x, w, g = data(rng, h=11, w=11, k=(2, 2), stride=3)
    gx = conv2d_backward(x, w, g, stride=3)[0]
    untouched = np.outer(coverage, coverage) == 0
    assert np.all(gx[:, untouched] == 0)  # exactly zero, whatever the kernel and upstream gradient
    assert np.all(gx[:, ~untouched] != 0)


def test_floor_drops_the_last_pixels_gradient():
    # 8 cells, k = 3, s = 2: the windows start at 0, 2, 4; cell 7 is never read.
    assert gradient_coverage(8, 3, stride=2).tolist() == [1, 1, 2, 1, 2, 1, 1, 0]


def test_padded_cells_never_pass_gradient_back(rng, torch):
    x, w, g = data(rng, fmt="NCHW", dtype=np.float64, padding=2)
    xt = torch.tensor(x, requires_grad=True)
    xp = torch.nn.functional.pad(xt, (2, 2, 2, 2))
    xp.retain_grad()
    torch.nn.functional.conv2d(xp, torch.from_numpy(w)).backward(torch.from_numpy(g))
    gx = conv2d_backward(x, w, g, padding=2, data_format="NCHW")[0]
    # The padded border *does* receive gradient, but with zeros padding it has no source pixel: dropped.
    assert np.abs(xp.grad.numpy()[..., :2, :]).sum() > 0
    assert_close(gx, xp.grad.numpy()[..., 2:-2, 2:-2])


def test_coverage_with_padding_counts_real_cells_only():
    assert gradient_coverage(5, 3, padding=1).tolist() == [2, 3, 3, 3, 2]
    assert gradient_coverage(5, 3, padding="full").tolist() == [3, 3, 3, 3, 3]


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(padding_mode="mirror"), "padding_mode must be one of"),
        (dict(padding=7, padding_mode="reflect"), "padding_mode='reflect' needs padding <= 6"),
        (dict(stride=0), "stride must be a positive integer, got 0"),
        (dict(groups=3), "groups=3 must divide the input channels, got 4"),
        (dict(dilation=4), r"kernel height 3 \(dilated to 9 by dilation 4\) is larger than the padded input"),
    ],
)
def test_errors(rng, kw, match):
    x, w, g = data(rng)
    with pytest.raises(ValueError, match=match):
        conv2d_backward(x, w, g, **kw)


def test_grad_out_errors(rng):
    x, w, g = data(rng)
    with pytest.raises(
        ValueError, match=r"grad_out must have the forward output shape \(2, 5, 6, 6\), got \(2, 4"
    ):
        conv2d_backward(x, w, g[:, :4])
    with pytest.raises(ValueError, match="dtypes must match: x is float32, grad_out is float64"):
        conv2d_backward(x, w, g.astype(np.float64))


def test_coverage_errors():
    with pytest.raises(ValueError, match="stride must be a positive integer, got 0"):
        gradient_coverage(5, 2, stride=0)
    with pytest.raises(ValueError, match=r"kernel size 6 .* larger than the padded input size 5"):
        gradient_coverage(5, 6)


configs = st.fixed_dictionaries(
    {
        "h": st.integers(1, 6),
        "k": st.integers(1, 3),
        "s": st.integers(1, 3),
        "d": st.integers(1, 2),
        "p": st.sampled_from([0, 1, 2, "same", (0, 1)]),
        "g": st.sampled_from([1, 2]),
        "mode": st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
        "fmt": st.sampled_from(["NHWC", "NCHW"]),
    }
)


@settings(max_examples=30, deadline=None)
@given(cfg=configs, seed=st.integers(0, 2**16))
def test_property_against_frameworks(cfg, seed):
    rng = np.random.default_rng(seed)
    kw = dict(stride=cfg["s"], padding=cfg["p"], dilation=cfg["d"])
    try:
        x, w, g = data(
            rng,
            n=1,
            h=cfg["h"],
            w=cfg["h"] + 1,
            c=2,
            o=2,
            k=(cfg["k"], cfg["k"]),
            groups=cfg["g"],
            fmt=cfg["fmt"],
            **kw,
        )
    except ValueError as exc:  # no window fits: conv2d itself refuses
        assert "larger than the padded input" in str(exc)
        return
    reports = crosscheck_backward(
        x, w, g, groups=cfg["g"], data_format=cfg["fmt"], padding_mode=cfg["mode"], **kw
    )
    for r in reports.values():
        if r.reference.refused:  # reflect/circular pads wider than the input allows
            assert "needs padding <=" in r.reference.error
        else:
            assert_agrees(r)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 12), k=st.integers(1, 4), s=st.integers(1, 4), d=st.integers(1, 2), p=st.integers(0, 2)
)
def test_property_coverage_matches_gradient_of_ones(n, k, s, d, p):
    """Coverage = d(sum of outputs)/dx for an all-ones kernel: the count of taps that read each pixel."""
    try:
        cov = gradient_coverage(n, k, stride=s, padding=p, dilation=d)
    except ValueError:
        return
    out = convlib.conv_output_size(n, k, stride=s, padding=p, dilation=d)
    gx = conv2d_backward(
        np.zeros((1, n, 1, 1)),
        np.ones((k, 1, 1, 1)),
        np.ones((1, out, 1, 1)),
        stride=(s, 1),
        padding=((p, p), (0, 0)),
        dilation=(d, 1),
    )[0]
    np.testing.assert_array_equal(gx[0, :, 0, 0], cov)
