"""How much of convlib one plain call walks through: functions, source lines and files.

``python benchmarks/call_path.py [algorithm ...]`` (default: ``im2col auto``)

Profiles ``conv2d(x, w, padding="same", algorithm=...)`` on a 1x8x8x3 input with a 3x3x3x4
kernel, once for the reference ``"im2col"`` engine and once for the default ``"auto"``, with
:func:`sys.setprofile`, and counts the distinct convlib functions entered and their source
lines (:func:`inspect.getsourcelines`, docstrings included), file by file. A warm-up call
runs first, so caches and lazy imports are not counted as the call's path.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

import convlib
from convlib import conv2d

ROOT = Path(convlib.__file__).resolve().parent


def call_path(algorithm: str) -> dict[str, dict[str, range]]:
    """``{file: {function: its source lines}}`` of the convlib functions one call enters.

    Comprehensions, generator expressions and lambdas count as part of the function that holds
    them; a nested function counts as a function, its lines once (inside its parent's).
    """
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 8, 8, 3)), rng.standard_normal((3, 3, 3, 4))
    conv2d(rng.standard_normal((1, 7, 7, 3)), w, padding="same", algorithm=algorithm)  # imports
    codes = set()

    def profile(frame, event, arg):
        code = frame.f_code
        if event == "call" and code.co_filename.startswith(str(ROOT)) and not code.co_name.startswith("<"):
            codes.add(code)

    sys.setprofile(profile)
    try:
        conv2d(x, w, padding="same", algorithm=algorithm)
    finally:
        sys.setprofile(None)
    files: dict[str, dict[str, range]] = defaultdict(dict)
    for code in codes:
        lines, first = inspect.getsourcelines(code)
        rel = str(Path(code.co_filename).resolve().relative_to(ROOT.parent))
        files[rel][code.co_qualname] = range(first, first + len(lines))
    return dict(files)


def lines_of(funcs: dict[str, range]) -> int:
    """Distinct source lines of one file's functions (a nested function's lines counted once)."""
    return len(set().union(*funcs.values()))


def totals(files: dict[str, dict[str, range]]) -> tuple[int, int, int]:
    """(functions, source lines, files)."""
    return sum(map(len, files.values())), sum(map(lines_of, files.values())), len(files)


def report(algorithm: str) -> str:
    files = call_path(algorithm)
    n, lines, nfiles = totals(files)
    out = [f'conv2d(..., algorithm="{algorithm}"): {n} functions, {lines} lines, {nfiles} files']
    for name, funcs in sorted(files.items(), key=lambda kv: -lines_of(kv[1])):
        out.append(f"  {name}: {len(funcs)} functions, {lines_of(funcs)} lines")
        out.extend(f"      {q} ({len(r)})" for q, r in sorted(funcs.items()))
    return "\n".join(out)


if __name__ == "__main__":
    names = sys.argv[1:] or ["im2col", "auto"]
    if len(names) == 1:
        print(report(names[0]))
    else:
        for name in names:
            subprocess.run([sys.executable, __file__, name], check=True)
