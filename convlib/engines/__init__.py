"""The reference engines: one plain NumPy module per convolution algorithm.

Read :mod:`convlib.engines.naive` first: its loop over output positions is the definition of
the convolution, and every other engine is tested against it. Then :mod:`.im2col` (the windows
as a matrix, one product), :mod:`.shifted` and :mod:`.taps` (one product per kernel tap),
:mod:`.winograd` (F(2x2, 3x3) and F(4x4, 3x3): fewer multiplications per output),
:mod:`.fft` (overlap-save: products in the frequency domain) and :mod:`.depthwise` (one
input channel per group: a tap loop, no product). :mod:`.windows` is the one window view
they share with pooling and the gradients.

Every engine takes the padded NHWC input and an HWIO kernel,
``engine(xp, w, *, stride, dilation, groups) -> y`` with ``y`` of shape ``(N, H_out, W_out, O)``
(``taps`` also takes ``pads``, to know which border cells of ``xp`` are zeros it may skip).
:func:`convlib.conv2d` validates, pads the whole input (:func:`convlib.padding.apply_padding`),
runs the engine named by ``algorithm=`` and adds the bias.

These modules are written to be read: no threads, no buffer reuse, no compiled code, no
block planning. The default ``algorithm="auto"`` runs the fast room instead,
:mod:`convlib.fast`, which computes the same results (a property test holds every fast engine
to its reference here within 1e-10 in float64) with bounded memory, both cores and numba.
"""

from __future__ import annotations

from . import depthwise, fft, im2col, naive, shifted, taps, winograd

__all__ = ["ENGINES", "LIMITED", "check_supported", "supports"]

ENGINES = {
    "naive": naive.conv,
    "im2col": im2col.conv,
    "shifted": shifted.conv,
    "taps": taps.conv,
    "winograd_f2": winograd.conv_f2,
    "winograd_f4": winograd.conv_f4,
    "fft": fft.conv,
    "depthwise": depthwise.conv,
}
# The engines that cannot run every layer: the ones check_supported has a rule for.
LIMITED = frozenset({"taps", "winograd_f2", "winograd_f4", "depthwise"})


def check_supported(algorithm: str, w_shape, *, stride, dilation, padding_mode: str = "zeros") -> None:
    """Refuse a reference engine that does not exist or cannot run this layer.

    Winograd takes 3x3 kernels with stride 1, depthwise one input channel per group, taps zero
    padding only (it skips the zeros instead of reading them); the others run every layer.

    Parameters
    ----------
    algorithm : str
        A name of :data:`ENGINES`.
    w_shape : tuple of int
        The HWIO kernel shape.
    stride, dilation : (int, int)
    padding_mode : str
        The checked ``padding_mode`` of the call.

    Raises
    ------
    ValueError
        An unknown name, or the limit the layer breaks.

    Examples
    --------
    >>> check_supported("winograd_f2", (3, 3, 8, 8), stride=(2, 2), dilation=(1, 1))
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: winograd needs a 3x3 kernel with stride 1; got kernel 3x3, stride (2, 2) ...
    """
    if not isinstance(algorithm, str) or algorithm not in ENGINES:
        raise ValueError(f"algorithm must be 'auto' or one of {sorted(ENGINES)}, got {algorithm!r}")
    if algorithm == "taps" and padding_mode != "zeros":
        raise ValueError(f"the taps engine skips zero pad cells only; got padding_mode={padding_mode!r}")
    if algorithm.startswith("winograd"):
        winograd.check_supported(w_shape, stride)
    elif algorithm == "depthwise":
        depthwise.check_supported(w_shape)


def supports(algorithm: str, w_shape, *, stride, dilation, padding_mode: str = "zeros") -> bool:
    """Whether reference engine ``algorithm`` can run a layer (:func:`check_supported` passes).

    Examples
    --------
    >>> supports("winograd_f4", (3, 3, 8, 8), stride=(2, 2), dilation=(1, 1))
    False
    >>> supports("depthwise", (3, 3, 1, 32), stride=(2, 2), dilation=(1, 1))
    True
    """
    try:
        check_supported(algorithm, w_shape, stride=stride, dilation=dilation, padding_mode=padding_mode)
    except ValueError:
        return False
    return True
