"""Running the matrix: each configuration through the frameworks, classified, counted."""

from __future__ import annotations

import json
import sys
import textwrap
import time

import numpy as np

from .cases import OPS, Case, configurations
from .defects import simd_level
from .reasons import _reason, classify


# --------------------------------------------------------------------------- running
def check_case(case: Case, tf_signal: int | None = None) -> dict:
    """Run one case through :mod:`convlib.proof.crosscheck`: ``{part: Report}`` (one, or three gradients).

    ``tf_signal``, for a pooling case whose literal TensorFlow call killed its process with that
    signal: TensorFlow is not called again and its outcome is the signal (see :func:`_pool_report`).
    A backward case whose forward convlib refuses is checked as its forward conv2d: there is
    no ``grad_out`` shape to give, and the refusal is the forward's.
    """
    from ...layout import to_channels_last
    from ...padding import apply_padding
    from ...shapes import check_conv_shapes
    from .. import crosscheck as cc

    x, w = case.arrays()
    kw = dict(case.kwargs)
    if case.op == "conv2d":
        return {"y": cc.crosscheck_conv2d(x, w, **kw)}
    if case.op == "conv_transpose2d":
        return {"y": cc.crosscheck_conv_transpose2d(x, w, **kw)}
    if case.op in ("max_pool2d", "avg_pool2d"):
        kw.pop("count_include_pad" if case.op == "max_pool2d" else "dilation", None)
        return {"y": _pool_report(case.op[:3], x, kw, tf_signal)}
    mode = kw.pop("padding_mode", "zeros")
    try:
        geo = check_conv_shapes(x.shape, w.shape, **kw)
        apply_padding(to_channels_last(x, geo.data_format), geo.pads, mode)
    except ValueError:
        return {"forward": cc.crosscheck_conv2d(x, w, padding_mode=mode, **kw)}
    g = np.random.default_rng(case.seed + 1).standard_normal(geo.output_shape).astype(case.dtype)
    return cc.crosscheck_backward(x, w, g, padding_mode=mode, **kw)


def _pool_report(kind: str, x, kw: dict, tf_signal: int | None = None):
    """The pooling cross-check, with every library's own answer where convlib refuses "valid".

    The cross-check sends a padding word convlib refuses to TensorFlow only (the words are
    TensorFlow's); PyTorch, never called, would be silently missing from the record. "valid" is
    padding 0, so PyTorch is asked the same request literally as ``padding=0``. Where TensorFlow's
    literal call killed its process (``tf_signal``), it is not called again, and its outcome is
    that signal next to convlib's and PyTorch's answers.
    """
    import signal

    from .. import crosscheck as cc
    from ..crosscheck.report import Outcome, Report

    valid = isinstance(kw["padding"], str) and kw["padding"].lower() == "valid"
    if tf_signal is None:
        rep = cc.crosscheck_pool2d(kind, x, **kw)
        if not (valid and rep.reference.refused):
            return rep
    lit = cc.crosscheck_pool2d(kind, x, **{**kw, "padding": 0})
    torch_o = next(o for o in lit.others if o.framework == "PyTorch")
    if tf_signal is None:
        tf_o = next(o for o in rep.others if o.framework == "TensorFlow")
    else:
        killed = f"killed by signal {tf_signal} ({signal.Signals(tf_signal).name})"
        tf_o = Outcome("TensorFlow", error=killed, how=f"tf.nn.{kind}_pool2d(x, ..., 'VALID')")
    return Report(lit.reference, [tf_o, torch_o], lit.tol, pads=lit.pads)


def _convlib_refuses(case: Case) -> bool:
    """Whether convlib itself refuses ``case`` (cheap: no framework involved)."""
    from ...layout import to_channels_last
    from ...padding import apply_padding
    from ...shapes import check_conv_shapes, check_pool_shape, check_transpose_shapes

    x, w = case.arrays()
    kw = dict(case.kwargs)
    try:
        fmt = kw.get("data_format", "NHWC")
        if case.op == "conv_transpose2d":
            keys = ("stride", "padding", "output_padding", "dilation", "groups", "data_format")
            check_transpose_shapes(x.shape, w.shape, **{k: kw[k] for k in keys if k in kw})
        elif case.op in ("max_pool2d", "avg_pool2d"):
            keys = ("pool_size", "strides", "padding")
            check_pool_shape(
                x.shape,
                *(kw[k] for k in keys),
                dilation=kw.get("dilation", 1),
                ceil_mode=kw["ceil_mode"],
                data_format=fmt,
            )
        else:
            mode = kw.pop("padding_mode", "zeros")
            apply_padding(to_channels_last(x, fmt), check_conv_shapes(x.shape, w.shape, **kw).pads, mode)
    except (ValueError, TypeError):
        return True
    return False


