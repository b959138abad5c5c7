"""The quiet TensorFlow import that keeps nbval's stderr comparison meaningful."""

import re

from convlib.proof.frameworks import import_stderr, quiet_stderr


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
