"""The verification matrix: many configurations through TensorFlow, PyTorch and convlib.

Every configuration of conv2d, conv_transpose2d, max/avg pooling and conv2d_backward is
run through :mod:`convlib.crosscheck` and lands in exactly one class:

* ``agree`` -- every framework that can express it matches convlib in shape and values;
* ``refused`` -- somebody refuses (the exception and its first line are recorded);
  refusals shared by convlib and a framework are the normal way undefined requests end;
* ``disagree`` -- a framework returns something else (the ``max|diff|`` is recorded).

Each refusal or disagreement is matched against :data:`REASONS`, the list of causes
understood so far; anything unmatched is reported as ``unexplained`` and fails the tests.

Run ``python -m convlib.verify [--quick] [--json PATH] [--seed N]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from .parity import REASONS, _reason, classify

__all__ = [
    "Case",
    "configurations",
    "check_case",
    "run_case",
    "run_matrix",
    "class_table",
    "precision_study",
    "plot_precision",
    "REASONS",
    "classify",
    "main",
]

OPS = ("conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "conv2d_backward")


@dataclass
class Case:
    """One configuration: the operation, the array shapes and the keyword arguments."""

    op: str
    x_shape: tuple
    w_shape: tuple | None  # kernel (or grad_out shape is derived); None for pooling
    kwargs: dict = field(default_factory=dict)
    dtype: str = "float32"
    seed: int = 0

    def arrays(self):
        """Seeded input and kernel of the case's dtype (kernel None for pooling)."""
        rng = np.random.default_rng(self.seed)
        x = rng.standard_normal(self.x_shape).astype(self.dtype)
        w = None if self.w_shape is None else rng.standard_normal(self.w_shape).astype(self.dtype)
        return x, w

    def to_json(self) -> dict:
        return {
            "op": self.op,
            "x": list(self.x_shape),
            "w": self.w_shape and list(self.w_shape),
            "kwargs": _jsonable(self.kwargs),
            "dtype": self.dtype,
            "seed": self.seed,
        }

    @classmethod
    def from_json(cls, d: dict) -> Case:
        kw = {k: _tupled(v) for k, v in d["kwargs"].items()}
        w = None if d["w"] is None else tuple(d["w"])
        return cls(d["op"], tuple(d["x"]), w, kw, d["dtype"], d["seed"])


def _jsonable(v):
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    return [_jsonable(x) for x in v] if isinstance(v, (list, tuple)) else v


def _tupled(v):
    return tuple(_tupled(x) for x in v) if isinstance(v, list) else v


# --------------------------------------------------------------------------- sampling
def _pad_form(rng, words, hi):
    """One padding of any accepted form: a word, ``p``, ``(ph, pw)`` or ``((t, b), (l, r))``."""
    form = rng.integers(4)
    if form == 0:
        return str(rng.choice(words))
    if form == 1:
        return int(rng.integers(hi + 1))
    if form == 2:
        return tuple(int(v) for v in rng.integers(0, hi + 1, 2))
    return tuple(tuple(int(v) for v in rng.integers(0, hi + 1, 2)) for _ in range(2))


def _pair(rng, lo, hi):
    """An int or, one time in three, an ``(h, w)`` pair."""
    return (
        tuple(int(v) for v in rng.integers(lo, hi + 1, 2))
        if rng.integers(3) == 0
        else int(rng.integers(lo, hi + 1))
    )


def _layout(fmt, n, h, w, c):
    return (n, h, w, c) if fmt == "NHWC" else (n, c, h, w)


def _conv_case(op, rng, seed, *, h, w, k, stride, dilation, padding, groups=1, fmt="NHWC", mode="zeros"):
    cin, cout = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    kh, kw = (k, k) if isinstance(k, int) else k
    wshape = (kh, kw, cin // groups, cout) if fmt == "NHWC" else (cout, cin // groups, kh, kw)
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, data_format=fmt)
    if op == "conv2d" or mode != "zeros":
        kwargs["padding_mode"] = mode
    dtype = "float64" if rng.integers(10) == 0 else "float32"
    return Case(op, _layout(fmt, int(rng.integers(1, 3)), h, w, cin), wshape, kwargs, dtype, seed)


def _random_conv(op, rng, seed):
    mode = str(rng.choice(["zeros"] * 5 + ["reflect", "replicate", "circular"]))
    return _conv_case(
        op, rng, seed, h=int(rng.integers(1, 10)), w=int(rng.integers(1, 10)),
        k=(int(rng.integers(1, 6)), int(rng.integers(1, 6))), stride=_pair(rng, 1, 3),
        dilation=_pair(rng, 1, 3), padding=_pad_form(rng, ["valid", "same", "full"], 3),
        groups=int(rng.choice([1, 1, 2])), fmt=str(rng.choice(["NHWC", "NCHW"])), mode=mode,
    )  # fmt: skip


