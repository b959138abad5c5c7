"""Convolution sizes one axis or one call at a time: output length, unread cells, output shape.

Views of :func:`~convlib.shapes.geometry.conv_axis` and
:func:`~convlib.shapes.checks.check_conv_shapes`; the size formula and the padding words they
use are in :mod:`convlib.shapes.window`.
"""

from __future__ import annotations

from ..padding import Padding1D
from .checks import check_conv_shapes
from .geometry import conv_axis

__all__ = [
    "conv_output_size",
    "unread_cells",
    "conv_output_shape",
]


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
    return conv_axis(n, k, padding, stride=stride, dilation=dilation).out


def unread_cells(
    n: int, k: int, *, stride: int = 1, padding: Padding1D = "valid", dilation: int = 1
) -> tuple[int, int]:
    """Cells beyond the last window's last tap: ``(padding cells unused, input cells never read)``.

    The floor in the output-size formula drops ``(n + p_before + p_after - d*(k-1) - 1) % s``
    cells at the end. They are taken from the after-padding first; any left over are real input
    rows (or columns) that no window reads, so they cannot influence the output at all.

    Parameters
    ----------
    n, k : int
        Input length and kernel taps.
    stride, dilation : int
        Step ``s`` and tap spacing ``d``.
    padding : {"valid", "same", "full"} or int or (int, int)
        As in :func:`conv_output_size`.

    Returns
    -------
    (int, int)
        With ``left = (n + p_before + p_after - d*(k-1) - 1) % s``:
        ``(min(left, p_after), max(left - p_after, 0))``.

    Raises
    ------
    ValueError
        A non-positive size, stride or dilation, a negative pad, or a dilated kernel larger than
        the padded input.

    Examples
    --------
    >>> unread_cells(12, 3, stride=2)   # the seed's 12x12 input: its last row is never read
    (0, 1)
    >>> unread_cells(10, 3, stride=2, padding="same")
    (0, 0)
    >>> unread_cells(224, 1, stride=2)  # a 1x1 stride-2 shortcut skips the last row of an even input
    (0, 1)
    """
    return conv_axis(n, k, padding, stride=stride, dilation=dilation).unread


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
    geo = check_conv_shapes(
        tuple(input_shape),
        tuple(kernel_shape),
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        data_format=data_format,
    )
    return geo.output_shape
