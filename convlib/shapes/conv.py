"""Convolution sizes: the one window-count formula, the padding words, the output shape."""

from __future__ import annotations

from ..padding import Padding1D, check_positive_int, normalize_padding_1d

__all__ = [
    "effective_kernel_size",
    "window_count",
    "same_padding",
    "full_padding",
    "resolve_padding_1d",
    "conv_output_size",
    "unread_cells",
    "conv_output_shape",
]

_NAMES = {"n": "input size", "k": "kernel size", "stride": "stride", "dilation": "dilation"}


def _positive(**values) -> tuple[int, ...]:
    """Validate the named sizes with the one normaliser (names as in the messages)."""
    return tuple(check_positive_int(v, _NAMES[name]) for name, v in values.items())


def effective_kernel_size(k: int, dilation: int = 1) -> int:
    """Number of input cells a dilated kernel spans: ``d*(k-1) + 1``.

    Examples
    --------
    >>> effective_kernel_size(3, dilation=2)
    5
    """
    return dilation * (k - 1) + 1


def window_count(padded: int, k: int, *, stride: int = 1, dilation: int = 1, ceil_mode: bool = False) -> int:
    """Number of window positions in ``padded`` cells: the single size formula.

    Parameters
    ----------
    padded : int
        Input length after padding, ``n + p_before + p_after``.
    k, stride, dilation : int
        Kernel taps, step and tap spacing, all positive.
    ceil_mode : bool
        Round the division up instead of down (pooling's ``ceil_mode``; the caller
        applies PyTorch's rule that the last window must start inside the input).

    Returns
    -------
    int
        ``floor((padded - d*(k-1) - 1) / s) + 1`` (or ``ceil``), at least 1.

    Raises
    ------
    ValueError
        If the dilated kernel is larger than the padded input, so that no window fits.

    Examples
    --------
    >>> window_count(10, 3, stride=2)
    4
    >>> window_count(10, 3, stride=2, ceil_mode=True)
    5
    """
    padded = check_positive_int(padded, "padded input size")
    k, stride, dilation = _positive(k=k, stride=stride, dilation=dilation)
    eff = effective_kernel_size(k, dilation)
    if eff > padded:
        raise ValueError(
            f"kernel size {k} (dilated to {eff} with dilation {dilation}) is larger than "
            f"the padded input size {padded}: no output position fits"
        )
    span = padded - eff
    steps = -(-span // stride) if ceil_mode else span // stride
    return steps + 1


def same_padding(n: int, k: int, *, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's ``"same"`` padding for one axis, as ``(before, after)``.

    The output has ``ceil(n / s)`` positions; the total padding is the least that makes
    that many windows fit, ``max((ceil(n/s) - 1)*s + d*(k-1) + 1 - n, 0)``, split with the
    odd cell going *after* (bottom/right), as TensorFlow and Keras do.

    Examples
    --------
    >>> same_padding(10, 3, stride=2)
    (0, 1)
    >>> same_padding(8, 4)
    (1, 2)
    """
    n, k, stride, dilation = _positive(n=n, k=k, stride=stride, dilation=dilation)
    n_out = -(-n // stride)
    total = max((n_out - 1) * stride + effective_kernel_size(k, dilation) - n, 0)
    return total // 2, total - total // 2


def full_padding(k: int, *, dilation: int = 1) -> tuple[int, int]:
    """``"full"`` padding: every window that overlaps the input by one cell.

    Examples
    --------
    >>> full_padding(3)
    (2, 2)
    """
    k, dilation = _positive(k=k, dilation=dilation)
    extra = effective_kernel_size(k, dilation) - 1
    return extra, extra


def resolve_padding_1d(
    n: int, k: int, padding: Padding1D, *, stride: int = 1, dilation: int = 1
) -> tuple[int, int]:
    """Turn one axis's padding (a word, an int or a pair) into ``(before, after)`` cells.

    Examples
    --------
    >>> resolve_padding_1d(5, 3, "full")
    (2, 2)
    >>> resolve_padding_1d(5, 3, (0, 1))
    (0, 1)
    """
    padding = normalize_padding_1d(padding)
    if padding == "valid":
        return 0, 0
    if padding == "same":
        return same_padding(n, k, stride=stride, dilation=dilation)
    if padding == "full":
        return full_padding(k, dilation=dilation)
    return padding


def conv_output_size(
    n: int, k: int, *, stride: int = 1, padding: Padding1D = "valid", dilation: int = 1
) -> int:
    """Output length of a convolution along one axis.

    Parameters
    ----------
    n, k : int
        Input length and kernel taps.
    stride, dilation : int
        Step and tap spacing.
    padding : {"valid", "same", "full"} or int or (int, int)
        ``"same"`` follows TensorFlow (output ``ceil(n / s)``).

    Returns
    -------
    int
        ``floor((n + p_before + p_after - d*(k-1) - 1) / s) + 1``.

    Raises
    ------
    ValueError
        For a non-positive size, stride or dilation, a negative pad, or a dilated kernel
        larger than the padded input.

    Examples
    --------
    >>> [conv_output_size(n, 3) for n in (8, 10, 5)]
    [6, 8, 3]
    >>> [conv_output_size(n, 3, stride=2) for n in (10, 11, 12)]
    [4, 5, 5]
    >>> conv_output_size(5, 3, padding="same", stride=2)
    3
    """
    n = check_positive_int(n, "input size")
    k = check_positive_int(k, "kernel size")
    stride = check_positive_int(stride, "stride")
    dilation = check_positive_int(dilation, "dilation")
    before, after = resolve_padding_1d(n, k, padding, stride=stride, dilation=dilation)
    return window_count(n + before + after, k, stride=stride, dilation=dilation)


def unread_cells(
    n: int, k: int, *, stride: int = 1, padding: Padding1D = "valid", dilation: int = 1
) -> tuple[int, int]:
    """Cells beyond the last window's last tap: ``(padding cells unused, input cells never read)``.

    The floor in the output-size formula drops ``(n + p_before + p_after - d*(k-1) - 1) % s``
    cells at the end. They are taken from the after-padding first; any left over are real input
    rows (or columns) that no window reads, so they cannot influence the output at all.

    Examples
    --------
    >>> unread_cells(12, 3, stride=2)   # the seed's 12x12 input: its last row is never read
    (0, 1)
    >>> unread_cells(10, 3, stride=2, padding="same")
    (0, 0)
    >>> unread_cells(224, 1, stride=2)  # a 1x1 stride-2 shortcut skips the last row of an even input
    (0, 1)
    """
    n, k, stride, dilation = _positive(n=n, k=k, stride=stride, dilation=dilation)
    before, after = resolve_padding_1d(n, k, padding, stride=stride, dilation=dilation)
    padded = n + before + after
    out = window_count(padded, k, stride=stride, dilation=dilation)
    left = padded - ((out - 1) * stride + effective_kernel_size(k, dilation))
    return min(left, after), max(left - after, 0)


def conv_output_shape(
    input_shape: tuple[int, ...],
    kernel_shape: tuple[int, ...],
    *,
    stride=1,
    padding="valid",
    dilation=1,
    groups: int = 1,
    data_format: str = "NHWC",
) -> tuple[int, ...]:
    """Output shape of :func:`convlib.conv2d` without computing it.

    Parameters
    ----------
    input_shape : tuple
        ``(N, H, W, C)`` or ``(H, W, C)`` for NHWC; ``(N, C, H, W)`` or ``(C, H, W)`` for NCHW.
    kernel_shape : tuple
        HWIO ``(kh, kw, C/groups, C_out)`` for NHWC; OIHW ``(C_out, C/groups, kh, kw)`` for NCHW.

    Returns
    -------
    tuple
        The output shape in the same layout and rank as the input.

    Examples
    --------
    >>> conv_output_shape((1, 8, 8, 3), (3, 3, 3, 32))
    (1, 6, 6, 32)
    >>> conv_output_shape((1, 3, 10, 11), (16, 3, 3, 3), stride=2, padding="same",
    ...                   data_format="NCHW")
    (1, 16, 5, 6)
    """
    from ..layout import check_shapes

    geo = check_shapes(
        tuple(input_shape),
        tuple(kernel_shape),
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        data_format=data_format,
    )
    return geo.output_shape
