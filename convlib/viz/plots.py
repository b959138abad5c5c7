"""Plots of sizes and the interactive explorer."""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..shapes import conv_output_size
from .draw import draw_conv


def plot_output_size_curve(ns, k: int, *, configs=None, dilation: int = 1) -> Figure:
    """Output size against input size, one line per ``(padding, stride)`` in ``configs``.

    Points where no window fits (a kernel larger than the padded input) are left out, as
    :func:`convlib.shapes.conv_output_size` refuses them.

    Examples
    --------
    >>> fig = plot_output_size_curve(range(1, 9), 3)
    >>> [int(v) for v in fig.axes[0].lines[0].get_ydata()]
    [1, 2, 3, 4, 5, 6]
    """
    configs = configs or [("valid", 1), ("same", 1), ("full", 1), ("valid", 2), ("same", 2)]
    fig = Figure(figsize=(6, 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for padding, stride in configs:
        pts = []
        for n in ns:
            try:
                pts.append((n, conv_output_size(n, k, stride=stride, padding=padding, dilation=dilation)))
            except ValueError:
                continue  # no window fits: convlib.shapes refuses, so the curve has no point there
        if pts:
            line = ax.plot(*zip(*pts), marker="o", ms=3, label=f"padding={padding!r}, stride={stride}")[0]
            line.set_gid(f"curve-{padding}-{stride}")
    ax.set_xlabel("input size n")
    ax.set_ylabel("output size")
    ax.set_title(f"kernel {k}, dilation {dilation}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def explore(n: int = 7, k: int = 3, s: int = 1, p: int = 0, d: int = 1):
    """Sliders for ``n, k, s, p, d`` redrawing :func:`draw_conv` and its formula (needs ipywidgets)."""
    import ipywidgets as widgets  # lazy: only people running the notebook need it
    from IPython.display import display

    sliders = {
        "n": widgets.IntSlider(value=n, min=1, max=12, description="n"),
        "k": widgets.IntSlider(value=k, min=1, max=5, description="k"),
        "s": widgets.IntSlider(value=s, min=1, max=4, description="s"),
        "p": widgets.IntSlider(value=p, min=0, max=4, description="p"),
        "d": widgets.IntSlider(value=d, min=1, max=3, description="d"),
    }
    out = widgets.Output()

    def redraw(_=None) -> None:
        v = {name: w.value for name, w in sliders.items()}
        out.clear_output(wait=True)
        with out:
            try:
                display(draw_conv(v["n"], v["n"], v["k"], stride=v["s"], padding=v["p"], dilation=v["d"]))
            except ValueError as err:  # a kernel larger than the padded input: say why
                print(f"no output: {err}")

    for w in sliders.values():
        w.observe(redraw, names="value")
    redraw()
    return widgets.VBox(
        [widgets.HBox(list(sliders.values())[:3]), widgets.HBox(list(sliders.values())[3:]), out]
    )