def _random_transpose(rng, seed):
    groups, fmt = int(rng.choice([1, 1, 2])), str(rng.choice(["NHWC", "NCHW"]))
    cin, cout_g = groups * int(rng.integers(1, 3)), int(rng.integers(1, 3))
    kh, kw = (int(v) for v in rng.integers(1, 5, 2))
    wshape = (kh, kw, cout_g, cin) if fmt == "NHWC" else (cin, cout_g, kh, kw)
    stride, dilation = _pair(rng, 1, 3), _pair(rng, 1, 2)
    op = None if rng.integers(2) else _pair(rng, 0, 2)
    kwargs = dict(stride=stride, padding=_pad_form(rng, ["valid", "same"], 2), output_padding=op,
                  dilation=dilation, groups=groups, data_format=fmt)  # fmt: skip
    x = _layout(fmt, int(rng.integers(1, 3)), int(rng.integers(1, 7)), int(rng.integers(1, 7)), cin)
    return Case("conv_transpose2d", x, wshape, kwargs, "float32", seed)


def _random_pool(op, rng, seed):
    fmt = str(rng.choice(["NHWC", "NCHW"]))
    kwargs = dict(pool_size=_pair(rng, 1, 4), strides=None if rng.integers(3) == 0 else _pair(rng, 1, 3),
                  padding=_pad_form(rng, ["valid", "same"], 2), ceil_mode=bool(rng.integers(4) == 0),
                  data_format=fmt)  # fmt: skip
    if op == "max_pool2d":
        kwargs["dilation"] = 1 if rng.integers(3) else _pair(rng, 1, 2)
    else:
        kwargs["count_include_pad"] = bool(rng.integers(2))
    x = _layout(fmt, int(rng.integers(1, 3)), int(rng.integers(1, 10)), int(rng.integers(1, 10)), 2)
    return Case(op, x, None, kwargs, "float32", seed)


def _grid(seed):
    """The seeded grid: every combination of a few telling values per parameter."""
    rng, cases = np.random.default_rng(seed), []
    for i, (n, k, s, d, p) in enumerate(np.ndindex(5, 4, 3, 2, 5)):
        nv, kv = (1, 2, 3, 4, 7)[n], (1, 2, 3, 5)[k]
        pad = ("valid", "same", "full", 1, ((0, 2), (1, 0)))[p]
        fmt = ("NHWC", "NCHW")[i % 2]
        cases.append(_conv_case("conv2d", rng, seed + i, h=nv, w=nv + i % 3, k=kv, stride=s + 1,
                                dilation=d + 1, padding=pad, fmt=fmt))  # fmt: skip
    for i, (n, k, s, p, o) in enumerate(np.ndindex(3, 3, 3, 4, 2)):
        fmt, cin = ("NHWC", "NCHW")[i % 2], 2
        kv = (1, 2, 3)[k]
        kw = dict(stride=s + 1, padding=("valid", "same", 0, 1)[p], output_padding=(None, 1)[o],
                  dilation=1, groups=1, data_format=fmt)  # fmt: skip
        wshape = (kv, kv, 3, cin) if fmt == "NHWC" else (cin, 3, kv, kv)
        x = _layout(fmt, 1, (1, 2, 4)[n], (1, 2, 4)[n] + 1, cin)
        cases.append(Case("conv_transpose2d", x, wshape, kw, "float32", seed + 10_000 + i))
    for op in ("max_pool2d", "avg_pool2d"):
        for i, (n, k, s, p, c) in enumerate(np.ndindex(4, 3, 3, 3, 2)):
            kw = dict(pool_size=k + 1, strides=(None, 1, 2)[s], padding=("valid", "same", 1)[p],
                      ceil_mode=bool(c), data_format=("NHWC", "NCHW")[i % 2])  # fmt: skip
            x = _layout(kw["data_format"], 1, (1, 2, 3, 5)[n], (1, 2, 3, 5)[n], 2)
            cases.append(Case(op, x, None, kw, "float32", seed + 20_000 + i))
    for i, (n, k, s, d, p) in enumerate(np.ndindex(3, 3, 2, 2, 3)):
        cases.append(_conv_case("conv2d_backward", rng, seed + 30_000 + i, h=(2, 3, 5)[n], w=(2, 3, 5)[n],
                                k=k + 1, stride=s + 1, dilation=d + 1, padding=("valid", "same", 1)[p],
                                fmt=("NHWC", "NCHW")[i % 2]))  # fmt: skip
    return cases


