"""All size arithmetic of convlib, in one place.

Every output size in the package (convolution, pooling, transposed convolution, the command
line, the figures and the chapters) is computed here, so two parts of the book can never
disagree about a shape.

The one formula behind them all: a window of ``k`` taps spaced ``d`` apart covers
``d*(k-1) + 1`` cells; sliding it in steps of ``s`` over ``n + p_before + p_after`` cells gives

    n_out = floor((n + p_before + p_after - d*(k-1) - 1) / s) + 1

windows (``ceil`` instead of ``floor`` in pooling's ``ceil_mode``).

Modules, from the bottom of the house up: :mod:`.window` (the formula, the padding words and
the per-axis :class:`WindowAxis`), :mod:`.geometry` (the resolvers that build it from the user's
arguments), :mod:`.checks` (the one validator of shape tuples), :mod:`.memory` (the memory guard), and the
one-axis views :mod:`.conv`, :mod:`.transpose`, :mod:`.pool`.
Everything is re-exported here.
"""

from .checks import (
    ConvGeometry,
    check_conv_shapes,
    check_data_format,
    check_transpose_shapes,
)
from .conv import conv_output_shape, conv_output_size, unread_cells
from .geometry import (
    WindowAxis,
    conv_axes,
    conv_axis,
    effective_kernel_size,
    full_padding,
    pool_axes,
    pool_axis,
    resolve_padding,
    resolve_padding_1d,
    same_padding,
    split_padding,
    transpose_axes,
    transpose_axis,
    window_count,
)
from .memory import check_allocation
from .pool import PoolGeometry, adaptive_pool_bounds, check_pool_shape, pool_output_size, pool_padding_1d
from .transpose import conv_transpose_output_size, transpose_padding_1d
from .window import span

__all__ = [
    "WindowAxis",
    "conv_axis",
    "conv_axes",
    "pool_axis",
    "pool_axes",
    "transpose_axis",
    "transpose_axes",
    "effective_kernel_size",
    "span",
    "window_count",
    "same_padding",
    "full_padding",
    "resolve_padding_1d",
    "resolve_padding",
    "split_padding",
    "conv_output_size",
    "unread_cells",
    "conv_output_shape",
    "conv_transpose_output_size",
    "transpose_padding_1d",
    "pool_output_size",
    "pool_padding_1d",
    "adaptive_pool_bounds",
    "ConvGeometry",
    "PoolGeometry",
    "check_data_format",
    "check_conv_shapes",
    "check_transpose_shapes",
    "check_pool_shape",
    "check_allocation",
]
