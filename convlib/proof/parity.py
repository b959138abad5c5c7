"""Error parity: what TensorFlow, PyTorch and convlib do with the same invalid request.

Each entry of :func:`cases` is one class of invalid configuration, written once per
library in that library's own terms (NHWC/HWIO for TensorFlow and convlib, NCHW/OIHW for
PyTorch). :func:`parity` runs them all and records each refusal (type and first line) or
the array a library returned instead; :func:`parity_table` renders the result. The tests
assert that convlib's message names the parameter and every size either framework names.
"""

# ruff: noqa: E501  (the case table reads best one class per two lines)
from __future__ import annotations

import re
import signal
from dataclasses import dataclass

import numpy as np

from .isolation import run_in_child

__all__ = [
    "ParityCase",
    "cases",
    "parity",
    "parity_table",
    "numbers_in",
    "clean_message",
]


@dataclass
class ParityCase:
    """One invalid-configuration class: a call per library, and what convlib must name."""

    name: str
    tf: object  # zero-argument callables; None where the framework has no such argument
    torch: object
    convlib: object
    names: tuple  # substrings convlib's message must contain (the parameter, the sizes)
    numbers: tuple  # the sizes of the request; any a framework names, convlib must name too


def numbers_in(text: str, wanted) -> set:
    """Which of the ``wanted`` integers appear as whole numbers in ``text``."""
    found = {int(m) for m in re.findall(r"(?<![\w.])-?\d+(?![\w.])", text or "")}
    return found & set(wanted)


def cases() -> list[ParityCase]:
    """The invalid-configuration classes, built on a ``(1, 5, 6, 4)`` input (NCHW ``(1, 4, 5, 6)``)."""
    from .. import conv2d, conv_transpose2d, max_pool2d
    from .frameworks import load_tf, load_torch

    tf, torch = load_tf(), load_torch()
    F, f32, f64 = torch.nn.functional, np.float32, np.float64
    x, xt = np.ones((1, 5, 6, 4), f32), torch.ones(1, 4, 5, 6)

    def w(kh=3, kw=3, c=4, o=8, dt=f32):
        return np.ones((kh, kw, c, o), dt)

    def wt(kh=3, kw=3, c=4, o=8):
        return torch.ones(o, c, kh, kw)

    def tconv(xx=x, ww=None, **kw):
        return tf.nn.conv2d(xx, w() if ww is None else ww, **{"strides": 1, "padding": "VALID", **kw})

    xs, ws = np.ones((1, 2, 2, 3), f32), np.ones((3, 3, 5, 3), f32)  # transposed conv: HW(O)(I)
    return [
        ParityCase("kernel larger than input", lambda: tconv(ww=w(7)), lambda: F.conv2d(xt, wt(7)),
                   lambda: conv2d(x, w(7)), ("kernel height", "7", "5"), (7, 5)),
        ParityCase("dilated kernel larger than input", lambda: tconv(dilations=3), lambda: F.conv2d(xt, wt(), dilation=3),
                   lambda: conv2d(x, w(), dilation=3), ("dilation", "7", "5"), (3, 7, 5)),
        ParityCase("kernel one larger than input (empty output)", lambda: tconv(ww=w(6)), lambda: F.conv2d(xt, wt(6)),
                   lambda: conv2d(x, w(6)), ("kernel height", "6", "5"), (6, 5)),
        ParityCase("empty output: padding does not save the kernel", lambda: tconv(ww=w(9), padding=[[0, 0], [1, 1], [1, 1], [0, 0]]),
                   lambda: F.conv2d(xt, wt(9), padding=1), lambda: conv2d(x, w(9), padding=1),
                   ("padded input", "9", "7"), (9, 7)),
        ParityCase("channel mismatch", lambda: tconv(ww=w(c=3)), lambda: F.conv2d(xt, wt(c=3)),
                   lambda: conv2d(x, w(c=3)), ("channels", "3", "4"), (3, 4)),
        ParityCase("groups do not divide input channels", lambda: tconv(ww=w(c=3, o=9)), lambda: F.conv2d(xt, wt(c=1, o=9), groups=3),
                   lambda: conv2d(x, w(c=1, o=9), groups=3), ("groups=3", "4"), (3, 4)),
        ParityCase("groups do not divide output channels", lambda: tconv(ww=w(c=2, o=7)), lambda: F.conv2d(xt, wt(c=2, o=7), groups=2),
                   lambda: conv2d(x, w(c=2, o=7), groups=2), ("groups=2", "7"), (2, 7)),
        ParityCase("zero stride", lambda: tconv(strides=0), lambda: F.conv2d(xt, wt(), stride=0),
                   lambda: conv2d(x, w(), stride=0), ("stride", "0"), (0,)),
        ParityCase("negative dilation", lambda: tconv(dilations=-1), lambda: F.conv2d(xt, wt(), dilation=-1),
                   lambda: conv2d(x, w(), dilation=-1), ("dilation", "-1"), (-1,)),
        ParityCase("zero groups", None, lambda: F.conv2d(xt, wt(), groups=0),
                   lambda: conv2d(x, w(), groups=0), ("groups", "0"), (0,)),
        ParityCase("negative padding", lambda: tconv(padding=[[0, 0], [-1, -1], [0, 0], [0, 0]]),
                   lambda: F.conv2d(xt, wt(), padding=-1), lambda: conv2d(x, w(), padding=-1), ("padding", "-1"), (-1,)),
        ParityCase("unknown padding word", lambda: tconv(padding="HALF"), lambda: F.conv2d(xt, wt(), padding="half"),
                   lambda: conv2d(x, w(), padding="half"), ("padding", "'half'", "valid", "same"), ()),
        ParityCase("fractional stride", lambda: tconv(strides=1.5), lambda: F.conv2d(xt, wt(), stride=1.5),
                   lambda: conv2d(x, w(), stride=1.5), ("stride", "1.5"), ()),
        ParityCase("NaN size (stride)", lambda: tconv(strides=float("nan")), lambda: F.conv2d(xt, wt(), stride=float("nan")),
                   lambda: conv2d(x, w(), stride=float("nan")), ("stride", "nan"), ()),
        ParityCase("wrong rank (2-D input)", lambda: tconv(xx=np.ones((5, 6), f32)), lambda: F.conv2d(torch.ones(5, 6), wt()),
                   lambda: conv2d(np.ones((5, 6), f32), w()), ("4-D", "2-D", "(5, 6)"), (5, 6)),
        ParityCase("dtype mismatch", lambda: tconv(ww=w(dt=f64)), lambda: F.conv2d(xt, wt().double()),
                   lambda: conv2d(x, w(dt=f64)), ("x is float32", "w is float64"), ()),
        ParityCase("integer input", lambda: tconv(xx=x.astype(np.int32), ww=w().astype(np.int32)),
                   lambda: F.conv2d(xt.int(), wt().int()), lambda: conv2d(x.astype(np.int32), w().astype(np.int32)),
                   ("x", "int32", "float32"), ()),
        ParityCase("reflect padding wider than the input", lambda: tf.pad(x, [[0, 0], [5, 5], [0, 0], [0, 0]], "REFLECT"),
                   lambda: F.conv2d(F.pad(xt, (0, 0, 5, 5), mode="reflect"), wt()),
                   lambda: conv2d(x, w(), padding=(5, 0), padding_mode="reflect"), ("reflect", "4", "5"), (4, 5)),
        ParityCase("output_padding too large", lambda: tf.keras.layers.Conv2DTranspose(5, 3, strides=2, output_padding=2)(xs),
                   lambda: F.conv_transpose2d(torch.ones(1, 3, 2, 2), torch.ones(3, 5, 3, 3), stride=2, output_padding=2),
                   lambda: conv_transpose2d(xs, ws, stride=2, output_padding=2), ("output_padding", "2"), (2,)),
        ParityCase("transposed output size not positive", None,
                   lambda: F.conv_transpose2d(torch.ones(1, 3, 1, 1), torch.ones(3, 5, 1, 1), padding=3),
                   lambda: conv_transpose2d(xs[:, :1, :1], np.ones((1, 1, 5, 3), f32), padding=3),
                   ("output size", "-5"), (-5, 3)),
        ParityCase("pooling window larger than the input", lambda: tf.nn.max_pool2d(x, (7, 2), 1, "VALID"),
                   lambda: F.max_pool2d(xt, (7, 2), 1), lambda: max_pool2d(x, (7, 2), 1),
                   ("pool size 7", "5"), (7, 5)),
        ParityCase("pool padding over half the window", None, lambda: F.max_pool2d(xt, 2, padding=2),
                   lambda: max_pool2d(x, 2, padding=2), ("pool padding", "2"), (2,)),
    ]  # fmt: skip


