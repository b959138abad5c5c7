"""Checking arrays and layouts, and the geometry of one convolution.

convlib computes internally in channels-last form: input ``(N, H, W, C)``, kernel HWIO
``(kh, kw, C/groups, C_out)``. ``data_format="NCHW"`` inputs (with OIHW kernels, as in
PyTorch) are transposed in and out here, so every engine sees a single layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .padding import Pads, check_positive_int, normalize_padding, normalize_pair
from .shapes import effective_kernel_size, resolve_padding_1d, window_count

__all__ = ["ConvGeometry", "check_data_format", "check_shapes", "prepare_conv", "restore_layout"]

DATA_FORMATS = ("NHWC", "NCHW")
FLOAT_DTYPES = (np.float16, np.float32, np.float64)


@dataclass(frozen=True)
class ConvGeometry:
    """Every size of one 2-D convolution, after validation."""

    batch: int | None  # None for an unbatched (3-D) input
    in_hw: tuple[int, int]
    in_channels: int
    kernel_hw: tuple[int, int]
    out_channels: int
    groups: int
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pads: Pads
    out_hw: tuple[int, int]
    data_format: str

    @property
    def output_shape(self) -> tuple[int, ...]:
        h, w = self.out_hw
        c = self.out_channels
        spatial = (h, w, c) if self.data_format == "NHWC" else (c, h, w)
        return spatial if self.batch is None else (self.batch, *spatial)


def check_data_format(data_format) -> str:
    if not isinstance(data_format, str) or data_format.upper() not in DATA_FORMATS:
        raise ValueError(f"data_format must be 'NHWC' or 'NCHW', got {data_format!r}")
    return data_format.upper()


def _split_input_shape(shape: tuple[int, ...], fmt: str):
    if len(shape) not in (3, 4):
        want = "(N, H, W, C) or (H, W, C)" if fmt == "NHWC" else "(N, C, H, W) or (C, H, W)"
        raise ValueError(
            f"input x must be 4-D {want} for data_format={fmt!r}; got {len(shape)}-D shape {shape}"
        )
    batch = shape[0] if len(shape) == 4 else None
    rest = shape[-3:]
    h, w, c = rest if fmt == "NHWC" else (rest[1], rest[2], rest[0])
    return batch, h, w, c


def _split_kernel_shape(shape: tuple[int, ...], fmt: str):
    if len(shape) != 4:
        want = "HWIO (kh, kw, C_in/groups, C_out)" if fmt == "NHWC" else "OIHW (C_out, C_in/groups, kh, kw)"
        raise ValueError(f"kernel w must be 4-D {want}; got {len(shape)}-D shape {shape}")
    if fmt == "NHWC":
        kh, kw, cin, cout = shape
    else:
        cout, cin, kh, kw = shape
    return kh, kw, cin, cout


def check_shapes(
    input_shape, kernel_shape, *, stride=1, padding="valid", dilation=1, groups=1, data_format="NHWC"
) -> ConvGeometry:
    """Validate every argument of a convolution and compute its geometry.

    Raises
    ------
    ValueError
        Naming the parameter and sizes: wrong rank, zero sizes, channel mismatch, groups
        not dividing the channels, bad stride/dilation/padding, or a dilated kernel larger
        than the padded input.
    """
    fmt = check_data_format(data_format)
    batch, h, w, c = _split_input_shape(tuple(int(s) for s in input_shape), fmt)
    kh, kw, cin_g, cout = _split_kernel_shape(tuple(int(s) for s in kernel_shape), fmt)
    groups = check_positive_int(groups, "groups")
    stride = normalize_pair(stride, "stride")
    dilation = normalize_pair(dilation, "dilation")
    padding = normalize_padding(padding)
    if batch is not None and batch < 0:
        raise ValueError(f"batch size must be >= 0, got {batch}")
    for size, label in ((h, "height"), (w, "width"), (c, "channel count")):
        if size <= 0:
            raise ValueError(f"input {label} must be positive, got {size} in shape {tuple(input_shape)}")
    for size, label in ((kh, "height"), (kw, "width"), (cout, "output channels")):
        if size <= 0:
            raise ValueError(f"kernel {label} must be positive, got {size} in shape {tuple(kernel_shape)}")
    if c % groups:
        raise ValueError(f"groups={groups} must divide the input channels, got {c} input channels")
    if cout % groups:
        raise ValueError(f"groups={groups} must divide the output channels, got {cout} output channels")
    if cin_g * groups != c:
        raise ValueError(
            f"kernel expects {cin_g} input channels per group ({cin_g * groups} in all with "
            f"groups={groups}), but the input has {c} channels (input shape {tuple(input_shape)}, "
            f"kernel shape {tuple(kernel_shape)}, data_format={fmt!r})"
        )
    pads, out = [], []
    for axis, n, k, s, d in ((0, h, kh, stride[0], dilation[0]), (1, w, kw, stride[1], dilation[1])):
        p = padding if isinstance(padding, str) else padding[axis]
        before, after = resolve_padding_1d(n, k, p, stride=s, dilation=d)
        eff = effective_kernel_size(k, d)
        label = ("height", "width")[axis]
        if eff > n + before + after:
            raise ValueError(
                f"kernel {label} {k} (dilated to {eff} by dilation {d}) is larger than the padded "
                f"input {label} {n + before + after} (input {n} + padding {(before, after)}): "
                "kernel size can't be greater than the padded input size"
            )
        pads.append((before, after))
        out.append(window_count(n + before + after, k, stride=s, dilation=d))
    return ConvGeometry(
        batch=batch,
        in_hw=(h, w),
        in_channels=c,
        kernel_hw=(kh, kw),
        out_channels=cout,
        groups=groups,
        stride=stride,
        dilation=dilation,
        pads=(pads[0], pads[1]),
        out_hw=(out[0], out[1]),
        data_format=fmt,
    )


def as_float_array(a, name: str) -> np.ndarray:
    """Return ``a`` as a floating NumPy array, or raise ``ValueError`` naming it."""
    if isinstance(a, (str, bytes)) or a is None:
        raise ValueError(f"{name} must be a numeric array, got {type(a).__name__}")
    try:
        arr = np.asarray(a)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array: {exc}") from None
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if arr.dtype.type not in FLOAT_DTYPES:
        raise ValueError(
            f"{name} must be float16, float32 or float64 (as in TensorFlow and PyTorch), got "
            f"dtype {arr.dtype}; cast it first, e.g. {name}.astype(np.float32)"
        )
    return arr


def check_same_dtype(**arrays) -> np.dtype:
    dtypes = {name: a.dtype for name, a in arrays.items() if a is not None}
    if len(set(dtypes.values())) > 1:
        listed = ", ".join(f"{n} is {d}" for n, d in dtypes.items())
        raise ValueError(f"dtypes must match: {listed}")
    return next(iter(dtypes.values()))


def to_channels_last(x: np.ndarray, fmt: str) -> np.ndarray:
    """A 3-D or 4-D input in ``fmt`` as a 4-D NHWC view."""
    if x.ndim == 3:
        x = x[None]
    return x if fmt == "NHWC" else x.transpose(0, 2, 3, 1)


def restore_layout(y: np.ndarray, fmt: str, batched: bool) -> np.ndarray:
    """Inverse of :func:`to_channels_last` for an output."""
    if fmt == "NCHW":
        y = y.transpose(0, 3, 1, 2)
    y = np.ascontiguousarray(y)
    return y if batched else y[0]


def prepare_conv(x, w, b, *, stride, padding, dilation, groups, data_format):
    """Validate a conv2d call; return ``(x_nhwc, w_hwio, b, geometry, compute dtype)``."""
    x = as_float_array(x, "x")
    w = as_float_array(w, "w")
    b = None if b is None else as_float_array(b, "b")
    dtype = check_same_dtype(x=x, w=w, b=b)
    geo = check_shapes(
        x.shape,
        w.shape,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        data_format=data_format,
    )
    if b is not None and b.shape != (geo.out_channels,):
        raise ValueError(f"bias b must have shape ({geo.out_channels},), got {b.shape}")
    w_hwio = w if geo.data_format == "NHWC" else w.transpose(2, 3, 1, 0)
    # float16 is accumulated in float32 and rounded once at the end, as both frameworks do on CPU.
    compute = np.float32 if dtype == np.float16 else dtype
    return (
        to_channels_last(x, geo.data_format).astype(compute, copy=False),
        w_hwio.astype(compute, copy=False),
        None if b is None else b.astype(compute, copy=False),
        geo,
        dtype,
    )
