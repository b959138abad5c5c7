"""Padding inside the blocks (fast._slab) and the worker threads (fast._threads)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convlib.fast import ENGINES, _blocks, _threads, get_threads, set_threads
from convlib.fast._slab import slab, source_index
from convlib.padding import PADDING_MODES, apply_padding


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    h=st.integers(1, 6),
    w=st.integers(1, 6),
    pads=st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(0, 5), st.integers(0, 5)),
    mode=st.sampled_from(sorted(PADDING_MODES)),
    rows=st.tuples(st.integers(0, 12), st.integers(0, 6)),
    cols=st.tuples(st.integers(0, 12), st.integers(0, 6)),
    reused=st.booleans(),
)
def test_slab_is_a_window_of_the_padded_input(h, w, pads, mode, rows, cols, reused):
    # Every rectangle of the padded coordinates, even past the padded extent (zeros there),
    # equals the same window of np.pad's whole padded copy, in every padding mode; built in a
    # reused workspace slot that an earlier block left full of NaN, every pad cell is zeroed
    # again (the slot is zeroed only around the copied rectangle, never filled whole).
    t, b, left, r = pads
    limit = h - 1 if mode == "reflect" else h
    limit_w = w - 1 if mode == "reflect" else w
    if mode in ("reflect", "circular") and (max(t, b) > limit or max(left, r) > limit_w):
        return
    x = np.arange(2 * h * w * 3, dtype=np.float64).reshape(2, h, w, 3) + 1
    full = apply_padding(x, ((t, b), (left, r)), mode)
    big = np.zeros((2, full.shape[1] + 18, full.shape[2] + 18, 3))  # rows and cols reach 18
    big[:, : full.shape[1], : full.shape[2]] = full
    r0, r1 = rows[0], rows[0] + rows[1]
    c0, c1 = cols[0], cols[0] + cols[1]
    slot = None
    if reused:
        slot = "test.slab"
        _blocks.scratch(slot, big[1:2].size, np.float64).fill(np.nan)
    got = slab(x, 1, 2, (r0, r1), (c0, c1), ((t, b), (left, r)), mode, slot=slot)
    np.testing.assert_array_equal(got, big[1:2, r0:r1, c0:c1])


def test_slab_is_a_view_inside_the_input():
    x = np.zeros((1, 6, 6, 2))
    assert np.shares_memory(slab(x, 0, 1, (2, 5), (1, 6), ((1, 1), (1, 1))), x)


def test_source_index_marks_zero_cells():
    assert source_index(4, 2, 0, "replicate", 0, 6).tolist() == [0, 0, 0, 1, 2, 3]
    assert source_index(3, 1, 1, "circular", 0, 6).tolist() == [2, 0, 1, 2, 0, -1]


@pytest.mark.parametrize(
    "mode, pads, limit", [("reflect", ((0, 4), (0, 0)), 3), ("circular", ((0, 0), (6, 0)), 5)]
)
@pytest.mark.parametrize("engine", ["depthwise_jit", "grouped_jit", "planes_jit"])
def test_compiled_engines_refuse_what_the_mode_cannot_make(engine, mode, pads, limit):
    # They index their padding, so an impossible pad must be refused, not read out of bounds.
    x, w = np.ones((1, 4, 5, 2)), np.ones((1, 1, 1, 2))
    with pytest.raises(ValueError, match=rf"padding_mode='{mode}' needs padding <= {limit}"):
        ENGINES[engine](x, w, stride=(1, 1), dilation=(1, 1), groups=2, pads=pads, padding_mode=mode)


def test_threads_split_and_restore():
    assert _threads.split(list(range(7)), 3) == [[0, 1, 2], [3, 4], [5, 6]]
    assert _threads.split([], 2) == []
    old = set_threads(2)
    try:
        assert get_threads() == 2
        # Two workers get a small layer: the plan cuts one image of 7 rows into 2 blocks.
        assert len(_blocks.plan(1, 7, 10)) == 2
        seen = []
        _threads.run_split(lambda run: seen.append(list(run)), range(5))
        assert sorted(map(tuple, seen)) == [(0, 1, 2), (3, 4)]
    finally:
        set_threads(old)
    assert get_threads() == old


def test_worker_errors_reach_the_caller():
    old = set_threads(2)
    try:
        with pytest.raises(ZeroDivisionError):
            _threads.run_split(lambda run: [1 / 0 for _ in run], range(4))
    finally:
        set_threads(old)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_set_threads_refuses(bad):
    with pytest.raises(ValueError, match="threads must be"):
        set_threads(bad)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 3), st.integers(1, 3)),
)
def test_windows_view_is_numpys_sliding_window_view(h, w, k, stride, dilation):
    # The one as_strided view against the view NumPy builds, on a non-contiguous input
    # (a column slice), so that the input's own strides are the ones used.
    from numpy.lib.stride_tricks import sliding_window_view

    from convlib.engines.windows import windows

    (kh, kw), (sh, sw), (dh, dw) = k, stride, dilation
    if dh * (kh - 1) + 1 > h or dw * (kw - 1) + 1 > w:
        return
    x = np.arange(2 * h * (w + 2) * 3, dtype=np.float32).reshape(2, h, w + 2, 3)[:, :, 1:-1]
    ref = sliding_window_view(x, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(1, 2))
    ref = ref[:, ::sh, ::sw, :, ::dh, ::dw].transpose(0, 1, 2, 4, 5, 3)
    got = windows(x, kh, kw, stride=stride, dilation=dilation)
    assert got.shape == ref.shape and not got.flags.writeable
    np.testing.assert_array_equal(got, ref)


def test_winograd_dense_transforms_are_kept_read_only():
    from convlib.fast import winograd

    for m in (2, 4):
        bt, g, at = winograd.transforms(m, np.float32)
        kept = winograd._dense(m, np.dtype(np.float32))
        assert kept is winograd._dense(m, np.dtype(np.float32))
        for got, want in zip(kept, (np.kron(bt, bt), np.kron(at, at), np.kron(g, g))):
            np.testing.assert_array_equal(got, want)
            assert got.dtype == np.float32 and not got.flags.writeable
