"""Three views of a transposed convolution: zero insertion, kernel stamps, and the framework shift.

- :func:`draw_zero_insertion`: the input with ``s-1`` zeros between neighbours, padded by
  ``d*(k-1) - p``, read by an ordinary stride-1 window (how :func:`convlib.conv_transpose2d`
  computes it);
- :func:`draw_stamps`: every input cell stamps a ``k x k`` copy of the kernel onto the output at
  stride ``s``; the numbers are how many stamps overlap each output cell (the checkerboard of
  Odena et al. 2016 when ``k`` is not a multiple of ``s``);
- :func:`draw_transpose_shift`: Keras ``"same"`` and PyTorch ``padding=(k-1)//2`` keep the same
  number of cells of the same scatter, one cell apart.

Every size and crop is a :class:`~convlib.shapes.WindowAxis` from
:func:`convlib.shapes.transpose_axes` / :func:`convlib.shapes.transpose_axis`.
"""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..padding import check_positive_int, normalize_pair
from ..shapes.geometry import WindowAxis, conv_axis, transpose_axes, transpose_axis
from ..transpose import output_padding_for
from .draw import _cell, _check_position
from .geometry import COLORS
from .transpose import BIAS, CROP

ZERO, TAP_ZERO = "#ffffff", "#fdd9b5"
MAX_CELLS = 40  # cells per side above which a grid is too small to read in a book column


def _axes(n, k, stride, padding, output_padding, dilation) -> tuple[WindowAxis, WindowAxis]:
    nh, nw = normalize_pair(n, "input size")
    return transpose_axes(
        (nh, nw),
        normalize_pair(k, "kernel size"),
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
    )


def _signed(v: int) -> str:
    return f"+ {v}" if v >= 0 else f"- {-v}"


def _check_drawable(*sizes: int) -> None:
    if max(sizes) > MAX_CELLS:
        raise ValueError(f"a grid of {max(sizes)} cells a side is too large to draw (at most {MAX_CELLS})")


def _finish(ax, rows: int, cols: int) -> None:
    ax.set_xlim(-0.5, cols + 0.5)
    ax.set_ylim(rows + 0.5, -0.5)
    ax.set_aspect("equal")
    ax.set_axis_off()


def zero_insertion_pads(a: WindowAxis) -> tuple[int, int]:
    """Zero padding of the zero-inserted input, ``(d*(k-1) - p_before, d*(k-1) - p_after + op)``.

    A negative amount crops. These are the widths :func:`convlib.transpose.transpose_nhwc` pads.

    Examples
    --------
    >>> zero_insertion_pads(transpose_axis(3, 3, 1, stride=2, output_padding=1))
    (1, 2)
    """
    return a.window - 1 - a.before, a.window - 1 - a.after + a.left


def _zkind(t: int, a: WindowAxis, before: int, after: int, inserted: int) -> str:
    """Drawn cell ``t`` of the zero-inserted axis: zero padding, cropped, an input cell or a zero."""
    z = t - max(before, 0)  # index into the zero-inserted input
    if not 0 <= z < inserted:
        return "pad"
    if z < -before or z >= inserted + after:  # a negative pad crops
        return "crop"
    return "input" if z % a.stride == 0 else "zero"


