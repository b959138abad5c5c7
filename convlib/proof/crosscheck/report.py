"""Outcomes, reports and tolerances: the comparison machinery every cross-check uses."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import numpy as np

WIDTH = 74  # characters: what a book output box (676 px of monospace) shows at a 1280-px window
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
    cannot: str | None = None  # why the framework cannot express the configuration (not run)

    @property
    def refused(self) -> bool:
        """The framework was run and raised."""
        return self.error is not None


def cannot(framework: str, reason: str, how: str = "") -> Outcome:
    """A framework that cannot express the configuration, named with the reason; it is not run.

    The reason is decided from the configuration by the cross-check, never inferred from an
    exception: a framework that was run and raised is a refusal (:func:`run`), and fails the
    strict verdict of :attr:`Report.agree`.
    """
    return Outcome(framework, how=how, cannot=reason)


def run(framework: str, fn, how: str = "") -> Outcome:
    """Call ``fn()``; record its array, or the exception it raised as a refusal."""
    try:
        out = np.asarray(fn())
    except Exception as exc:  # a framework refusing is a result to report, not a crash
        # Keras wraps the real message under a generic first line; report the informative one.
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # Keras colours its messages
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        lines = [ln for ln in lines if not ln.startswith("Exception encountered")] or [""]
        # TensorFlow prefixes its messages with the op's path ({{function_node ...}}): noise here.
        first = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", lines[0])
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
        """One framework's verdict: ``cannot express``, ``refused``, ``convlib refused``,
        ``SHAPE DIFFERS``, ``DIFFER`` or ``agree``."""
        if o.cannot is not None:
            return "cannot express"
        if o.refused:
            return "refused"
        if self.reference.refused:
            return "convlib refused"
        if o.shape != self.reference.shape:
            return "SHAPE DIFFERS"
        return "agree" if o.max_diff <= self.tol * self.scale else "DIFFER"

    @property
    def cannot(self) -> dict[str, str]:
        """``{framework: reason}`` for the frameworks named as unable to express the configuration."""
        return {o.framework: o.cannot for o in self.others if o.cannot is not None}

    @property
    def expected(self) -> list[Outcome]:
        """The frameworks that can express the configuration, so were run."""
        return [o for o in self.others if o.cannot is None]

    @property
    def agree(self) -> bool:
        """The strict verdict: convlib ran, and *every* framework that can express the
        configuration ran and matches it in shape and values (at least one did).

        A framework that raised fails it; only those named in :attr:`cannot`, with the
        reason, are left out.
        """
        ran = self.expected
        return not self.reference.refused and bool(ran) and all(self.verdict(o) == "agree" for o in ran)

    @property
    def refused_together(self) -> bool:
        """Agreement on refusal: convlib refused and so did every framework that can express it."""
        ran = self.expected
        return self.reference.refused and bool(ran) and all(o.refused for o in ran)

    @property
    def status(self) -> str:
        """One word for the whole report: ``agree``, ``refused together`` or ``FAIL``."""
        return "agree" if self.agree else "refused together" if self.refused_together else "FAIL"

    def table(self, width: int = WIDTH) -> str:
        """The report as text no wider than ``width`` (the book's output box holds about 80
        characters at 1280 px): the verdict first, then one row per library (output shape and
        verdict), the pads, each library's call, and every refusal or reason, wrapped."""
        bound = f"max|diff| <= {self.tol:.0e}" + ("" if self.scale == 1.0 else " x scale")
        lines = [f"verdict: {self.status} ({bound})"]
        rows = [("", "output shape", "vs convlib")]
        for o in (self.reference, *self.others):
            rows.append((o.framework, self._shape_cell(o), "-" if o is self.reference else self.verdict(o)))
        widths = [max(len(r[i]) for r in rows) for i in range(2)]
        lines += ["  " + "  ".join(c.ljust(wd) for c, wd in zip(r[:2], widths)) + "  " + r[2] for r in rows]
        if self.pads is not None:
            lines.append(f"pads (top, bottom), (left, right): {self.pads}")
        notes = [(o.framework, o.how) for o in (self.reference, *self.others) if o.how]
        notes += [(name, f"cannot express this: {why}") for name, why in self.cannot.items()]
        notes += [(o.framework, f"raised {o.error}") for o in (self.reference, *self.others) if o.refused]
        name_w = max((len(n) for n, _ in notes), default=0)
        for name, text in notes:
            lines += _wrap(f"{name.ljust(name_w)}  {text}", width, indent=name_w + 2)
        return "\n".join(line.rstrip() for line in lines)

    @staticmethod
    def _shape_cell(o: Outcome) -> str:
        return "cannot" if o.cannot is not None else "refused" if o.refused else str(o.shape)

    def _repr_html_(self) -> str:
        """A small HTML table for the book, verdict first; deterministic (no ids, no timings)."""
        e = html.escape
        head = "".join(f"<th>{h}</th>" for h in ("framework", "output shape", "max|diff|", "verdict", "how"))
        rows = []
        for o in (self.reference, *self.others):
            v = "-" if o is self.reference else self.verdict(o)
            diff = "" if o.max_diff is None else f"{o.max_diff:.1e}"
            note = o.cannot or o.error or ""
            how = e(o.how) + (f"<br><small>{e(note)}</small>" if note else "")
            cells = (e(o.framework), e(self._shape_cell(o)), diff, e(v), how)
            rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        bound = f"max|diff| &le; {self.tol:.0e}" + ("" if self.scale == 1.0 else f" &times; {self.scale:.3g}")
        pads = "" if self.pads is None else f"; pads {e(str(self.pads))}"
        return (
            f"<p><b>verdict: {e(self.status)}</b> ({bound}{pads})</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )

    def __str__(self) -> str:
        return self.table()


def summarize(reports: list[Report], labels, width: int = WIDTH) -> str:
    """One line per report: label, convlib's output shape, the pads and the strict verdict.

    ``agree`` means every framework that can express the configuration ran and matches convlib
    in shape and values (so their shapes are convlib's); otherwise each failing framework's
    verdict is named. Frameworks that cannot express a configuration are listed, with the
    reason, under the table; lines are wrapped at ``width``.
    """
    head = ["input", "output", "pads ((t, b), (l, r))", "verdict"]
    rows, notes = [head], {}
    for label, r in zip(labels, reports):
        bad = [f"{o.framework}: {r.verdict(o)}" for o in r.expected if r.verdict(o) != "agree"]
        verdict = r.status if r.agree or r.refused_together else "; ".join(bad)
        rows.append([str(label), Report._shape_cell(r.reference), str(r.pads), verdict])
        for name, why in r.cannot.items():
            notes.setdefault(f"{name} cannot express: {why}", []).append(str(label))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    if reports and any(r.agree for r in reports):
        r = next(r for r in reports if r.agree)
        names = ", ".join(o.framework for o in r.expected)
        lines.append(f"agree: {names} ran, same shape, max|diff| <= {r.tol:.0e} x scale")
    for note, where in notes.items():
        lines += _wrap(f"{note} (input {', '.join(where)})", width, indent=2)
    return "\n".join(lines)


def _wrap(text: str, width: int, indent: int) -> list[str]:
    """``text`` folded at ``width`` columns, continuation lines indented by ``indent``."""
    import textwrap

    return textwrap.wrap(text, width, subsequent_indent=" " * indent, break_long_words=True,
                         break_on_hyphens=False) or [""]  # fmt: skip
