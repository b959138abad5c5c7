"""Retracing and recompiling over a stream of sizes, read from TensorFlow's and PyTorch's own counters.

These pin the frameworks' behaviour the variable-sizes chapter teaches: a change in a framework
release shows up here first.
"""

from __future__ import annotations

import numpy as np
import pytest

from convlib.proof.runtime import (
    CountLog,
    check_clean,
    first_call_times,
    tf_trace_counts,
    torch_compile_counts,
)

STREAM = [(32, 32), (32, 32), (40, 48), (33, 47), (40, 48), (17, 90)]


@pytest.mark.parametrize(
    "mode, counts",
    [
        ("default", (1, 1, 2, 3, 3, 4)),  # one trace per new shape
        ("fixed", (1, 1, None, None, None, None)),  # the signature refuses every other shape
        ("none", (1, 1, 1, 1, 1, 1)),
        ("reduce_retracing", (1, 1, 2, 2, 2, 2)),  # the second shape generalises to (1, None, None, 3)
    ],
)
def test_tf_function_traces(tf, mode, counts):
    log = tf_trace_counts(STREAM, mode)
    assert log.counts == counts
    assert log.refused == sum(c is None for c in counts)


@pytest.mark.parametrize(
    "mode, counts",
    [
        ("static", (1, 1, 2, 3, 3, 4)),
        ("default", (1, 1, 2, 2, 2, 2)),  # automatic dynamic: the second shape recompiles with symbols
        # dynamic=True still specialises 32x32 to one symbol for H and W (duck sizing): 40x48 breaks it.
        ("dynamic", (1, 1, 2, 2, 2, 2)),
        ("mark_dynamic", (1, 1, 1, 1, 1, 1)),
    ],
)
def test_torch_compile_graphs(torch, mode, counts):
    log = torch_compile_counts(STREAM, mode)
    assert log.counts == counts and log.total == max(counts)


def test_marks_and_bad_arguments():
    assert CountLog("PyTorch", "static", ((8, 8),) * 3, (1, 1, 2)).marks() == "+.+"
    with pytest.raises(
        ValueError, match="mode must be one of default, fixed, none, reduce_retracing, got 'jit'"
    ):
        tf_trace_counts(STREAM, "jit")
    with pytest.raises(ValueError, match=r"at least 3x3, got \[\(2, 8\)\]"):
        torch_compile_counts([(2, 8)])
    with pytest.raises(ValueError, match="more than dynamo's recompile_limit 8"):
        torch_compile_counts([(10 + i, 10) for i in range(9)], "static")
    with pytest.raises(ValueError, match="framework must be 'pytorch' or 'tensorflow', got 'jax'"):
        first_call_times("jax", [(8, 8)])


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_first_call_times_measure_every_size(framework, tf, torch):
    times = first_call_times(framework, [(16, 16), (17, 23)], channels=4, filters=4, repeats=2)
    assert [t.size for t in times] == [(16, 16), (17, 23)]
    assert all(t.first > 0 and t.steady > 0 for t in times)


def test_check_clean_verdicts():
    from convlib.clean import clean_region
    from convlib.records import ConvSpec

    region = clean_region([ConvSpec(1, 3, padding=1)] * 2, (3, 4), (5, 6))  # rows 0..1, cols 0..2
    y = np.arange(12, dtype=np.float32).reshape(1, 3, 4)
    canvas = np.zeros((1, 5, 6), np.float32)
    canvas[:, :3, :4] = y
    canvas[:, 2, :] += 1  # the first row outside changed, the first column outside did not
    check = check_clean(region, y, canvas)
    assert check.outside == (1.0, 0.0) and not check.agree and check.line().startswith("DISAGREE")
    canvas[:, :, 3] += 1
    assert check_clean(region, y, canvas).line() == "agree: exact inside, the next row and column differ"
    canvas[0, 0, 0] += 1e-3
    assert not check_clean(region, y, canvas).agree
    flat = check_clean(clean_region([ConvSpec(1, 3)], (3, 3), (3, 3)), np.ones(1), np.ones(1))
    assert flat.agree and flat.line() == "agree: exact inside, nothing outside it"
    none = clean_region([ConvSpec(1, 3, padding=1)] * 2, (1, 1), (3, 3))  # rows and cols empty
    assert check_clean(none, np.ones((1, 1, 1)), np.ones((1, 3, 3))).line() == "no clean cell"
    rows = clean_region([ConvSpec(1, 3, padding=1)] * 2, (1, 4), (3, 6))  # no row, cols 0..2
    assert (
        check_clean(rows, np.ones((1, 1, 4)), np.zeros((1, 3, 6))).line()
        == "no clean row; the first row differs"
    )
