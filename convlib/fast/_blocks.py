"""Chunking shared by the fast engines, so that every workspace stays bounded.

An engine asks for blocks of ``(images, rows)`` whose workspace fits ``BUFFER_BYTES``;
with at most three such buffers alive at once, an engine's extra memory stays below
the 64 MiB promised in :mod:`convlib.engines`, however large the input.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np

# One workspace buffer. Engines hold at most three at a time (3 x 16 MiB < 64 MiB); 16 MiB
# is also large enough that each BLAS call sees thousands of rows on ResNet-sized layers.
BUFFER_BYTES = 16 * 2**20
# The block an engine streams through when speed, not the cap, decides: a block that stays in
# the caches (1 MiB of L2 per core and 32 MiB of shared L3 on the benchmark machine) between
# being written and being read by the matrix product. Measured on ResNet-50 layers, batch 8:
# im2col 25 ms on the 7x7/2 stem with 2 MiB blocks against 32 ms with 16 MiB ones.
CACHE_BYTES = 2 * 2**20


def blocks(
    n: int, rows: int, row_bytes: int, budget: int | None = None
) -> Iterator[tuple[int, int, int, int]]:
    """Split ``n`` images of ``rows`` rows into blocks ``(b0, b1, r0, r1)`` of at most ``budget`` bytes.

    Whole images are grouped while one image fits (bigger matrix products for small
    layers); otherwise one image is cut into row ranges. Either way the block
    ``y[b0:b1, r0:r1]`` of a C-contiguous output is itself contiguous. A single row
    larger than ``budget`` still forms a block of one row.

    Parameters
    ----------
    n, rows : int
        Images and rows (output rows, or tile rows) per image.
    row_bytes : int
        Workspace bytes one row needs.
    budget : int, optional
        Bytes allowed for one block; :data:`BUFFER_BYTES` (read at call time) by default.

    Returns
    -------
    iterator of (int, int, int, int)
        ``(b0, b1, r0, r1)``: images ``b0:b1`` and rows ``r0:r1``.

    Examples
    --------
    >>> list(blocks(4, 3, 10, budget=60))
    [(0, 2, 0, 3), (2, 4, 0, 3)]
    >>> list(blocks(1, 5, 10, budget=20))
    [(0, 1, 0, 2), (0, 1, 2, 4), (0, 1, 4, 5)]
    """
    budget = BUFFER_BYTES if budget is None else budget
    row_bytes = max(int(row_bytes), 1)
    per_image = rows * row_bytes
    if per_image <= budget:
        step = max(1, budget // per_image)
        for b0 in range(0, n, step):
            yield b0, min(n, b0 + step), 0, rows
        return
    step = max(1, budget // row_bytes)
    for b in range(n):
        for r0 in range(0, rows, step):
            yield b, b + 1, r0, min(rows, r0 + step)


def buffer_bytes() -> int:
    """One worker's share of :data:`BUFFER_BYTES` (read at call time): the cap splits across threads."""
    from ._threads import get_threads

    return max(1, BUFFER_BYTES // get_threads())


def plan(n: int, rows: int, row_bytes: int, budget: int | None = None) -> list[tuple[int, int, int, int]]:
    """:func:`blocks` as a list, with blocks small enough that every worker thread gets some.

    ``budget`` defaults to :func:`buffer_bytes` and is never above it; with ``t`` threads it is
    also cut to ``ceil(n * rows / t)`` rows, so a small layer (one image of seven output rows)
    still splits into ``t`` blocks instead of one.

    Examples
    --------
    >>> plan(1, 7, 10, budget=1000)  # one thread: the whole image is one block
    [(0, 1, 0, 7)]
    """
    from ._threads import get_threads

    cap = buffer_bytes()
    budget = cap if budget is None else min(budget, cap)
    threads = get_threads()
    if threads > 1:
        budget = min(budget, max(1, -(-n * rows // threads)) * max(int(row_bytes), 1))
    return list(blocks(n, rows, row_bytes, budget=budget))


# Workspace kept between calls, per thread: at most this many bytes in all (see scratch).
KEEP_BYTES = 16 * 2**20
_pools: dict[int, dict[str, np.ndarray]] = {}  # thread id -> slot -> buffer


def scratch(slot: str, size: int, dtype) -> np.ndarray:
    """A 1-D array of ``size`` elements of ``dtype``: the calling thread's workspace ``slot``, reused.

    A fresh NumPy buffer costs a page fault for every 4 KiB the first time it is written, and
    on the benchmark machine (a virtual machine) that made the workspace cost more than the
    work on small layers: MobileNetV2's 3-channel stem at batch 1 took 2.5 ms in im2col with
    fresh buffers against 0.6 ms for the same copies and product into reused ones. So each
    thread keeps its buffers by name and hands out views of them; a slot grows when a larger
    request comes. At most :data:`KEEP_BYTES` per thread are kept between calls: a request
    that would pass the cap first drops the slots used least recently (a network's earlier
    layers, run by other engines, must not keep the pool from the layer running now), and a
    request larger than the cap on its own gets a fresh buffer that is not kept. A dropped
    slot's memory lives on in any view still in use, so slots never alias. :func:`release`
    frees them all. The contents are whatever the last user left: callers overwrite before
    they read.

    Examples
    --------
    >>> a = scratch("doc.a", 4, np.float32)
    >>> np.shares_memory(a, scratch("doc.a", 2, np.float64))  # the same 16 bytes
    True
    """
    dtype = np.dtype(dtype)
    nbytes = max(1, size * dtype.itemsize)
    pool = _pools.get(threading.get_ident())
    if pool is None:
        pool = _pools.setdefault(threading.get_ident(), {})
    raw = pool.pop(slot, None)  # re-inserted last: the dict's order is the order of use
    if raw is None or raw.nbytes < nbytes:
        raw = np.empty(nbytes, dtype=np.uint8)
        if nbytes > KEEP_BYTES:
            return raw.view(dtype)
        held = sum(b.nbytes for b in pool.values())
        while pool and held + nbytes > KEEP_BYTES:
            held -= pool.pop(next(iter(pool))).nbytes  # the least recently used slot
    pool[slot] = raw
    return raw[:nbytes].view(dtype)


def kept_bytes() -> int:
    """Bytes of workspace :func:`scratch` keeps between calls, over all threads."""
    return sum(b.nbytes for pool in list(_pools.values()) for b in pool.values())


def release() -> int:
    """Free the workspace :func:`scratch` keeps (every thread's); return the bytes it held.

    Call it between convolutions, not during one.
    """
    held = kept_bytes()
    _pools.clear()
    return held
