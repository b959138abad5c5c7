"""The memory guard: refuse an array that this process could not allocate, before allocating it.

The limit is this machine's physical memory, or less where the process's resource limits
(``ulimit -v``, ``ulimit -d``) leave less room. The validators of :mod:`convlib.shapes.checks` call
:func:`check_allocation` for every large array a call will make.
"""

from __future__ import annotations

import math
import os

try:
    import resource
except ImportError:  # not on a POSIX system: physical memory is the only limit
    resource = None

__all__ = ["check_allocation", "memory_limit_bytes"]

# Below this many bytes an array is allowed without asking the system (one page-table walk of
# /proc costs more than a small layer); the hostile-size tests allow 16 MiB before a refusal.
_ALWAYS_FITS = 1 << 24


def memory_limit_bytes() -> int:
    """The most one array may take, in bytes.

    This machine's physical memory, or less where the process's resource limits (``RLIMIT_AS``,
    ``RLIMIT_DATA``) leave less room, less what the process already uses of them (read from
    ``/proc/self/statm`` where it exists).

    Returns
    -------
    int

    Examples
    --------
    >>> memory_limit_bytes() > 0
    True
    """
    try:
        limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not on a POSIX system: assume a generous 64 GiB
        limit = 64 << 30
    if resource is None:
        return limit
    for kind, field in ((resource.RLIMIT_AS, 0), (resource.RLIMIT_DATA, 5)):
        soft = resource.getrlimit(kind)[0]
        if soft != resource.RLIM_INFINITY:
            limit = min(limit, soft - _used_bytes(field))
    return max(limit, 0)


def _used_bytes(field: int) -> int:
    """Field ``field`` of ``/proc/self/statm`` in bytes (0: address space, 5: data and stack); 0
    where there is no such file."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[field]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def check_allocation(*arrays, blame) -> None:
    """Refuse ``arrays`` (``(what, shape, itemsize)`` each) that together exceed :func:`memory_limit_bytes`.

    The arrays one call holds at once are summed; ``blame`` names the argument that made them so
    large (or is a function returning that string, called only to word a refusal).

    >>> check_allocation(("the input", (1, 10**9, 10**9, 3), 4), blame="padding=10**9")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: padding=10**9 makes the input (1, 1000000000, 1000000000, 3) need ... GiB, ...
    """
    nbytes = sum(math.prod(map(int, shape)) * int(itemsize) for _, shape, itemsize in arrays)
    limit = memory_limit_bytes() if nbytes > _ALWAYS_FITS else nbytes
    if nbytes > limit:
        named = " and ".join(f"{what} {tuple(map(int, shape))}" for what, shape, _ in arrays)
        raise ValueError(
            f"{blame() if callable(blame) else blame} makes {named} need {nbytes / 2**30:,.1f} GiB"
            f"{' together' if len(arrays) > 1 else ''}, more than the {limit / 2**30:,.1f} GiB this "
            "process may allocate (physical memory and resource limits)"
        )
