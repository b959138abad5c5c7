"""Pooling sizes: the convolution's window count, with pooling's padding rules and ``ceil_mode``.

The rules live in :func:`convlib.shapes.geometry.pool_axis`; these are its one-axis views.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..padding import Padding1D, check_positive_int
from .checks import check_data_format, split_input_shape
from .geometry import WindowAxis, pool_axes, pool_axis
from .memory import check_allocation

__all__ = ["PoolGeometry", "check_pool_shape", "pool_padding_1d", "pool_output_size", "adaptive_pool_bounds"]


def pool_padding_1d(
    n: int, k: int, padding: Padding1D = "valid", *, stride: int | None = None, dilation: int = 1
) -> tuple[int, int]:
    """Resolve and check one axis's pooling padding as ``(before, after)``.

    ``"same"`` is TensorFlow's (the padded cells are then ignored by the pool). Numbers follow
    PyTorch, which requires each side to be at most half the *undilated* pool size, ``p <= k // 2``.

    Parameters
    ----------
    n, k : int
        Input length and pool size.
    padding : {"valid", "same"} or int or (int, int)
        Word, pad on both sides, or ``(before, after)``.
    stride : int, optional
        Step; defaults to ``k``.
    dilation : int
        Tap spacing ``d``.

    Returns
    -------
    (int, int)
        ``(before, after)``; for ``"same"`` ``total = max((ceil(n/s) - 1)*s + d*(k-1) + 1 - n, 0)``
        split as ``(total // 2, total - total // 2)``.

    Raises
    ------
    ValueError
        Non-positive sizes, a negative pad, ``"full"``, a pad over ``k // 2`` on either side, or a
        dilated window larger than the padded input.

    Examples
    --------
    >>> pool_padding_1d(5, 2, "same", stride=2)
    (0, 1)
    >>> pool_padding_1d(5, 2, 2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: pool padding (2, 2) must be at most half the pool size, k // 2 = 1, ...
    """
    return pool_axis(n, k, padding, stride=stride, dilation=dilation).pads


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

    Same formula as convolution; with ``ceil_mode`` the division rounds up but, as in PyTorch, a
    last window that would start in the right padding is dropped. ``stride`` defaults to ``k``.
    As in PyTorch, ``ceil_mode`` also accepts a window up to ``s - 1`` cells larger than the padded
    input (one partial window).

    Parameters
    ----------
    n, k : int
        Input length and pool size.
    stride : int, optional
        Step ``s``; defaults to ``k``.
    padding : {"valid", "same"} or int or (int, int)
        ``"same"`` is TensorFlow's (``ceil(n / s)`` windows); numbers as in PyTorch.
    dilation : int
        Tap spacing ``d``.
    ceil_mode : bool
        Round the division up, as PyTorch's ``ceil_mode``.

    Returns
    -------
    int
        The number of windows, ``n_out`` below.

    Raises
    ------
    ValueError
        Bad sizes, a pad over half the pool size, ``ceil_mode`` with ``"same"`` (TensorFlow's
        ``"same"`` already rounds up), or a window larger than the padded input.

    Shape
    -----
    ``n_out = floor((n + p_before + p_after - d*(k-1) - 1) / s) + 1`` (``ceil`` with
    ``ceil_mode``, minus one if the last window would start at or after ``n + p_before``, i.e.
    ``(n_out - 1)*s >= n + p_before``; ``n_out = 1`` when ``ceil_mode`` and
    ``padded < d*(k-1) + 1 < padded + s``).

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
    return pool_axis(n, k, padding, stride=stride, dilation=dilation, ceil_mode=ceil_mode).out


def adaptive_pool_bounds(n: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive-pooling windows: ``[floor(i*n/out), ceil((i+1)*n/out))`` for each ``i``.

    Windows may overlap (``n=5, out=3``) and differ in length; ``out > n`` repeats cells.

    Parameters
    ----------
    n : int
        Input length.
    out : int
        Requested output length (the number of windows).

    Returns
    -------
    list of (int, int)
        ``out`` half-open ``(start, stop)`` pairs, ``start = floor(i*n/out)``,
        ``stop = ceil((i+1)*n/out)``.

    Raises
    ------
    ValueError
        ``n`` or ``out`` not a positive integer.

    Examples
    --------
    >>> adaptive_pool_bounds(5, 3)
    [(0, 2), (1, 4), (3, 5)]
    """
    n = check_positive_int(n, "input size")
    out = check_positive_int(out, "output_size")
    return [(i * n // out, -(-(i + 1) * n // out)) for i in range(out)]


@dataclass(frozen=True)
class PoolGeometry:
    """Every size of one pooling call, after validation."""

    batch: int | None
    channels: int
    axes: tuple[WindowAxis, WindowAxis]
    data_format: str

    out_hw = property(lambda self: (self.axes[0].out, self.axes[1].out))
    pads = property(lambda self: (self.axes[0].pads, self.axes[1].pads))


def check_pool_shape(
    input_shape,
    pool_size,
    strides=None,
    padding="valid",
    *,
    dilation=1,
    ceil_mode=False,
    data_format="NHWC",
    itemsize=4,
) -> PoolGeometry:
    """Validate a pooling call (window, strides, padding, dilation, ``ceil_mode``).

    Raises
    ------
    ValueError
        Wrong rank, bad sizes, a pad over half the pool size, a window larger than the padded
        input, or a ``ceil_mode`` overhang larger than the padded input itself.

    Examples
    --------
    >>> check_pool_shape((1, 5, 5, 2), 2, ceil_mode=True).out_hw
    (3, 3)
    """
    fmt = check_data_format(data_format)
    batch, h, w, c = split_input_shape(input_shape, fmt)
    axes = pool_axes((h, w), pool_size, strides, padding, dilation=dilation, ceil_mode=ceil_mode)
    for a, label in zip(axes, ("height", "width")):
        if a.overhang > a.padded:
            # Allocating the overhang would cost memory proportional to the window, not the input.
            raise ValueError(
                f"pool_size {a.k} (dilated to {a.window}) with ceil_mode overhangs the padded input "
                f"{label} {a.padded} by {a.overhang} cells, more than the input holds"
            )
    n = 1 if batch is None else max(batch, 1)
    padded = [a.padded + a.overhang for a in axes]
    blame = f"pool_size={pool_size!r} with padding={padding!r}"
    check_allocation(
        ("the padded input", (n, *padded, c), itemsize),
        ("the output", (n, axes[0].out, axes[1].out, c), itemsize),
        blame=blame,
    )
    return PoolGeometry(batch, c, axes, fmt)
