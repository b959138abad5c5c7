"""The one validator: shape tuples of convolution and transposed convolution (pooling's: in :mod:`.pool`).

Every public entry point of convlib passes its shapes and arguments through one function
before it touches an array: :func:`check_conv_shapes`, :func:`check_transpose_shapes`,
:func:`~convlib.shapes.pool.check_pool_shape`. Each returns a small frozen record with the resolved
:class:`~convlib.shapes.geometry.WindowAxis` of both spatial axes, and each refuses, with a
``ValueError`` naming the parameter and the sizes, anything malformed — including sizes that
would not fit in memory (:func:`~convlib.shapes.memory.check_allocation`), *before* anything is
allocated.

Nothing here imports an array library's arrays: the module works on tuples of ints.

:func:`check_conv_shapes` keeps the geometries it validated, keyed by the ``repr`` of the exact
arguments (which tells ``True`` from ``1`` and ``2.0`` or ``np.int64(2)`` from ``2``): a network
calls conv2d with the same few shapes again and again, and validating from scratch takes about
five times as long as the look-up (12 us a call, a tenth of a small layer's time). A geometry is
kept with the memory limit it passed (the limit guards against absurd sizes, not against a
process that fills up later); refusals are never kept.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ..padding import check_positive_int, normalize_padding, normalize_pair
from .geometry import WindowAxis, _conv_axis, transpose_axes
from .memory import check_allocation

__all__ = [
    "DATA_FORMATS",
    "ConvGeometry",
    "check_data_format",
    "split_input_shape",
    "check_conv_shapes",
    "check_transpose_shapes",
]

DATA_FORMATS = ("NHWC", "NCHW")


def check_data_format(data_format) -> str:
    """``"NHWC"`` or ``"NCHW"`` (any case), else ``ValueError``."""
    if not isinstance(data_format, str) or data_format.upper() not in DATA_FORMATS:
        raise ValueError(f"data_format must be 'NHWC' or 'NCHW', got {data_format!r}")
    return data_format.upper()


def split_input_shape(shape, fmt: str, name: str = "x") -> tuple[int | None, int, int, int]:
    """``(batch or None, H, W, C)`` of a 3-D or 4-D input shape, with the one rank error.

    Examples
    --------
    >>> split_input_shape((2, 3, 10, 11), "NCHW")
    (2, 10, 11, 3)
    >>> split_input_shape((10, 11), "NHWC")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: input x must be 4-D (N, H, W, C) or 3-D (H, W, C) ...; got 2-D shape (10, 11)
    """
    return _split(shape, None, fmt, name=name)[1:5]


def _split(shape, kernel_shape, data_format, layouts=("", ""), name: str = "x"):
    """``(fmt, batch, H, W, C, HWIO kernel shape)``; ``layouts`` name NHWC's and NCHW's kernel layouts."""
    fmt = data_format
    if type(fmt) is not str or fmt not in DATA_FORMATS:  # "NHWC" as given needs no call
        fmt = check_data_format(fmt)
    shape = tuple(map(int, shape))
    if len(shape) not in (3, 4):
        want = "(N, H, W, C) or 3-D (H, W, C)" if fmt == "NHWC" else "(N, C, H, W) or 3-D (C, H, W)"
        raise ValueError(
            f"input {name} must be 4-D {want} for data_format={fmt!r}; got {len(shape)}-D shape {shape}"
        )
    batch = shape[0] if len(shape) == 4 else None
    h, w, c = shape[-3:] if fmt == "NHWC" else (shape[-2], shape[-1], shape[-3])
    if batch is not None and batch < 0:
        raise ValueError(f"batch size must be >= 0, got {batch}")
    for size, label in ((h, "height"), (w, "width"), (c, "channel count")):
        if size <= 0:
            raise ValueError(f"input {label} must be positive, got {size} in shape {shape}")
    if kernel_shape is None:
        return fmt, batch, h, w, c, None
    k = tuple(map(int, kernel_shape))
    if len(k) != 4:
        raise ValueError(f"kernel w must be 4-D {layouts[fmt == 'NCHW']}; got {len(k)}-D shape {k}")
    if min(k) <= 0:
        raise ValueError(f"kernel w sizes must be positive, got shape {k}")
    return fmt, batch, h, w, c, (k if fmt == "NHWC" else (k[2], k[3], k[1], k[0]))


@dataclass(frozen=True)
class ConvGeometry:
    """Every size of one 2-D convolution (or transposed convolution), after validation.

    ``axes`` are the two :class:`WindowAxis` records; for a transposed convolution they describe
    the forward convolution being transposed (so ``in_hw`` is then the *output* size).
    """

    batch: int | None  # None for an unbatched (3-D) input
    in_channels: int
    out_channels: int
    groups: int
    axes: tuple[WindowAxis, WindowAxis]
    data_format: str

    in_hw = property(lambda self: (self.axes[0].n, self.axes[1].n))
    kernel_hw = property(lambda self: (self.axes[0].k, self.axes[1].k))
    stride = property(lambda self: (self.axes[0].stride, self.axes[1].stride))
    dilation = property(lambda self: (self.axes[0].dilation, self.axes[1].dilation))
    pads = property(lambda self: tuple((a.before, a.after) for a in self.axes))
    out_hw = property(lambda self: (self.axes[0].out, self.axes[1].out))

    @property
    def output_shape(self) -> tuple[int, ...]:
        h, w = self.out_hw
        c = self.out_channels
        spatial = (h, w, c) if self.data_format == "NHWC" else (c, h, w)
        return spatial if self.batch is None else (self.batch, *spatial)


def _check_groups(groups, cin: int, cout: int | None = None) -> int:
    """``groups``, checked to divide ``cin`` and ``cout`` (None for a transposed convolution)."""
    groups = check_positive_int(groups, "groups")
    if cin % groups:
        raise ValueError(f"groups={groups} must divide the input channels, got {cin} input channels")
    if cout is not None and cout % groups:
        raise ValueError(f"groups={groups} must divide the output channels, got {cout} output channels")
    return groups


def _blame_axes(axes, padding) -> str:
    """The argument that made an axis huge: explicit padding, or the dilation behind a padding word."""
    big = max(axes, key=lambda a: a.padded)
    if isinstance(normalize_padding(padding), str):
        return f"padding={padding!r} with dilation={big.dilation} and kernel size {big.k}"
    return f"padding={padding!r}"


# Geometries already validated, by the repr of their arguments (see the module docstring).
_GEOMETRIES: dict = {}
_GEOMETRIES_MAX = 1024


def check_conv_shapes(
    input_shape,
    kernel_shape,
    *,
    stride=1,
    padding="valid",
    dilation=1,
    groups=1,
    data_format="NHWC",
    itemsize=4,
) -> ConvGeometry:
    """Validate every argument of a convolution and compute its geometry (kept for a repeat call).

    Parameters
    ----------
    input_shape, kernel_shape : tuple of int
        ``(N, H, W, C)`` / HWIO for NHWC, ``(N, C, H, W)`` / OIHW for NCHW (3-D input: unbatched).
    stride, padding, dilation, groups, data_format
        As for :func:`convlib.conv2d`.
    itemsize : int
        Bytes per element of the arrays to be allocated (for the memory check).

    Returns
    -------
    ConvGeometry

    Raises
    ------
    ValueError
        Naming the parameter and sizes: wrong rank, zero sizes, channels or groups that do not
        match, bad stride/dilation/padding, no window fits, or arrays too large for memory.

    Examples
    --------
    >>> check_conv_shapes((1, 10, 11, 3), (3, 3, 3, 8), stride=2, padding="same").pads
    ((0, 1), (1, 1))
    """
    key = repr((input_shape, kernel_shape, stride, padding, dilation, groups, data_format, itemsize))
    if key in _GEOMETRIES:
        return _GEOMETRIES[key]
    layouts = ("HWIO (kh, kw, C_in/groups, C_out)", "OIHW (C_out, C_in/groups, kh, kw)")
    fmt, batch, h, w, c, (kh, kw, cin_g, cout) = _split(input_shape, kernel_shape, data_format, layouts)
    groups = _check_groups(groups, c, cout)
    if cin_g * groups != c:
        raise ValueError(
            f"kernel expects {cin_g} input channels per group ({cin_g * groups} in all with "
            f"groups={groups}), but the input has {c} channels (input shape {tuple(input_shape)}, "
            f"kernel shape {tuple(kernel_shape)}, data_format={fmt!r})"
        )
    s, d = normalize_pair(stride, "stride"), normalize_pair(dilation, "dilation")
    p = normalize_padding(padding)
    p = (p, p) if isinstance(p, str) else p
    axes = tuple(_conv_axis(*a) for a in zip((h, w), (kh, kw), p, s, d, ("height", "width")))
    n = 1 if batch is None else max(batch, 1)
    blame = functools.partial(_blame_axes, axes, padding)
    padded = [a.n + a.before + a.after for a in axes]
    output = ("the output", (n, axes[0].out, axes[1].out, cout), itemsize)
    maps = ("the padding's index maps", (sum(padded),), 8)  # the compiled engines': int64, per row/column
    check_allocation(("the padded input", (n, *padded, c), itemsize), output, maps, blame=blame)
    if len(_GEOMETRIES) >= _GEOMETRIES_MAX:
        _GEOMETRIES.clear()
    geo = _GEOMETRIES[key] = ConvGeometry(batch, c, cout, groups, axes, fmt)
    return geo


def check_transpose_shapes(
    input_shape,
    kernel_shape,
    *,
    stride=1,
    padding=0,
    output_padding=None,
    dilation=1,
    groups=1,
    data_format="NHWC",
    itemsize=4,
) -> ConvGeometry:
    """Validate a transposed convolution; the geometry of the forward convolution it transposes.

    ``kernel_shape`` is the forward convolution's weight as convlib takes it: PyTorch
    ``ConvTranspose2d`` ``(C_in, C_out/groups, kh, kw)`` for NCHW, TensorFlow ``conv2d_transpose``
    ``(kh, kw, C_out/groups, C_in)`` for NHWC. In the result, ``in_hw`` is the transposed
    *output* size and ``out_hw`` the transposed input size; ``in_channels`` and ``out_channels`` are
    those of the transposed convolution.

    Raises
    ------
    ValueError
        As :func:`check_conv_shapes`, plus ``output_padding >= max(stride, dilation)`` and a
        non-positive output; huge strides and dilations are refused before the zero-inserted
        input is allocated, naming ``stride`` or ``dilation``.

    Examples
    --------
    >>> g = check_transpose_shapes((1, 4, 4, 2), (3, 3, 5, 2), stride=2, padding="same")
    >>> g.in_hw, g.out_channels
    ((8, 8), 5)
    """
    layouts = ("(kh, kw, C_out/groups, C_in)", "(C_in, C_out/groups, kh, kw)")
    fmt, batch, h, w, cin, (kh, kw, cout_g, k_in) = _split(input_shape, kernel_shape, data_format, layouts)
    if k_in != cin:
        raise ValueError(
            f"kernel w expects {k_in} input channels, but x has {cin} (x shape {tuple(input_shape)}, "
            f"w shape {tuple(kernel_shape)}, data_format={fmt!r})"
        )
    groups = _check_groups(groups, cin)
    axes = transpose_axes(
        (h, w), (kh, kw), stride=stride, padding=padding, output_padding=output_padding, dilation=dilation
    )
    n = 1 if batch is None else max(batch, 1)
    zeros = (axes[0].zero_inserted, axes[1].zero_inserted)
    zero_inserted = ("the zero-inserted input", (n, *zeros, cin), itemsize)
    check_allocation(zero_inserted, blame=f"stride={stride!r}")
    reach = (axes[0].window - 1, axes[1].window - 1)
    padded = (
        "the padded zero-inserted input",
        (n, zeros[0] + 2 * reach[0], zeros[1] + 2 * reach[1], cin),
        itemsize,
    )
    check_allocation(padded, zero_inserted, blame=f"dilation={dilation!r}")
    output = ("the output", (n, axes[0].n, axes[1].n, cout_g * groups), itemsize)
    check_allocation(output, padded, zero_inserted, blame="the sizes")
    return ConvGeometry(batch, cin, cout_g * groups, groups, axes, fmt)
