"""The torch backend: convlib's algorithms in torch operations, on CPU here and CUDA when present."""

import numpy as np
import pytest

from convlib import conv2d
from convlib.backends.torch import TORCH_ENGINES
from convlib.backends.torch import conv2d as torch_conv2d
from convlib.fast import supports
from convlib.proof.crosscheck import Report, run, tf_conv2d, tolerance
from convlib.proof.crosscheck import torch_conv2d as framework_torch_conv2d

ALGORITHMS = ["auto", *TORCH_ENGINES]
CASES = [
    dict(padding="same"),
    dict(stride=2, padding="same"),
    dict(padding=1, groups=2),
    dict(stride=(2, 1), dilation=2, padding=((2, 1), (0, 3)), padding_mode="reflect"),
    dict(padding=(1, 2), padding_mode="circular"),
    dict(padding=1, groups=4),  # depthwise, two output channels per input channel
    dict(stride=2, dilation=(1, 2), padding=((1, 0), (3, 3)), groups=4, padding_mode="replicate"),
    dict(dilation=4, padding=4),  # most tap reads land in the padding: auto picks taps
]


def _runs(alg, kw):
    s, d = kw.get("stride", 1), kw.get("dilation", 1)
    s, d = (s, s) if isinstance(s, int) else s, (d, d) if isinstance(d, int) else d
    w_shape = (3, 3, 4 // kw.get("groups", 1), 8)
    return alg == "auto" or supports(
        alg, w_shape, stride=s, dilation=d, padding_mode=kw.get("padding_mode", "zeros")
    )


PAIRS = [(a, kw) for a in ALGORITHMS for kw in CASES if _runs(a, kw)]


@pytest.mark.parametrize("alg, kwargs", PAIRS)
def test_matches_numpy_path_float64(alg, kwargs, rng):
    # float64 vs the NumPy path: 1e-10 relative (Winograd F(4x4) stays near 1e-13, see test_engines).
    x = rng.standard_normal((2, 10, 9, 4))
    w = rng.standard_normal((3, 3, 4 // kwargs.get("groups", 1), 8))
    b = rng.standard_normal(8)
    ref = conv2d(x, w, b, algorithm="naive", **kwargs)
    y = torch_conv2d(x, w, b, algorithm=alg, **kwargs)
    assert isinstance(y, np.ndarray) and y.dtype == np.float64 and y.shape == ref.shape
    assert np.abs(y - ref).max() <= tolerance(np.float64) * max(1.0, np.abs(ref).max())


DENSE = [a for a in ALGORITHMS if a == "auto" or supports(a, (3, 3, 4, 5), stride=(1, 1), dilation=(1, 1))]


@pytest.mark.parametrize("alg", DENSE)
def test_matches_frameworks_float32(alg, rng, tf, torch):
    x = rng.standard_normal((2, 11, 12, 4)).astype(np.float32)
    w = rng.standard_normal((3, 3, 4, 5)).astype(np.float32)
    pads = ((1, 1), (1, 1))
    common = dict(stride=1, padding=1, dilation=1, groups=1, padding_mode="zeros")
    ref = run("convlib (torch backend)", lambda: torch_conv2d(x, w, algorithm=alg, **common), how=alg)
    others = [
        run("TensorFlow", lambda: tf_conv2d(x, w, None, pads=pads, **common)[0]),
        run(
            "PyTorch",
            lambda: framework_torch_conv2d(
                x.transpose(0, 3, 1, 2), w.transpose(3, 2, 0, 1), None, pads=pads, **common
            )[0].transpose(0, 2, 3, 1),
        ),
    ]
    report = Report(ref, others, tolerance(np.float32), pads=pads)
    assert report.agree, report.table()


def test_returns_the_kind_it_was_given(rng, torch):
    x = rng.standard_normal((1, 3, 7, 8)).astype(np.float32)  # NCHW
    w = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)  # OIHW
    ref = conv2d(x, w, padding="same", data_format="NCHW")
    yt = torch_conv2d(torch.from_numpy(x), torch.from_numpy(w), padding="same", data_format="NCHW")
    assert isinstance(yt, torch.Tensor) and yt.dtype == torch.float32 and tuple(yt.shape) == ref.shape
    assert np.abs(yt.numpy() - ref).max() <= tolerance(np.float32) * max(1.0, np.abs(ref).max())
    yn = torch_conv2d(x, w, padding="same", data_format="NCHW")
    assert isinstance(yn, np.ndarray) and yn.shape == ref.shape


def test_numpy_conv2d_has_no_torch_switch():
    # The torch path is its own entry, convlib.backends.torch.conv2d; the NumPy conv2d takes no
    # backend= or device=.
    with pytest.raises(TypeError, match="backend"):
        conv2d(np.ones((1, 4, 4, 1)), np.ones((2, 2, 1, 1)), backend="torch")


def test_unbatched_and_float16(rng):
    x = rng.standard_normal((6, 5, 2)).astype(np.float16)
    w = rng.standard_normal((3, 3, 2, 3)).astype(np.float16)
    ref = conv2d(x, w, padding="same")
    y = torch_conv2d(x, w, padding="same", algorithm="winograd_f2")
    assert y.dtype == np.float16 and y.shape == ref.shape == (6, 5, 3)
    # float16 is accumulated in float32 and rounded once: at most one float16 rounding apart.
    assert np.abs(y.astype(np.float32) - ref.astype(np.float32)).max() <= tolerance(np.float16) * max(
        1.0, np.abs(ref).max()
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(algorithm="gemm"), r"algorithm must be 'auto' or one of .*got 'gemm'"),
        (dict(algorithm="winograd_f4", stride=2), r"winograd needs a 3x3 kernel .*stride \(2, 2\)"),
        (dict(algorithm="depthwise"), r"depthwise needs one input channel per group .*C/groups = 4"),
        (dict(algorithm="taps", padding=1, padding_mode="reflect"), r"taps engine skips zero pad cells only"),
        (dict(stride=0), r"stride"),
        (dict(groups=3), r"groups=3 must divide the input channels, got 4"),
        (dict(padding=6, padding_mode="reflect"), r"padding_mode='reflect' needs padding <= 5"),
    ],
)
def test_bad_input(kwargs, match):
    x, w = np.ones((1, 6, 6, 4), np.float32), np.ones((3, 3, 4, 2), np.float32)
    with pytest.raises(ValueError, match=match):
        torch_conv2d(x, w, **kwargs)


