"""One per-axis geometry: every padding argument resolved once, for every axis, into a `WindowAxis`.

A window of ``k`` taps spaced ``d`` apart covers ``d*(k-1) + 1`` cells. Sliding it in steps of
``s`` over an axis of ``n`` cells padded by ``before`` and ``after`` gives ``out`` windows. That is
all a convolution, a pooling window, a transposed convolution (the adjoint of the forward
convolution it names) and a gradient need to know about one axis, and :class:`WindowAxis` holds
exactly that, with the derived sizes (``padded``, ``extent``, ``overhang``, ``unread``) as
properties, so no caller recomputes ``(out-1)*s + d*(k-1) + 1`` by hand.

The resolvers turn the user's ``padding`` argument into all axes at once, in the style of jax's
``lax.padtype_to_pads`` and tinygrad's ``_resolve_pool_pads``:

- :func:`conv_axes` for convolution (and its gradients),
- :func:`pool_axes` for pooling (``ceil_mode`` included),
- :func:`transpose_axes` for transposed convolution.

Sizes come from :func:`window_count`, the single size formula; the padding words from
:func:`same_padding` and :func:`full_padding`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..padding import (
    check_nonnegative_int,
    check_positive_int,
    normalize_padding,
    normalize_padding_1d,
    normalize_pair,
)

__all__ = [
    "WindowAxis",
    "split_padding",
    "effective_kernel_size",
    "window_count",
    "same_padding",
    "full_padding",
    "resolve_padding_1d",
    "resolve_padding",
    "conv_axis",
    "conv_axes",
    "pool_axis",
    "pool_axes",
    "transpose_axis",
    "transpose_axes",
]

_NAMES = {"n": "input size", "k": "kernel size", "stride": "stride", "dilation": "dilation"}
_AXES = ("height", "width")


def _positive(**values) -> tuple[int, ...]:
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
        Round the division up instead of down (pooling's ``ceil_mode``; :func:`pool_axis`
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
    plain = type(padded) is type(k) is type(stride) is type(dilation) is int  # the engines' case
    if not (plain and padded > 0 and k > 0 and stride > 0 and dilation > 0):
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

    The output has ``ceil(n / s)`` positions; the total padding is the least that makes that many
    windows fit, ``max((ceil(n/s) - 1)*s + d*(k-1) + 1 - n, 0)``, split with the odd cell going
    *after* (bottom/right), as TensorFlow and Keras do.

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
    """``"full"`` padding: every window that overlaps the input by at least one cell.

    Examples
    --------
    >>> full_padding(3)
    (2, 2)
    """
    k, dilation = _positive(k=k, dilation=dilation)
    extra = effective_kernel_size(k, dilation) - 1
    return extra, extra


@dataclass(frozen=True)
class WindowAxis:
    """One axis of a windowed operation, resolved: sizes, pads and the window count.

    ``n`` cells padded by ``before`` and ``after``, read by ``out`` windows of ``k`` taps spaced
    ``dilation`` apart and ``stride`` apart. For a transposed convolution the record describes the
    forward convolution it transposes: ``n`` is the transposed output size, ``out`` its input size,
    ``before``/``after`` the crops and :attr:`left` its ``output_padding``.

    Examples
    --------
    >>> a = conv_axis(12, 3, stride=2)
    >>> a.out, a.padded, a.extent, a.unread
    (5, 12, 11, (0, 1))
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

    @property
    def extent(self) -> int:
        """Cells from the first window's first tap to the last one's last tap, ``(out-1)*s + d*(k-1) + 1``."""
        return (self.out - 1) * self.stride + self.window

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


def split_padding(padding, axes: int = 2) -> list:
    """The user's 2-D ``padding`` split into one entry (word or ``(before, after)``) per axis.

    Examples
    --------
    >>> split_padding("SAME"), split_padding((1, 2))
    (['same', 'same'], [(1, 1), (2, 2)])
    """
    p = normalize_padding(padding)
    return [p] * axes if isinstance(p, str) else list(p)


