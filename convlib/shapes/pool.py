"""Pooling sizes: the convolution's window count, with pooling's padding rules and ``ceil_mode``."""

from __future__ import annotations

from ..padding import Padding1D, check_positive_int, normalize_padding_1d
from .conv import effective_kernel_size, resolve_padding_1d, window_count

__all__ = ["pool_padding_1d", "pool_output_size", "adaptive_pool_bounds"]


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
