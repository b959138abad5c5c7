"""The benchmark of :mod:`convlib.proof.bench` as figures: per layer, and per network."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def plot_benchmark(records, title: str = "float32, same threads for every contender") -> Figure:
    """Time of convlib ``auto`` over the faster peer, per layer and batch size (lower is faster).

    ``records`` are the per-layer dictionaries of a ``python -m convlib.proof.bench --json`` run.
    One horizontal bar per layer and batch on a log axis, labelled ``network: layer`` where the
    records name their network; the dashed line at 1 is parity with the fastest of PyTorch
    (NCHW, channels_last) and TensorFlow, and each bar ends with the engine ``auto`` chose.

    Examples
    --------
    >>> rec = {"layer": "l", "batch": 1, "auto_over_peer": 1.2, "auto_engine": "im2col"}
    >>> len(plot_benchmark([rec]).axes)
    1
    """
    batches = sorted({r["batch"] for r in records})
    label = lambda r: f"{r['net']}: {r['layer']}" if "net" in r else r["layer"]  # noqa: E731
    layers = list(dict.fromkeys(label(r) for r in records))
    fig = Figure(figsize=(7, 0.075 * len(layers) * len(batches) + 1.3), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    height = 0.8 / len(batches)
    for j, batch in enumerate(batches):
        by_layer = {label(r): r for r in records if r["batch"] == batch}
        ys = np.arange(len(layers)) + j * height
        ratios = [by_layer[name]["auto_over_peer"] if name in by_layer else np.nan for name in layers]
        ax.barh(ys, ratios, height=height, label=f"batch {batch}")
        for y, name, ratio in zip(ys, layers, ratios):
            if name in by_layer:
                ax.text(ratio * 1.03, y, by_layer[name]["auto_engine"], va="center", fontsize=4.5)
    ax.axvline(1.0, color="k", ls="--", lw=1)
    ax.set_xscale("log")
    ax.set_yticks(np.arange(len(layers)) + 0.4 - height / 2, layers, fontsize=5.5)
    ax.invert_yaxis()
    ax.set(xlabel="t(auto) / t(faster peer), log scale (< 1: convlib faster)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    return fig


def plot_network_summary(summaries: dict) -> Figure:
    """Geometric mean of ``t(auto) / t(faster peer)`` per network, one bar per run and batch.

    ``summaries`` maps a run's label (``"1 thread"``) to the ``summary`` of its JSON
    (:func:`convlib.proof.bench_report.summarize`).

    Examples
    --------
    >>> s = {"nets": {"A": {"1": {"geomean_auto_over_peer": 1.5}}}}
    >>> len(plot_network_summary({"1 thread": s}).axes[0].patches)
    1
    """
    runs = list(summaries)
    nets = list(summaries[runs[0]]["nets"])
    bars = [(run, b) for run in runs for b in summaries[run]["nets"][nets[0]] if b != "all"]
    fig = Figure(figsize=(7, 3.4), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    width = 0.8 / len(bars)
    for j, (run, b) in enumerate(bars):
        ys = [summaries[run]["nets"][n].get(b, {}).get("geomean_auto_over_peer", math.nan) for n in nets]
        ax.bar(np.arange(len(nets)) + j * width, ys, width=width, label=f"{run}, batch {b}")
    ax.axhline(1.0, color="k", ls="--", lw=1)
    ax.set_xticks(np.arange(len(nets)) + 0.4 - width / 2, nets, fontsize=7, rotation=15)
    ax.set(ylabel="geomean t(auto) / t(faster peer)")
    ax.set_title("Lower is better; 1 is parity with the faster framework", fontsize=9)
    ax.legend(fontsize=7)
    return fig
