"""Every input size a network accepts, with the layer that refuses each other one.

:func:`scan_sizes` runs the size interpreter (:func:`convlib.graph.shapes.run`, no arithmetic on
data) for every ``n`` in ``[lo, hi]``: an ``n x n`` input, or, per axis, ``n`` rows (or columns)
with the other axis fixed. :func:`input_sizes` is its list of accepted sizes: exactly those for
which the real framework runs the model without a shape error (the tests prove it by running
PyTorch and Keras on every size of each range).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..padding import check_positive_int
from .build import from_model
from .shapes import LayerError, run

__all__ = ["SizeScan", "scan_sizes", "input_sizes"]

_AXES = (None, "height", "width")


@dataclass(frozen=True)
class SizeScan:
    """Accepted sizes in ``[lo, hi]``, and for each refused ``n`` the refusing layer and message."""

    lo: int
    hi: int
    accepted: tuple[int, ...]
    refused: dict = field(default_factory=dict)  # n -> (layer name, framework class, message)
    axis: str | None = None
    other: int | None = None

    def reasons(self) -> dict[str, list[int]]:
        """``{"layer (class)": [refused sizes]}``, in order of first refusal."""
        out: dict[str, list[int]] = {}
        for n, (name, kind, _) in sorted(self.refused.items()):
            out.setdefault(f"{name} ({kind})", []).append(n)
        return out


def _shape(n: int, channels: int, axis: str | None, other: int | None) -> tuple[int, int, int]:
    if axis is None:
        return channels, n, n
    return (channels, n, other) if axis == "height" else (channels, other, n)


def scan_sizes(
    model, lo: int, hi: int, *, channels: int = 3, axis: str | None = None, other: int | None = None
):
    """Run the sizes of ``model`` for every ``n`` in ``[lo, hi]``; see :func:`input_sizes`.

    Parameters
    ----------
    model : convlib spec, torch.nn.Module, Keras model or Graph
        Read by :func:`convlib.graph.build.from_model`.
    lo, hi : int
        The range of sizes, both ends included; at most 100001 sizes.
    channels : int, default 3
        Input channels.
    axis : None, "height" or "width", default None
        ``None`` tries ``n x n`` inputs; ``"height"`` tries ``n`` rows with ``other`` columns
        (``"width"`` the converse).
    other : int, optional
        The fixed size of the other axis; by default the smallest accepted square size.

    Returns
    -------
    SizeScan
        The accepted sizes and, for each refused one, the refusing layer, its class and the
        message (:meth:`SizeScan.reasons` groups them by layer).

    Raises
    ------
    ValueError
        A bad range, channel count or axis; ``axis`` without ``other`` when no square size in
        the range is accepted; or a layer the bridge does not know.

    Examples
    --------
    >>> from convlib.records import ConvSpec, MaxPoolSpec
    >>> s = scan_sizes([ConvSpec(2, 3), MaxPoolSpec(2)], 1, 5, channels=1)
    >>> s.accepted, s.reasons()
    ((4, 5), {'0 (Conv)': [1, 2], '1 (MaxPool)': [3]})
    """
    lo, hi = check_positive_int(lo, "lo"), check_positive_int(hi, "hi")
    channels = check_positive_int(channels, "channels")
    if hi < lo:
        raise ValueError(f"the range must have lo <= hi, got lo={lo}, hi={hi}")
    if hi - lo > 100_000:
        raise ValueError(f"the range {lo}..{hi} holds {hi - lo + 1} sizes; scan at most 100001 at a time")
    if axis not in _AXES:
        raise ValueError(f"axis must be None, 'height' or 'width', got {axis!r}")
    graph = from_model(model)
    if axis is not None and other is None:
        square = scan_sizes(graph, lo, hi, channels=channels)
        if not square.accepted:
            raise ValueError(f"axis={axis!r} needs other= (no square size in {lo}..{hi} is accepted)")
        other = square.accepted[0]
    accepted, refused = [], {}
    for n in range(lo, hi + 1):
        try:
            run(graph, _shape(n, channels, axis, other))
        except LayerError as err:
            refused[n] = (err.node, err.kind, str(err))
        else:
            accepted.append(n)
    return SizeScan(lo, hi, tuple(accepted), refused, axis, other)


def input_sizes(
    model, lo: int, hi: int, *, channels: int = 3, axis: str | None = None, other: int | None = None
) -> list[int]:
    """Every ``n`` in ``[lo, hi]`` for which the model runs and every merge sees equal sizes.

    Parameters
    ----------
    model : convlib spec, torch.nn.Module, Keras model or Graph
    lo, hi : int
        The range, both ends included.
    channels : int
        Input channels.
    axis : None, "height" or "width"
        ``None`` tries ``n x n`` inputs; ``"height"`` tries ``n`` rows with ``other`` columns
        (``"width"`` the converse), for networks whose axes differ.
    other : int, optional
        The fixed size of the other axis; by default the smallest accepted square size.

    Returns
    -------
    list of int
        Sorted accepted sizes.

    Raises
    ------
    ValueError
        A bad range or axis, or a layer the bridge does not know.

    Examples
    --------
    >>> from convlib.records import ConvSpec, MaxPoolSpec
    >>> input_sizes([ConvSpec(2, 3, padding=1), MaxPoolSpec(2), ConvSpec(2, 3)], 1, 8, channels=1)
    [6, 7, 8]
    """
    return list(scan_sizes(model, lo, hi, channels=channels, axis=axis, other=other).accepted)