def draw_zero_insertion(n, k, stride, padding=0, output_padding=0, dilation=1, *, position=(0, 0)) -> Figure:
    """Draw a transposed convolution as zero insertion plus an ordinary stride-1 convolution.

    The input's cells (blue) are spread ``s`` apart with ``s-1`` inserted zeros (white) between
    neighbours, the result is zero-padded (grey) by ``d*(k-1) - p`` on each side, plus
    ``output_padding`` at the end (a negative amount crops, hatched), and a stride-1 window of the
    (flipped) kernel, dilation ``d``, slides over it: the orange taps compute output cell
    ``position``.

    Parameters
    ----------
    n, k, stride, dilation : int or (int, int)
        Input size, kernel size, stride and dilation of the transposed convolution.
    padding : int, (int, int), ((int, int), (int, int)), "valid" or "same"
        As in :func:`convlib.conv_transpose2d`.
    output_padding : int or (int, int) or None
        As in :func:`convlib.conv_transpose2d`.
    position : (int, int)
        The output cell whose window is drawn.

    Returns
    -------
    matplotlib.figure.Figure
        Patches with gids ``input-cell``, ``zero-cell``, ``pad-cell``, ``crop-cell``, ``tap``,
        ``output-cell``, ``output-current``.

    Raises
    ------
    ValueError
        Bad sizes (from :func:`convlib.shapes.transpose_axes`), a position outside the output, or a
        grid more than 40 cells a side.

    Shape
    -----
    Zero-inserted ``(n-1)*s + 1``, padded by ``d*(k-1) - p`` a side, read at stride 1:
    ``out = (n-1)*s - p_before - p_after + d*(k-1) + output_padding + 1``.

    Examples
    --------
    >>> fig = draw_zero_insertion(3, 3, 2, padding=1, output_padding=1)
    >>> [sum(p.get_gid() == g for p in fig.axes[0].patches) for g in ("input-cell", "zero-cell")]
    [9, 16]
    >>> sum(p.get_gid() in ("output-cell", "output-current") for p in fig.axes[1].patches)
    36
    """
    gh, gw = _axes(n, k, stride, padding, output_padding, dilation)
    # The stride-1 convolution over the zero-inserted, padded input: its windows are the output.
    spans = []
    for a in (gh, gw):
        before, after = zero_insertion_pads(a)
        inserted = a.zero_inserted
        fwd = conv_axis(inserted + before + after, a.k, 0, dilation=a.dilation)
        if fwd.out != a.n:  # pragma: no cover - the two are the same arithmetic
            raise AssertionError(f"stride-1 view gives {fwd.out} cells, transpose_axis {a.n}")
        spans.append((a, before, after, inserted, fwd))
    (ah, bh, _, zh, fh), (aw, bw, _, zw, fw) = spans
    i, j = _check_position(position, fh, fw)
    drawn = [max(b, 0) + z + max(af, 0) for _, b, af, z, _ in spans]
    _check_drawable(*drawn, fh.out, fw.out)

    rows, cols = drawn
    cell = min(0.3, 7.4 / (cols + fw.out + 3))
    fig = Figure(figsize=(max((cols + fw.out + 3) * cell, 5.0), max(rows, fh.out) * cell + 1.5))
    fig.set_layout_engine("constrained")
    FigureCanvasAgg(fig)
    ax_in, ax_out = fig.subplots(1, 2, width_ratios=[cols + 1, max(fw.out, 2) + 1])
    colors = {"input": COLORS["input"], "zero": ZERO, "pad": COLORS["pad"], "crop": CROP}
    for r in range(rows):
        for c in range(cols):
            kinds = {_zkind(r, *spans[0][:4]), _zkind(c, *spans[1][:4])}
            k_ = next(x for x in ("crop", "pad", "zero", "input") if x in kinds)
            _cell(ax_in, c, r, colors[k_], f"{k_}-cell", hatch="//" if k_ == "crop" else None)
    # Padded coordinate p sits in drawn column p + max(-before, 0) (a crop shifts the origin).
    oy, ox = max(-bh, 0), max(-bw, 0)
    reads = 0  # taps of this window that land on a real input cell (the rest multiply zeros)
    for a_ in range(ah.k):
        for b_ in range(aw.k):
            x, y = ox + j + b_ * aw.dilation, oy + i + a_ * ah.dilation
            real = _zkind(y, *spans[0][:4]) == _zkind(x, *spans[1][:4]) == "input"
            reads += real
            _cell(ax_in, x, y, COLORS["tap"] if real else TAP_ZERO, "tap", alpha=0.9, zorder=3)
    ax_in.add_patch(
        Rectangle(
            (ox + j, oy + i),
            fw.window,
            fh.window,
            fill=False,
            ls="--",
            lw=1.6,
            ec="#b35806",
            zorder=5,
            gid="footprint",
        )
    )
    for r in range(fh.out):
        for c in range(fw.out):
            _cell(ax_out, c, r, COLORS["output"], "output-cell")
    ax_out.patches[[p.get_xy() for p in ax_out.patches].index((j, i))].remove()
    _cell(ax_out, j, i, COLORS["current"], "output-current", zorder=3)
    ax_in.set_title(
        f"input {ah.out}x{aw.out}, s-1 = {ah.stride - 1},{aw.stride - 1} zeros inserted -> {zh}x{zw}\n"
        f"pads ({bh},{spans[0][2]}) x ({bw},{spans[1][2]}); window reads {reads} of "
        f"{ah.k * aw.k} taps",
        fontsize=8,
    )
    ax_out.set_title(f"output {fh.out}x{fw.out}", fontsize=8, gid="output-title")
    _finish(ax_in, max(rows, fh.out), cols)
    _finish(ax_out, max(rows, fh.out), max(fw.out, 2))
    lines = [
        f"{name}: pads {a.dilation}·({a.k}-1) - {a.before} = {b}, {a.dilation}·({a.k}-1) - {a.after} + "
        f"{a.left} = {af};  out = ({a.out}-1)·{a.stride}+1 {_signed(b)} {_signed(af)} - {a.window} + 1"
        f" = {f.out}"
        for name, (a, b, af, _, f) in zip("HW", spans)
    ]
    fig.suptitle(
        f"transposed conv = zero insertion + stride-1 conv (kernel flipped), stride ({ah.stride},"
        f"{aw.stride}), dilation ({ah.dilation},{aw.dilation})",
        fontsize=8,
    )
    fig.supxlabel("\n".join(lines), fontsize=8).set_gid("formula")
    return fig


