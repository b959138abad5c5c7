"""Transposed-convolution sizes, derived from the convolution they invert."""

from __future__ import annotations

from ..padding import Padding1D, check_nonnegative_int, check_positive_int, normalize_padding_1d
from .conv import conv_output_size, effective_kernel_size, resolve_padding_1d

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
