"""The algorithm figures: what they label is what the engines compute."""

from fractions import Fraction

import numpy as np
import pytest

from convlib.engines.windows import windows
from convlib.engines.winograd import transforms
from convlib.viz import draw_im2col, draw_winograd


def _texts(ax, gid):
    return [t for t in ax.texts if t.get_gid() == gid]


@pytest.mark.parametrize("h, w, k, stride", [(4, 4, 2, 1), (5, 4, 3, 1), (6, 7, 3, 2)])
def test_im2col_cells_are_the_gathered_windows(h, w, k, stride):
    fig = draw_im2col(h, w, k, stride=stride)
    ax_in, ax_p = fig.axes
    want = windows(np.arange(h * w, dtype=float).reshape(1, h, w, 1), k, k, stride=(stride, stride),
                   dilation=(1, 1)).reshape(-1, k * k)  # fmt: skip
    cells = _texts(ax_p, "patch")
    assert len(cells) == want.size
    for t in cells:
        c, r = (int(v - 0.5) for v in t.get_position())
        assert int(t.get_text()) == want[r, c]
    outline = [p for p in ax_in.patches if p.get_gid() == "first-window"]
    assert len(outline) == 1 and (outline[0].get_width(), outline[0].get_height()) == (k, k)
    # Window 0's row is highlighted, and only that row.
    highlighted = {
        int(p.get_y()) for p in ax_p.patches if p.get_facecolor() != ax_p.patches[-1].get_facecolor()
    }
    assert highlighted == {0}


def test_im2col_refuses_what_it_cannot_draw():
    with pytest.raises(ValueError, match=r"kernel size 5 .* larger than the padded input size 4"):
        draw_im2col(4, 4, 5)
    with pytest.raises(ValueError, match=r"patch matrix of 81 x 4 is too large to draw"):
        draw_im2col(10, 10, 2)
    with pytest.raises(ValueError, match=r"stride must be a positive integer, got 0"):
        draw_im2col(4, 4, 2, stride=0)


@pytest.mark.parametrize("m", [2, 4])
def test_winograd_values_read_back_as_the_matrices(m):
    fig = draw_winograd(m)
    for ax, mat in zip(fig.axes, transforms(m, np.float64)):
        got = np.zeros_like(mat)
        for t in _texts(ax, "value"):
            c, r = (round(v) for v in t.get_position())
            got[r, c] = float(Fraction(t.get_text()))
        np.testing.assert_allclose(got, mat, atol=1e-12)


@pytest.mark.parametrize("m", [3, 0, True, "2"])
def test_winograd_takes_two_or_four(m):
    with pytest.raises(ValueError, match=r"m must be 2 or 4"):
        draw_winograd(m)