def resolve_padding_1d(n: int, k: int, padding, *, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """Turn one axis's padding (a word, an int or a pair) into ``(before, after)`` cells.

    Only the padding: whether a window fits is for the resolvers below to say.

    Examples
    --------
    >>> resolve_padding_1d(5, 3, "full")
    (2, 2)
    >>> resolve_padding_1d(10, 3, "same", stride=2)
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


def resolve_padding(hw, khw, padding, *, stride=1, dilation=1) -> tuple[tuple[int, int], tuple[int, int]]:
    """Both axes' padding as ``((top, bottom), (left, right))``, without checking that a window fits.

    The one place a 2-D padding argument becomes cells; :func:`conv_axes` adds the fit check and
    the window count.

    Examples
    --------
    >>> resolve_padding((10, 11), (3, 3), "same", stride=2)
    ((0, 1), (1, 1))
    """
    stride, dilation = normalize_pair(stride, "stride"), normalize_pair(dilation, "dilation")
    pads = split_padding(padding)
    return tuple(  # type: ignore[return-value]
        resolve_padding_1d(hw[i], khw[i], pads[i], stride=stride[i], dilation=dilation[i]) for i in range(2)
    )


def conv_axis(
    n: int, k: int, padding="valid", *, stride: int = 1, dilation: int = 1, label: str = ""
) -> WindowAxis:
    """Resolve one axis of a convolution.

    ``padding`` is ``"valid"``, ``"same"`` (TensorFlow's), ``"full"``, ``p`` or ``(before, after)``.

    Raises
    ------
    ValueError
        A non-positive size, stride or dilation, a negative pad, or a dilated kernel larger than the
        padded input (the message names the axis ``label`` when given).

    Examples
    --------
    >>> conv_axis(10, 3, "same", stride=2)
    WindowAxis(n=10, k=3, stride=2, dilation=1, before=0, after=1, out=5)
    """
    n, k, stride, dilation = _positive(n=n, k=k, stride=stride, dilation=dilation)
    before, after = resolve_padding_1d(n, k, padding, stride=stride, dilation=dilation)
    eff = effective_kernel_size(k, dilation)
    if eff > n + before + after:
        where = f"kernel {label} {k}" if label else f"kernel size {k}"
        size = f"input {label}" if label else "input size"
        raise ValueError(
            f"{where} (dilated to {eff} by dilation {dilation}) is larger than the padded {size} "
            f"{n + before + after} (input {n} + padding {(before, after)}): no window fits; "
            "kernel size can't be greater than the padded input size"
        )
    return WindowAxis(
        n,
        k,
        stride,
        dilation,
        before,
        after,
        window_count(n + before + after, k, stride=stride, dilation=dilation),
    )


def conv_axes(hw, khw, *, stride=1, padding="valid", dilation=1) -> tuple[WindowAxis, WindowAxis]:
    """Both spatial axes of a convolution, from the 2-D arguments convlib's functions take.

    Examples
    --------
    >>> [a.pads for a in conv_axes((10, 11), (3, 3), stride=2, padding="same")]
    [(0, 1), (1, 1)]
    """
    stride, dilation = normalize_pair(stride, "stride"), normalize_pair(dilation, "dilation")
    pads = split_padding(padding)
    return tuple(  # type: ignore[return-value]
        conv_axis(hw[i], khw[i], pads[i], stride=stride[i], dilation=dilation[i], label=_AXES[i])
        for i in range(2)
    )


def pool_axis(
    n: int, k: int, padding="valid", *, stride: int | None = None, dilation: int = 1, ceil_mode: bool = False
) -> WindowAxis:
    """Resolve one axis of a pooling window.

    ``stride`` defaults to ``k``. ``"same"`` is TensorFlow's (the padded cells are then ignored by
    the pool). Numbers follow PyTorch, which requires each side to be at most half the
    *undilated* window, ``p <= k // 2``, so that every window holds at least one real cell.
    With ``ceil_mode`` the division rounds up, but a last window that would start in the right
    padding is dropped (PyTorch's rule), and as in PyTorch a single window may overhang the padded
    input by fewer than ``s`` cells.

    Raises
    ------
    ValueError
        Bad sizes, ``"full"``, a pad over half the window, ``ceil_mode`` with ``"same"``, or a
        window larger than the padded input.

    Examples
    --------
    >>> pool_axis(5, 2, ceil_mode=True).out
    3
    >>> a = pool_axis(6, 3, 1, stride=2, ceil_mode=True)
    >>> a.out, a.overhang
    (4, 1)
    """
    n = check_positive_int(n, "input size")
    k = check_positive_int(k, "pool size")
    stride = k if stride is None else check_positive_int(stride, "stride")
    dilation = check_positive_int(dilation, "dilation")
    word = normalize_padding_1d(padding)
    if word == "full":
        raise ValueError("padding='full' is not a pooling padding; use 'valid', 'same' or numbers")
    if ceil_mode and word == "same":
        raise ValueError(
            "ceil_mode=True cannot be combined with padding='same' (which already gives ceil(n/s))"
        )
    before, after = resolve_padding_1d(n, k, padding, stride=stride, dilation=dilation)
    if word not in ("same",) and max(before, after) > k // 2:
        raise ValueError(
            f"pool padding {(before, after)} must be at most half the pool size, k // 2 = {k // 2}, "
            f"on each side (pool size {k}, dilation {dilation}), as in PyTorch"
        )
    padded, eff = n + before + after, effective_kernel_size(k, dilation)
    if ceil_mode and padded < eff < padded + stride:
        return WindowAxis(n, k, stride, dilation, before, after, 1)  # PyTorch's one overhanging window
    if eff > padded:
        raise ValueError(
            f"pool size {k} (dilated to {eff} by dilation {dilation}) is larger than the padded input "
            f"size {padded} (input {n} + padding {(before, after)}): no window fits"
        )
    out = window_count(padded, k, stride=stride, dilation=dilation, ceil_mode=ceil_mode)
    if ceil_mode and (out - 1) * stride >= n + before:
        out -= 1
    return WindowAxis(n, k, stride, dilation, before, after, out)


def pool_axes(hw, pool_size, strides=None, padding="valid", *, dilation=1, ceil_mode=False):
    """Both spatial axes of a pooling window (``strides`` defaults to ``pool_size``).

    Examples
    --------
    >>> [a.out for a in pool_axes((5, 6), 2, ceil_mode=True)]
    [3, 3]
    """
    ks = normalize_pair(pool_size, "pool_size")
    ss = ks if strides is None else normalize_pair(strides, "strides")
    ds = normalize_pair(dilation, "dilation")
    pads = split_padding(padding)
    return tuple(
        pool_axis(hw[i], ks[i], pads[i], stride=ss[i], dilation=ds[i], ceil_mode=ceil_mode) for i in range(2)
    )


def transpose_axis(
    n: int, k: int, padding=0, *, stride: int = 1, output_padding: int | None = None, dilation: int = 1
) -> WindowAxis:
    """Resolve one axis of a transposed convolution of ``n`` input cells.

    The result describes the forward convolution being transposed: its ``n`` is the transposed
    output size, ``n_out = (n-1)*s - before - after + d*(k-1) + 1 + output_padding``, its ``out``
    is ``n``, ``before``/``after`` are the crops and :attr:`WindowAxis.left` the output padding.

    Numbers follow PyTorch (``output_padding`` defaults to 0 and must be ``< max(s, d)``).
    ``"valid"`` and ``"same"`` follow Keras ``Conv2DTranspose``: with ``output_padding=None`` the
    output is ``n*s + max(d*(k-1)+1 - s, 0)`` (valid) or ``n*s`` (same); with an int it is
    ``(n-1)*s + d*(k-1)+1 - 2*pad + output_padding`` with ``pad = 0`` (valid) or
    ``(d*(k-1)+1) // 2`` (same). The crop is then TensorFlow's: the forward ``"same"`` padding of
    that output size, so that a forward convolution maps it back to ``n``.

    Raises
    ------
    ValueError
        Non-positive sizes, a negative pad, ``output_padding >= max(stride, dilation)`` (``>= stride``
        with words, as Keras), the word ``"full"``, a Keras size that a forward convolution would not
        map back to ``n``, or a non-positive output size.

    Examples
    --------
    >>> a = transpose_axis(4, 3, "same", stride=2)
    >>> a.n, a.pads, a.left
    (8, (0, 1), 0)
    >>> transpose_axis(4, 3, 1, stride=2, output_padding=1).n
    8
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
    full = (n - 1) * stride + eff
    if not isinstance(padding, str):
        before, after = padding
        target = full - before - after + (output_padding or 0)
    else:
        if output_padding is None:
            target = n * stride + (max(eff - stride, 0) if padding == "valid" else 0)
        else:
            target = full - (2 * (eff // 2) if padding == "same" else 0) + output_padding
        back = conv_axis(target, k, padding, stride=stride, dilation=dilation).out if target > 0 else 0
        if back != n:
            raise ValueError(
                f"padding={padding!r} with output_padding={output_padding} gives output size {target}, "
                f"which a forward convolution maps to {back}, not to the input size {n}"
            )
        before, after = resolve_padding_1d(target, k, padding, stride=stride, dilation=dilation)
    if target <= 0:
        raise ValueError(
            f"transposed convolution output size {target} is not positive (input {n}, kernel "
            f"{k}, stride {stride}, padding {(before, after)}, dilation {dilation})"
        )
    return WindowAxis(target, k, stride, dilation, before, after, n)


def transpose_axes(hw, khw, *, stride=1, padding=0, output_padding=None, dilation=1):
    """Both spatial axes of a transposed convolution (see :func:`transpose_axis`).

    Examples
    --------
    >>> [a.n for a in transpose_axes((4, 5), (3, 3), stride=2, padding="same")]
    [8, 10]
    """
    stride, dilation = normalize_pair(stride, "stride"), normalize_pair(dilation, "dilation")
    pads = split_padding(padding)
    ops = (
        (None, None)
        if output_padding is None
        else normalize_pair(output_padding, "output_padding", allow_zero=True)
    )
    return tuple(
        transpose_axis(hw[i], khw[i], pads[i], stride=stride[i], output_padding=ops[i], dilation=dilation[i])
        for i in range(2)
    )
