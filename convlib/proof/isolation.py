"""Calls run in a forked child, so that whatever they do to their process stays there.

Some requests kill TensorFlow's process instead of raising (a failed C++ ``CHECK`` aborts,
an integer division by zero raises SIGFPE), and one corrupts the heap so that glibc aborts
thousands of calls later. The error-parity table and the verification matrix try such
calls in a child: the caller survives to record how the child ended.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import time
import warnings

__all__ = ["run_in_child", "signal_in_child"]


def _read_all(fd: int, timeout: float) -> bytes | None:
    """Everything written to ``fd`` until the writer closes it; None if ``timeout`` ran out first."""
    chunks, deadline = [], time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _child(fn, w: int, quiet: bool) -> None:
    """In the child: call ``fn``, send how it ended down ``w`` as JSON, leave with no cleanup."""
    import faulthandler

    from .frameworks import quiet_stderr

    try:
        faulthandler.disable()  # pytest's handler would print the child's abort as a crash
        with quiet_stderr() if quiet else contextlib.nullcontext():  # or the abort's stack trace
            try:
                data = json.dumps(["returned", fn()])
            except Exception as exc:  # a refusal (or an unserialisable result) is a result too
                data = json.dumps(["raised", f"{type(exc).__name__}: {exc}"])
        payload = data.encode()
        for i in range(0, len(payload), 1 << 16):
            os.write(w, payload[i : i + (1 << 16)])
    finally:
        os._exit(0)


def run_in_child(fn, *, timeout: float = 120.0, quiet: bool = False) -> tuple:
    """Call ``fn()`` in a forked child; how it ended.

    Parameters
    ----------
    fn : callable
        Takes no argument; its result must be JSON-serialisable (lists come back for tuples).
    timeout : float
        Seconds the child may take before it counts as hung.
    quiet : bool
        Silence the child's file descriptor 2 (an abort's C++ stack trace would otherwise
        reach a notebook's stderr).

    Returns
    -------
    tuple
        ``("returned", value)``, ``("raised", "Type: message")`` or ``("signal", number)``.

    Raises
    ------
    RuntimeError
        If the child hung three times. A child forked while another library's thread pool
        held a lock can deadlock before it starts: that is the fork's fault, not the call's,
        so a hung child is killed and forked again first.

    Examples
    --------
    >>> run_in_child(lambda: [1, 2])
    ('returned', [1, 2])
    >>> run_in_child(lambda: 1 // 0)
    ('raised', 'ZeroDivisionError: integer division or modulo by zero')
    """
    for _attempt in range(3):
        r, w = os.pipe()
        with warnings.catch_warnings():  # Python 3.12+ warns that this fork may deadlock: see Raises
            warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
            pid = os.fork()
        if pid == 0:
            os.close(r)
            _child(fn, w, quiet)
        os.close(w)
        data = _read_all(r, timeout)
        os.close(r)
        if data is None:  # hung: kill it and fork again
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            continue
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            return ("signal", os.WTERMSIG(status))
        return tuple(json.loads(data))
    raise RuntimeError("a forked child hung three times; the call could not be tried safely")


def signal_in_child(fn) -> int | None:
    """Call ``fn()`` in a forked child; the signal that killed it, or None if it returned or raised.

    Only call TensorFlow in ``fn``: a fork after PyTorch has used its thread pool can deadlock
    (the child then counts as hung after 5 s and is forked again).

    Examples
    --------
    >>> import os, signal
    >>> signal_in_child(lambda: os.kill(os.getpid(), signal.SIGFPE)) == signal.SIGFPE
    True
    """
    kind, value = run_in_child(lambda: (fn(), None)[1], timeout=5.0, quiet=True)
    return value if kind == "signal" else None
