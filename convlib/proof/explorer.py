"""convlib's answers for the book's size explorer, the sweep that proves its JavaScript port.

The explorer (``_static/explorer/explorer.js``) ports the one-axis resolvers of
:mod:`convlib.shapes.geometry` to JavaScript so that a reader of the offline HTML book can try
any size. This module says what convlib answers for thousands of one-axis configurations
(:func:`sweep`), each computed by the real functions (:func:`~convlib.shapes.conv_axis`,
:func:`~convlib.shapes.pool_axis`, :func:`~convlib.shapes.transpose_axis`, and the 2-D validators
:func:`~convlib.shapes.check_pool_shape` and friends, which add the ``ceil_mode`` overhang
refusal), with every refusal reduced by :func:`reason_code` to one of :data:`REASON_CODES`.
``tests/test_explorer.py`` runs the JavaScript in Chromium on the whole sweep and requires the
same answer, field by field, for every configuration.

Only the core is imported (``convlib.shapes``, ``convlib.padding``), never a framework.

``python -m convlib.proof.explorer`` prints a summary; ``--json`` prints the whole sweep.

Examples
--------
>>> answer(Config("conv", 10, 3, 2, 1, "same"))
[None, 10, 0, 1, 5, 11, 11, 0, 0, 0, 0, 5]
>>> answer(Config("pool_max", 5, 2, None, 1, 2))
['pad-over-half-pool', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from collections import Counter
from typing import NamedTuple

from ..shapes import (
    WindowAxis,
    check_conv_shapes,
    check_pool_shape,
    check_transpose_shapes,
    conv_axis,
    pool_axis,
    transpose_axis,
)

__all__ = ["OPS", "REASON_CODES", "Config", "reason_code", "axis_record", "answer", "sweep", "main"]

OPS = ("conv", "transpose", "pool_max", "pool_avg")

# (code, pattern of convlib's message, what the reader is told). Order matters only where a
# message could match two patterns; none does today, and reason_code refuses ambiguity anyway.
_REASONS = (
    ("not-an-integer", r"must be an integer, got", "a size, stride, dilation or pad is not an integer"),
    ("non-positive-argument", r"must be a positive integer, got", "sizes, stride and dilation must be >= 1"),
    ("negative-argument", r"must be non-negative, got", "pads and output_padding must be >= 0"),
    ("unknown-padding-word", r"padding must be one of \[", "padding words are valid, same and full"),
    (
        "malformed-padding",
        r"padding for one axis must be an int or \(before, after\)",
        "one axis's padding is a word, an int or (before, after)",
    ),
    (
        "no-window-fits",
        r"is larger than the padded input.*no (window|output position) fits",
        "the dilated window is larger than the padded input",
    ),
    ("full-not-allowed", r"padding='full' (is not a pooling padding|has no transposed)", "no 'full' here"),
    ("ceil-with-same", r"ceil_mode=True cannot be combined with padding='same'", "same already rounds up"),
    (
        "pad-over-half-pool",
        r"pool padding .* must be at most half the pool size",
        "each pool pad must be at most k // 2",
    ),
    (
        "ceil-overhang-too-large",
        r"with ceil_mode overhangs the padded input",
        "the ceil_mode window overhangs by more than the padded input holds",
    ),
    (
        "output-padding-too-large",
        r"output_padding must be smaller than max\(stride, dilation\)",
        "output_padding must be < max(stride, dilation) (< stride with a padding word)",
    ),
    (
        "keras-size-unreachable",
        r"gives output size .*which a forward convolution maps to",
        "a forward convolution would not map that output size back to the input size",
    ),
    ("non-positive-output", r"transposed convolution output size .* is not positive", "crops eat the output"),
)
REASON_CODES = {code: text for code, _, text in _REASONS}
_PATTERNS = [(code, re.compile(pattern, re.S)) for code, pattern, _ in _REASONS]


def reason_code(exc: ValueError) -> str:
    """The explorer's reason code for one of convlib's refusals; raises ``LookupError`` if none fits.

    Examples
    --------
    >>> try:
    ...     conv_axis(2, 3)
    ... except ValueError as e:
    ...     reason_code(e)
    'no-window-fits'
    """
    msg = str(exc)
    codes = [code for code, pattern in _PATTERNS if pattern.search(msg)]
    if len(codes) != 1:
        raise LookupError(f"convlib refusal maps to {codes or 'no reason code'}: {msg!r}")
    return codes[0]


class Config(NamedTuple):
    """One axis of one operation, as the explorer's JavaScript takes it.

    ``stride=None`` is pooling's default (the pool size); ``padding`` is a word, an int or
    ``(before, after)``; ``output_padding=None`` is the transposed convolution's default.
    """

    op: str
    n: object
    k: object
    stride: object
    dilation: object
    padding: object
    output_padding: object = None
    ceil_mode: bool = False

    def as_json(self) -> list:
        pad = list(self.padding) if isinstance(self.padding, tuple) else self.padding
        return [self.op, self.n, self.k, self.stride, self.dilation, pad, self.output_padding, self.ceil_mode]


# One answer: [code or None, n, before, after, out, padded, extent, overhang, left, pad unused,
# input unread, size], where size is the operation's output size (``n`` for a transposed conv,
# whose record describes the forward convolution it transposes). Refusals carry zeros.
FIELDS = (
    "code",
    "n",
    "before",
    "after",
    "out",
    "padded",
    "extent",
    "overhang",
    "left",
    "pad_unused",
    "input_unread",
    "size",
)


def axis_record(a: WindowAxis, op: str) -> list:
    """One accepted configuration's answer row (see :data:`FIELDS`)."""
    size = a.n if op == "transpose" else a.out
    return [None, a.n, a.before, a.after, a.out, a.padded, a.extent, a.overhang, a.left, *a.unread, size]


