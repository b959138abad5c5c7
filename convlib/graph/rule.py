"""The accepted input sizes as a closed form, and the size at each layer as a formula in ``n``.

Every size op of the IR maps a size ``x`` to ``floor((x + a) / s) + b`` (windows, ``"same"`` as
``ceil(x / s)``), to ``x*s + a`` (going back up) or to a constant (adaptive pooling, a fixed
resize). Composed from ``x = n``, each layer's size is therefore ``m*floor((n + b)/c) + e``
(:class:`Floor`), because ``floor((floor(y/c) + e)/s) = floor((y + e*c)/(c*s))``. So whether an
input is accepted depends on ``n mod L`` only, ``L`` the least common multiple of the ``c``,
once ``n`` is large enough for every window to fit; :func:`size_rule` reads the exact set of
:func:`convlib.graph.sizes.scan_sizes` up to a few periods past the range and states it as
``n >= n0 and n = r (mod L)`` (or "only n in a..b" when a ``Linear`` pins the size), naming the
layer that imposes each condition. Each formula is checked against the interpreter on every
accepted size scanned; one that cannot be written this way is shown as ``?``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..shapes import effective_kernel_size, span
from .build import from_model
from .floor import Floor, _Opaque, _opaque
from .ir import Graph, Size
from .shapes import run
from .sizes import _shape, scan_sizes

__all__ = ["Floor", "SizeRule", "size_rule", "formulas"]


def _axis(node, x: Floor, i: int, env: dict) -> Floor:
    a, op = node.attrs, node.op
    if op in ("conv", "max_pool", "avg_pool"):
        pads, k, s = a["padding"], a["kernel"][i], a["stride"][i]
        eff = effective_kernel_size(k, a.get("dilation", (1, 1))[i])
        if pads == "same":
            return x.ceil_div(s)
        t, b = (0, 0) if pads == "valid" else pads[i]
        if op != "conv" and a.get("ceil_mode"):
            return (x + (t + b - eff)).ceil_div(s) + 1
        return (x + (t + b - eff)) // s + 1
    if op == "conv_transpose":
        if a.get("output_size") is not None:
            return _size(a["output_size"][i], env)
        k, s, d = a["kernel"][i], a["stride"][i], a.get("dilation", (1, 1))[i]
        eff, pads, opad = effective_kernel_size(k, d), a["padding"], a.get("output_padding")
        if isinstance(pads, str):
            if opad is None:
                return x * s + (max(eff - s, 0) if pads == "valid" else 0)
            return span(x, s, eff) - (2 * (eff // 2) if pads == "same" else 0) + opad[i]
        return span(x, s, eff) - sum(pads[i]) + (opad or (0, 0))[i]
    if op in ("pad", "crop"):
        pair = [_size(v, env) for v in a["pads" if op == "pad" else "crops"][i]]
        return x + pair[0] + pair[1] if op == "pad" else x - pair[0] - pair[1]
    if op == "upsample":
        if a.get("size") is not None:
            return _size(a["size"][i], env)
        r = a["scale"][i]
        return x * int(r) if r == int(r) else _opaque()
    if op == "pixel_shuffle":
        r = a["factor"]
        return x * r if r > 0 else x // -r
    if op == "max_unpool":
        if a.get("output_size") is not None:
            return _size(a["output_size"][i], env)
        return span(x, a["stride"][i], a["kernel"][i]) - 2 * a["padding"][i]
    if op in ("adaptive_pool", "global_pool"):
        out = (a.get("output") or (1, 1))[i]
        return x if out is None else Floor(0, 0, 1, out)
    return x  # merges, pointwise, flatten and linear keep the last grid


def _size(value, env: dict) -> Floor:
    if not isinstance(value, Size):
        return Floor(0, 0, 1, int(value))
    if value.op == "const":
        return Floor(0, 0, 1, value.args[0])
    if value.op == "dim":
        node, axis = value.args
        return Floor(0, 0, 1, 1) if axis == "batch" else env[node][axis - 1] if axis else _opaque()
    args = [_size(v, env) for v in value.args]
    if value.op == "neg":
        return -args[0]
    a, b = args
    if value.op == "%":
        return a - (a // b) * b
    return {"+": a.__add__, "-": a.__sub__, "*": a.__mul__, "//": a.__floordiv__}[value.op](b)


def formulas(graph: Graph, axis: int | None = None) -> dict[str, tuple]:
    """``{node: (height formula, width formula)}`` for an ``n x n`` input (``None`` where opaque).

    With ``axis`` 0 or 1 only that axis depends on ``n`` (the other is reported as ``None``).
    """
    env: dict[str, tuple] = {}
    for node in graph.nodes:
        if node.op == "input":
            env[node.name] = tuple(Floor.identity() if axis in (None, i) else None for i in range(2))
            continue
        x = env[node.inputs[0]]
        pair = []
        for i in range(2):
            try:
                pair.append(None if x[i] is None else _axis(node, x[i], i, env))
            except (_Opaque, ValueError, TypeError, KeyError):
                pair.append(None)
        env[node.name] = tuple(pair)
    return env


@dataclass(frozen=True)
class SizeRule:
    """The accepted sizes as ``n >= n_min`` and ``n mod period`` in ``residues``, or a finite set.

    ``finite`` holds accepted sizes outside the periodic part (all of them when ``residues`` is
    empty); ``layers`` names the layer behind each condition; ``sizes`` is each layer's size
    formula as text.
    """

    text: str
    n_min: int | None
    period: int
    residues: tuple[int, ...]
    finite: tuple[int, ...]
    checked_up_to: int
    layers: dict = field(default_factory=dict)
    sizes: dict = field(default_factory=dict)

    def accepts(self, n: int) -> bool:
        periodic = self.n_min is not None and n >= self.n_min and n % self.period in self.residues
        return periodic or n in self.finite

    def between(self, lo: int, hi: int) -> list[int]:
        """The sizes of ``[lo, hi]`` the rule accepts."""
        return [n for n in range(lo, hi + 1) if self.accepts(n)]

    def __str__(self) -> str:
        return self.text


def _ranges(values) -> str:
    out, run = [], []
    for v in values:
        if run and v != run[-1] + 1:
            out.append(run)
            run = []
        run.append(v)
    out += [run] if run else []
    return ", ".join(f"{r[0]}" if len(r) == 1 else f"{r[0]}..{r[-1]}" for r in out)


def size_rule(
    model, *, channels: int = 3, axis: str | None = None, other: int | None = None, upto: int = 512
) -> SizeRule:
    """Every accepted input size as a closed form, with the layer that imposes each condition.

    Parameters
    ----------
    model : convlib spec, torch.nn.Module, Keras model or Graph
    channels, axis, other
        As :func:`convlib.graph.sizes.input_sizes`.
    upto : int
        The scan reaches at least this size and three periods past the last irregular one.

    Returns
    -------
    SizeRule

    Examples
    --------
    >>> from convlib.records import ConvSpec, MaxPoolSpec
    >>> r = size_rule([ConvSpec(2, 3), MaxPoolSpec(2), ConvSpec(2, 3, stride=2)], channels=1, upto=64)
    >>> r.text, r.layers["lower bound"]
    ('n >= 8', '2 (Conv)')
    """
    graph = from_model(model)
    index = {None: None, "height": 0, "width": 1}[axis]
    forms = formulas(graph, index)
    period = 1
    for pair in forms.values():
        period = math.lcm(period, *(f.c for f in pair if f is not None))
    hi = max(upto, 4 * period + 64)
    while True:
        scan = scan_sizes(graph, 1, hi, channels=channels, axis=axis, other=other)
        ok = set(scan.accepted)
        # The periodic regime starts after the last n whose verdict differs from n + period's.
        start = 1 + max((n for n in range(1, hi - period + 1) if (n in ok) != (n + period in ok)), default=0)
        if start <= hi - 3 * period:
            break
        if hi > 16 * max(upto, 4 * period + 64):
            raise ValueError(f"the accepted sizes show no period {period} pattern up to n = {hi}")
        hi = start + 4 * period  # three clean periods past the last irregular size, at least
    residues = tuple(sorted({n % period for n in ok if n >= start}))
    n_min = None
    if residues:
        bound = 1 + max((m for m in range(1, hi + 1) if (m in ok) != (m % period in residues)), default=0)
        n_min = min(n for n in ok if n >= bound)
    finite = tuple(n for n in sorted(ok) if n_min is None or n < n_min or n % period not in residues)
    layers = {}
    if residues:
        text = f"n >= {n_min}"
        if len(residues) < period:
            text += f" and n mod {period} in {{{', '.join(map(str, residues))}}}" if len(residues) > 1 else (
                f" and n = {residues[0]} (mod {period})")  # fmt: skip
        below = [n for n in range(1, n_min) if n % period in residues and n not in ok]
        if below:
            layers["lower bound"] = "{} ({})".format(*scan.refused[below[-1]][:2])
        wrong = {
            "{} ({})".format(*scan.refused[n][:2]) for n in range(n_min, hi + 1) if n % period not in residues
        }
        if wrong:
            layers["residue"] = ", ".join(sorted(wrong))
        if finite:
            text += f"; also n in {_ranges(finite)}"
    else:
        text = f"only n in {_ranges(finite)}" if finite else "no size accepted"
        if finite:
            layers["size"] = "{} ({})".format(*scan.refused[finite[-1] + 1][:2])
    sizes = {}
    # Each formula must agree with the interpreter wherever the rule is used: check on a sample.
    sample = sorted(ok)[:: max(len(ok) // 12, 1)] if n_min is not None else []
    runs = [(n, run(graph, _shape(n, channels, axis, scan.other))) for n in sample]
    for node in graph.nodes:
        pair = tuple(
            None if f is None or any(node.name not in r or len(r[node.name].shape) == 3
                                     and r[node.name].shape[1 + i] != f(n) for n, r in runs) else f
            for i, f in enumerate(forms[node.name])
        )  # fmt: skip
        sizes[node.name] = tuple(None if f is None else str(f) for f in pair)
    return SizeRule(text, n_min, period, residues, finite, hi, layers, sizes)