def stamp_counts(a: WindowAxis) -> np.ndarray:
    """Per-axis number of stamps covering each cell of the full scatter plus ``output_padding``.

    Input cell ``i`` stamps kernel tap ``b`` onto scatter cell ``i*s + b*d``; the cells are the
    forward convolution's padded coordinates, ``a.padded`` of them.

    Examples
    --------
    >>> stamp_counts(transpose_axis(3, 3, 0, stride=2))
    array([1, 1, 2, 1, 2, 1, 1])
    """
    taps = (np.asarray(a.starts())[:, None] + np.arange(a.k)[None, :] * a.dilation).ravel()
    return np.bincount(taps, minlength=a.padded)[: a.padded]


def interior_pattern(*axes: WindowAxis) -> str:
    """``"alternates"``, ``"constant"`` or ``"none"``: the stamp counts where every stamp can reach.

    Away from the borders, in cells ``window-1 .. extent-window`` of the scatter, each axis's count
    is periodic with period ``s``; it alternates (the checkerboard) unless each of the ``s``
    phases is hit by the same number of taps, e.g. when ``k`` is a multiple of ``s`` (``d = 1``).
    An interior shorter than one period (fewer than ``s`` cells) cannot tell: ``"none"``.

    Examples
    --------
    >>> [interior_pattern(transpose_axis(5, k, 0, stride=2)) for k in (3, 4)]
    ['alternates', 'constant']
    >>> interior_pattern(transpose_axis(2, 3, 0, stride=2))  # one interior cell
    'none'
    """
    inner = [stamp_counts(a)[a.window - 1 : a.extent - a.window + 1] for a in axes]
    if any(c.size < a.stride for c, a in zip(inner, axes)):
        return "none"
    return "alternates" if any(c.min() != c.max() for c in inner) else "constant"


def draw_stamps(n, k, stride, padding=0, output_padding=0, dilation=1, *, position=None) -> Figure:
    """Draw the "stamp" view of a transposed convolution, with the overlap count of every cell.

    Each input cell stamps a ``k x k`` copy of the kernel (taps ``d`` apart) onto the output at
    offset ``s`` times its index; the number in each cell of the full scatter is how many stamps
    cover it. When ``k`` is not a multiple of ``s`` the counts alternate: the checkerboard artefact
    of Odena et al. (2016). Cells that ``padding`` crops are hatched, cells that ``output_padding``
    adds past the scatter (count 0, bias only) are yellow. ``position`` outlines one input cell's
    stamp.

    Returns
    -------
    matplotlib.figure.Figure
        The output axes holds patches with gids ``kept-cell``, ``crop-cell``, ``bias-cell`` and
        texts with gid ``overlap-count`` (at the cell centres); the stamp outline has gid
        ``stamp``.

    Raises
    ------
    ValueError
        Bad sizes (from :func:`convlib.shapes.transpose_axes`), or a grid over 40 cells a side.

    Shape
    -----
    Scatter ``(n-1)*s + d*(k-1) + 1`` a side; kept
    ``(n-1)*s - p_before - p_after + d*(k-1) + output_padding + 1``.

    Examples
    --------
    >>> fig = draw_stamps(3, 3, 2)
    >>> sorted({t.get_text() for t in fig.axes[1].texts if t.get_gid() == "overlap-count"})
    ['1', '2', '4']
    """
    gh, gw = _axes(n, k, stride, padding, output_padding, dilation)
    counts = np.outer(stamp_counts(gh), stamp_counts(gw))
    rows, cols = (max(a.extent, a.before + a.n) for a in (gh, gw))  # scatter, or past it with op
    _check_drawable(rows, cols)
    if position is not None:
        pi, pj = _check_position(
            position, WindowAxis(gh.out, 1, 1, 1, 0, 0, gh.out), WindowAxis(gw.out, 1, 1, 1, 0, 0, gw.out)
        )
    cell = min(0.36, 7.2 / (cols + gw.out + 3))
    fig = Figure(figsize=(max((cols + gw.out + 3) * cell, 5.0), max(rows, gh.out) * cell + 1.6))
    fig.set_layout_engine("constrained")
    FigureCanvasAgg(fig)
    ax_in, ax_out = fig.subplots(1, 2, width_ratios=[gw.out + 1, cols + 1])
    for r in range(gh.out):
        for c in range(gw.out):
            current = position is not None and (r, c) == (pi, pj)
            _cell(ax_in, c, r, COLORS["current" if current else "input"], "input-cell")
    top = counts.max()
    cmap = {0: "#ffffff"}
    kept_h = range(gh.before, gh.before + gh.n)
    kept_w = range(gw.before, gw.before + gw.n)
    scatter_h, scatter_w = gh.extent, gw.extent
    fs = 8 if cell >= 0.3 else 6
    for r in range(rows):
        for c in range(cols):
            count = int(counts[r, c])
            if r not in kept_h or c not in kept_w:
                kind, color = "crop", CROP
            elif r >= scatter_h or c >= scatter_w:
                kind, color = "bias", BIAS
            else:
                kind = "kept"
                shade = 0.15 + 0.75 * count / top
                color = cmap.get(count, (1 - 0.55 * shade, 1 - 0.35 * shade, 1 - 0.1 * shade))
            _cell(ax_out, c, r, color, f"{kind}-cell", hatch="//" if kind == "crop" else None)
            ax_out.text(
                c + 0.5,
                r + 0.5,
                str(count),
                ha="center",
                va="center",
                fontsize=fs,
                color="#777777" if kind == "crop" else "k",
                gid="overlap-count",
                zorder=4,
            )
    if position is not None:
        ax_out.add_patch(
            Rectangle(
                (pj * gw.stride, pi * gh.stride),
                gw.window,
                gh.window,
                fill=False,
                lw=2,
                ec="#b35806",
                ls="--",
                zorder=5,
                gid="stamp",
            )
        )
    kept = counts[gh.before : gh.before + gh.n, gw.before : gw.before + gw.n]
    ax_in.set_title(f"input {gh.out}x{gw.out}", fontsize=9)
    ax_out.set_title(
        f"stamps: kernel {gh.k}x{gw.k} every {gh.stride},{gw.stride} cells (dilation {gh.dilation},"
        f"{gw.dilation})\nscatter {scatter_h}x{scatter_w}, crop ({gh.before},{gh.after}) x "
        f"({gw.before},{gw.after}), output {gh.n}x{gw.n}",
        fontsize=8,
        gid="output-title",
    )
    pattern = {"alternates": "checkerboard", "constant": "no checkerboard", "none": "too small to tell"}
    fig.supxlabel(
        f"stamps per kept output cell {kept.min()}..{kept.max()}; k mod s = {gh.k % gh.stride}, "
        f"{gw.k % gw.stride}; interior {pattern[interior_pattern(gh, gw)]}",
        fontsize=8,
    ).set_gid("summary")
    _finish(ax_in, max(rows, gh.out), max(gw.out, 2))
    _finish(ax_out, max(rows, gh.out), cols)
    return fig


def shift_axes(n: int, k: int = 3, stride: int = 2) -> dict[str, WindowAxis]:
    """Keras ``padding="same"`` and PyTorch ``padding=(k-1)//2`` with the matching ``output_padding``.

    Both give ``n*s`` cells. Keras crops TensorFlow's forward ``"same"`` pads of the output size;
    PyTorch crops ``(k-1)//2`` a side and ``output_padding`` gives cells back at the end.

    Examples
    --------
    >>> {name: (a.n, a.before, a.after - a.left) for name, a in shift_axes(4).items()}
    {'keras': (8, 0, 1), 'torch': (8, 1, 0)}
    """
    n, k, stride = (check_positive_int(v, m) for v, m in ((n, "n"), (k, "k"), (stride, "stride")))
    keras = transpose_axis(n, k, "same", stride=stride)
    pad = (k - 1) // 2
    op = output_padding_for(n, keras.n, k, stride=stride, padding=pad)
    torch = transpose_axis(n, k, pad, stride=stride, output_padding=op)
    return {"keras": keras, "torch": torch}


