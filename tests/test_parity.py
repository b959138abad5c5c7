"""Error parity: convlib refuses every invalid class with a ValueError/TypeError at least as
specific as the better of TensorFlow's and PyTorch's messages."""

import re

import pytest

from convlib.proof.parity import cases, numbers_in, parity, parity_table

ROWS = {row["class"]: row for row in parity()}
CASES = {c.name: c for c in cases()}


def test_at_least_fifteen_classes():
    assert len(ROWS) >= 15


@pytest.mark.parametrize("name", sorted(CASES))
def test_convlib_message_names_parameter_and_sizes(name):
    msg = ROWS[name]["convlib"]
    assert re.match(r"(ValueError|TypeError): ", msg), msg
    for part in CASES[name].names:
        assert part in msg, f"{name}: {part!r} missing from {msg!r}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_convlib_names_every_size_a_framework_names(name):
    # "At least as specific": every size of the request that either framework's message
    # names appears in convlib's message too.
    c, row = CASES[name], ROWS[name]
    theirs = numbers_in(row["TensorFlow"], c.numbers) | numbers_in(row["PyTorch"], c.numbers)
    assert theirs <= numbers_in(row["convlib"], c.numbers), (name, row)


def test_frameworks_refuse_what_convlib_refuses_except_documented():
    # Where a framework returns an array for an invalid request, the table must say so; the
    # known cases are listed so that a new silent acceptance fails here.
    silent = {(n, fw) for n, row in ROWS.items() for fw in ("TensorFlow", "PyTorch") if "returns" in row[fw]}
    assert silent == {
        ("kernel one larger than input (empty output)", "TensorFlow"),  # returns the input's shape
        ("fractional stride", "TensorFlow"),  # truncates 1.5 to 1
        ("dtype mismatch", "TensorFlow"),  # converts the kernel silently
        ("integer input", "TensorFlow"),  # integer conv is defined in both; convlib is float-only
        ("integer input", "PyTorch"),
    }, silent


def test_table_renders_every_class():
    text = parity_table(list(ROWS.values()))
    assert all(name in text for name in ROWS) and "{{function_node" not in text