def _tf_pool_crashes(case: Case) -> int | None:
    """The signal that kills a process running TensorFlow's pooling on ``case`` literally, else None.

    ``tf.nn.max_pool2d`` with a window larger than the input under "VALID" (and ``tf.nn.pool``
    with a dilated window larger than it) can die with SIGFPE (an integer division by zero)
    instead of raising, which would end the whole verifier; so the literal TF call is first tried
    in a forked child of the isolated worker.
    """
    from ..frameworks import load_tf
    from ..isolation import signal_in_child

    tf, kw = load_tf(), case.kwargs
    if not (isinstance(kw["padding"], str) and kw["padding"].lower() == "valid"):
        return None
    x = np.zeros(case.x_shape if kw["data_format"] == "NHWC" else np.take(case.x_shape, (0, 2, 3, 1)), "f4")
    op = tf.nn.max_pool2d if case.op == "max_pool2d" else tf.nn.avg_pool2d
    strides = kw["pool_size"] if kw["strides"] is None else kw["strides"]
    dilation = kw.get("dilation", 1)
    if case.op == "max_pool2d" and dilation not in (1, (1, 1)):
        # The cross-check runs dilated max pooling (stride 1) as tf.nn.pool with dilations, whose
        # kernel divides by zero the same way when the dilated window is wider than the input.
        from ...padding import normalize_pair

        window, step, rate = (normalize_pair(v, "pool") for v in (kw["pool_size"], strides, dilation))
        return signal_in_child(
            lambda: tf.nn.pool(x, window, "MAX", strides=step, padding="VALID", dilations=rate)
        )
    return signal_in_child(lambda: op(x, kw["pool_size"], strides, "VALID"))


def _killed(sig: int, who: str) -> dict:
    import signal

    return dict(kind="refused", who=who, reason=_reason(f"{who}: killed by signal"), max_diff=None,
                errors={who: f"killed by signal {sig} ({signal.Signals(sig).name})"})  # fmt: skip


def _isolated_worker(payload: list[dict]) -> None:
    """The worker of :func:`run_isolated`: one JSON result line per case on stdout.

    The frameworks are imported here but run only in forked children, so no thread pool
    of theirs is busy when the next child is forked.
    """
    from ..frameworks import load_tf, load_torch
    from ..isolation import run_in_child

    load_tf(), load_torch()
    for d in payload:
        case = Case.from_json(d)
        sig = _tf_pool_crashes(case) if case.op in ("max_pool2d", "avg_pool2d") else None
        # Where TensorFlow killed its child, convlib and PyTorch are still asked (another child).
        kind, got = run_in_child(lambda case=case, sig=sig: _classified(case, tf_signal=sig))
        if kind == "signal":  # the child died: which library killed it is not known
            got = _killed(got, "TensorFlow or PyTorch")
        elif kind == "raised":  # a defect of the verifier itself: stop, saying where
            raise RuntimeError(f"checking {case} raised {got}")
        print(json.dumps(got), flush=True)


def run_isolated(cases: list[Case]) -> list[dict]:
    """:func:`run_case` for cases convlib refuses, each in a forked child of a fresh worker.

    Such requests reach the frameworks' least tested paths: ``tf.nn.conv2d`` returns an
    uninitialised tensor of the input's shape where no window fits, and ``tf.nn.max_pool2d``
    with a window wider than the input dies with SIGFPE. Whatever such a path does to its
    process, it does it to a child. (The heap corruption that first ended the full run came
    from a valid request instead, TF's strided 1x1 gradient: see :mod:`.defects`.)
    """
    import subprocess

    if not cases:
        return []
    payload = json.dumps([c.to_json() for c in cases])
    done = subprocess.run([sys.executable, "-m", "convlib.proof.verify", "--isolated"], input=payload,
                          capture_output=True, text=True, check=True)  # fmt: skip
    return [json.loads(line) for line in done.stdout.splitlines()[-len(cases) :]]


def run_cases(cases: list[Case], progress=None) -> list[dict]:
    """Check and classify each case: in this process, or isolated where convlib refuses it.

    ``progress``, if given, is called with a line of text after the isolated cases and every
    500 cases after them.
    """
    start = time.perf_counter()
    refused = [i for i, c in enumerate(cases) if _convlib_refuses(c)]
    isolated = dict(zip(refused, run_isolated([cases[i] for i in refused])))
    if progress:
        progress(f"{len(refused)} refused configurations, isolated, in {time.perf_counter() - start:.0f} s")
    results = []
    for i, case in enumerate(cases):
        results.append(isolated[i] if i in isolated else _classified(case))
        if progress and (i + 1) % 500 == 0:
            progress(f"{i + 1}/{len(cases)} in {time.perf_counter() - start:.0f} s")
    return results


def _classified(case: Case, tf_signal: int | None = None) -> dict:
    reports = check_case(case, tf_signal)
    got = classify(case, reports)
    got["report"] = "\n".join(
        f"[{part}]\n{rep}" if len(reports) > 1 else str(rep) for part, rep in reports.items()
    )
    return got


def run_case(case: Case) -> dict:
    """Check and classify one case: ``{"kind", "who", "reason", "max_diff", "errors", "report"}``.

    ``report`` is the cross-check's table (one per gradient for ``conv2d_backward``).
    """
    return run_cases([case])[0]