def test_dtype_mismatch_and_bias_shape():
    x = np.ones((1, 6, 6, 4), np.float32)
    with pytest.raises(ValueError, match=r"dtypes must match: x is torch.float32, w is torch.float64"):
        torch_conv2d(x, np.ones((3, 3, 4, 2)))
    with pytest.raises(ValueError, match=r"bias b must have shape \(2,\), got \(3,\)"):
        torch_conv2d(x, np.ones((3, 3, 4, 2), np.float32), np.ones(3, np.float32))
    with pytest.raises(ValueError, match=r"x must be float16, float32 or float64, got dtype int64"):
        torch_conv2d(np.ones((1, 6, 6, 4), np.int64), np.ones((3, 3, 4, 2)))


def _cuda(torch):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")


@pytest.mark.cuda
@pytest.mark.parametrize("alg", DENSE)
def test_cuda_matches_numpy(alg, rng, torch):
    """convlib's torch path on CUDA against convlib's own float64 NumPy result, not against cuDNN.

    The reference is :func:`convlib.conv2d` in float64 on the CPU (the NumPy engines, which the
    other tests hold to the naive loop and to both frameworks); the CUDA float32 result must be
    within the float32 tolerance of it. cuDNN is timed, not compared, by
    ``benchmarks/cuda_vs_cudnn.py``.
    """
    _cuda(torch)
    # TF32 is off (convlib.proof.frameworks.load_torch), so float32 products are full precision.
    assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
    x = rng.standard_normal((2, 16, 15, 8)).astype(np.float32)
    w = rng.standard_normal((3, 3, 8, 12)).astype(np.float32)
    ref = conv2d(x.astype(np.float64), w.astype(np.float64), padding="same")
    y = torch_conv2d(torch.from_numpy(x).cuda(), torch.from_numpy(w).cuda(), padding="same", algorithm=alg)
    assert y.device.type == "cuda" and y.dtype == torch.float32
    assert np.abs(y.cpu().numpy() - ref).max() <= tolerance(np.float32) * max(1.0, np.abs(ref).max())
    yn = torch_conv2d(x, w, padding="same", algorithm=alg, device="cuda")
    assert isinstance(yn, np.ndarray)
