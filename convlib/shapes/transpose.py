"""Transposed-convolution sizes, derived from the convolution they invert.

Numbers follow PyTorch (``output_padding`` defaults to 0 and must be ``< max(s, d)``).
``"valid"`` and ``"same"`` follow Keras ``Conv2DTranspose``: with ``output_padding=None`` the
output is ``n*s + max(d*(k-1)+1 - s, 0)`` (valid) or ``n*s`` (same); with an int it is
``(n-1)*s + d*(k-1)+1 - 2*pad + output_padding`` with ``pad = 0`` (valid) or ``(d*(k-1)+1) // 2``
(same). The crop is then TensorFlow's: the forward ``"same"`` padding of that output size, so that
a forward convolution maps it back to ``n``. The resolver is
:func:`convlib.shapes.geometry.transpose_axis`; these are its one-axis views.
"""

from __future__ import annotations

from ..padding import Padding1D
from .geometry import transpose_axis

__all__ = ["transpose_padding_1d", "conv_transpose_output_size"]


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
    a = transpose_axis(n, k, padding, stride=stride, output_padding=output_padding, dilation=dilation)
    return a.before, a.after, a.left


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

    Parameters
    ----------
    n, k : int
        Input length of the transposed convolution and kernel taps.
    stride, dilation : int
        Step ``s`` and tap spacing ``d``.
    padding : {"valid", "same"} or int or (int, int)
        Crops ``p`` (``(p_before, p_after)``), or a Keras word.
    output_padding : int, optional
        Cells appended at the end; ``None`` means 0 for numbers, Keras's default for words.

    Returns
    -------
    int
        ``n_out`` below.

    Raises
    ------
    ValueError
        See :func:`transpose_padding_1d`; also when the result is not positive.

    Shape
    -----
    Numbers: ``n_out = (n-1)*s - p_before - p_after + d*(k-1) + output_padding + 1``.
    Words, ``output_padding=None``: ``n*s + max(d*(k-1) + 1 - s, 0)`` (valid), ``n*s`` (same).
    Words, int ``op``: ``(n-1)*s + d*(k-1) + 1 - 2*pad + op``, ``pad = 0`` (valid) or
    ``(d*(k-1) + 1) // 2`` (same).

    Examples
    --------
    >>> conv_transpose_output_size(4, 3, stride=2)
    9
    >>> conv_transpose_output_size(4, 3, stride=2, padding=1, output_padding=1)
    8
    >>> conv_transpose_output_size(4, 3, stride=2, padding="same")
    8
    """
    return transpose_axis(n, k, padding, stride=stride, output_padding=output_padding, dilation=dilation).n
