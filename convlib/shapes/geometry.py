"""One per-axis geometry: every padding argument resolved once, for every axis, into a `WindowAxis`.

The resolvers turn the user's 2-D arguments into both axes at once, in the style of jax's
``lax.padtype_to_pads`` and tinygrad's ``_resolve_pool_pads``:

- :func:`conv_axes` for convolution (and its gradients),
- :func:`pool_axes` for pooling (``ceil_mode`` included),
- :func:`transpose_axes` for transposed convolution.

Each argument is checked once: the public functions normalise their arguments
(:mod:`convlib.padding`) and hand plain ints and a normalised padding to a private per-axis
function that checks only what depends on the sizes. The record, the size formula and the
padding words are in :mod:`convlib.shapes.window`.
"""

from __future__ import annotations

from ..padding import (
    check_nonnegative_int,
    check_positive_int,
    normalize_padding,
    normalize_padding_1d,
    normalize_pair,
)
from .window import (
    WindowAxis,
    effective_kernel_size,
    full_padding,
    no_window_error,
    pad_cells,
    same_padding,
    window_count,
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


def split_padding(padding, axes: int = 2) -> list:
    """The user's 2-D ``padding`` split into one entry (word or ``(before, after)``) per axis.

    Examples
    --------
    >>> split_padding("SAME"), split_padding((1, 2))
    (['same', 'same'], [(1, 1), (2, 2)])
    """
    p = normalize_padding(padding)
    return [p] * axes if isinstance(p, str) else list(p)


def _sizes(hw, name: str) -> tuple[int, int]:
    return check_positive_int(hw[0], name), check_positive_int(hw[1], name)


def resolve_padding_1d(n: int, k: int, padding, *, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """One axis's padding (a word, an int or a pair) as ``(before, after)`` cells, without
    checking that a window fits.

    Examples
    --------
    >>> resolve_padding_1d(5, 3, "full"), resolve_padding_1d(10, 3, "same", stride=2)
    ((2, 2), (0, 1))
    """
    padding = normalize_padding_1d(padding)
    n, k = check_positive_int(n, "input size"), check_positive_int(k, "kernel size")
    stride, dilation = check_positive_int(stride, "stride"), check_positive_int(dilation, "dilation")
    return pad_cells(n, k, padding, stride, dilation)


def resolve_padding(hw, khw, padding, *, stride=1, dilation=1) -> tuple[tuple[int, int], tuple[int, int]]:
    """Both axes' padding as ``((top, bottom), (left, right))``, without checking that a window fits.

    Examples
    --------
    >>> resolve_padding((10, 11), (3, 3), "same", stride=2)
    ((0, 1), (1, 1))
    """
    s, d, p = normalize_pair(stride, "stride"), normalize_pair(dilation, "dilation"), split_padding(padding)
    return tuple(map(pad_cells, _sizes(hw, "input size"), _sizes(khw, "kernel size"), p, s, d))


def conv_axis(
    n: int, k: int, padding="valid", *, stride: int = 1, dilation: int = 1, label: str = ""
) -> WindowAxis:
    """Resolve one axis of a convolution; ``padding`` is a word, ``p`` or ``(before, after)``.

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
    n, k = check_positive_int(n, "input size"), check_positive_int(k, "kernel size")
    stride, dilation = check_positive_int(stride, "stride"), check_positive_int(dilation, "dilation")
    return _conv_axis(n, k, normalize_padding_1d(padding), stride, dilation, label)


def _conv_axis(n: int, k: int, padding, stride: int, dilation: int, label: str = "") -> WindowAxis:
    """:func:`conv_axis` on checked ints and a normalised padding: only the fit is checked."""
    before, after = pad_cells(n, k, padding, stride, dilation)
    padded = n + before + after
    if dilation * (k - 1) + 1 > padded:
        what, where = (f"kernel {label}", f"input {label}") if label else ("kernel size", "input size")
        raise no_window_error(what, k, dilation, padded, where=where, n=n, pads=(before, after))
    return WindowAxis(
        n, k, stride, dilation, before, after, window_count(padded, k, stride=stride, dilation=dilation)
    )


def conv_axes(hw, khw, *, stride=1, padding="valid", dilation=1) -> tuple[WindowAxis, WindowAxis]:
    """Both spatial axes of a convolution, from the 2-D arguments convlib's functions take.

    Parameters
    ----------
    hw, khw : (int, int)
        Input ``(H, W)`` and kernel ``(kh, kw)``.
    stride, dilation : int or (int, int)
        Step and tap spacing, one for both axes or per axis.
    padding : str or int or (int, int) or ((int, int), (int, int))
        ``"valid"``, ``"same"``, ``"full"``, ``p``, ``(ph, pw)`` or ``((top, bottom), (left, right))``.

    Returns
    -------
    (WindowAxis, WindowAxis)
        Height and width; each ``out = floor((n + before + after - d*(k-1) - 1) / s) + 1``.

    Raises
    ------
    ValueError
        A non-positive size, stride or dilation, a bad or negative padding, or a dilated kernel
        larger than the padded input (the message names the axis).

    Examples
    --------
    >>> [a.pads for a in conv_axes((10, 11), (3, 3), stride=2, padding="same")]
    [(0, 1), (1, 1)]
    """
    s, d, p = normalize_pair(stride, "stride"), normalize_pair(dilation, "dilation"), split_padding(padding)
    return tuple(
        conv_axis(hw[i], khw[i], p[i], stride=s[i], dilation=d[i], label=("height", "width")[i])
        for i in (0, 1)
    )


def pool_axis(
    n: int, k: int, padding="valid", *, stride: int | None = None, dilation: int = 1, ceil_mode: bool = False
) -> WindowAxis:
    """Resolve one axis of a pooling window.

    ``stride`` defaults to ``k``. ``"same"`` is TensorFlow's (the pool ignores the padded cells).
    Numbers follow PyTorch: each side at most half the *undilated* window, ``p <= k // 2``, so that
    every window holds a real cell; with ``ceil_mode`` the division rounds up, a last window that
    would start in the right padding is dropped, and one window may overhang the padded input by
    fewer than ``s`` cells.

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
    n, k = check_positive_int(n, "input size"), check_positive_int(k, "pool size")
    stride = k if stride is None else check_positive_int(stride, "stride")
    dilation = check_positive_int(dilation, "dilation")
    return _pool_axis(n, k, normalize_padding_1d(padding), stride, dilation, ceil_mode)


def _pool_axis(n: int, k: int, padding, stride: int, dilation: int, ceil_mode: bool) -> WindowAxis:
    """:func:`pool_axis` on checked ints and a normalised padding."""
    if padding == "full":
        raise ValueError("padding='full' is not a pooling padding; use 'valid', 'same' or numbers")
    if ceil_mode and padding == "same":
        raise ValueError(
            "ceil_mode=True cannot be combined with padding='same' (which already gives ceil(n/s))"
        )
    before, after = pad_cells(n, k, padding, stride, dilation)
    if padding != "same" and max(before, after) > k // 2:
        raise ValueError(
            f"pool padding {(before, after)} must be at most half the pool size, k // 2 = {k // 2}, "
            f"on each side (pool size {k}, dilation {dilation}), as in PyTorch"
        )
    padded, eff = n + before + after, effective_kernel_size(k, dilation)
    if ceil_mode and padded < eff < padded + stride:
        return WindowAxis(n, k, stride, dilation, before, after, 1)  # PyTorch's one overhanging window
    if eff > padded:
        raise no_window_error("pool size", k, dilation, padded, n=n, pads=(before, after))
    out = window_count(padded, k, stride=stride, dilation=dilation, ceil_mode=ceil_mode)
    if ceil_mode and (out - 1) * stride >= n + before:
        out -= 1
    return WindowAxis(n, k, stride, dilation, before, after, out)


def pool_axes(hw, pool_size, strides=None, padding="valid", *, dilation=1, ceil_mode=False):
    """Both spatial axes of a pooling window (``strides`` defaults to ``pool_size``).

    Parameters
    ----------
    hw : (int, int)
        Input ``(H, W)``.
    pool_size : int or (int, int)
        Window ``k`` per axis.
    strides : int or (int, int), optional
        Step per axis; defaults to ``pool_size``.
    padding : str or int or (int, int) or ((int, int), (int, int))
        ``"valid"``, ``"same"`` or numbers (at most ``k // 2`` per side).
    dilation : int or (int, int)
        Tap spacing.
    ceil_mode : bool
        Round the window count up, as PyTorch (rules: :func:`pool_axis`).

    Returns
    -------
    (WindowAxis, WindowAxis)
        Height and width; ``out`` as :func:`~convlib.shapes.pool.pool_output_size`.

    Raises
    ------
    ValueError
        Bad sizes, ``"full"``, a pad over half the window, ``ceil_mode`` with ``"same"``, or a
        window larger than the padded input.

    Examples
    --------
    >>> [a.out for a in pool_axes((5, 6), 2, ceil_mode=True)]
    [3, 3]
    """
    ks = normalize_pair(pool_size, "pool_size")
    ss = ks if strides is None else normalize_pair(strides, "strides")
    ds, p = normalize_pair(dilation, "dilation"), split_padding(padding)
    return tuple(map(_pool_axis, _sizes(hw, "input size"), ks, p, ss, ds, (ceil_mode, ceil_mode)))


def transpose_axis(
    n: int, k: int, padding=0, *, stride: int = 1, output_padding: int | None = None, dilation: int = 1
) -> WindowAxis:
    """Resolve one axis of a transposed convolution of ``n`` input cells (rules: :mod:`.transpose`).

    The result describes the forward convolution being transposed: its ``n`` is the transposed
    output size, ``n_out = (n-1)*s - before - after + d*(k-1) + 1 + output_padding``, its ``out``
    is ``n``, ``before``/``after`` are the crops and :attr:`WindowAxis.left` the output padding.

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
    n, k = check_positive_int(n, "input size"), check_positive_int(k, "kernel size")
    stride, dilation = check_positive_int(stride, "stride"), check_positive_int(dilation, "dilation")
    padding = normalize_padding_1d(padding)
    if output_padding is not None:
        output_padding = check_nonnegative_int(output_padding, "output_padding")
    return _transpose_axis(n, k, padding, stride, output_padding, dilation)


def _transpose_axis(n: int, k: int, padding, stride: int, output_padding, dilation: int) -> WindowAxis:
    """:func:`transpose_axis` on checked ints and a normalised padding."""
    if padding == "full":
        raise ValueError(
            "padding='full' has no transposed-convolution meaning; use 'valid', 'same' or numbers"
        )
    eff = effective_kernel_size(k, dilation)
    if output_padding is not None:
        limit = max(stride, dilation) if not isinstance(padding, str) else stride
        if output_padding >= limit:
            raise ValueError(
                f"output_padding must be smaller than max(stride, dilation) = {limit} "
                f"(stride {stride}, dilation {dilation}), got {output_padding}"
            )
    full = (n - 1) * stride + eff  # the full scatter
    if not isinstance(padding, str):
        before, after = padding
        target = full - before - after + (output_padding or 0)
    else:
        if output_padding is None:
            target = n * stride + (max(eff - stride, 0) if padding == "valid" else 0)
        else:
            target = full - (2 * (eff // 2) if padding == "same" else 0) + output_padding
        back = _conv_axis(target, k, padding, stride, dilation).out if target > 0 else 0
        if back != n:
            raise ValueError(
                f"padding={padding!r} with output_padding={output_padding} gives output size {target}, "
                f"which a forward convolution maps to {back}, not to the input size {n}"
            )
        before, after = pad_cells(target, k, padding, stride, dilation)
    if target <= 0:
        raise ValueError(
            f"transposed convolution output size {target} is not positive (input {n}, kernel "
            f"{k}, stride {stride}, padding {(before, after)}, dilation {dilation})"
        )
    return WindowAxis(target, k, stride, dilation, before, after, n)


def transpose_axes(hw, khw, *, stride=1, padding=0, output_padding=None, dilation=1):
    """Both spatial axes of a transposed convolution (see :func:`transpose_axis`).

    Parameters
    ----------
    hw, khw : (int, int)
        Input ``(H, W)`` of the transposed convolution and kernel ``(kh, kw)``.
    stride, dilation : int or (int, int)
        Step and tap spacing.
    padding : str or int or (int, int) or ((int, int), (int, int))
        Crops as in PyTorch, or a Keras word (``"valid"``, ``"same"``).
    output_padding : int or (int, int), optional
        Cells appended at the end of each axis; ``None``: 0 for numbers, Keras's default for words.

    Returns
    -------
    (WindowAxis, WindowAxis)
        Height and width, each describing the forward convolution; its ``n`` is the output size,
        ``(n_in-1)*s - before - after + d*(k-1) + output_padding + 1`` for numbers.

    Raises
    ------
    ValueError
        As :func:`transpose_axis`.

    Examples
    --------
    >>> [a.n for a in transpose_axes((4, 5), (3, 3), stride=2, padding="same")]
    [8, 10]
    """
    s, d = normalize_pair(stride, "stride"), normalize_pair(dilation, "dilation")
    p = split_padding(padding)
    op = (
        (None, None)
        if output_padding is None
        else normalize_pair(output_padding, "output_padding", allow_zero=True)
    )
    return tuple(map(_transpose_axis, _sizes(hw, "input size"), _sizes(khw, "kernel size"), p, s, op, d))
