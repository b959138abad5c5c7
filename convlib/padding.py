"""The one argument normaliser, and padding applied to arrays.

Every public function of convlib passes its ``stride``, ``dilation``, ``padding``,
``padding_mode`` and similar arguments through the functions here, so every malformed
argument is refused in one place with a ``ValueError`` that names it and its value.

The padding modes are PyTorch's ``padding_mode``: ``zeros``; ``reflect``, a mirror that does not
repeat the edge, so a pad may be at most ``n - 1`` cells; ``replicate``, the edge repeated;
``circular``, the axis wrapped around once, so at most ``n`` cells. :func:`check_mode_pads` is the
one check of those limits, :func:`source_index` the one map from a padded cell to the input cell
it holds (indexing an axis by it pads the axis; summing a padded gradient by it folds the pads
back onto the pixels they copy), and :func:`apply_padding` pads arrays with :func:`numpy.pad`.
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
    """``value`` as an ``int`` if it is a positive integer, else a ``ValueError`` naming ``name``.

    >>> check_positive_int(2, "stride")
    2
    """
    if type(value) is int and value > 0:  # the common case, several times per convolution
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
    """``value``, an int or ``(h, w)``, as a pair of positive (``allow_zero``: non-negative) ints.

    Raises
    ------
    ValueError
        Not an int or a pair, or an entry that is not a positive (non-negative) integer.

    Examples
    --------
    >>> normalize_pair(2, "stride"), normalize_pair((1, 3), "dilation")
    ((2, 2), (1, 3))
    """
    check = check_nonnegative_int if allow_zero else check_positive_int
    if isinstance(value, (list, tuple, np.ndarray)) and len(value) == 2:
        return check(value[0], f"{name}[0] (height)"), check(value[1], f"{name}[1] (width)")
    if isinstance(value, (str, bytes, list, tuple, np.ndarray)):
        raise ValueError(f"{name} must be an int or a pair (h, w), got {value!r}")
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
    """The 2-D ``padding`` argument as a lower-case word or ``((top, bottom), (left, right))``.

    Parameters
    ----------
    padding : str (:data:`PADDING_WORDS`, any case), ``p``, ``(ph, pw)`` or ``((top, bottom), (left, right))``

    Returns
    -------
    str or ((int, int), (int, int))

    Raises
    ------
    ValueError
        An unknown word, a negative or non-integer pad, or a tuple of another form.

    Examples
    --------
    >>> normalize_padding("SAME"), normalize_padding((1, 2))
    ('same', ((1, 1), (2, 2)))
    """
    if isinstance(padding, str):
        if padding.lower() in PADDING_WORDS:
            return padding.lower()
        raise _unknown_word(padding)
    if isinstance(padding, (list, tuple, np.ndarray)):
        form = "an int, (ph, pw) or ((top, bottom), (left, right))"
        if len(padding) != 2:
            raise ValueError(f"padding must be {form}; got {padding!r} with {len(padding)} entries")
        nested = [isinstance(i, (list, tuple, np.ndarray)) for i in padding]
        if all(nested):
            return tuple(normalize_padding_1d(i) for i in padding)  # type: ignore[return-value]
        if any(nested):
            raise ValueError(f"padding must be {form}; got a mixed form {padding!r}")
        ph = check_nonnegative_int(padding[0], "padding[0] (height)")
        pw = check_nonnegative_int(padding[1], "padding[1] (width)")
        return (ph, ph), (pw, pw)
    p = check_nonnegative_int(padding, "padding")
    return (p, p), (p, p)


def check_mode_pads(hw, pads: Pads, mode="zeros") -> str:
    """``mode``, lower case, if it can make ``pads`` on a ``hw`` input (reflect: <= n - 1 cells, circular: n).

    Examples
    --------
    >>> check_mode_pads((5, 5), ((5, 5), (0, 0)), "reflect")
    Traceback (most recent call last):
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
    zero cell (``mode`` within the limits of :func:`check_mode_pads`, not checked here).

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
    """``x`` padded on its two spatial ``axes`` by ``pads``; ``x`` itself when every pad is 0.

    Parameters
    ----------
    x : numpy.ndarray
    pads : ((top, bottom), (left, right)), non-negative ints
    mode : str, PyTorch's ``padding_mode`` (see the module docstring)
    axes : (int, int), the axes ``pads`` apply to

    Returns
    -------
    numpy.ndarray
        ``x.shape`` with ``top + bottom`` added on ``axes[0]``, ``left + right`` on ``axes[1]``.

    Raises
    ------
    ValueError
        An unknown mode, or a pad wider than it can make (:func:`check_mode_pads`).

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
