"""One window on one axis: the size formula, the padding words and the resolved record.

A window of ``k`` taps spaced ``d`` apart covers ``d*(k-1) + 1`` cells. Sliding it in steps of
``s`` over an axis of ``n`` cells padded by ``before`` and ``after`` gives ``out`` windows. That is
all a convolution, a pooling window, a transposed convolution (the adjoint of the forward
convolution it names) and a gradient need to know about one axis, and :class:`WindowAxis` holds
exactly that, with the derived sizes (``padded``, ``extent``, ``span``, ``zero_inserted``,
``overhang``, ``unread``) as properties. Code that holds strides and dilations rather than a record
(the engines) asks :func:`span` for the cells ``count`` outputs read, so no caller writes
``(out-1)*s + d*(k-1) + 1`` by hand.

Sizes come from :func:`window_count`, the single size formula, ``floor((padded - d*(k-1) - 1) / s)
+ 1`` (``ceil`` in pooling's ``ceil_mode``, where :func:`~convlib.shapes.geometry.pool_axis`
applies PyTorch's rule that the last window must start inside the input). The padding words
become cells in :func:`pad_cells` (public views: :func:`same_padding`, :func:`full_padding`):
``"same"`` is TensorFlow's, ``ceil(n / s)`` windows with the least total padding that makes them
fit, ``max((ceil(n/s) - 1)*s + d*(k-1) + 1 - n, 0)``, the odd cell going *after* (bottom/right),
as TensorFlow and Keras split it; ``"full"`` pads ``d*(k-1)`` on both sides, so that every window
overlapping the input by at least one cell is read. The resolvers that build a
:class:`WindowAxis` from the user's arguments are in :mod:`convlib.shapes.geometry`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..padding import check_positive_int

__all__ = [
    "WindowAxis",
    "effective_kernel_size",
    "span",
    "window_count",
    "same_padding",
    "full_padding",
    "pad_cells",
    "no_window_error",
]


def effective_kernel_size(k: int, dilation: int = 1) -> int:
    """Number of input cells a dilated kernel spans: ``d*(k-1) + 1``.

    Parameters
    ----------
    k : int
        Kernel taps (not checked).
    dilation : int
        Tap spacing ``d`` (not checked).

    Returns
    -------
    int
        ``d*(k-1) + 1``.

    Examples
    --------
    >>> effective_kernel_size(3, dilation=2)
    5
    """
    return dilation * (k - 1) + 1


def span(count: int, stride: int, window: int = 1) -> int:
    """Input cells read by ``count`` consecutive outputs, from the first one's first cell to the
    last one's last.

    Parameters
    ----------
    count, stride : int
        Outputs, and the step between the first cells of neighbours.
    window : int
        Cells one output reads: :func:`effective_kernel_size` for a dilated kernel, a tile's
        length for tiles, 1 (the default) for one tap, as ``start : start + span(count, s) : s``
        slices it.

    Returns
    -------
    int
        ``(count-1)*stride + window``: the window extent for ``window = d*(k-1) + 1``, the
        zero-inserted size ``(count-1)*stride + 1`` for 1.

    Examples
    --------
    >>> span(5, 2, effective_kernel_size(3)), span(5, 2)
    (11, 9)
    """
    return (count - 1) * stride + window


def no_window_error(what: str, k: int, dilation: int, padded: int, *, where="input size", n=None, pads=None):
    """The one "no window fits" error, for :func:`window_count` and the resolvers to raise.

    ``what`` names the window (``"kernel size"``, ``"kernel height"``, ``"pool size"``), ``where``
    the axis; ``n`` and ``pads``, when known, show how the padded size came about.

    Examples
    --------
    >>> print(no_window_error("pool size", 3, 1, 2, n=2, pads=(0, 0)))  # doctest: +NORMALIZE_WHITESPACE
    pool size 3 (dilated to 3 by dilation 1) is larger than the padded input size 2
    (input 2 + padding (0, 0)): no window fits
    """
    sizes = "" if n is None else f" (input {n} + padding {pads})"
    return ValueError(
        f"{what} {k} (dilated to {effective_kernel_size(k, dilation)} by dilation {dilation}) is larger "
        f"than the padded {where} {padded}{sizes}: no window fits"
    )


def window_count(padded: int, k: int, *, stride: int = 1, dilation: int = 1, ceil_mode: bool = False) -> int:
    """Number of window positions in ``padded`` cells: the single size formula.

    Parameters
    ----------
    padded, k, stride, dilation : int
        Input length after padding; kernel taps, step and tap spacing.
    ceil_mode : bool
        Round the division up (pooling's ``ceil_mode``).

    Returns
    -------
    int
        ``floor((padded - d*(k-1) - 1) / s) + 1`` (or ``ceil``), at least 1.

    Raises
    ------
    ValueError
        A size that is not a positive integer, or a dilated kernel larger than ``padded``.

    Examples
    --------
    >>> window_count(10, 3, stride=2), window_count(10, 3, stride=2, ceil_mode=True)
    (4, 5)
    """
    padded, k = check_positive_int(padded, "padded input size"), check_positive_int(k, "kernel size")
    stride, dilation = check_positive_int(stride, "stride"), check_positive_int(dilation, "dilation")
    room = padded - dilation * (k - 1) - 1
    if room < 0:
        raise no_window_error("kernel size", k, dilation, padded)
    return (-(-room // stride) if ceil_mode else room // stride) + 1


def pad_cells(n: int, k: int, padding, stride: int, dilation: int) -> tuple[int, int]:
    """``(before, after)`` of one axis, from checked sizes and a lower-case word or a pair of cells.

    >>> pad_cells(10, 3, "same", 2, 1), pad_cells(5, 3, "full", 1, 1), pad_cells(5, 3, (0, 1), 1, 1)
    ((0, 1), (2, 2), (0, 1))
    """
    if padding == "valid":
        return 0, 0
    if padding == "same":
        total = max((-(-n // stride) - 1) * stride + dilation * (k - 1) + 1 - n, 0)
        return total // 2, total - total // 2
    if padding == "full":
        return dilation * (k - 1), dilation * (k - 1)
    return padding


def same_padding(n: int, k: int, *, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's ``"same"`` padding for one axis, as ``(before, after)`` (see the module docstring).

    Parameters
    ----------
    n, k : int
        Input cells and kernel taps.
    stride, dilation : int
        Step and tap spacing.

    Returns
    -------
    (int, int)
        ``(total // 2, total - total // 2)``.

    Raises
    ------
    ValueError
        A size, stride or dilation that is not a positive integer.

    Examples
    --------
    >>> same_padding(10, 3, stride=2)
    (0, 1)
    >>> same_padding(8, 4)
    (1, 2)
    """
    n, k = check_positive_int(n, "input size"), check_positive_int(k, "kernel size")
    stride, dilation = check_positive_int(stride, "stride"), check_positive_int(dilation, "dilation")
    return pad_cells(n, k, "same", stride, dilation)


def full_padding(k: int, *, dilation: int = 1) -> tuple[int, int]:
    """``"full"`` padding: every window that overlaps the input by at least one cell.

    Parameters
    ----------
    k : int
        Kernel taps.
    dilation : int
        Tap spacing ``d``.

    Returns
    -------
    (int, int)
        ``(d*(k-1), d*(k-1))``, the same on both sides whatever the input size.

    Raises
    ------
    ValueError
        ``k`` or ``dilation`` not a positive integer.

    Examples
    --------
    >>> full_padding(3)
    (2, 2)
    """
    k, dilation = check_positive_int(k, "kernel size"), check_positive_int(dilation, "dilation")
    return pad_cells(1, k, "full", 1, dilation)


@dataclass(frozen=True)
class WindowAxis:
    """One axis of a windowed operation, resolved: sizes, pads and the window count.

    ``n`` cells padded by ``before`` and ``after``, read by ``out`` windows of ``k`` taps spaced
    ``dilation`` apart and ``stride`` apart. For a transposed convolution the record describes the
    forward convolution it transposes: ``n`` is the transposed output size, ``out`` its input size,
    ``before``/``after`` the crops and :attr:`left` its ``output_padding``.

    Normally built by the resolvers (:func:`~convlib.shapes.geometry.conv_axis`,
    :func:`~convlib.shapes.geometry.pool_axis`, :func:`~convlib.shapes.geometry.transpose_axis`),
    which check the values; the constructor checks nothing.

    Parameters
    ----------
    n, k, stride, dilation, before, after, out : int
        As the attributes below.

    Attributes
    ----------
    n : int
        Input cells on the axis, before padding (transposed: the transposed output size).
    k : int
        Kernel (or pool) taps.
    stride : int
        Step ``s`` between the first cells of neighbouring windows.
    dilation : int
        Spacing ``d`` between taps.
    before, after : int
        Padding cells at the start and the end (transposed: the crops).
    out : int
        Window count, ``floor((n + before + after - d*(k-1) - 1) / s) + 1`` for a convolution
        (pooling's ``ceil_mode`` rules: :func:`~convlib.shapes.geometry.pool_axis`; transposed:
        the transposed input size).

    Examples
    --------
    >>> from convlib.shapes import conv_axis
    >>> a = conv_axis(12, 3, stride=2)
    >>> a.out, a.padded, a.extent, a.unread, a.span(1, 3), a.zero_inserted
    (5, 12, 11, (0, 1), 5, 9)
    """

    n: int
    k: int
    stride: int
    dilation: int
    before: int
    after: int
    out: int

    @property
    def window(self) -> int:
        """Cells one window spans, ``d*(k-1) + 1``."""
        return effective_kernel_size(self.k, self.dilation)

    @property
    def pads(self) -> tuple[int, int]:
        return self.before, self.after

    @property
    def padded(self) -> int:
        """``n + before + after``."""
        return self.n + self.before + self.after

    def span(self, i0: int, i1: int) -> int:
        """Padded cells read by outputs ``i0 .. i1 - 1``, from the first one's first tap on:
        ``(i1 - i0 - 1)*s + d*(k-1) + 1``."""
        return span(i1 - i0, self.stride, self.window)

    @property
    def extent(self) -> int:
        """Cells from the first window's first tap to the last one's last tap, ``span(0, out)``."""
        return self.span(0, self.out)

    @property
    def zero_inserted(self) -> int:
        """``out`` cells with ``s - 1`` zeros between neighbours, ``(out-1)*s + 1``: the input of
        the transposed convolution this axis describes, before its padding."""
        return span(self.out, self.stride)

    @property
    def overhang(self) -> int:
        """Cells the last window reaches past the padded input (only ``ceil_mode`` pooling has any)."""
        return max(self.extent - self.padded, 0)

    @property
    def left(self) -> int:
        """Cells of the padded input after the last window's last tap (what the floor drops)."""
        return max(self.padded - self.extent, 0)

    @property
    def unread(self) -> tuple[int, int]:
        """``(padding cells unused, input cells never read)`` at the end of the axis.

        The cells the floor drops are taken from the after-padding first; any left over are real
        input cells that no window reads.
        """
        return min(self.left, self.after), max(self.left - self.after, 0)

    def starts(self) -> range:
        """Where each window starts, in padded coordinates."""
        return range(0, self.out * self.stride, self.stride)
