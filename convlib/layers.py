"""A Keras-like ``Conv2D`` layer on top of :func:`convlib.conv2d`."""

from __future__ import annotations

import numpy as np

from .conv import conv2d
from .layout import as_float_array
from .padding import check_positive_int, normalize_padding, normalize_pair
from .shapes import check_allocation, check_conv_shapes
from .shapes.checks import split_input_shape

__all__ = ["Conv2D"]

ACTIVATIONS = {
    None: lambda y: y,
    "linear": lambda y: y,
    "relu": lambda y: np.maximum(y, 0),
}


class Conv2D:
    """A 2-D convolution layer with Keras's arguments, channels-last (NHWC).

    The kernel (HWIO, ``(kh, kw, C/groups, filters)``) is created on the first call, when
    the input's channel count is known, with Glorot-uniform values drawn from
    ``numpy.random.default_rng(seed)``; the bias starts at zero. The same layer accepts
    inputs of any spatial size: only the kernel is fixed.

    Parameters
    ----------
    filters : int
        Output channels.
    kernel_size, strides, dilation_rate : int or (int, int)
    padding : {"valid", "same", "full"} or int or pair or ((top, bottom), (left, right))
    groups : int
    activation : {None, "linear", "relu"}
    use_bias : bool
    seed : int, optional
    dtype : numpy dtype, default float32

    Shape
    -----
    ``(N, H, W, C) -> (N, H_out, W_out, filters)`` with, per axis,
    ``H_out = floor((H + p_top + p_bottom - d*(k-1) - 1) / s) + 1``.

    Examples
    --------
    >>> layer = Conv2D(32, 3, seed=0)
    >>> [layer(np.zeros((1, n, n, 3), np.float32)).shape for n in (8, 10, 5)]
    [(1, 6, 6, 32), (1, 8, 8, 32), (1, 3, 3, 32)]
    >>> layer.kernel.shape
    (3, 3, 3, 32)
    """

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=1,
        padding="valid",
        dilation_rate=1,
        groups: int = 1,
        activation: str | None = None,
        use_bias: bool = True,
        seed: int | None = None,
        dtype=np.float32,
    ):
        self.filters = check_positive_int(filters, "filters")
        self.kernel_size = normalize_pair(kernel_size, "kernel_size")
        self.strides = normalize_pair(strides, "strides")
        self.dilation_rate = normalize_pair(dilation_rate, "dilation_rate")
        self.groups = check_positive_int(groups, "groups")
        normalize_padding(padding)  # refuse a bad padding now, not at the first call
        self.padding = padding
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {list(ACTIVATIONS)}, got {activation!r}")
        if self.filters % self.groups:
            raise ValueError(f"groups={self.groups} must divide filters={self.filters}")
        self.activation = activation
        self.use_bias = bool(use_bias)
        self.seed = seed
        self.dtype = np.dtype(dtype)
        self.kernel: np.ndarray | None = None
        self.bias: np.ndarray | None = None

    @property
    def built(self) -> bool:
        return self.kernel is not None

    def build(self, in_channels: int) -> None:
        """Create the kernel for ``in_channels`` input channels (Glorot uniform, like Keras)."""
        if in_channels % self.groups:
            raise ValueError(f"groups={self.groups} must divide the input channels, got {in_channels}")
        kh, kw = self.kernel_size
        shape = (kh, kw, in_channels // self.groups, self.filters)
        check_allocation(("the kernel", shape, self.dtype.itemsize), blame=f"filters={self.filters}")
        fan_in, fan_out = kh * kw * shape[2], kh * kw * self.filters
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        rng = np.random.default_rng(self.seed)
        self.kernel = rng.uniform(-limit, limit, size=shape).astype(self.dtype)
        self.bias = np.zeros(self.filters, self.dtype) if self.use_bias else None

    def output_shape(self, input_shape) -> tuple[int, ...]:
        """The output shape for an NHWC ``input_shape``, without running the layer."""
        c = input_shape[-1]
        kernel = (*self.kernel_size, c // self.groups if c % self.groups == 0 else c, self.filters)
        return check_conv_shapes(
            input_shape,
            kernel,
            stride=self.strides,
            padding=self.padding,
            dilation=self.dilation_rate,
            groups=self.groups,
        ).output_shape

    def __call__(self, x) -> np.ndarray:
        x = as_float_array(x, "x")
        if not self.built:  # the rank error is split_input_shape's, before the kernel is made
            self.build(split_input_shape(x.shape, "NHWC")[3])
        y = conv2d(
            x,
            self.kernel,
            self.bias,
            stride=self.strides,
            padding=self.padding,
            dilation=self.dilation_rate,
            groups=self.groups,
            data_format="NHWC",
        )
        return ACTIVATIONS[self.activation](y)

    def set_weights(self, kernel, bias=None) -> None:
        """Set an HWIO kernel (and bias), checking them against the layer's configuration."""
        kernel = as_float_array(kernel, "kernel")
        if kernel.ndim != 4 or kernel.shape[:2] != self.kernel_size or kernel.shape[3] != self.filters:
            raise ValueError(
                f"kernel must have shape ({self.kernel_size[0]}, {self.kernel_size[1]}, C/groups, "
                f"{self.filters}), got {kernel.shape}"
            )
        if self.use_bias and bias is None:
            raise ValueError("this layer uses a bias: pass bias of shape (filters,)")
        if bias is not None and np.shape(bias) != (self.filters,):
            raise ValueError(f"bias must have shape ({self.filters},), got {np.shape(bias)}")
        self.kernel = kernel.astype(self.dtype)
        self.bias = None if bias is None else np.asarray(bias, self.dtype)

    @classmethod
    def from_keras(cls, layer) -> Conv2D:
        """A convlib layer with the configuration and weights of a built Keras ``Conv2D``."""
        cfg = layer.get_config()
        if cfg.get("data_format", "channels_last") != "channels_last":
            raise ValueError("only channels_last Keras layers can be copied (convlib's Conv2D is NHWC)")
        out = cls(
            cfg["filters"],
            tuple(cfg["kernel_size"]),
            tuple(cfg["strides"]),
            cfg["padding"],
            tuple(cfg["dilation_rate"]),
            cfg.get("groups", 1),
            activation=_keras_activation(cfg["activation"]),
            use_bias=cfg["use_bias"],
        )
        weights = [np.asarray(v) for v in layer.get_weights()]
        out.set_weights(weights[0], weights[1] if cfg["use_bias"] else None)
        return out

    @classmethod
    def from_torch(cls, module, activation: str | None = None) -> Conv2D:
        """A convlib layer with the configuration and weights of a ``torch.nn.Conv2d``.

        The OIHW weight becomes HWIO. A string padding (``"same"``/``"valid"``) keeps its
        meaning at stride 1, where PyTorch allows it; numeric padding is copied as is.
        """
        if module.padding_mode != "zeros":
            raise ValueError(f"padding_mode {module.padding_mode!r} is not supported by Conv2D layers")
        padding = module.padding if isinstance(module.padding, str) else tuple(module.padding)
        out = cls(
            module.out_channels,
            tuple(module.kernel_size),
            tuple(module.stride),
            padding,
            tuple(module.dilation),
            module.groups,
            activation=activation,
            use_bias=module.bias is not None,
        )
        w = module.weight.detach().cpu().numpy().transpose(2, 3, 1, 0)
        b = None if module.bias is None else module.bias.detach().cpu().numpy()
        out.set_weights(w, b)
        return out

    def __repr__(self) -> str:
        return (
            f"Conv2D(filters={self.filters}, kernel_size={self.kernel_size}, strides={self.strides}, "
            f"padding={self.padding!r}, dilation_rate={self.dilation_rate}, groups={self.groups}, "
            f"activation={self.activation!r})"
        )


def _keras_activation(name) -> str | None:
    if name in ("linear", None):
        return None
    if name == "relu":
        return "relu"
    raise ValueError(f"Keras activation {name!r} has no convlib equivalent (supported: linear, relu)")
