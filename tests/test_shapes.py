"""Size arithmetic: convlib's formulas against the shapes both frameworks actually produce."""

import itertools

import numpy as np
import pytest

import convlib
from convlib.shapes import same_padding, window_count

SWEEP = list(itertools.product(range(1, 25), range(1, 7), range(1, 5), range(1, 4)))  # n, k, s, d


def test_seed_examples_sizes():
    assert [convlib.conv_output_size(n, 3) for n in (8, 10, 5)] == [6, 8, 3]
    assert [convlib.conv_output_size(n, 3, padding="same") for n in (8, 10, 5)] == [8, 10, 5]
    assert [convlib.conv_output_size(n, 3, stride=2) for n in (10, 11, 12)] == [4, 5, 5]


def test_same_padding_rule():
    # TensorFlow puts the odd cell after (bottom/right); output is ceil(n / s).
    assert same_padding(10, 3, stride=2) == (0, 1)
    assert same_padding(11, 3, stride=2) == (1, 1)
    assert same_padding(8, 4) == (1, 2)
    assert same_padding(5, 1, stride=3) == (0, 0)
    for n, k, s, d in SWEEP:
        before, after = same_padding(n, k, stride=s, dilation=d)
        assert after - before in (0, 1)
        assert window_count(n + before + after, k, stride=s, dilation=d) == -(-n // s)


def _torch_size(torch, n, k, s, d, padding):
    x = torch.zeros(1, 1, n, 1, dtype=torch.float64)
    w = torch.zeros(1, 1, k, 1, dtype=torch.float64)
    return torch.nn.functional.conv2d(x, w, stride=(s, 1), dilation=(d, 1), padding=padding).shape[2]


def _tf_size(tf, n, k, s, d, padding):
    x = tf.zeros((1, n, 1, 1), tf.float64)
    w = tf.zeros((k, 1, 1, 1), tf.float64)
    return tf.nn.conv2d(x, w, strides=(s, 1), padding=padding, dilations=(d, 1)).shape[1]


# PyTorch warns once per process that "same" with an even kernel may copy the input: expected here.
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths:UserWarning")
@pytest.mark.parametrize("padding", ["valid", "same", "full"])
def test_output_size_matches_frameworks_exhaustively(tf, torch, padding):
    """n 1-24, k 1-6, s 1-4, d 1-3: convlib's size equals what both frameworks produce.

    Where the dilated kernel exceeds the padded input, convlib and PyTorch refuse; TensorFlow's
    oneDNN kernel returns a tensor of the *input's* shape instead (chapter 2 shows it), so
    only the refusal of convlib and PyTorch is asserted there. PyTorch refuses "same" with
    stride > 1, so that case is compared against TensorFlow alone.
    """
    checked = refused = 0
    for n, k, s, d in SWEEP:
        eff = d * (k - 1) + 1
        pads = {"valid": (0, 0), "same": same_padding(n, k, stride=s, dilation=d), "full": (eff - 1,) * 2}
        p = pads[padding]
        if eff > n + sum(p):
            with pytest.raises(ValueError, match="larger than the padded input"):
                convlib.conv_output_size(n, k, stride=s, padding=padding, dilation=d)
            with pytest.raises(RuntimeError, match="Kernel size can't be greater"):
                _torch_size(torch, n, k, s, d, 0)
            refused += 1
            continue
        ours = convlib.conv_output_size(n, k, stride=s, padding=padding, dilation=d)
        tf_pad = padding.upper() if padding != "full" else [[0, 0], [p[0], p[1]], [0, 0], [0, 0]]
        assert _tf_size(tf, n, k, s, d, tf_pad) == ours, (n, k, s, d)
        if padding == "same" and s > 1:
            with pytest.raises(RuntimeError, match="padding='same' is not supported for strided"):
                _torch_size(torch, n, k, s, d, "same")
        else:
            torch_pad = {"valid": "valid", "same": "same", "full": (p[0], 0)}[padding]
            assert _torch_size(torch, n, k, s, d, torch_pad) == ours, (n, k, s, d)
        checked += 1
    assert checked > 500 and (refused > 0) == (padding == "valid")


def test_conv_output_shape_both_layouts():
    assert convlib.conv_output_shape((2, 8, 9, 6), (3, 3, 3, 4), groups=2) == (2, 6, 7, 4)
    assert convlib.conv_output_shape((6, 8, 9), (4, 3, 3, 3), groups=2, data_format="NCHW") == (4, 6, 7)
    shape = convlib.conv_output_shape((1, 10, 11, 3), (3, 3, 3, 8), stride=2, padding="same")
    assert shape == (1, 5, 6, 8)


def test_transpose_size_inverts_forward():
    for n, k, s, d in SWEEP:
        for p in range(0, 3):
            if d * (k - 1) + 1 > n + 2 * p:
                continue
            m = convlib.conv_output_size(n, k, stride=s, padding=p, dilation=d)
            # The forward floor drops (n + 2p - eff) % s cells, which output_padding restores.
            expected = n - (n + 2 * p - d * (k - 1) - 1) % s
            if expected <= 0:  # every kept window started in the padding: nothing to give back
                with pytest.raises(ValueError, match="not positive"):
                    convlib.conv_transpose_output_size(m, k, stride=s, padding=p, dilation=d)
                continue
            assert convlib.conv_transpose_output_size(m, k, stride=s, padding=p, dilation=d) == expected


@pytest.mark.parametrize(
    "n, k, s, p, ceil_mode",
    [(5, 2, 2, 0, False), (5, 2, 2, 0, True), (6, 3, 2, 1, True), (7, 3, 3, 1, True), (4, 2, 3, 1, True)],
)
def test_pool_output_size_matches_torch(torch, n, k, s, p, ceil_mode):
    x = torch.zeros(1, 1, n, n)
    y = torch.nn.functional.max_pool2d(x, k, s, p, ceil_mode=ceil_mode)
    assert convlib.pool_output_size(n, k, stride=s, padding=p, ceil_mode=ceil_mode) == y.shape[2]


def test_effective_kernel_and_full_padding():
    assert convlib.effective_kernel_size(3, 2) == 5
    assert convlib.full_padding(3, dilation=2) == (4, 4)
    assert np.array_equal(convlib.same_padding(7, 5, dilation=2), (4, 4))


def test_unread_cells_are_really_unread(torch):
    """Perturbing the cells unread_cells reports leaves the PyTorch output unchanged; perturbing
    the last cell before them changes it."""
    for n, k, s, p in [(12, 3, 2, 0), (224, 1, 2, 0), (11, 2, 3, 1), (9, 4, 3, 2), (7, 3, 1, 1)]:
        unused_pad, unread = convlib.unread_cells(n, k, stride=s, padding=p)
        assert unused_pad <= p
        x = torch.zeros(1, 1, n, 1, dtype=torch.float64)
        w = torch.ones(1, 1, k, 1, dtype=torch.float64)
        base = torch.nn.functional.conv2d(x, w, stride=(s, 1), padding=(p, 0))

        def changes(row, x=x, w=w, s=s, p=p, base=base):
            bumped = x.clone()
            bumped[0, 0, row, 0] = 1.0
            return not torch.equal(torch.nn.functional.conv2d(bumped, w, stride=(s, 1), padding=(p, 0)), base)

        assert not any(changes(row) for row in range(n - unread, n)), (n, k, s, p)
        assert changes(n - unread - 1), (n, k, s, p)


def test_validated_geometries_are_kept_by_exact_arguments(monkeypatch):
    from convlib.shapes import checks

    args = dict(stride=2, padding="same", dilation=1, groups=1)
    first = checks.check_conv_shapes((1, 10, 11, 3), (3, 3, 3, 8), **args)
    assert checks.check_conv_shapes((1, 10, 11, 3), (3, 3, 3, 8), **args) is first  # kept
    # Values equal to a kept key but of another type are validated again, not looked up:
    # True == 1 and hash(True) == hash(1), yet a bool is refused.
    checks.check_conv_shapes((1, 10, 11, 3), (3, 3, 3, 8), stride=1)
    with pytest.raises(ValueError, match="stride must be an integer, got True"):
        checks.check_conv_shapes((1, 10, 11, 3), (3, 3, 3, 8), stride=True)
    with pytest.raises(ValueError, match="groups"):
        checks.check_conv_shapes((1, 10, 11, 4), (3, 3, 2, 8), groups=True)
    same = checks.check_conv_shapes((1, 10, 11, 3), (3, 3, 3, 8), stride=np.int64(2), padding="same")
    assert same == first and same is not first  # another key: validated on its own
    arr = checks.check_conv_shapes((1, 10, 11, 3), (3, 3, 3, 8), stride=np.array([2, 2]), padding="same")
    assert arr == first  # an array: kept under its own repr, not under the ints' key
    # A refusal is never kept: the same bad call is refused again.
    for _ in range(2):
        with pytest.raises(ValueError, match="kernel expects 4 input channels"):
            checks.check_conv_shapes((1, 10, 11, 3), (3, 3, 4, 8))
    monkeypatch.setattr(checks, "_GEOMETRIES", {})
    monkeypatch.setattr(checks, "_GEOMETRIES_MAX", 4)
    for n in range(1, 10):
        checks.check_conv_shapes((n, 10, 11, 3), (3, 3, 3, 8))
        assert len(checks._GEOMETRIES) <= 4
