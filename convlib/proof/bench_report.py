"""The benchmark's records as summaries and tables of at most 74 columns.

Two kinds of ratio appear, and their headers never look alike: a **time ratio**
``t(auto)/t(peer)`` (convlib's time over the faster peer's; below 1 convlib is faster, lower
is better) and a **throughput ratio** ``GF/s/limit`` (convlib's GFLOP/s over the GFLOP/s
its layer's limit allows, i.e. ``limit time / auto time``; 1 is the roofline, higher is
better).
"""

from __future__ import annotations

import math

__all__ = ["geomean", "summarize", "format_table", "format_summary", "format_gpu_table"]


def geomean(values) -> float:
    """Geometric mean (``nan`` for no values).

    Examples
    --------
    >>> round(geomean([0.5, 2.0, 1.0]), 6)
    1.0
    """
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else math.nan


def _stats(rs) -> dict:
    compute = [r for r in rs if r["bound"] == "compute"]
    worst = max(rs, key=lambda r: r["auto_over_peer"])
    return {
        "layers": len(rs),
        "geomean_auto_over_peer": geomean(r["auto_over_peer"] for r in rs),
        "geomean_auto_over_peer_min": geomean(r["auto_over_peer_min"] for r in rs),
        "worst_layer": f"{worst['net']} {worst['layer']} (N={worst['batch']})",
        "worst_auto_over_peer": worst["auto_over_peer"],
        "layers_over_2x": sum(r["auto_over_peer"] > 2 for r in rs),
        "compute_bound": len(compute),
        "compute_at_085_limit": sum(r["auto_vs_limit"] >= 0.85 for r in compute),
    }


def summarize(records: list[dict]) -> dict:
    """Per network and overall, per batch and all batches: geomeans, the worst layer, roofline counts."""
    out = {"overall": {"all": _stats(records)}, "nets": {}}
    batches = sorted({r["batch"] for r in records})
    for b in batches:
        out["overall"][str(b)] = _stats([r for r in records if r["batch"] == b])
    for net in dict.fromkeys(r["net"] for r in records):
        rs = [r for r in records if r["net"] == net]
        per_batch = {str(b): [r for r in rs if r["batch"] == b] for b in batches}
        out["nets"][net] = {"all": _stats(rs), **{b: _stats(v) for b, v in per_batch.items() if v}}
    return out


def format_table(records: list[dict]) -> str:
    """One line per layer: engine, times, the time ratio, the bound and the throughput ratio.

    Examples
    --------
    >>> rec = {"net": "n", "layer": "l", "batch": 1, "auto_engine": "im2col", "faster_peer": "tf",
    ...        "time_s": {"auto": 0.002, "tf": 0.001}, "auto_over_peer": 2.0, "bound": "compute",
    ...        "auto_vs_limit": 0.5}
    >>> print(format_table([rec]))
    layer              N engine        auto ms peer    t(a)/t(p) bd GF/s/limit
    l                  1 im2col          2.000 tf           2.00 C        0.50
    """
    head = f"{'layer':18s}{'N':>2s} {'engine':13s}{'auto ms':>8s} {'peer':8s}{'t(a)/t(p)':>9s}"
    head += f" bd{'GF/s/limit':>11s}"
    lines = [head]
    for r in records:
        ms, bound = r["time_s"]["auto"] * 1e3, r["bound"][0].upper()
        lines.append(
            f"{r['layer'][:18]:18s}{r['batch']:2d} {r['auto_engine'][:13]:13s}{ms:8.3f} "
            f"{r['faster_peer']:8s}{r['auto_over_peer']:9.2f} {bound:2s}{r['auto_vs_limit']:11.2f}"
        )
    return "\n".join(lines)


def format_summary(summary: dict) -> str:
    """Per network and overall: geometric mean time ratio per batch, and the worst layer."""
    nets = summary["nets"]
    batches = [b for b in summary["overall"] if b != "all"]
    head = f"{'network':16s}" + "".join(f"{'N=' + b:>9s}" for b in batches) + f"{'all':>7s}  worst t(a)/t(p)"
    lines = ["geometric mean of t(auto)/t(faster peer), lower is better", head]
    for name, st in [*nets.items(), ("overall", summary["overall"])]:
        cells = "".join(
            f"{st[b]['geomean_auto_over_peer']:9.2f}" if b in st else f"{'-':>9s}" for b in batches
        )
        mean, worst = st["all"]["geomean_auto_over_peer"], st["all"]["worst_auto_over_peer"]
        lines.append(f"{name[:16]:16s}{cells}{mean:7.2f}  {worst:.2f}")
    o = summary["overall"]["all"]
    lines.append(
        f"worst layer: {o['worst_layer']}, {o['worst_auto_over_peer']:.2f}x; {o['layers_over_2x']} of "
        f"{o['layers']} over 2x"
    )
    lines.append(
        f"compute-bound at >= 0.85 of the GEMM limit: {o['compute_at_085_limit']} of {o['compute_bound']}"
    )
    return "\n".join(lines)


def format_comparison(summaries: dict[str, dict]) -> str:
    """Geometric mean per network, overall and the records over 2x, one column per labelled summary.

    ``summaries`` maps a column label (at most 8 characters) to a :func:`summarize` result; every
    summary must cover the same networks.

    Examples
    --------
    >>> s = {"nets": {"A": {"all": {"geomean_auto_over_peer": 1.5}}},
    ...      "overall": {"all": {"geomean_auto_over_peer": 1.5, "layers_over_2x": 0}}}
    >>> print(format_comparison({"old": s, "new": s}))
    network               old      new
    A                    1.50     1.50
    overall              1.50     1.50
    records over 2x         0        0
    """
    first = next(iter(summaries.values()))
    lines = [f"{'network':16s}" + "".join(f"{label[:8]:>9s}" for label in summaries)]
    for net in [*first["nets"], "overall"]:
        cells = []
        for s in summaries.values():
            st = s["overall"] if net == "overall" else s["nets"][net]
            cells.append(f"{st['all']['geomean_auto_over_peer']:9.2f}")
        lines.append(f"{net[:16]:16s}" + "".join(cells))
    over = "".join(f"{s['overall']['all']['layers_over_2x']:9d}" for s in summaries.values())
    lines.append(f"{'records over 2x':16s}{over}")
    return "\n".join(lines)


def format_gpu_table(records: list[dict]) -> str:
    """The CUDA run of ``benchmarks/cuda_vs_cudnn.py``: convlib's torch path over cuDNN, per layer."""
    head = f"{'network':14s}{'layer':21s}{'N':>2s} {'engine':13s}{'cudnn ms':>9s}{'t(a)/t(c)':>10s}"
    lines = [head]
    for r in records:
        lines.append(
            f"{r['net'][:14]:14s}{r['layer'][:21]:21s}{r['batch']:2d} {r['engine'][:13]:13s}"
            f"{r['time_s']['cudnn'] * 1e3:9.3f}{r['auto_over_cudnn']:10.2f}"
        )
    return "\n".join(lines)
