"""Pieces of :mod:`convlib.engines.winograd` that plan and copy, with no Winograd arithmetic.

:func:`phase` splits a dilated axis into the phases that are undilated convolutions,
:func:`chunks` and :func:`passes` plan the transformed kernel in output-channel chunks and in
passes of at most one buffer, and :func:`scatter` copies output tiles into the output.
"""

from __future__ import annotations

import numpy as np

from . import _blocks

__all__ = ["chunks", "passes", "phase", "scatter"]


def phase(size: int, before: int, after: int, r: int, d: int) -> tuple[int, int, int]:
    """Phase ``r`` of ``d`` along one axis: ``(first, pad_before, pad_after)``.

    The padded axis has ``before + size + after`` cells; phase ``r`` is cells ``r, r + d, ...``.
    Its first ``pad_before`` cells are zero padding, then come input cells ``first, first + d,
    ...`` (all of those inside the input), then ``pad_after`` zeros.

    Examples
    --------
    >>> phase(10, 2, 2, 1, 2)  # padded cells 1, 3, 5, ..., 13: pad, inputs 1, 3, ..., 9, pad
    (1, 1, 1)
    """
    total = len(range(r, before + size + after, d))
    pad_before = max(0, -(-(before - r) // d))
    first = r + pad_before * d - before
    inside = len(range(first, size, d))
    return first, pad_before, total - pad_before - inside


def chunks(groups: int, og: int, most: int) -> list[tuple[int, int, int]]:
    """Each group's output channels in equal chunks of at most ``most``: ``(g, o0, o1)``.

    Examples
    --------
    >>> chunks(2, 5, 3)
    [(0, 0, 3), (0, 3, 5), (1, 5, 8), (1, 8, 10)]
    """
    oc = max(1, min(og, most))
    oc = -(-og // -(-og // oc))
    return [(g, g * og + j, g * og + min(og, j + oc)) for g in range(groups) for j in range(0, og, oc)]


def passes(chunks, bytes_per_channel: int) -> list[list]:
    """``chunks`` ``(g, o0, o1)`` in order, cut into runs whose U takes at most one buffer in all.

    Examples
    --------
    >>> passes([(0, 0, 4), (0, 4, 8), (1, 8, 12)], bytes_per_channel=_blocks.BUFFER_BYTES // 8)
    [[(0, 0, 4), (0, 4, 8)], [(1, 8, 12)]]
    """
    out, size = [[]], 0
    for ch in chunks:
        need = (ch[2] - ch[1]) * bytes_per_channel
        if out[-1] and size + need > _blocks.BUFFER_BYTES:
            out.append([])
            size = 0
        out[-1].append(ch)
        size += need
    return out


def scatter(dst: np.ndarray, tiles: np.ndarray) -> None:
    """Copy output tiles ``(B, tr, m, tw, m, O)`` into ``dst`` ``(B, rows, cols, O)`` in one pass.

    The whole tiles go through a view of ``dst`` split into tiles (no intermediate grid);
    the last tile row and column, cut short by the output's edge, are copied on their own.
    """
    b, rows, cols, o = dst.shape
    m = tiles.shape[2]
    ty, tx = rows // m, cols // m
    if ty and tx:
        whole = np.reshape(dst[:, : ty * m, : tx * m], (b, ty, m, tx, m, o), copy=False)  # a view
        np.copyto(whole, tiles[:, :ty, :, :tx])
    if ty * m < rows:  # the last, partial tile row, all columns
        last = tiles[:, ty].reshape(b, m, -1, o)[:, : rows - ty * m, :cols]
        dst[:, ty * m :] = last
    if tx * m < cols and ty:  # the last, partial tile column of the whole tile rows
        edge = tiles[:, :ty, :, tx].reshape(b, ty * m, m, o)[:, :, : cols - tx * m]
        dst[:, : ty * m, tx * m :] = edge
