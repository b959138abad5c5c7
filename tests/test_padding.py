"""The padding-mode limit and the padded-cell -> source-pixel map, against np.pad."""

from __future__ import annotations

import numpy as np
import pytest

from convlib.padding import PADDING_MODES, apply_padding, check_mode_pads, source_index
from convlib.shapes import conv_axis


def _cases():
    for n in (1, 2, 3, 5):
        for before in range(n + 2):
            for after in range(n + 2):
                for mode in PADDING_MODES:
                    yield n, before, after, mode


@pytest.mark.parametrize("mode", list(PADDING_MODES))
def test_source_index_is_np_pad_of_the_indices(mode):
    for n, before, after, m in _cases():
        if m != mode:
            continue
        limit = {"reflect": n - 1, "circular": n}.get(mode, before + after)
        if max(before, after) > limit:
            with pytest.raises(ValueError, match=rf"padding_mode='{mode}' needs padding <= {limit}"):
                check_mode_pads((n, n), ((before, after), (0, 0)), mode)
            continue
        assert check_mode_pads((n, n), ((before, after), (0, 0)), mode) == mode
        kw = {"constant_values": -1} if mode == "zeros" else {}
        want = np.pad(np.arange(n), (before, after), mode=PADDING_MODES[mode], **kw)
        assert source_index(n, before, after, mode).tolist() == want.tolist(), (n, before, after, mode)
        x = np.arange(1.0, n + 1).reshape(1, n, 1, 1)
        src = source_index(n, before, after, mode)
        padded = np.where(src >= 0, x[0, np.maximum(src, 0), 0, 0], 0.0)
        assert apply_padding(x, ((before, after), (0, 0)), mode)[0, :, 0, 0].tolist() == padded.tolist()


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match=r"padding_mode must be one of .*got 'mirror'"):
        check_mode_pads((4, 4), ((0, 0), (0, 0)), "mirror")


def test_span_and_zero_inserted_read_the_record():
    a = conv_axis(12, 3, 1, stride=2, dilation=2)
    assert [a.span(i, i + 1) for i in range(a.out)] == [a.window] * a.out
    assert a.span(0, a.out) == a.extent == (a.out - 1) * 2 + 5
    assert a.zero_inserted == (a.out - 1) * 2 + 1
    assert a.padded == 14
