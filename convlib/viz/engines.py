"""Figures of two algorithms: im2col's patch matrix and Winograd's transform matrices."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..engines.windows import windows
from ..engines.winograd import transforms
from ..padding import check_positive_int
from ..shapes import conv_output_size
from .geometry import COLORS

MAX_ROWS, MAX_COLS = 64, 16  # a larger patch matrix has cells too small to label


def draw_im2col(h: int = 4, w: int = 4, k: int = 2, *, stride: int = 1) -> Figure:
    """The input grid and the im2col patch matrix built from it, each cell labelled.

    The input is ``np.arange(h * w)`` in an ``h x w`` grid, so every patch-matrix cell shows
    the input cell it copies. The first window is outlined on the input and its row is
    highlighted in the matrix; the matrix itself comes from
    :func:`convlib.engines.windows.windows`.

    Shape
    -----
    Patch matrix: ``H_out * W_out`` rows by ``k * k`` columns, with
    ``H_out = floor((h - k) / stride) + 1`` (likewise ``W_out``).

    Raises
    ------
    ValueError
        For a kernel larger than the input (from :func:`convlib.shapes.conv_output_size`), or a
        matrix of more than 64 rows or 16 columns.

    Examples
    --------
    >>> fig = draw_im2col(4, 4, 2)
    >>> [ax.get_title().split(":")[0] for ax in fig.axes]
    ['input (4 x 4)', 'patch matrix (9 x 4)']
    """
    h, w, k = (check_positive_int(v, name) for v, name in ((h, "h"), (w, "w"), (k, "k")))
    stride = check_positive_int(stride, "stride")
    ho, wo = conv_output_size(h, k, stride=stride), conv_output_size(w, k, stride=stride)
    rows, cols = ho * wo, k * k
    if rows > MAX_ROWS or cols > MAX_COLS:
        raise ValueError(
            f"patch matrix of {rows} x {cols} is too large to draw (at most {MAX_ROWS} x {MAX_COLS}); "
            f"got h={h}, w={w}, k={k}, stride={stride}"
        )
    x = np.arange(h * w, dtype=float).reshape(1, h, w, 1)
    patches = windows(x, k, k, stride=(stride, stride), dilation=(1, 1)).reshape(rows, cols).astype(int)
    fig = Figure(figsize=(2.5 + 0.45 * (w + cols), 1.2 + 0.3 * max(rows, h)), layout="constrained")
    FigureCanvasAgg(fig)
    ax_in, ax_p = fig.subplots(1, 2, width_ratios=[w, cols])
    for r in range(h):
        for c in range(w):
            color = COLORS["tap"] if r < k and c < k else COLORS["input"]
            ax_in.add_patch(Rectangle((c, r), 1, 1, facecolor=color, edgecolor="#555555", lw=0.6))
            ax_in.text(c + 0.5, r + 0.5, str(r * w + c), ha="center", va="center", fontsize=8)
    ax_in.add_patch(Rectangle((0, 0), k, k, fill=False, edgecolor="k", lw=2, gid="first-window"))
    for r in range(rows):
        for c in range(cols):
            color = COLORS["tap"] if r == 0 else COLORS["input"]
            ax_p.add_patch(Rectangle((c, r), 1, 1, facecolor=color, edgecolor="#555555", lw=0.6))
            ax_p.text(c + 0.5, r + 0.5, str(patches[r, c]), ha="center", va="center", fontsize=8, gid="patch")
    ax_in.set_title(f"input ({h} x {w}):\nwindow 0 outlined", fontsize=9)
    ax_p.set_title(f"patch matrix ({rows} x {cols}):\none row per output,\none column per tap", fontsize=9)
    for ax, (nr, nc) in ((ax_in, (h, w)), (ax_p, (rows, cols))):
        ax.set(xlim=(0, nc), ylim=(nr, 0), aspect="equal", xticks=[], yticks=[])
    return fig


def _fraction(v: float) -> str:
    f = Fraction(float(v)).limit_denominator(64)
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


def draw_winograd(m: int = 2) -> Figure:
    """Heat maps of ``B^T``, ``G`` and ``A^T`` of Winograd F(m x m, 3 x 3), values written in.

    Shape
    -----
    ``B^T``: ``(m + 2) x (m + 2)``; ``G``: ``(m + 2) x 3``; ``A^T``: ``m x (m + 2)``.

    Raises
    ------
    ValueError
        If ``m`` is not 2 or 4 (the two variants convlib implements).

    Examples
    --------
    >>> [ax.get_title().split(" ")[0] for ax in draw_winograd(2).axes]
    ['B^T', 'G', 'A^T']
    """
    if m not in (2, 4) or isinstance(m, bool):
        raise ValueError(f"m must be 2 or 4 (F(2x2, 3x3) or F(4x4, 3x3)), got {m!r}")
    a = m + 2
    mats = dict(zip(("B^T", "G", "A^T"), transforms(m, np.float64)))
    roles = {"B^T": "input tile", "G": "kernel", "A^T": "output tile"}
    fig = Figure(figsize=(1.6 + 0.55 * (2 * a + 3), 0.9 + 0.5 * a), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 3, width_ratios=[a, 3, a])
    for ax, (name, mat) in zip(axes, mats.items()):
        bound = float(np.abs(mat).max())
        ax.imshow(mat, cmap="RdBu_r", vmin=-bound, vmax=bound)
        for (r, c), v in np.ndenumerate(mat):
            ink = "white" if abs(v) > 0.6 * bound else "black"  # legible on the darkest cells
            ax.text(c, r, _fraction(v), ha="center", va="center", color=ink, fontsize=8, gid="value")
        ax.set_title(f"{name} ({mat.shape[0]} x {mat.shape[1]}): {roles[name]}", fontsize=9)
        ax.set(xticks=[], yticks=[])
    fig.suptitle(f"Winograd F({m}x{m}, 3x3): Y = A^T [(G g G^T) * (B^T d B)] A", fontsize=10)
    return fig
