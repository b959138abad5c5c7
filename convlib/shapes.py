"""All size arithmetic of convlib, in one place.

Every output size in the package (convolution, pooling, transposed convolution, the
command line, the figures and the chapters) is computed by the functions in this module,
so two parts of the book can never disagree about a shape.

The one formula behind them all: a window of ``k`` taps spaced ``d`` apart covers
``d*(k-1) + 1`` cells; sliding it in steps of ``s`` over ``n + p_before + p_after`` cells
gives

    n_out = floor((n + p_before + p_after - d*(k-1) - 1) / s) + 1

windows (``ceil`` instead of ``floor`` in pooling's ``ceil_mode``).
"""

from __future__ import annotations

from .padding import Padding1D, check_nonnegative_int, check_positive_int, normalize_padding_1d

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
    from .layout import check_shapes

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


def transpose_padding_1d(
    n: int,
    k: int,
    padding: Padding1D = 0,
    *,
    stride: int = 1,
    output_padding: int | None = None,
    dilation: int = 1,
) -> tuple[int, int, int]:
    """Resolve one axis of a transposed convolution to ``(crop_before, crop_after, output_padding)``.

    The full scatter of ``n`` inputs spans ``(n-1)*s + d*(k-1) + 1`` cells; the output drops
    ``crop_before`` cells at the start and ``crop_after`` at the end, then appends
    ``output_padding`` cells (cells no input reaches hold only the bias).

    Numbers follow PyTorch (``output_padding`` defaults to 0 and must be ``< max(s, d)``).
    ``"valid"`` and ``"same"`` follow Keras ``Conv2DTranspose``: with ``output_padding=None``
    the output is ``n*s + max(d*(k-1)+1 - s, 0)`` (valid) or ``n*s`` (same); with an int it
    is ``(n-1)*s + d*(k-1)+1 - 2*pad + output_padding`` with ``pad = 0`` (valid) or
    ``(d*(k-1)+1) // 2`` (same). The crop is then TensorFlow's: the forward ``"same"``
    padding of that output size, so that a forward conv maps it back to ``n``.

    Raises
    ------
    ValueError
        Non-positive sizes, a negative pad, ``output_padding >= max(stride, dilation)``, the
        word ``"full"``, or a Keras size that a forward conv would not map back to ``n``.

    Examples
    --------
    >>> transpose_padding_1d(4, 3, "same", stride=2)
    (0, 1, 0)
    >>> transpose_padding_1d(4, 1, "valid", stride=2)
    (0, 0, 1)
    >>> transpose_padding_1d(4, 3, 1, stride=2, output_padding=1)
    (1, 1, 1)
    """
    n = check_positive_int(n, "input size")
    k = check_positive_int(k, "kernel size")
    stride = check_positive_int(stride, "stride")
    dilation = check_positive_int(dilation, "dilation")
    eff = effective_kernel_size(k, dilation)
    padding = normalize_padding_1d(padding)
    if padding == "full":
        raise ValueError(
            "padding='full' has no transposed-convolution meaning; use 'valid', 'same' or numbers"
        )
    if output_padding is not None:
        output_padding = check_nonnegative_int(output_padding, "output_padding")
        limit = max(stride, dilation) if not isinstance(padding, str) else stride
        if output_padding >= limit:
            raise ValueError(
                f"output_padding must be smaller than max(stride, dilation) = {limit} "
                f"(stride {stride}, dilation {dilation}), got {output_padding}"
            )
    if not isinstance(padding, str):
        return padding[0], padding[1], output_padding or 0
    full = (n - 1) * stride + eff
    if output_padding is None:
        target = n * stride + (max(eff - stride, 0) if padding == "valid" else 0)
    else:
        target = full - (2 * (eff // 2) if padding == "same" else 0) + output_padding
    back = conv_output_size(target, k, stride=stride, padding=padding, dilation=dilation) if target > 0 else 0
    if back != n:
        raise ValueError(
            f"padding={padding!r} with output_padding={output_padding} gives output size {target}, "
            f"which a forward convolution maps to {back}, not to the input size {n}"
        )
    before, after = resolve_padding_1d(target, k, padding, stride=stride, dilation=dilation)
    return before, after, target - (full - before - after)


def conv_transpose_output_size(
    n: int,
    k: int,
    *,
    stride: int = 1,
    padding: Padding1D = 0,
    output_padding: int | None = None,
    dilation: int = 1,
) -> int:
    """Output length of a transposed convolution along one axis.

    ``n_out = (n - 1)*s - p_before - p_after + d*(k-1) + output_padding + 1`` (PyTorch's
    formula); ``"valid"``/``"same"`` have Keras ``Conv2DTranspose`` meaning (see
    :func:`transpose_padding_1d`; ``"same"`` gives ``n*s``).

    It inverts :func:`conv_output_size`: a convolution with the same ``k, s, p, d`` maps
    ``n_out`` back to ``n``. Because the forward division floors, ``s`` different input
    lengths map to the same ``n``; ``output_padding`` (``0 <= op < max(s, d)``) picks one.

    Raises
    ------
    ValueError
        See :func:`transpose_padding_1d`; also when the result is not positive.

    Examples
    --------
    >>> conv_transpose_output_size(4, 3, stride=2)
    9
    >>> conv_transpose_output_size(4, 3, stride=2, padding=1, output_padding=1)
    8
    >>> conv_transpose_output_size(4, 3, stride=2, padding="same")
    8
    """
    before, after, op = transpose_padding_1d(
        n, k, padding, stride=stride, output_padding=output_padding, dilation=dilation
    )
    out = (n - 1) * stride - before - after + effective_kernel_size(k, dilation) + op
    if out <= 0:
        raise ValueError(
            f"transposed convolution output size {out} is not positive (input {n}, kernel "
            f"{k}, stride {stride}, padding {(before, after)}, dilation {dilation})"
        )
    return out


def pool_padding_1d(
    n: int, k: int, padding: Padding1D = "valid", *, stride: int | None = None, dilation: int = 1
) -> tuple[int, int]:
    """Resolve and check one axis's pooling padding as ``(before, after)``.

    ``"same"`` is TensorFlow's (the padded cells are then ignored by the pool). Numbers
    follow PyTorch, which requires each side to be at most half the effective window,
    ``p <= (d*(k-1) + 1) // 2``, so that every window holds at least one real cell.

    Examples
    --------
    >>> pool_padding_1d(5, 2, "same", stride=2)
    (0, 1)
    >>> pool_padding_1d(5, 2, 2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: pool padding (2, 2) must be at most half the effective window ...
    """
    n = check_positive_int(n, "input size")
    k = check_positive_int(k, "pool size")
    stride = k if stride is None else check_positive_int(stride, "stride")
    dilation = check_positive_int(dilation, "dilation")
    if normalize_padding_1d(padding) == "full":
        raise ValueError("padding='full' is not a pooling padding; use 'valid', 'same' or numbers")
    before, after = resolve_padding_1d(n, k, padding, stride=stride, dilation=dilation)
    half = effective_kernel_size(k, dilation) // 2
    if max(before, after) > half:
        raise ValueError(
            f"pool padding {(before, after)} must be at most half the effective window "
            f"(d*(k-1)+1) // 2 = {half} on each side (window {k}, dilation {dilation}), as in PyTorch"
        )
    return before, after


def pool_output_size(
    n: int,
    k: int,
    *,
    stride: int | None = None,
    padding: Padding1D = "valid",
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Output length of a pooling window along one axis.

    Same formula as convolution; with ``ceil_mode`` the division rounds up but, as in
    PyTorch, a last window that would start entirely in the right padding is dropped.
    ``stride`` defaults to ``k``; padding is checked by :func:`pool_padding_1d`. As in
    PyTorch, ``ceil_mode`` also accepts a window up to ``s - 1`` cells larger than the padded
    input (one partial window).

    Raises
    ------
    ValueError
        Bad sizes, a pad over half the window, ``ceil_mode`` with ``"same"`` (TensorFlow's
        ``"same"`` already rounds up), or a window larger than the padded input.

    Examples
    --------
    >>> pool_output_size(5, 2)
    2
    >>> pool_output_size(5, 2, ceil_mode=True)
    3
    >>> pool_output_size(6, 3, stride=2, padding=1, ceil_mode=True)
    4
    >>> pool_output_size(1, 2, ceil_mode=True)
    1
    """
    stride = k if stride is None else stride
    if ceil_mode and normalize_padding_1d(padding) == "same":
        raise ValueError(
            "ceil_mode=True cannot be combined with padding='same' (which already gives ceil(n/s))"
        )
    before, after = pool_padding_1d(n, k, padding, stride=stride, dilation=dilation)
    if ceil_mode and n + before + after < effective_kernel_size(k, dilation) < n + before + after + stride:
        return 1  # as PyTorch: ceil_mode's single window may overhang the input by fewer than s cells
    out = window_count(n + before + after, k, stride=stride, dilation=dilation, ceil_mode=ceil_mode)
    if ceil_mode and (out - 1) * stride >= n + before:
        out -= 1
    return out


def adaptive_pool_bounds(n: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive-pooling windows: ``[floor(i*n/out), ceil((i+1)*n/out))`` for each ``i``.

    Windows may overlap (``n=5, out=3``) and differ in length; ``out > n`` repeats cells.

    Examples
    --------
    >>> adaptive_pool_bounds(5, 3)
    [(0, 2), (1, 4), (3, 5)]
    """
    n = check_positive_int(n, "input size")
    out = check_positive_int(out, "output_size")
    return [(i * n // out, -(-(i + 1) * n // out)) for i in range(out)]