RANDOM_COUNTS = {"conv2d": 1800, "conv_transpose2d": 700, "max_pool2d": 500, "avg_pool2d": 500,
                 "conv2d_backward": 500}  # fmt: skip


def configurations(quick: bool = False, seed: int = 0, ops=OPS) -> list[Case]:
    """The seeded grid plus random whole configurations (a tenth of each with ``quick``).

    Examples
    --------
    >>> cases = configurations(quick=True)
    >>> len(cases) > 200, sorted({c.op for c in cases}) == sorted(OPS)
    (True, True)
    """
    grid = [c for c in _grid(seed) if c.op in ops]
    rng, cases = np.random.default_rng(seed), grid[::10] if quick else grid
    for op in ops:
        for i in range(RANDOM_COUNTS[op] // (15 if quick else 1)):
            s = seed + 100_000 * (1 + OPS.index(op)) + i
            if op in ("conv2d", "conv2d_backward"):
                cases.append(_random_conv(op, rng, s))
            elif op == "conv_transpose2d":
                cases.append(_random_transpose(rng, s))
            else:
                cases.append(_random_pool(op, rng, s))
    return cases


# --------------------------------------------------------------------------- running
def check_case(case: Case) -> dict:
    """Run one case through :mod:`convlib.crosscheck`; ``{part: Report}`` (one part, or three gradients).

    A backward case whose forward convlib refuses is checked as its forward conv2d: there is
    no ``grad_out`` shape to give, and the refusal is the forward's.
    """
    from . import crosscheck as cc
    from .layout import check_shapes, to_channels_last
    from .padding import apply_padding

    x, w = case.arrays()
    kw = dict(case.kwargs)
    if case.op == "conv2d":
        return {"y": cc.crosscheck_conv2d(x, w, **kw)}
    if case.op == "conv_transpose2d":
        return {"y": cc.crosscheck_conv_transpose2d(x, w, **kw)}
    if case.op in ("max_pool2d", "avg_pool2d"):
        kw.pop("count_include_pad" if case.op == "max_pool2d" else "dilation", None)
        return {"y": cc.crosscheck_pool2d(case.op[:3], x, **kw)}
    mode = kw.pop("padding_mode", "zeros")
    try:
        geo = check_shapes(x.shape, w.shape, **kw)
        apply_padding(to_channels_last(x, geo.data_format), geo.pads, mode)
    except ValueError:
        return {"forward": cc.crosscheck_conv2d(x, w, padding_mode=mode, **kw)}
    g = np.random.default_rng(case.seed + 1).standard_normal(geo.output_shape).astype(case.dtype)
    return cc.crosscheck_backward(x, w, g, padding_mode=mode, **kw)


def _convlib_refuses(case: Case) -> bool:
    """Whether convlib itself refuses ``case`` (cheap: no framework involved)."""
    from .layout import check_shapes, to_channels_last
    from .padding import apply_padding
    from .pool import _geometry
    from .transpose import resolve_transpose

    x, w = case.arrays()
    kw = dict(case.kwargs)
    try:
        x4 = to_channels_last(x, kw.get("data_format", "NHWC"))
        if case.op == "conv_transpose2d":
            k_hw = w.shape[:2] if kw["data_format"] == "NHWC" else w.shape[2:]
            keys = ("stride", "padding", "output_padding", "dilation")
            resolve_transpose(x4.shape[1:3], k_hw, **{k: kw[k] for k in keys})
        elif case.op in ("max_pool2d", "avg_pool2d"):
            keys = ("pool_size", "strides", "padding")
            _geometry(x4.shape[1:3], *(kw[k] for k in keys), kw.get("dilation", 1), kw["ceil_mode"])
        else:
            mode = kw.pop("padding_mode", "zeros")
            apply_padding(x4, check_shapes(x.shape, w.shape, **kw).pads, mode)
    except (ValueError, TypeError):
        return True
    return False


def _tf_pool_crashes(case: Case) -> int | None:
    """The signal that kills a process running TensorFlow's pooling on ``case`` literally, else None.

    ``tf.nn.max_pool2d`` with a window larger than the input under "VALID" can die with SIGFPE
    (an integer division by zero) instead of raising, which would end the whole verifier; so
    the literal TF call is first tried in a forked child. Call this only in a process where
    PyTorch has not run (see :func:`probe_tf_pool`): a fork after its thread pool ran can deadlock.
    """
    from .frameworks import load_tf
    from .parity import signal_in_child

    tf, kw = load_tf(), case.kwargs
    if not (isinstance(kw["padding"], str) and kw["padding"].lower() == "valid"):
        return None
    x = np.zeros(case.x_shape if kw["data_format"] == "NHWC" else np.take(case.x_shape, (0, 2, 3, 1)), "f4")
    op = tf.nn.max_pool2d if case.op == "max_pool2d" else tf.nn.avg_pool2d
    strides = kw["pool_size"] if kw["strides"] is None else kw["strides"]
    return signal_in_child(lambda: op(x, kw["pool_size"], strides, "VALID"))


def _risky(case: Case) -> bool:
    return case.op in ("max_pool2d", "avg_pool2d") and _convlib_refuses(case)


def probe_tf_pool(cases: list[Case]) -> list[int | None]:
    """:func:`_tf_pool_crashes` for each case, in a fresh interpreter that loads only TensorFlow."""
    import subprocess

    if not cases:
        return []
    payload = json.dumps([c.to_json() for c in cases])
    done = subprocess.run([sys.executable, "-m", "convlib.verify", "--probe-tf-pool"], input=payload,
                          capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(done.stdout.splitlines()[-1])


def run_case(case: Case, crash: int | None | bool = False) -> dict:
    """Check and classify one case. TensorFlow pooling calls that could kill the process are
    probed first (``crash`` passes an already probed signal, or None for none)."""
    if crash is not False or _risky(case):
        sig = probe_tf_pool([case])[0] if crash is False else crash
        if sig:
            errors = {
                "TensorFlow": f"killed by signal {sig} (SIGFPE)" if sig == 8 else f"killed by signal {sig}"
            }
            return dict(kind="refused", who="TensorFlow", reason=_reason("TensorFlow: killed by signal"),
                        max_diff=None, errors=errors)  # fmt: skip
    return classify(case, check_case(case))


# --------------------------------------------------------------------------- the run
def run_matrix(quick: bool = False, seed: int = 0, ops=OPS, progress=None) -> dict:
    """Run every configuration; return the JSON-able summary (counts per class, examples, timing).

    Each class is ``(kind, who, reason)``; it keeps its count per operation, the largest
    ``max|diff|`` seen, the first example's configuration and its error lines.
    """
    from .frameworks import load_tf, load_torch

    tf, torch = load_tf(), load_torch()
    start, classes = time.perf_counter(), {}
    cases = configurations(quick, seed, ops)
    risky = [i for i, c in enumerate(cases) if _risky(c)]
    crashes = dict(zip(risky, probe_tf_pool([cases[i] for i in risky])))
    for i, case in enumerate(cases):
        got = run_case(case, crashes.get(i, False))
        key = (got["kind"], got["who"], got["reason"])
        entry = classes.setdefault(key, {"kind": key[0], "who": key[1], "reason": key[2], "count": 0,
                                         "ops": {}, "max_diff": None, "example": case.to_json(),
                                         "errors": got["errors"]})  # fmt: skip
        entry["count"] += 1
        entry["ops"][case.op] = entry["ops"].get(case.op, 0) + 1
        if got["max_diff"] is not None:
            entry["max_diff"] = max(entry["max_diff"] or 0.0, got["max_diff"])
        if progress and (i + 1) % 500 == 0:
            progress(f"{i + 1}/{len(cases)} in {time.perf_counter() - start:.0f} s")
    wall = time.perf_counter() - start
    ordered = sorted(classes.values(), key=lambda e: ("agree refused disagree".index(e["kind"]), -e["count"]))
    counts = {k: sum(e["count"] for e in ordered if e["kind"] == k) for k in ("agree", "refused", "disagree")}
    return {
        "seed": seed,
        "quick": quick,
        "configurations": len(cases),
        "wall_seconds": round(wall, 1),
        "cpus": len(__import__("os").sched_getaffinity(0)),
        "versions": {"tensorflow": tf.__version__, "torch": torch.__version__, "numpy": np.__version__},
        "counts": counts,
        "unexplained": sum(e["count"] for e in ordered if "UNEXPLAINED" in e["reason"]),
        "classes": ordered,
    }


def class_table(summary: dict) -> str:
    """Counts per class, one line each: kind, who, count, largest max|diff|, reason."""
    rows = [("kind", "who", "count", "max|diff|", "reason")]
    for e in summary["classes"]:
        md = "" if e["max_diff"] is None else f"{e['max_diff']:.1e}"
        rows.append((e["kind"], e["who"] or "-", str(e["count"]), md, e["reason"] or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4] for r in rows)


def main(argv=None) -> int:
    """Command line: ``python -m convlib.verify [--quick] [--json PATH] [--seed N]``."""
    ap = argparse.ArgumentParser(prog="python -m convlib.verify", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few hundred configurations (CI)")
    ap.add_argument("--json", metavar="PATH", help="write the summary as JSON")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--probe-tf-pool", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.probe_tf_pool:  # worker of probe_tf_pool: cases on stdin, signals on stdout
        print(json.dumps([_tf_pool_crashes(Case.from_json(d)) for d in json.load(sys.stdin)]))
        return 0
    summary = run_matrix(args.quick, args.seed, progress=lambda s: print(s, file=sys.stderr, flush=True))
    print(f"{summary['configurations']} configurations in {summary['wall_seconds']} s: {summary['counts']}")
    print(class_table(summary))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)
            f.write("\n")
    return 1 if summary["unexplained"] else 0


if __name__ == "__main__":
    sys.exit(main())


# --------------------------------------------------------------------------- precision
def precision_study(kernel_sizes=(1, 3, 5, 7), channels=(1, 8, 32), size: int = 12, seed: int = 0):
    """float32 error of every engine, TensorFlow and PyTorch against a float64 reference.

    The error of one output is ``|y32 - y64| / (|x| * |w|)``: divided by the same conv of the
    absolute values (the sum of |terms| of each dot product), which is what floating-point
    error bounds are stated against. Reported: the largest over all outputs, per (k, C).

    Returns
    -------
    list of dict
        ``{"k", "channels", "terms", "errors": {name: float}, "normwise": {name: float}}`` with
        ``terms = k*k*C``; ``normwise`` divides the largest error by the largest ``|x| * |w|``
        (the measure that suits FFT, whose error spreads over the whole map); an engine
        that refuses the kernel size (Winograd takes only 3x3) is absent from ``errors``.
    """
    from .conv import conv2d
    from .crosscheck import tf_conv2d, torch_conv2d
    from .engines import ENGINES

    rng, rows = np.random.default_rng(seed), []
    for k in kernel_sizes:
        for c in channels:
            x = rng.standard_normal((1, size, size, c))
            w = rng.standard_normal((k, k, c, 4))
            ref = conv2d(x, w, algorithm="naive")
            scale = conv2d(np.abs(x), np.abs(w), algorithm="naive")
            x32, w32 = x.astype(np.float32), w.astype(np.float32)
            got = {}
            for name in ENGINES:
                try:
                    got[name] = conv2d(x32, w32, algorithm=name)
                except ValueError:  # an engine limited to some kernels (Winograd: 3x3) is left out
                    continue
            pads = ((0, 0), (0, 0))
            got["TensorFlow"] = tf_conv2d(x32, w32, pads=pads)[0]
            got["PyTorch"] = torch_conv2d(x32.transpose(0, 3, 1, 2), w32.transpose(3, 2, 0, 1), pads=pads)[0]
            got["PyTorch"] = got["PyTorch"].transpose(0, 2, 3, 1)
            err = {n: np.abs(y.astype(np.float64) - ref) for n, y in got.items()}
            errors = {n: float(np.max(e / scale)) for n, e in err.items()}
            normwise = {n: float(np.max(e) / np.max(scale)) for n, e in err.items()}
            rows.append({"k": k, "channels": c, "terms": k * k * c, "errors": errors, "normwise": normwise})
    return rows


def plot_precision(rows):
    """The precision study as a figure: error against the number of terms, one line per engine."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    terms = [r["terms"] for r in rows]
    order = np.argsort(terms, kind="stable")
    for name in dict.fromkeys(n for r in rows for n in r["errors"]):  # Winograd has 3x3 points only
        pts = [(terms[i], rows[i]["errors"][name]) for i in order if name in rows[i]["errors"]]
        style = "--" if name in ("TensorFlow", "PyTorch") else "-"
        ax.plot(*zip(*pts), style, marker="o", label=name)
    eps = np.finfo(np.float32).eps
    ax.plot(np.take(terms, order), [t * eps for t in np.take(terms, order)], ":k", label="K * eps (bound)")
    ax.set(xscale="log", yscale="log", xlabel="terms per output K = k*k*C")
    ax.set(ylabel="max |y32 - y64| / (|x| * |w|)", title="float32 error against a float64 reference")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig
