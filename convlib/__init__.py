"""convlib: a small, readable 2-D convolution library that proves its shapes.

Where to read first: :mod:`convlib.engines.naive` (the convolution as one loop per output
cell), then :mod:`convlib.engines.im2col` (the same sum as one matrix product), then
:mod:`convlib.shapes.window` (``window_count``, the one size formula every operation uses).

The names below come in six groups: sizes (no array is touched), operations (NumPy arrays
in, NumPy arrays out), a layer, whole networks (a convlib spec, a ``torch.nn.Module`` or a
Keras model), porting between frameworks, and the figures (:mod:`convlib.viz`). The default
``algorithm="auto"`` of :func:`conv2d` may use :mod:`convlib.fast`, the room that exists only
to be fast; a named algorithm runs its reference engine. The torch path for a CPU or a GPU is
:func:`convlib.backends.torch.conv2d`. ``import convlib`` loads no framework.
"""

from . import graph, viz, zoo
from ._version import __version__
from .bridges.porting import describe_port, onnx_attrs, to_keras, to_torch
from .buckets import bucket_sizes
from .clean import clean_region
from .conv import conv2d, conv2d_naive
from .grad import conv2d_backward, gradient_coverage
from .graph import input_sizes, scan_sizes, size_rule
from .graph.trace import GraphTrace, trace
from .layers import Conv2D
from .layout import hwio, nchw, nhwc, oihw
from .padding import apply_padding, normalize_padding, normalize_pair
from .pool import (
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool2d,
    global_avg_pool2d,
    global_max_pool2d,
    max_pool2d,
)
from .shapes import (
    WindowAxis,
    adaptive_pool_bounds,
    check_conv_shapes,
    conv_axes,
    conv_output_shape,
    conv_output_size,
    conv_transpose_output_size,
    effective_kernel_size,
    full_padding,
    pool_axes,
    pool_output_size,
    pool_padding_1d,
    same_padding,
    transpose_axes,
    unread_cells,
    window_count,
)
from .transpose import conv_transpose2d, output_padding_for, transpose_input_sizes
from .zoo import resnet18, resnet50, vgg16

__all__ = [
    "__version__",
    # sizes: per-axis arithmetic, no arrays
    "window_count",
    "effective_kernel_size",
    "conv_output_size",
    "conv_output_shape",
    "same_padding",
    "full_padding",
    "conv_transpose_output_size",
    "output_padding_for",
    "transpose_input_sizes",
    "pool_output_size",
    "pool_padding_1d",
    "adaptive_pool_bounds",
    "unread_cells",
    "WindowAxis",
    "conv_axes",
    "transpose_axes",
    "pool_axes",
    "check_conv_shapes",
    "normalize_padding",
    "normalize_pair",
    # operations on NumPy arrays
    "conv2d",
    "conv2d_naive",
    "conv_transpose2d",
    "conv2d_backward",
    "gradient_coverage",
    "max_pool2d",
    "avg_pool2d",
    "global_max_pool2d",
    "global_avg_pool2d",
    "adaptive_max_pool2d",
    "adaptive_avg_pool2d",
    "apply_padding",
    "nhwc",
    "nchw",
    "hwio",
    "oihw",
    # a layer
    "Conv2D",
    # whole networks: a convlib spec, a torch.nn.Module or a Keras model
    "trace",
    "GraphTrace",
    "input_sizes",
    "scan_sizes",
    "size_rule",
    "clean_region",
    "bucket_sizes",
    "graph",
    "zoo",
    "vgg16",
    "resnet18",
    "resnet50",
    # porting between Keras, PyTorch and ONNX
    "to_torch",
    "to_keras",
    "describe_port",
    "onnx_attrs",
    # figures
    "viz",
]
