"""Error parity: convlib refuses every invalid class with a ValueError at least as specific as the
better of TensorFlow's and PyTorch's messages.

Both frameworks run in session fixtures, not at import: collecting this file costs nothing. Each
test goes through every class and names all the classes that fail it.
"""

import re

import pytest

from convlib.proof.parity import cases, numbers_in, parity, parity_table


@pytest.fixture(scope="session")
def rows():
    """Each class's three messages (one child process runs TensorFlow, PyTorch and convlib)."""
    return {row["class"]: row for row in parity()}


@pytest.fixture(scope="session")
def classes():
    return {c.name: c for c in cases()}


def test_every_class_has_a_row(rows, classes):
    assert len(rows) >= 15
    assert set(rows) == set(classes)


def test_convlib_message_names_parameter_and_sizes(rows, classes):
    wrong = {}
    for name, case in classes.items():
        msg = rows[name]["convlib"]
        missing = [part for part in case.names if part not in msg]
        if not re.match(r"ValueError: ", msg) or missing:
            wrong[name] = (msg, missing)
    assert not wrong, wrong


def test_convlib_names_every_size_a_framework_names(rows, classes):
    # "At least as specific": every size of the request that either framework's message
    # names appears in convlib's message too.
    wrong = {}
    for name, case in classes.items():
        row = rows[name]
        theirs = numbers_in(row["TensorFlow"], case.numbers) | numbers_in(row["PyTorch"], case.numbers)
        if not theirs <= numbers_in(row["convlib"], case.numbers):
            wrong[name] = row
    assert not wrong, wrong


def test_frameworks_refuse_what_convlib_refuses_except_documented(rows):
    # Where a framework returns an array for an invalid request, the table must say so; the
    # known cases are listed so that a new silent acceptance fails here.
    silent = {(n, fw) for n, row in rows.items() for fw in ("TensorFlow", "PyTorch") if "returns" in row[fw]}
    assert silent == {
        ("kernel one larger than input (empty output)", "TensorFlow"),  # returns the input's shape
        ("fractional stride", "TensorFlow"),  # truncates 1.5 to 1
        ("dtype mismatch", "TensorFlow"),  # converts the kernel silently
        ("integer input", "TensorFlow"),  # integer conv is defined in both; convlib is float-only
        ("integer input", "PyTorch"),
    }, silent


def test_table_renders_every_class(rows):
    text = parity_table(list(rows.values()))
    assert all(name in text for name in rows) and "{{function_node" not in text
