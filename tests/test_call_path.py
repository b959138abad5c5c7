"""A reader's everyday call stays short: benchmarks/call_path.py's counts, within the issue's bounds."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[1] / "benchmarks" / "call_path.py"
# Validation and geometry: every conv2d call goes through them, whichever engine runs.
CHECKS = ("convlib/padding.py", "convlib/layout.py", "convlib/shapes/")


def _profile(algorithm):
    """``(functions, lines, {file: (functions, lines)})`` printed by the tool for one call."""
    out = subprocess.run(
        [sys.executable, str(TOOL), algorithm], capture_output=True, text=True, check=True
    ).stdout
    total = re.match(r'conv2d\(\.\.\., algorithm="\w+"\): (\d+) functions, (\d+) lines', out)
    files = re.findall(r"^  (\S+): (\d+) functions, (\d+) lines$", out, re.M)
    return int(total[1]), int(total[2]), {f: (int(n), int(k)) for f, n, k in files}


@pytest.fixture(scope="module")
def im2col():
    return _profile("im2col")


def test_reference_call_outside_the_checks(im2col):
    # conv2d itself and the reference engine: the part of the path that conv.py and engines/ own.
    _, _, files = im2col
    own = {f: v for f, v in files.items() if not f.startswith(CHECKS)}
    assert set(own) <= {
        "convlib/conv.py",
        *(f"convlib/engines/{m}.py" for m in ("__init__", "im2col", "windows")),
    }
    assert sum(n for n, _ in own.values()) <= 6 and sum(k for _, k in own.values()) <= 200, files


def test_reference_call_within_the_issue_bounds(im2col):
    # 19 functions and 445 lines when this was first met (48 and 1,052 on a1e4342).
    functions, lines, files = im2col
    assert functions <= 20 and lines <= 450, files


def test_auto_call_is_counted():
    functions, lines, files = _profile("auto")
    assert any(f.startswith("convlib/fast/") for f in files), files  # auto runs the fast room
    assert functions > 0 and lines > 0
