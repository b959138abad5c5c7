"""README.md as a newcomer pastes it: every Python block runs, every shell command is accounted for.

Each ```python block runs as written in a fresh interpreter (this test's, the .venv's) from the
project root. Each line of a ```bash block is run when it is cheap (the command line, ``make
help``), checked without its long work otherwise (``make -n`` for a target, ``--collect-only`` for
pytest, ``--help`` for a script), and only the two install lines that would download from
PyTorch's index or replace the .venv are left out, by name. A new command in the README that
none of these rules covers fails the test, so nothing in it goes untried by omission.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # run first: see conftest.py
ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent

# Install lines that cannot run here: one downloads from PyTorch's own index, one would replace .venv.
NOT_RUN = {
    "python3 -m venv .venv": "would replace the .venv this test runs in",
    ".venv/bin/python -m pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu": (
        "downloads from PyTorch's index"
    ),
}


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.S | re.M)


def _commands() -> list[str]:
    lines = (line.split("#")[0].strip() for block in _blocks("bash") for line in block.splitlines())
    return [line for line in lines if line]


def _run(argv: list[str], timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def _how(command: str) -> list[str] | None:
    """The argv that tries ``command`` here, or None for the lines in NOT_RUN."""
    if command in NOT_RUN:
        return None
    argv = shlex.split(command)
    if argv[0].startswith(".venv/bin/"):  # the same tools, from the venv that runs this test
        argv[0] = str(BIN / argv[0].removeprefix(".venv/bin/"))
    if argv[0] == "make":
        return argv if argv[1:] == ["help"] else ["make", "-n", *argv[1:]]
    if Path(argv[0]).name == "convlib":
        return argv
    if argv[1:4] == ["-m", "pytest", "--nbval"]:
        return [*argv, "--collect-only", "-q", "-p", "no:randomly"]
    if len(argv) == 2 and argv[1].endswith(".py"):
        return [*argv, "--help"]
    raise AssertionError(f"README command with no rule in tests/test_readme.py: {command!r}")


def test_the_readme_has_what_a_newcomer_runs():
    assert len(_blocks("python")) >= 3
    commands = _commands()
    assert {"make book", "make test"} <= set(commands)
    assert set(NOT_RUN) <= set(commands), "NOT_RUN names a line the README no longer has"
    assert any(c.startswith(".venv/bin/convlib trace") for c in commands)


@pytest.mark.parametrize("index", range(len(_blocks("python"))))
def test_python_block_runs_as_written(index):
    code = _blocks("python")[index]
    done = _run([sys.executable, "-c", code])
    assert done.returncode == 0, f"README python block {index} failed:\n{code}\n{done.stderr[-3000:]}"
    assert done.stdout.strip(), f"README python block {index} printed nothing"


@pytest.mark.parametrize("command", _commands())
def test_bash_command_works(command):
    argv = _how(command)
    if argv is None:
        pytest.skip(NOT_RUN[command])
    done = _run(argv)
    tail = done.stdout[-2000:] + done.stderr[-2000:]
    assert done.returncode == 0, f"{command!r} ({shlex.join(argv)}) failed:\n{tail}"
    assert done.stdout.strip(), f"{command!r} printed nothing"