def draw_transpose_shift(n: int, k: int = 3, stride: int = 2) -> Figure:
    """Draw the one-cell shift between Keras and PyTorch transposed convolutions (one axis).

    Keras ``Conv2DTranspose(k, s, padding="same")`` and PyTorch ``ConvTranspose2d(k, s,
    padding=(k-1)//2, output_padding=...)`` (``padding=1, output_padding=1`` for ``k=3, s=2``) both
    give ``n*s`` cells, but from different parts of the same scatter: Keras crops TensorFlow's
    forward ``"same"`` pads of the output size, ``(0, 1)`` for ``k=3, s=2``, PyTorch crops ``p`` at
    the start and ``output_padding`` gives cells back at the end, ``(1, 0)``. Same weights, same
    input, outputs shifted by one cell.

    Returns
    -------
    matplotlib.figure.Figure
        The scatter cells have gid ``scatter-cell`` (with overlap counts, gid ``overlap-count``); the
        kept ranges are rectangles with gids ``keras-kept`` and ``torch-kept`` (x = first kept
        scatter cell, width = cells kept).

    Raises
    ------
    ValueError
        Bad sizes, or no ``output_padding`` that gives PyTorch the Keras size (from
        :func:`convlib.output_padding_for`), or more than 40 cells.

    Shape
    -----
    Scatter ``(n-1)*s + k``; both keep ``n*s``.

    Examples
    --------
    >>> fig = draw_transpose_shift(4)
    >>> [(p.get_x(), p.get_width()) for p in fig.axes[0].patches if p.get_gid().endswith("-kept")]
    [(0, 8), (1, 8)]
    """
    axes = shift_axes(n, k, stride)
    keras, torch = axes["keras"], axes["torch"]
    full = keras.extent  # the scatter, (n-1)*s + d*(k-1) + 1: the same for both
    cols = max(full, torch.before + torch.n, keras.before + keras.n)
    _check_drawable(cols)
    counts = stamp_counts(torch)
    cell = min(0.5, 7.0 / (cols + 1))
    fig = Figure(figsize=(max((cols + 1) * cell, 5.0), 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    rows = {"input": 0.0, "scatter": 2.0, "keras": 4.2, "torch": 6.4}
    for i in range(n):
        _cell(ax, i * stride, rows["input"], COLORS["input"], "input-cell")
        ax.text(i * stride + 0.5, rows["input"] + 0.5, f"x{i}", ha="center", va="center", fontsize=8)
    for t in range(cols):
        color = COLORS["output"] if t < full else BIAS
        _cell(ax, t, rows["scatter"], color, "scatter-cell")
        ax.text(
            t + 0.5,
            rows["scatter"] + 0.5,
            str(int(counts[t])),
            ha="center",
            va="center",
            fontsize=8,
            gid="overlap-count",
        )
        ax.text(
            t + 0.5, rows["scatter"] + 1.25, str(t), ha="center", va="center", fontsize=6, color="#777777"
        )
    labels = {
        "keras": f'Keras Conv2DTranspose({k}, {stride}, padding="same"): crop '
        f"({keras.before}, {keras.after - keras.left})",
        "torch": f"PyTorch ConvTranspose2d({k}, stride={stride}, padding={torch.before}, "
        f"output_padding={torch.left}): crop ({torch.before}, {torch.after - torch.left})",
    }
    for name, a in axes.items():
        y = rows[name]
        ax.add_patch(
            Rectangle(
                (a.before, y),
                a.n,
                1,
                facecolor=COLORS["current"],
                alpha=0.35,
                ec="#1b7a43",
                lw=1.4,
                gid=f"{name}-kept",
            )
        )
        for u in range(a.n):
            ax.text(a.before + u + 0.5, y + 0.5, f"y{u}", ha="center", va="center", fontsize=7)
        ax.text(0, y - 0.25, labels[name], ha="left", va="bottom", fontsize=8, gid=f"{name}-label")
    ax.text(
        0,
        rows["input"] - 0.25,
        f"input, {n} cells, placed every s={stride}",
        ha="left",
        va="bottom",
        fontsize=8,
    )
    ax.text(
        0,
        rows["scatter"] - 0.25,
        f"scatter ({n}-1)·{stride} + {k} = {full} cells; stamps per cell",
        ha="left",
        va="bottom",
        fontsize=8,
    )
    shift = torch.before - keras.before
    ax.set_title(
        f"same size {keras.n} = {n}·{stride}, kept windows {shift} cell{'' if abs(shift) == 1 else 's'}"
        " apart",
        fontsize=9,
        gid="title",
    )
    ax.set_xlim(-0.3, cols + 0.3)
    ax.set_ylim(rows["torch"] + 1.3, -1.3)
    ax.set_axis_off()
    return fig
