"""``pip install .`` as a user runs it: the package pyproject.toml builds works away from the source tree.

The install goes into a temporary folder (no dependencies, no build isolation: this venv's pinned
setuptools builds it, so no network is needed), and everything is then run from another folder with
that folder first on the path: the ``convlib`` console script, the version from the one source
(``convlib/_version.py``), the licence metadata, the ``fast`` extra, and a convolution computed by
the installed copy rather than by this checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_VERSION_FILE: dict = {}
exec((ROOT / "convlib" / "_version.py").read_text(), _VERSION_FILE)
VERSION = _VERSION_FILE["__version__"]

CHECK = """
import importlib.metadata as md, sys
import numpy as np
import convlib
assert convlib.__file__.startswith(sys.argv[1]), convlib.__file__
meta = md.metadata("convlib")
print(meta["Version"], meta["License-Expression"], sorted(meta.get_all("Provides-Extra")))
print([e.value for e in md.entry_points(group="console_scripts", name="convlib")])
print(convlib.conv2d(np.ones((1, 5, 5, 2)), np.ones((3, 3, 1, 4)), groups=2, algorithm="im2col").shape)
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    # A copy of what the build reads, so that the build's own folders stay out of the checkout.
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source)
    shutil.copytree(ROOT / "convlib", source / "convlib", ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path_factory.mktemp("elsewhere"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return target


def _run(installed: Path, *argv: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(installed)}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=installed.parent, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_installed_package_has_its_metadata_and_computes(installed):
    out = _run(installed, sys.executable, "-c", CHECK, str(installed / "convlib")).splitlines()
    assert out[0] == f"{VERSION} MIT ['fast', 'frameworks', 'torch']"
    assert out[1] == "['convlib.__main__:main']"
    assert out[2] == "(1, 3, 3, 4)"
    assert (installed / f"convlib-{VERSION}.dist-info" / "licenses" / "LICENSE").is_file()


def test_the_console_script_runs(installed):
    script = str(installed / "bin" / "convlib")
    assert _run(installed, script, "--version").strip() == f"convlib {VERSION}"
    shape = _run(
        installed, script, "shape", "--input", "10x11", "--kernel", "3", "--stride", "2", "--padding", "same"
    )
    assert shape.splitlines()[1].split() == ["output", "5x6"]