# --------------------------------------------------------------------------- the run
def run_matrix(quick: bool = False, seed: int = 0, ops=OPS, progress=None) -> dict:
    """Run every configuration; return the JSON-able summary (:func:`summarize`)."""
    from ..frameworks import load_tf, load_torch

    load_tf(), load_torch()
    start, cases = time.perf_counter(), configurations(quick, seed, ops)
    results = run_cases(cases, progress)
    return summarize(cases, results, quick=quick, seed=seed, wall=time.perf_counter() - start)


def summarize(cases: list[Case], results: list[dict], *, quick: bool, seed: int, wall: float) -> dict:
    """Count :func:`run_cases`'s results by class.

    Each class is ``(kind, who, reason)``; it keeps its count per operation, the largest
    ``max|diff|`` seen, the first example's configuration and its error lines.
    """
    import tensorflow as tf
    import torch

    classes = {}
    for case, got in zip(cases, results, strict=True):
        key = (got["kind"], got["who"], got["reason"])
        entry = classes.setdefault(key, {"kind": key[0], "who": key[1], "reason": key[2], "count": 0,
                                         "ops": {}, "max_diff": None, "example": case.to_json(),
                                         "errors": got["errors"]})  # fmt: skip
        entry["count"] += 1
        entry["ops"][case.op] = entry["ops"].get(case.op, 0) + 1
        if got["max_diff"] is not None:
            entry["max_diff"] = max(entry["max_diff"] or 0.0, got["max_diff"])
    ordered = sorted(classes.values(), key=lambda e: ("agree refused disagree".index(e["kind"]), -e["count"]))
    counts = {k: sum(e["count"] for e in ordered if e["kind"] == k) for k in ("agree", "refused", "disagree")}
    return {
        "seed": seed,
        "quick": quick,
        "configurations": len(cases),
        "wall_seconds": round(wall, 1),
        "isolated": sum(_convlib_refuses(c) for c in cases),
        "cpus": len(__import__("os").sched_getaffinity(0)),
        "simd": simd_level(),  # oneDNN's code path, and so which of its defects can appear
        "versions": {"tensorflow": tf.__version__, "torch": torch.__version__, "numpy": np.__version__},
        "counts": counts,
        "unexplained": sum(e["count"] for e in ordered if "UNEXPLAINED" in e["reason"]),
        "classes": ordered,
    }


def class_table(summary: dict, width: int = 74) -> str:
    """Counts per class: kind, who, count and largest max|diff| on one line, the reason below it.

    Every line fits in ``width`` characters (the reason is wrapped), so the table reads in a book
    column as well as in a terminal.
    """
    rows = [("kind", "who", "count", "max|diff|")]
    reasons = ["reason"]
    for e in summary["classes"]:
        md = "" if e["max_diff"] is None else f"{e['max_diff']:.1e}"
        rows.append((e["kind"], e["who"] or "-", str(e["count"]), md))
        reasons.append(e["reason"])
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for row, reason in zip(rows, reasons):
        lines.append(
            "  ".join(c.rjust(w) if i == 2 else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))
        )
        if reason:
            lines.append(textwrap.fill(reason, width, initial_indent="    ", subsequent_indent="    "))
    return "\n".join(line.rstrip() for line in lines)


def ops_table(summary: dict) -> str:
    """How each operation's configurations split between agree, refused and disagree."""
    from .cases import OPS

    rows = [("operation", "agree", "refused", "disagree", "total")]
    for op in OPS:
        n = {k: sum(e["ops"].get(op, 0) for e in summary["classes"] if e["kind"] == k) for k in rows[0][1:4]}
        rows.append((op, *(str(v) for v in n.values()), str(sum(n.values()))))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
                     for r in rows)  # fmt: skip


def describe_class(entry: dict, got: dict | None = None, width: int = 74) -> str:
    """One class of a stored run as a few lines: the reason, its example, each library's message.

    ``entry`` is one of ``summary["classes"]``; ``got``, the example's live result from
    :func:`run_cases`, supplies the messages (the stored ones otherwise).
    """
    from ..parity import clean_message

    ex, errors = entry["example"], (got or entry)["errors"]
    kwargs = ", ".join(f"{k}={v!r}" for k, v in ex["kwargs"].items())
    w = "" if ex["w"] is None else f", w={tuple(ex['w'])}"

    def wrap(text: str) -> str:
        return textwrap.fill(text, width, initial_indent="  ", subsequent_indent="      ")

    lines = [textwrap.fill(f"[{entry['kind']}, {entry['count']}x] {entry['reason']}", width,
                           subsequent_indent="  ")]  # fmt: skip
    lines.append(wrap(f"{ex['op']}(x={tuple(ex['x'])}{w}, {kwargs})"))
    lines += [wrap(f"{name}: {clean_message(msg)}") for name, msg in sorted(errors.items())]
    return "\n".join(lines)
