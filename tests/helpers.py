"""The input builder, the one tolerance and the one strict comparison every cross-check test uses.

Modelled on tinygrad's ``helper_test_op(shapes, torch_fn, tinygrad_fn, atol, rtol)``: a test
states the configuration, which frameworks *cannot* express it (not called) and which are
called and refuse it (with their own message); :func:`assert_agrees` then demands that every
other framework ran and matched convlib (with no refusal, the strict verdict of
:attr:`convlib.proof.crosscheck.Report.agree`) and prints the report's table when it fails.
"""

from __future__ import annotations

import re

import numpy as np


def random_inputs(rng, *shapes, dtype=np.float32):
    """One standard-normal array per shape, in ``dtype`` (``None`` stays ``None``)."""
    return tuple(None if s is None else rng.standard_normal(s).astype(dtype) for s in shapes)


def channels_first(x, w=None):
    """An NHWC input (and an HWIO kernel) as NCHW (and OIHW), C-ordered copies."""
    import convlib

    x = convlib.nchw(x)
    return x if w is None else (x, convlib.oihw(w))


def assert_close(ours, ref, dtype=None):
    """``max|ours - ref| <= tol * max(1, max|ref|)``, the cross-checks' own rule.

    ``tol`` is :func:`convlib.proof.crosscheck.report.tolerance` of ``dtype`` (default: ``ours``'s):
    1e-5 for float32 against a framework, 1e-10 for float64 against the naive loop or float64
    PyTorch. Shapes must be equal; a NaN anywhere fails.
    """
    from convlib.proof.crosscheck.report import tolerance

    ours, ref = np.asarray(ours), np.asarray(ref)
    assert ours.shape == ref.shape, f"shape {ours.shape}, expected {ref.shape}"
    if not ref.size:
        return
    tol = tolerance(ours.dtype if dtype is None else dtype)
    scale = max(1.0, float(np.max(np.abs(ref))))
    diff = float(np.max(np.abs(ours.astype(np.float64) - ref)))
    assert diff <= tol * scale, f"max|diff| = {diff:.3g} > {tol:g} * max(1, max|ref|) = {tol * scale:.3g}"


def assert_agrees(report, cannot=(), refused=None):
    """The strict verdict, but for exactly the frameworks named in ``cannot`` and ``refused``.

    ``report`` is a :class:`~convlib.proof.crosscheck.Report` or a dict of them (the three
    gradients); ``cannot`` names the frameworks that cannot express the configuration, so were
    not called (each with its reason in the report). ``refused`` maps a framework to a regular
    expression: it was called and raised, and its message matches (``re.search``). convlib and
    every other framework ran and agree (at least one did). Returns ``report``.
    """
    refused = dict(refused or {})
    reports = report if isinstance(report, dict) else {"": report}
    for part, r in reports.items():
        where = f"[{part}]\n{r.table()}" if part else r.table()
        assert set(r.cannot) == set(cannot), f"cannot express: {r.cannot}, expected {sorted(cannot)}\n{where}"
        if not refused:
            assert r.agree, f"not every framework that can express this agrees with convlib\n{where}"
            continue
        ran = {o.framework: o for o in r.expected}
        for name, pattern in refused.items():
            o = ran.get(name)
            assert o is not None and o.refused, f"{name} was expected to be called and refuse\n{where}"
            assert re.search(pattern, o.error), f"{name}'s refusal does not match {pattern!r}\n{where}"
        rest = [o for o in ran.values() if o.framework not in refused]
        assert not r.reference.refused and rest, f"convlib and a framework must run\n{where}"
        assert all(r.verdict(o) == "agree" for o in rest), f"not every other framework agrees\n{where}"
    return report
