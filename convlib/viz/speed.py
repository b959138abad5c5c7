"""The benchmark of :mod:`convlib.proof.bench` as a figure."""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def plot_benchmark(records) -> Figure:
    """Time of convlib ``auto`` over the faster peer, per layer and batch size (lower is faster).

    ``records`` are the per-layer dictionaries of a ``python -m convlib.proof.bench --json`` run.
    One horizontal bar per layer and batch; the dashed line at 1 is parity with the faster of
    PyTorch and TensorFlow, and each bar is labelled with the engine ``auto`` chose.

    Examples
    --------
    >>> rec = {"layer": "l", "batch": 1, "auto_over_peer": 1.2, "auto_engine": "im2col"}
    >>> len(plot_benchmark([rec]).axes)
    1
    """
    batches = sorted({r["batch"] for r in records})
    layers = list(dict.fromkeys(r["layer"] for r in records))
    fig = Figure(figsize=(7, 0.17 * len(layers) * len(batches) + 1.2), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    height = 0.8 / len(batches)
    for j, batch in enumerate(batches):
        by_layer = {r["layer"]: r for r in records if r["batch"] == batch}
        ys = np.arange(len(layers)) + j * height
        ratios = [by_layer[name]["auto_over_peer"] if name in by_layer else np.nan for name in layers]
        ax.barh(ys, ratios, height=height, label=f"batch {batch}")
        for y, name, ratio in zip(ys, layers, ratios):
            if name in by_layer:
                ax.text(ratio + 0.02, y, by_layer[name]["auto_engine"], va="center", fontsize=6)
    ax.axvline(1.0, color="k", ls="--", lw=1)
    ax.set_yticks(np.arange(len(layers)) + 0.4 - height / 2, layers, fontsize=7)
    ax.invert_yaxis()
    ax.set(xlabel="convlib auto time / faster peer's time (< 1: convlib faster)")
    ax.set_title("ResNet-50 convolutions, float32, one thread each", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    return fig
