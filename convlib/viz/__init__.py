"""Figures of convolution geometry, with every size taken from :mod:`convlib.shapes`.

A figure draws the padded input grid (padding cells shaded), the kernel's taps at one output
position (dilation leaves gaps between them), a dot where every window starts (the stride
steps), and the output grid, with the per-axis size formula written out in numbers. The
sizes come from ``conv_output_size`` / ``resolve_padding_1d`` / ``pool_output_size`` /
``conv_transpose_output_size``, never from a formula written here, so a figure cannot
contradict the arithmetic the chapters prove.

Beyond one window: transposed convolution as zero insertion, as kernel stamps (with their
overlap counts) and as the Keras/PyTorch one-cell shift (:mod:`.stamps`); grouped and depthwise
channel blocks (:mod:`.groups`); gradient coverage heat maps (:mod:`.coverage`); and, from a
:func:`convlib.trace`, a network's receptive field and size flow (:mod:`.network`).

Figures are :class:`matplotlib.figure.Figure` objects on an Agg canvas, not registered with
pyplot: nothing is shown twice in a notebook and nothing needs a display. Everything is
deterministic (no randomness; animation ids are content hashes).
"""

from matplotlib.figure import Figure

from .anim import AnimationHTML, animate_conv, save_gif, to_jshtml
from .clean import draw_clean_region, region_map
from .coverage import draw_coverage, draw_coverage_grid
from .draw import draw_conv, draw_logo, draw_pool
from .engines import draw_im2col, draw_winograd
from .geometry import COLORS, AxisGeometry, conv_geometry, pool_geometry
from .groups import draw_groups
from .network import draw_receptive_field, draw_size_flow
from .plots import explore, plot_output_size_curve
from .porting import draw_port_shift
from .stamps import draw_stamps, draw_transpose_shift, draw_zero_insertion
from .transpose import draw_transpose
from .unet import draw_size_strip, draw_unet_flow

__all__ = [
    "COLORS",
    "AxisGeometry",
    "conv_geometry",
    "pool_geometry",
    "draw_conv",
    "draw_pool",
    "draw_logo",
    "draw_transpose",
    "draw_zero_insertion",
    "draw_stamps",
    "draw_transpose_shift",
    "draw_groups",
    "draw_coverage",
    "draw_coverage_grid",
    "draw_receptive_field",
    "draw_size_flow",
    "draw_unet_flow",
    "draw_size_strip",
    "draw_clean_region",
    "region_map",
    "draw_port_shift",
    "animate_conv",
    "to_jshtml",
    "AnimationHTML",
    "save_gif",
    "plot_output_size_curve",
    "explore",
    "draw_im2col",
    "draw_winograd",
]


def _register_png_formatter() -> None:
    """Let a notebook cell that ends in ``fig`` show it, without ``%matplotlib inline``.

    viz builds figures on an Agg canvas outside pyplot (so nothing is shown twice), which
    means IPython has no PNG printer for them until pyplot's inline backend is loaded.
    """
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
    except ImportError:  # plain Python: nothing to display into
        return
    shell = get_ipython()
    if shell is None:
        return
    png = shell.display_formatter.formatters["image/png"]
    try:
        png.lookup_by_type(Figure)
    except KeyError:
        png.for_type(Figure, lambda fig: print_figure(fig, "png", bbox_inches="tight"))


_register_png_formatter()