def _refused(code: str) -> list:
    return [code] + [0] * (len(FIELDS) - 1)


def _two_d_padding(padding):
    """The 2-D padding argument whose height axis is ``padding`` and whose width axis is trivial."""
    if isinstance(padding, str):
        return padding
    pair = padding if isinstance(padding, tuple) else (padding, padding)
    return (pair, (0, 0))


def _axis(c: Config) -> WindowAxis:
    if c.op == "conv":
        return conv_axis(c.n, c.k, c.padding, stride=c.stride, dilation=c.dilation)
    if c.op == "transpose":
        return transpose_axis(
            c.n, c.k, c.padding, stride=c.stride, output_padding=c.output_padding, dilation=c.dilation
        )
    return pool_axis(c.n, c.k, c.padding, stride=c.stride, dilation=c.dilation, ceil_mode=c.ceil_mode)


def _validated(c: Config) -> WindowAxis:
    """The same configuration through the 2-D validator every convlib call uses (height axis; width 1x1)."""
    shape, pad = (1, c.n, 1, 1), _two_d_padding(c.padding)
    if c.op == "conv":
        g = check_conv_shapes(
            shape, (c.k, 1, 1, 1), stride=(c.stride, 1), padding=pad, dilation=(c.dilation, 1)
        )
    elif c.op == "transpose":
        op = None if c.output_padding is None else (c.output_padding, 0)
        g = check_transpose_shapes(
            shape,
            (c.k, 1, 1, 1),
            stride=(c.stride, 1),
            padding=pad,
            output_padding=op,
            dilation=(c.dilation, 1),
        )
    else:
        stride = None if c.stride is None else (c.stride, 1)
        g = check_pool_shape(shape, (c.k, 1), stride, pad, dilation=(c.dilation, 1), ceil_mode=c.ceil_mode)
    return g.axes[0]


def answer(c: Config, *, validate: bool = False) -> list:
    """convlib's answer for one configuration: the resolved axis, or the refusal's reason code.

    The one-axis resolver decides. For pooling, :func:`~convlib.shapes.check_pool_shape` (what
    ``max_pool2d`` and ``avg_pool2d`` call) must then agree with it or add its own refusal (the
    ``ceil_mode`` overhang); the convolution validators add nothing on one axis but channel and
    memory checks, so ``validate=True`` runs them too only when asked (the test does, on a sample).
    """
    try:
        a = _axis(c)
    except ValueError as e:
        return _refused(reason_code(e))
    if not (validate or c.op.startswith("pool")):
        return axis_record(a, c.op)
    try:
        b = _validated(c)
    except ValueError as e:
        return _refused(reason_code(e))
    if b != a:
        raise AssertionError(f"{c}: the 2-D validator resolves {b}, the one-axis resolver {a}")
    return axis_record(a, c.op)


PADDINGS = ("valid", "same", "full", *itertools.product(range(4), repeat=2))


def _main_sweep():
    sizes, kernels, dilations = range(1, 21), range(1, 8), range(1, 4)
    for n, k, s, d, p in itertools.product(sizes, kernels, range(1, 5), dilations, PADDINGS):
        yield Config("conv", n, k, s, d, p)
        for op in (None, 0, 1, 2, 3):
            yield Config("transpose", n, k, s, d, p, op)
    for n, k, s, p, ceil in itertools.product(sizes, kernels, (None, 1, 2, 3, 4), PADDINGS, (False, True)):
        for d in dilations:
            yield Config("pool_max", n, k, s, d, p, None, ceil)
        yield Config("pool_avg", n, k, s, 1, p, None, ceil)  # avg_pool2d has no dilation


def _bad_arguments():
    """Malformed arguments, so that the explorer refuses a typed 0, -1 or 2.5 as convlib does."""
    ops = ("conv", "transpose", "pool_max")
    for op, field, value in itertools.product(ops, ("n", "k", "stride", "dilation"), (0, -1, 2.5)):
        base = {"op": op, "n": 6, "k": 3, "stride": 2, "dilation": 1, "padding": 1}
        yield Config(**{**base, field: value})
    for op, pad in itertools.product(
        ops, (-1, (0, -1), (-2, 1), (1.5, 0), (0, 1, 2), "middle", "SAME", "Valid")
    ):
        yield Config(op, 6, 3, 2, 1, pad)
    for op in (-1, 0.5):
        yield Config("transpose", 6, 3, 2, 1, 1, op)
        yield Config("transpose", 6, 3, 2, 1, "same", op)


def sweep() -> list[tuple[Config, list]]:
    """Every configuration the book's explorer is proven on, with convlib's answer."""
    return [(c, answer(c)) for c in itertools.chain(_main_sweep(), _bad_arguments())]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    rows = sweep()
    if "--json" in argv:
        json.dump({"fields": FIELDS, "rows": [[c.as_json(), a] for c, a in rows]}, sys.stdout)
        print()
        return 0
    codes = Counter(a[0] or "accepted" for _, a in rows)
    print(f"{len(rows)} configurations")
    for code, count in codes.most_common():
        print(f"  {code:26} {count:7}  {REASON_CODES.get(code, '')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
