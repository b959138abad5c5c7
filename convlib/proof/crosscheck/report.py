"""Outcomes, reports and tolerances: the comparison machinery every cross-check uses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

TOLERANCE = {np.dtype(np.float16): 1e-2, np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}


def tolerance(dtype) -> float:
    """The comparison tolerance for ``dtype`` (relative to ``max(1, max|reference|)``)."""
    return TOLERANCE[np.dtype(dtype)]


@dataclass
class Outcome:
    """What one framework did with one configuration."""

    framework: str
    shape: tuple | None = None
    max_diff: float | None = None
    error: str | None = None
    how: str = ""
    output: np.ndarray | None = field(default=None, repr=False)

    @property
    def refused(self) -> bool:
        return self.error is not None


def run(framework: str, fn, how: str = "") -> Outcome:
    """Call ``fn()``; record its array, or the exception it raised as a refusal."""
    try:
        out = np.asarray(fn())
    except Exception as exc:  # a framework refusing is a result to report, not a crash
        # Keras wraps the real message under a generic first line; report the informative one.
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # Keras colours its messages
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        lines = [ln for ln in lines if not ln.startswith("Exception encountered")] or [""]
        first = lines[0]
        return Outcome(framework, error=f"{type(exc).__name__}: {first[:300]}", how=how)
    return Outcome(framework, shape=tuple(out.shape), how=how, output=out)


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """``max|a - b|`` where equal infinities and NaN against NaN count as agreeing (difference 0).

    A dilated "same" max pool can have windows that see only padding: every library
    answers ``-inf`` there, and ``-inf - -inf`` would be NaN, not agreement.

    Examples
    --------
    >>> max_abs_diff(np.array([-np.inf, np.nan, 1.0]), np.array([-np.inf, np.nan, 1.5]))
    0.5
    >>> max_abs_diff(np.array([np.inf]), np.array([1.0]))
    inf
    """
    if a.size == 0:
        return 0.0
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    with np.errstate(invalid="ignore"):
        d = np.where(same, 0.0, np.abs(a - b))
    return float(np.max(np.where(np.isnan(d), np.inf, d)))


@dataclass
class Report:
    """convlib's result next to each framework's, with the verdicts."""

    reference: Outcome
    others: list[Outcome]
    tol: float
    pads: tuple | None = None

    def __post_init__(self):
        ref = self.reference.output
        scale = 1.0 if ref is None or ref.size == 0 else max(1.0, float(np.max(np.abs(ref))))
        self.scale = scale
        for o in self.others:
            if o.output is not None and ref is not None and o.shape == self.reference.shape:
                o.max_diff = max_abs_diff(o.output, ref)

    def verdict(self, o: Outcome) -> str:
        if o.refused:
            return "refused"
        if self.reference.refused:
            return "convlib refused"
        if o.shape != self.reference.shape:
            return "SHAPE DIFFERS"
        return "agree" if o.max_diff <= self.tol * self.scale else "DIFFER"

    @property
    def agree(self) -> bool:
        """True when convlib ran and every framework that ran matches it."""
        ran = [o for o in self.others if not o.refused]
        return not self.reference.refused and bool(ran) and all(self.verdict(o) == "agree" for o in ran)

    def table(self) -> str:
        """A fixed-width table (framework, shape, max|diff| verdict, how it was called); the
        pads and each refusal's message follow on their own lines."""
        bound = f"< {self.tol:.0e}" + ("" if self.scale == 1.0 else " x scale")
        rows = [("framework", "output shape", "max|diff| vs convlib", "how")]
        for o in (self.reference, *self.others):
            v = "-" if o is self.reference else self.verdict(o)
            cell = f"{bound}: {v}" if v in ("agree", "DIFFER") else v
            rows.append((o.framework, "refused" if o.refused else str(o.shape), cell, o.how))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = ["  ".join(c.ljust(wd) for c, wd in zip(r[:3], widths)) + "  " + r[3] for r in rows]
        if self.pads is not None:
            lines.append(f"pads (top, bottom), (left, right): {self.pads}")
        lines += [f"{o.framework} raised {o.error}" for o in (self.reference, *self.others) if o.refused]
        return "\n".join(line.rstrip() for line in lines)

    def __str__(self) -> str:
        return self.table()


def summarize(reports: list[Report], labels) -> str:
    """One line per report: label, each framework's shape, the pads and one verdict.

    The verdict is ``agree`` only when every framework that ran matches convlib in shape
    and values; otherwise the first failing framework's verdict is shown.
    """
    names = [o.framework for o in reports[0].others] if reports else []
    head = ["input", "convlib", *names, "pads ((t, b), (l, r))", "verdict"]
    rows = [head]
    for label, r in zip(labels, reports):
        shapes = [str(o.shape) if o.shape else "refused" for o in (r.reference, *r.others)]
        bad = [f"{o.framework}: {r.verdict(o)}" for o in r.others if r.verdict(o) != "agree"]
        verdict = f"agree (max|diff| < {r.tol:.0e} x scale)" if r.agree and not bad else "; ".join(bad)
        rows.append([str(label), *shapes, str(r.pads), verdict])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)
