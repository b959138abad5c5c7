"""convlib: a small, readable 2-D convolution library that proves its shapes.

The NumPy implementation is the default; ``backend="torch"`` runs the same algorithms with
torch operations on CPU or GPU. Every size comes from :mod:`convlib.shapes`.
"""

from . import graph, zoo
from .bridges.porting import describe_port, onnx_attrs, to_keras, to_torch
from .bridges.spec_torch import record_shapes
from .buckets import Buckets, bucket_sizes
from .clean import CleanRegion, LayerRegion, clean_region
from .conv import conv2d, conv2d_naive
from .engines import get_threads, set_threads
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
    ConvGeometry,
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
    transpose_padding_1d,
    unread_cells,
    window_count,
)
from .transpose import conv_transpose2d, output_padding_for, transpose_input_sizes
from .zoo import resnet18, resnet50, vgg16

__all__ = [
    "conv2d_backward",
    "gradient_coverage",
    "conv_transpose2d",
    "output_padding_for",
    "transpose_input_sizes",
    "max_pool2d",
    "avg_pool2d",
    "global_avg_pool2d",
    "global_max_pool2d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
    "transpose_padding_1d",
    "unread_cells",
    "pool_padding_1d",
    "adaptive_pool_bounds",
    "zoo",
    "graph",
    "trace",
    "input_sizes",
    "scan_sizes",
    "size_rule",
    "clean_region",
    "CleanRegion",
    "LayerRegion",
    "bucket_sizes",
    "Buckets",
    "GraphTrace",
    "vgg16",
    "resnet18",
    "resnet50",
    "to_torch",
    "to_keras",
    "onnx_attrs",
    "describe_port",
    "record_shapes",
    "conv2d",
    "conv2d_naive",
    "set_threads",
    "get_threads",
    "Conv2D",
    "ConvGeometry",
    "WindowAxis",
    "conv_axes",
    "pool_axes",
    "transpose_axes",
    "check_conv_shapes",
    "nhwc",
    "nchw",
    "hwio",
    "oihw",
    "apply_padding",
    "normalize_pair",
    "normalize_padding",
    "conv_output_shape",
    "conv_output_size",
    "conv_transpose_output_size",
    "effective_kernel_size",
    "full_padding",
    "pool_output_size",
    "same_padding",
    "window_count",
]