def parity() -> list[dict]:
    """Run every case; one row per class with each library's refusal (or what it returned).

    The cases run in a fresh interpreter (:func:`_rows`), and there every TensorFlow call runs in a
    forked child: some of these requests kill their process (SIGFPE), and a child forked from a
    process whose oneDNN thread pool has already worked can deadlock before it starts. The fresh
    interpreter has imported the frameworks but run nothing when it forks.
    """
    import json
    import subprocess
    import sys

    code = "import json; from convlib.proof.parity import _rows; print(json.dumps(_rows()))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise RuntimeError(f"the parity worker failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _rows() -> list[dict]:
    """The worker of :func:`parity`: TensorFlow's calls in forked children, the others here."""
    from .crosscheck import run

    def describe(name, fn):
        o = run(name, fn)
        return o.error if o.refused else f"returns shape {o.shape}"

    rows = []
    for c in cases():
        row = {"class": c.name}
        for name, fn in (("TensorFlow", c.tf), ("PyTorch", c.torch), ("convlib", c.convlib)):
            if fn is None:
                row[name] = "n/a (no such argument)"
            elif name == "TensorFlow":
                kind, got = run_in_child(lambda fn=fn: describe("TensorFlow", fn), quiet=True)
                row[name] = (
                    got
                    if kind != "signal"
                    else f"process killed by {signal.Signals(got).name} (no Python exception)"
                )
            else:
                row[name] = describe(name, fn)
        rows.append(row)
    return rows


def clean_message(text: str) -> str:
    """A framework's message without TensorFlow's ``{{function_node ...}}`` op-path prefix.

    Examples
    --------
    >>> clean_message("InvalidArgumentError: {{function_node __wrapped__Conv2D}} Bad stride")
    'InvalidArgumentError: Bad stride'
    """
    return re.sub(r"\{\{function_node [^}]*\}\}\s*", "", text)


def parity_table(rows=None, width: int = 60) -> str:
    """The parity rows as text: the class, then one line per library (messages cut to ``width``)."""
    lines = []
    for row in rows or parity():
        lines.append(row["class"])
        for name in ("TensorFlow", "PyTorch", "convlib"):
            lines.append(f"  {name:<10} {clean_message(row[name])[:width]}")
    return "\n".join(lines)
