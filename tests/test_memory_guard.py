"""The size guard compares with what this process may allocate, not only with physical memory.

Each case runs in a child process whose address space is limited to 4 GiB (``ulimit -v
4194304``, ``RLIMIT_AS``): a padding that would need more must be refused with a ValueError that
names the padding and the sizes, before NumPy's allocator is reached; a large call that fits must
still run.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

resource = pytest.importorskip("resource")

LIMIT = 4 << 30

CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
import numpy as np
import convlib
try:
    y = {call}
except ValueError as exc:
    print("ValueError:", exc)
    sys.exit(0)
except MemoryError as exc:
    print("MemoryError:", exc)
    sys.exit(0)
print("ran", y.shape)
"""


def _child(call: str) -> str:
    code = textwrap.dedent(CHILD).format(limit=LIMIT, call=call)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_huge_explicit_pad_is_refused_under_an_address_space_limit():
    out = _child(
        "convlib.conv2d(np.zeros((1, 5, 5, 1)), np.ones((3, 3, 1, 1)), padding=((0, 10**9), (0, 0)))"
    )
    assert out.startswith("ValueError: padding=((0, 1000000000), (0, 0)) makes the "), out
    assert "(1, 1000000005, 5, 1)" in out or "(1, 1000000003, 3, 1)" in out, out
    assert "GiB this process may allocate" in out, out


def test_large_call_that_fits_still_runs_under_the_limit():
    # A 256 MiB float64 output (from a 64 MiB input) fits in 4 GiB of address space.
    out = _child("convlib.conv2d(np.zeros((1, 4096, 1024, 2)), np.ones((1, 1, 2, 8)))")
    assert out == "ran (1, 4096, 1024, 8)", out


def test_arrays_that_fit_alone_but_not_together_are_refused():
    # The padded input (2.2 GiB), the output (0.75 GiB) and the compiled engines' int64 index maps
    # (1.5 GiB) each fit in 4 GiB; together they do not. The guard used to check each array alone,
    # and a fuzz run killed a test worker that grew to 22 GiB (the index maps were never counted).
    pads = "((2 * 10**8, 0), (0, 0))"
    out = _child(f"convlib.conv2d(np.ones((1, 3, 3, 1), 'f'), np.ones((3, 3, 1, 1), 'f'), padding={pads})")
    assert out.startswith("ValueError: padding=((200000000, 0), (0, 0)) makes the padded input "), out
    assert "the output (1, 200000001, 1, 1)" in out and "index maps (200000006,)" in out, out
    assert "GiB together, more than the" in out, out


def test_a_stride_past_the_input_allocates_nothing_stride_sized():
    # A grouped layer at stride 10**9 has one output; the engine chosen for it used to build index
    # maps as long as the stride (7.5 GiB, a MemoryError here), found by test_fuzz.
    out = _child(
        "convlib.conv2d(np.ones((1, 1, 4), 'e'), np.ones((1, 1, 2, 2), 'e'), stride=10**9, groups=2)"
    )
    assert out == "ran (1, 1, 2)", out


def test_memory_limit_follows_the_resource_limit():
    code = textwrap.dedent(
        f"""
        import resource
        from convlib.shapes.memory import memory_limit_bytes
        before = memory_limit_bytes()
        resource.setrlimit(resource.RLIMIT_AS, ({LIMIT}, {LIMIT}))
        after = memory_limit_bytes()
        print(before > after, 0 < after < {LIMIT})
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["True", "True"], done.stdout + done.stderr
