"""The clean region of a padded batch, drawn: which output cells are exact, which the canvas spoiled.

One panel per chosen node of a :class:`~convlib.clean.CleanRegion` (from
:func:`convlib.clean.clean_region`), each the node's output grid in the canvas run: the clean
rectangle, the cells of the true-size output that the canvas changed, and the cells that exist
only because of the canvas. Every number in a title is read from the region.
"""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..clean import CleanRegion
from .geometry import COLORS

# Index 0: only in the canvas run; 1: in the true output but changed; 2: clean.
KINDS = ("canvas only", "changed", "clean")
PALETTE = (COLORS["pad"], "#f4a582", COLORS["current"])


def region_map(region: CleanRegion, name: str | None = None) -> np.ndarray:
    """``0/1/2`` per canvas output cell of node ``name`` (default the output): see :data:`KINDS`.

    Examples
    --------
    >>> from convlib.clean import clean_region
    >>> from convlib.records import ConvSpec
    >>> region_map(clean_region([ConvSpec(1, 3, padding=1)] * 2, (3, 4), (4, 5)))
    array([[2, 2, 2, 1, 0],
           [2, 2, 2, 1, 0],
           [1, 1, 1, 1, 0],
           [0, 0, 0, 0, 0]])
    """
    layer = region[region.output if name is None else name]
    out = np.zeros(layer.padded_hw, dtype=int)
    out[: layer.true_hw[0], : layer.true_hw[1]] = 1
    out[: layer.rows.stop, : layer.cols.stop] = 2
    return out


def draw_clean_region(region: CleanRegion, names=None, *, columns: int = 3) -> Figure:
    """Draw the clean cells of each node in ``names`` (default: the network's output).

    Parameters
    ----------
    region : CleanRegion
    names : sequence of str, optional
        Node names, drawn left to right in this order.
    columns : int
        Panels per row of the figure.

    Returns
    -------
    matplotlib.figure.Figure
        One image per node (gid ``clean-map``); its title gives the node, the clean cells and
        the share of the true-size output they are.

    Raises
    ------
    KeyError
        A name that is not a node of the region.

    Examples
    --------
    >>> from convlib.clean import clean_region
    >>> from convlib.records import ConvSpec
    >>> fig = draw_clean_region(clean_region([ConvSpec(1, 3, padding=1)] * 2, (30, 40), (32, 48)))
    >>> fig.axes[0].get_title()
    'output (Conv)\\nclean 29x39 of 30x40 (94%)'
    """
    layers = [region[region.output if n is None else n] for n in (names or [None])]
    columns = max(1, min(int(columns), len(layers)))
    lines = -(-len(layers) // columns)
    fig = Figure(figsize=(3.2 * columns, 3.0 * lines + 0.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(lines, columns, squeeze=False)).ravel()
    cmap = ListedColormap(PALETTE)
    for ax, layer in zip(axes, layers, strict=False):
        ax.imshow(region_map(region, layer.name), cmap=cmap, vmin=-0.5, vmax=2.5, interpolation="nearest",
                  gid="clean-map")  # fmt: skip
        h, w = len(layer.rows), len(layer.cols)
        true = layer.true_hw[0] * layer.true_hw[1]
        label = "output" if layer.name == region.output else layer.name
        ax.set_title(f"{label} ({layer.kind})\nclean {h}x{w} of {layer.true_hw[0]}x{layer.true_hw[1]} "
                     f"({h * w / true:.0%})", fontsize=8)  # fmt: skip
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(layers) :]:
        ax.set_visible(False)
    fig.legend(handles=[Patch(color=c, label=k) for c, k in zip(PALETTE, KINDS, strict=True)][::-1],
               loc="outside lower center", ncol=3, fontsize=8, frameon=False)  # fmt: skip
    th, tw = region.true_hw
    ph, pw = region.padded_hw
    fig.suptitle(f"a {th}x{tw} input in a {ph}x{pw} zero canvas", fontsize=9)
    return fig
