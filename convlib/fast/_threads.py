"""Both cores: the engines' blocks split across worker threads, each with BLAS at one thread.

NumPy releases the GIL inside matrix products, copies and elementwise loops, so two Python
threads each running its own share of the blocks keep two cores busy, with the gathers,
transforms and padding in parallel too (with BLAS threading only the products would be).
Measured on the benchmark machine while preparing issue 15: two threads each running twenty
4096x576 @ 576x64 float32 products took 47.2 ms for both jobs, the time of one alone;
preallocated elementwise ops gave 1.36-1.4x the one-thread throughput, while allocating a
fresh 32 MB array per op on two threads was 4x slower (page faults). So every worker keeps its
own buffers for the whole call, and the blocks are dealt out in contiguous runs.

``set_threads(n)`` with ``n > 1`` also limits NumPy's BLAS to one thread (through threadpoolctl)
so that the workers do not oversubscribe the cores; ``set_threads(1)`` gives BLAS back the
count it had.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from ..padding import check_positive_int

__all__ = ["get_threads", "set_threads", "run_split"]

_state = {"threads": 1, "pool": None, "limiter": None}


def get_threads() -> int:
    """Worker threads the engines use (1 unless :func:`set_threads` said otherwise)."""
    return _state["threads"]


def set_threads(threads: int) -> int:
    """Let the engines use ``threads`` threads (the caller and ``threads - 1`` workers); return the old count.

    Raises
    ------
    ValueError
        Unless ``threads`` is a positive integer.

    Examples
    --------
    >>> old = set_threads(1)
    >>> get_threads()
    1
    """
    threads = check_positive_int(threads, "threads")
    old = _state["threads"]
    if threads == old:
        return old
    if _state["pool"] is not None:
        _state["pool"].shutdown()
        _state["pool"] = None
    if _state["limiter"] is not None:
        _state["limiter"].restore_original_limits()
        _state["limiter"] = None
    if threads > 1:
        from threadpoolctl import threadpool_limits

        _state["limiter"] = threadpool_limits(limits=1, user_api="blas")
        _state["pool"] = ThreadPoolExecutor(max_workers=threads - 1, thread_name_prefix="convlib")
    _state["threads"] = threads
    return old


def split(items: Sequence, parts: int) -> list[Sequence]:
    """``items`` cut into at most ``parts`` contiguous, non-empty runs of near-equal length.

    Examples
    --------
    >>> split([1, 2, 3, 4, 5], 2)
    [[1, 2, 3], [4, 5]]
    """
    if not items:
        return []
    parts = max(1, min(parts, len(items)))
    q, extra = divmod(len(items), parts)
    out, i = [], 0
    for p in range(parts):
        j = i + q + (p < extra)
        out.append(items[i:j])
        i = j
    return out


def run_split(work: Callable[[Sequence], None], items: Sequence) -> None:
    """Call ``work(run)`` on each contiguous run of ``items``, one run per thread.

    The calling thread runs the first run; the others go to the ``threads - 1`` pool threads.

    ``work`` writes its results into preallocated outputs (disjoint slices per run) and
    keeps its buffers for the whole run. With one thread, or one item, it runs inline.
    """
    runs = split(list(items), get_threads())
    if len(runs) <= 1 or _state["pool"] is None:
        for r in runs:
            work(r)
        return
    # The calling thread takes the first run itself: one hand-off fewer, and no thread idles
    # waiting (on MobileNetV2's 112x112x32 depthwise layer, batch 1, submitting both runs made
    # two threads 0.58x as fast as one).
    futures = [_state["pool"].submit(work, r) for r in runs[1:]]
    try:
        work(runs[0])
    finally:
        for f in futures:
            f.result()  # re-raises a worker's exception here
