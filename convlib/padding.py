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


def _normalize_word(word: str) -> str:
    w = word.lower()
    if w not in PADDING_WORDS:
        raise ValueError(
            f"padding must be one of {list(PADDING_WORDS)}, an int, (ph, pw) or "
            f"((top, bottom), (left, right)); got the word {word!r}"
        )
    return w


def normalize_padding_1d(padding) -> str | tuple[int, int]:
    """Parse one axis's padding: a word, an int, or ``(before, after)``.

    Examples
    --------
    >>> normalize_padding_1d("SAME"), normalize_padding_1d(2), normalize_padding_1d((0, 1))
    ('same', (2, 2), (0, 1))
    """
    if isinstance(padding, str):
        return _normalize_word(padding)
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
        return _normalize_word(padding)
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


def apply_padding(x: np.ndarray, pads: Pads, mode: str = "zeros", axes=(1, 2)) -> np.ndarray:
    """Pad the two spatial ``axes`` of ``x`` by ``((top, bottom), (left, right))``.

    ``mode`` has PyTorch's meaning: ``zeros``; ``reflect`` (mirror without repeating the
    edge, needs pad < size); ``replicate`` (repeat the edge); ``circular`` (wrap around,
    needs pad <= size).

    Examples
    --------
    >>> apply_padding(np.arange(3.0).reshape(1, 1, 3, 1), ((0, 0), (2, 1)), "reflect")[0, 0, :, 0]
    array([2., 1., 0., 1., 2., 1.])
    """
    mode = normalize_padding_mode(mode)
    if all(p == 0 for pair in pads for p in pair):
        return x
    widths = [(0, 0)] * x.ndim
    for axis, (before, after), label in zip(axes, pads, ("height", "width")):
        size = x.shape[axis]
        limit = size - 1 if mode == "reflect" else size
        if mode in ("reflect", "circular") and max(before, after) > limit:
            raise ValueError(
                f"padding_mode={mode!r} needs padding <= {limit} on the {label} axis of size "
                f"{size}, got {(before, after)}"
            )
        widths[axis] = (before, after)
    return np.pad(x, widths, mode=PADDING_MODES[mode])
