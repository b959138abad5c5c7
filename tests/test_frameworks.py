"""The quiet TensorFlow import that keeps nbval's stderr comparison meaningful."""

import re

import pytest

from convlib.proof.frameworks import import_stderr, quiet_stderr

pytestmark = pytest.mark.slow  # run first: see conftest.py


def test_plain_import_writes_a_time_stamped_notice():
    lines = import_stderr(quiet=False)
    assert any("oneDNN" in line for line in lines), lines
    assert any(re.search(r"\d{6,}\.\d+", line) for line in lines), "expected a time stamp"


def test_load_tf_import_is_silent():
    assert import_stderr(quiet=True) == []


def test_quiet_stderr_restores_descriptor(capfd):
    import os

    with quiet_stderr():
        os.write(2, b"hidden\n")
    os.write(2, b"shown\n")
    assert capfd.readouterr().err == "shown\n"


def test_triton_is_imported_before_tensorflow(tmp_path):
    # PyTorch's CUDA wheels bring Triton, which segfaults when loaded after TensorFlow (seen with
    # Python 3.12 and torch 2.13.0 from PyPI). Stand-ins for both record the order of the imports.
    import os
    import subprocess
    import sys

    for name, first in (("triton", "tensorflow"), ("tensorflow", "triton")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(
            f"import logging, sys\nAFTER = {first!r} in sys.modules\nget_logger = logging.getLogger\n"
        )
    code = "import sys; from convlib.proof.frameworks import load_tf; print(load_tf().AFTER)"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.stdout.strip() == "True", done.stdout + done.stderr[-2000:]  # TensorFlow came second
