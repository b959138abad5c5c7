"""All size arithmetic of convlib, in one place.

Every output size in the package (convolution, pooling, transposed convolution, the
command line, the figures and the chapters) is computed by the functions in this package,
so two parts of the book can never disagree about a shape.

The one formula behind them all: a window of ``k`` taps spaced ``d`` apart covers
``d*(k-1) + 1`` cells; sliding it in steps of ``s`` over ``n + p_before + p_after`` cells
gives

    n_out = floor((n + p_before + p_after - d*(k-1) - 1) / s) + 1

windows (``ceil`` instead of ``floor`` in pooling's ``ceil_mode``).

Modules: :mod:`.conv` (the formula, padding words, output shapes), :mod:`.transpose`,
:mod:`.pool`. Everything is re-exported here: ``convlib.shapes.conv_output_size`` and
friends are the names the rest of the package and the book use.
"""

from .conv import (
    conv_output_shape,
    conv_output_size,
    effective_kernel_size,
    full_padding,
    resolve_padding_1d,
    same_padding,
    unread_cells,
    window_count,
)
from .pool import adaptive_pool_bounds, pool_output_size, pool_padding_1d
from .transpose import conv_transpose_output_size, transpose_padding_1d

__all__ = [
    "effective_kernel_size",
    "window_count",
    "same_padding",
    "full_padding",
    "resolve_padding_1d",
    "conv_output_size",
    "unread_cells",
    "conv_output_shape",
    "conv_transpose_output_size",
    "transpose_padding_1d",
    "pool_output_size",
    "pool_padding_1d",
    "adaptive_pool_bounds",
]
