"""The one argument normaliser, and padding applied to arrays.

Every public function of convlib passes its ``stride``, ``dilation``, ``padding``,
``padding_mode`` and similar arguments through the functions here, so every malformed
argument is refused in one place with a ``ValueError`` that names it and its value.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "PADDING_WORDS",
    "PADDING_MODES",
    "check_positive_int",
    "check_nonnegative_int",
    "normalize_pair",
    "normalize_padding",
    "normalize_padding_1d",
    "normalize_padding_mode",
    "check_mode_pads",
    "source_index",
    "apply_padding",
]

PADDING_WORDS = ("valid", "same", "full")
# PyTorch's padding_mode names, mapped to np.pad's modes with the same meaning.
PADDING_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}

Padding1D = str | int | tuple[int, int]
Pads = tuple[tuple[int, int], tuple[int, int]]


def _as_int(value, name: str) -> int:
    if type(value) is int:  # the common case first: the ABC checks below cost about 2 us a call
        return value
    # bool is an int subclass; stride=True is a mistake, not 1.
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if isinstance(value, numbers.Integral):
        return int(value)
    if not np.isfinite(value) or float(value) != int(value):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return int(value)


def check_positive_int(value, name: str) -> int:
    """Return ``value`` as an ``int`` if it is a positive integer, else raise ``ValueError``.

    Examples
    --------
    >>> check_positive_int(2, "stride")
    2
    >>> check_positive_int(0, "stride")
    Traceback (most recent call last):
    ...
    ValueError: stride must be a positive integer, got 0 (non-positive stride is not supported)
    """
    if type(value) is int and value > 0:  # the common case, checked several times per convolution
        return value
    v = _as_int(value, name)
    if v <= 0:
        raise ValueError(f"{name} must be a positive integer, got {v} (non-positive {name} is not supported)")
    return v


def check_nonnegative_int(value, name: str) -> int:
    """Return ``value`` as an ``int`` if it is ``>= 0``, else raise ``ValueError``."""
    v = _as_int(value, name)
    if v < 0:
        raise ValueError(f"{name} must be non-negative, got {v}")
    return v


def normalize_pair(value, name: str, *, allow_zero: bool = False) -> tuple[int, int]:
    """Parse ``int | (h, w)`` into a pair of positive (or non-negative) ints.

    Examples
    --------
    >>> normalize_pair(2, "stride")
    (2, 2)
    >>> normalize_pair((1, 3), "dilation")
    (1, 3)
    >>> normalize_pair((1, 2, 3), "stride")
    Traceback (most recent call last):
    ...
    ValueError: stride must be an int or a pair (h, w), got (1, 2, 3)
    """
    check = check_nonnegative_int if allow_zero else check_positive_int
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{name} must be an int or a pair (h, w), got {value!r}")
    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(value)
        if len(items) != 2:
            raise ValueError(f"{name} must be an int or a pair (h, w), got {value!r}")
        return check(items[0], f"{name}[0] (height)"), check(items[1], f"{name}[1] (width)")
    v = check(value, name)
    return v, v


def normalize_padding_mode(mode) -> str:
    """Check a ``padding_mode``: one of ``zeros``, ``reflect``, ``replicate``, ``circular``."""
    if not isinstance(mode, str) or mode.lower() not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {sorted(PADDING_MODES)}, got {mode!r}")
    return mode.lower()


def _unknown_word(word: str) -> ValueError:
    return ValueError(
        f"padding must be one of {list(PADDING_WORDS)}, an int, (ph, pw) or "
        f"((top, bottom), (left, right)); got the word {word!r}"
    )


def normalize_padding_1d(padding) -> str | tuple[int, int]:
    """Parse one axis's padding: a word, an int, or ``(before, after)``.

    Examples
    --------
    >>> normalize_padding_1d("SAME"), normalize_padding_1d(2), normalize_padding_1d((0, 1))
    ('same', (2, 2), (0, 1))
    """
    if isinstance(padding, str):
        if padding.lower() in PADDING_WORDS:
            return padding.lower()
        raise _unknown_word(padding)
    if isinstance(padding, (list, tuple, np.ndarray)):
        items = list(padding)
        if len(items) != 2:
            raise ValueError(f"padding for one axis must be an int or (before, after), got {padding!r}")
        return (
            check_nonnegative_int(items[0], "padding (before)"),
            check_nonnegative_int(items[1], "padding (after)"),
        )
    p = check_nonnegative_int(padding, "padding")
    return p, p


def normalize_padding(padding) -> str | Pads:
    """Parse the 2-D ``padding`` argument.

    Accepted forms: ``"valid"``, ``"same"``, ``"full"`` (any case); ``p``; ``(ph, pw)``;
    ``((top, bottom), (left, right))``. Words come back lower-case, numbers as
    ``((top, bottom), (left, right))``.

    Raises
    ------
    ValueError
        Unknown word, negative or non-integer pad, or a tuple of any other form.

    Examples
    --------
    >>> normalize_padding(1)
    ((1, 1), (1, 1))
    >>> normalize_padding((1, 2))
    ((1, 1), (2, 2))
    >>> normalize_padding(((0, 1), (2, 3)))
    ((0, 1), (2, 3))
    >>> normalize_padding(-1)
    Traceback (most recent call last):
    ...
    ValueError: padding must be non-negative, got -1
    """
    if isinstance(padding, str):
        if padding.lower() in PADDING_WORDS:
            return padding.lower()
        raise _unknown_word(padding)
    if isinstance(padding, (list, tuple, np.ndarray)):
        items = list(padding)
        form = "an int, (ph, pw) or ((top, bottom), (left, right))"
        if len(items) != 2:
            raise ValueError(f"padding must be {form}; got {padding!r} with {len(items)} entries")
        nested = [isinstance(i, (list, tuple, np.ndarray)) for i in items]
        if all(nested):
            return tuple(normalize_padding_1d(i) for i in items)  # type: ignore[return-value]
        if any(nested):
            raise ValueError(f"padding must be {form}; got a mixed form {padding!r}")
        ph = check_nonnegative_int(items[0], "padding[0] (height)")
        pw = check_nonnegative_int(items[1], "padding[1] (width)")
        return (ph, ph), (pw, pw)
    p = check_nonnegative_int(padding, "padding")
    return (p, p), (p, p)


def check_mode_pads(hw, pads: Pads, mode="zeros") -> str:
    """Check ``padding_mode`` and that it can make ``pads`` on an input of spatial size ``hw``.

    ``reflect`` mirrors without repeating the edge, so it needs ``padding <= n - 1`` on each side;
    ``circular`` wraps around once, so it needs ``padding <= n``; ``zeros`` and ``replicate`` make
    any padding. This is the one place those limits are checked.

    Parameters
    ----------
    hw : (int, int)
        Height and width of the unpadded input.
    pads : ((int, int), (int, int))
        ``((top, bottom), (left, right))``.
    mode : {"zeros", "reflect", "replicate", "circular"}
        PyTorch's ``padding_mode`` (any case).

    Returns
    -------
    str
        The mode, lower-case.

    Raises
    ------
    ValueError
        An unknown mode, or a pad wider than ``reflect``/``circular`` can make (naming the axis).

    Examples
    --------
    >>> check_mode_pads((5, 5), ((1, 1), (4, 4)), "REFLECT")
    'reflect'
    >>> check_mode_pads((5, 5), ((5, 5), (0, 0)), "reflect")
    Traceback (most recent call last):
    ...
    ValueError: padding_mode='reflect' needs padding <= 4 on the height axis of size 5, got (5, 5)
    """
    if mode == "zeros":  # the default, checked on every convolution
        return mode
    mode = normalize_padding_mode(mode)
    if mode in ("reflect", "circular"):
        for size, (before, after), label in zip(hw, pads, ("height", "width")):
            limit = size - 1 if mode == "reflect" else size
            if max(before, after) > limit:
                raise ValueError(
                    f"padding_mode={mode!r} needs padding <= {limit} on the {label} axis of size "
                    f"{size}, got {(before, after)}"
                )
    return mode


def source_index(n: int, before: int, after: int, mode: str = "zeros") -> np.ndarray:
    """The input cell each cell of a padded axis holds: ``n + before + after`` indices, -1 for a
    zero cell.

    ``mode`` has PyTorch's ``padding_mode`` meaning: ``zeros`` (-1 in the pads), ``reflect``
    (mirror without repeating the edge), ``replicate`` (repeat the edge), ``circular`` (wrap
    around). The limits of :func:`check_mode_pads` are assumed, not checked. Indexing an axis with
    the result (after mapping -1 to a zero) pads it; summing a padded gradient by it folds the pads
    back onto the pixels they copy.

    Examples
    --------
    >>> source_index(3, 2, 1, "reflect").tolist()
    [2, 1, 0, 1, 2, 1]
    >>> source_index(3, 1, 2, "zeros").tolist(), source_index(3, 2, 2, "circular").tolist()
    ([-1, 0, 1, 2, -1, -1], [1, 2, 0, 1, 2, 0, 1])
    >>> source_index(3, 2, 2, "replicate").tolist()
    [0, 0, 0, 1, 2, 2, 2]
    """
    i = np.arange(-before, n + after)
    if mode == "reflect":
        i = np.abs(i)
        return np.where(i >= n, 2 * (n - 1) - i, i)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if mode == "circular":
        return i % n
    return np.where((i >= 0) & (i < n), i, -1)


def apply_padding(x: np.ndarray, pads: Pads, mode: str = "zeros", axes=(1, 2)) -> np.ndarray:
    """Pad the two spatial ``axes`` of ``x`` by ``((top, bottom), (left, right))``.

    ``mode`` has PyTorch's meaning: ``zeros``; ``reflect`` (mirror without repeating the
    edge, needs pad < size); ``replicate`` (repeat the edge); ``circular`` (wrap around,
    needs pad <= size); see :func:`check_mode_pads`.

    Examples
    --------
    >>> apply_padding(np.arange(3.0).reshape(1, 1, 3, 1), ((0, 0), (2, 1)), "reflect")[0, 0, :, 0]
    array([2., 1., 0., 1., 2., 1.])
    """
    mode = check_mode_pads((x.shape[axes[0]], x.shape[axes[1]]), pads, mode)
    if all(p == 0 for pair in pads for p in pair):
        return x
    widths = [(0, 0)] * x.ndim
    for axis, pair in zip(axes, pads):
        widths[axis] = tuple(pair)
    return np.pad(x, widths, mode=PADDING_MODES[mode])
