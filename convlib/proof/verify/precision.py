"""The precision study: float32 error of every engine and framework against float64."""

from __future__ import annotations

import numpy as np

__all__ = ["precision_study", "plot_precision"]


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
    from ...conv import conv2d
    from ...engines import ENGINES
    from ..crosscheck import tf_conv2d, torch_conv2d

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
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4), layout="constrained")  # not pyplot: shown once, by the notebook
    FigureCanvasAgg(fig)
    ax = fig.subplots()
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
    return fig
