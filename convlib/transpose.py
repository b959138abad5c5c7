"""Transposed convolution ("deconvolution"): the adjoint of :func:`convlib.conv2d`.

A stride-``s`` convolution maps ``s`` neighbouring input sizes to one output size (the
division floors), so going back is ambiguous: ``output_padding`` picks the size.

How it is computed: through the forward machinery. The input is *dilated* by the stride
(``s - 1`` zeros between neighbours), padded by ``d*(k-1) - p`` on each side (a negative
amount crops), and convolved at stride 1 with the kernel flipped in space and with input
and output channels swapped per group, by :func:`convlib.conv.convolve`, the dispatch
:func:`convlib.conv2d` uses. This is exactly the adjoint (transpose) of the forward
convolution with the same weight, which :mod:`convlib.grad` uses for ``grad_x``. It spends
``s*s`` times the necessary multiplications on the inserted zeros; a scatter (col2im) would
avoid that, but the version here reuses the tested engines unchanged.
"""

from __future__ import annotations

import numpy as np

from .conv import convolve
from .layout import prepare_arrays
from .padding import check_positive_int
from .shapes import (
    ConvGeometry,
    WindowAxis,
    check_transpose_shapes,
    conv_output_size,
    conv_transpose_output_size,
    effective_kernel_size,
)

__all__ = ["conv_transpose2d", "output_padding_for", "transpose_input_sizes"]


def conv_transpose2d(
    x,
    w,
    b=None,
    *,
    stride=1,
    padding=0,
    output_padding=None,
    dilation=1,
    groups: int = 1,
    data_format: str = "NHWC",
) -> np.ndarray:
    """2-D transposed convolution: scatter each input pixel through the kernel.

    Parameters
    ----------
    x : array_like
        ``(N, H, W, C_in)`` for NHWC or ``(N, C_in, H, W)`` for NCHW (3-D: unbatched).
    w : array_like
        The weight of the *forward* convolution this one transposes. NCHW: PyTorch
        ``ConvTranspose2d`` weight ``(C_in, C_out/groups, kh, kw)``. NHWC: TensorFlow
        ``conv2d_transpose`` filter ``(kh, kw, C_out/groups, C_in)`` (with groups, input
        channels ``g*C_in/groups ...`` of group ``g`` scatter into output channels
        ``g*C_out/groups ...``; this is the HWIO kernel of the grouped forward conv).
    b : array_like, optional
        Bias ``(C_out,)``, added to every output cell (also to ``output_padding`` cells).
    stride, dilation : int or (int, int)
    padding : int, (ph, pw), ((top, bottom), (left, right)), "valid" or "same"
        Numbers crop the full result as in PyTorch. Words have Keras ``Conv2DTranspose``
        meaning: ``"same"`` gives ``H*s``; ``"valid"`` gives ``H*s + max(d*(k-1)+1 - s, 0)``.
    output_padding : int or (int, int), optional
        Extra cells at the bottom/right, ``0 <= op < max(stride, dilation)`` (PyTorch's
        rule; ``< stride`` with words, as Keras). ``None``: 0 for numbers, Keras's
        default for words.
    groups : int
    data_format : {"NHWC", "NCHW"}

    Returns
    -------
    numpy.ndarray
        ``(N, H_out, W_out, C_out)`` or ``(N, C_out, H_out, W_out)``, in the input's dtype.

    Raises
    ------
    ValueError
        Wrong rank, channel mismatch, groups not dividing the channels, bad
        stride/dilation/padding, ``output_padding >= max(stride, dilation)``, or a
        non-positive output size.

    Shape
    -----
    Per axis (see :func:`convlib.shapes.conv_transpose_output_size`)::

        H_out = (H - 1)*s - p_top - p_bottom + d*(k-1) + output_padding + 1

    Examples
    --------
    >>> x = np.arange(1.0, 5.0).reshape(1, 2, 2, 1)
    >>> conv_transpose2d(x, np.ones((2, 2, 1, 1)), stride=2)[0, :, :, 0]
    array([[1., 1., 2., 2.],
           [1., 1., 2., 2.],
           [3., 3., 4., 4.],
           [3., 3., 4., 4.]])
    >>> conv_transpose2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), stride=2, padding=1,
    ...                  output_padding=1, data_format="NCHW").shape
    (1, 1, 8, 8)
    """
    x4, w_fwd, b, geo, dtype = prepare_arrays(
        x,
        w,
        b,
        check=check_transpose_shapes,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
        groups=groups,
        data_format=data_format,
    )
    # Both layouts name the forward conv's kernel: w_fwd is its HWIO, (kh, kw, C_out/g, C_in).
    return transpose_nhwc(x4, w_fwd, b, geo, dtype)


def transpose_nhwc(x4: np.ndarray, w_fwd: np.ndarray, b, geo: ConvGeometry, dtype) -> np.ndarray:
    """The validated transposed convolution ``geo`` of NHWC ``x4``, as one forward convolution.

    ``w_fwd`` is the forward HWIO kernel ``(kh, kw, C_out/g, C_in)``, ``geo`` the record of
    :func:`~convlib.shapes.check_transpose_shapes` (its axes describe the forward convolution being
    transposed). The result has ``geo``'s layout and rank, in ``dtype``, with ``b`` added.
    """
    n, _, _, cin = x4.shape
    kh, kw, cout_g, _ = w_fwd.shape
    z = np.zeros((n, geo.axes[0].zero_inserted, geo.axes[1].zero_inserted, cin), dtype=x4.dtype)
    z[:, :: geo.stride[0], :: geo.stride[1]] = x4
    # Flip in space; per group swap (C_out/g, C_in/g) -> (C_in/g, C_out/g), keeping groups in order.
    cin_g = cin // geo.groups
    k = w_fwd[::-1, ::-1].reshape(kh, kw, cout_g, geo.groups, cin_g).transpose(0, 1, 4, 3, 2)
    k = np.ascontiguousarray(k.reshape(kh, kw, cin_g, geo.groups * cout_g))
    # Pad by d*(k-1) - p per side (plus the output padding after); a negative amount crops.
    crops, axes = [], []
    for a, size in zip(geo.axes, z.shape[1:3]):
        before, after = a.window - 1 - a.before, a.window - 1 - a.after + a.left
        cut = (max(-before, 0), max(-after, 0))
        crops.append(slice(cut[0], size - cut[1]))
        axes.append(WindowAxis(size - sum(cut), a.k, 1, a.dilation, max(before, 0), max(after, 0), a.n))
    adjoint = ConvGeometry(geo.batch, cin, geo.out_channels, geo.groups, tuple(axes), geo.data_format)
    return convolve(z[:, crops[0], crops[1]], k, b, adjoint, dtype)


def output_padding_for(
    n_in: int, n_target: int, k: int, *, stride: int = 1, padding=0, dilation: int = 1
) -> int:
    """The ``output_padding`` that makes a transposed conv of ``n_in`` cells give ``n_target``.

    Parameters
    ----------
    n_in, n_target : int
        Input length of the transposed convolution and the output length wanted.
    k : int
        Kernel taps.
    stride, dilation : int
        Step ``s`` and tap spacing ``d``.
    padding : {"valid", "same"} or int or (int, int)
        As in :func:`~convlib.shapes.conv_transpose_output_size`.

    Returns
    -------
    int
        The smallest ``op`` with ``conv_transpose_output_size(n_in, k, ..., output_padding=op) ==
        n_target``; for numbers ``op = n_target - ((n_in-1)*s - p_before - p_after + d*(k-1) + 1)``.

    Raises
    ------
    ValueError
        If no ``0 <= op < max(stride, dilation)`` gives ``n_target`` (the message lists
        the sizes that are reachable).

    Examples
    --------
    >>> [output_padding_for(4, n, 3, stride=2, padding=1) for n in (7, 8)]
    [0, 1]
    """
    reachable = {}
    for op in range(max(check_positive_int(stride, "stride"), check_positive_int(dilation, "dilation"))):
        try:
            size = conv_transpose_output_size(
                n_in, k, stride=stride, padding=padding, output_padding=op, dilation=dilation
            )
            reachable.setdefault(size, op)
        except ValueError:
            continue
    if n_target not in reachable:
        raise ValueError(
            f"no output_padding gives size {n_target} from input {n_in} (kernel {k}, stride {stride}, "
            f"padding {padding!r}, dilation {dilation}); reachable sizes: {sorted(reachable)}"
        )
    return reachable[n_target]


def transpose_input_sizes(n_out: int, k: int, *, stride: int = 1, padding=0, dilation: int = 1) -> list[int]:
    """Every forward input size that a convolution maps to ``n_out``: the ambiguity to undo.

    Parameters
    ----------
    n_out : int
        Forward output length (the transposed convolution's input length).
    k : int
        Kernel taps.
    stride, dilation : int
        Step ``s`` and tap spacing ``d``.
    padding : {"valid", "same", "full"} or int or (int, int)
        As in :func:`~convlib.shapes.conv_output_size`.

    Returns
    -------
    list of int
        Ascending sizes ``n`` with ``floor((n + p_before + p_after - d*(k-1) - 1) / s) + 1 == n_out``
        (at most ``s`` for numeric padding); empty if none.

    Raises
    ------
    ValueError
        ``n_out`` or ``stride`` not a positive integer.

    Examples
    --------
    >>> transpose_input_sizes(4, 3, stride=2, padding=1)
    [7, 8]
    >>> transpose_input_sizes(4, 3, stride=2, padding="same")
    [7, 8]
    """
    n_out = check_positive_int(n_out, "output size")
    stride = check_positive_int(stride, "stride")
    # The forward size grows by one every `stride` cells, so candidates end by this bound.
    bound = (n_out + 1) * stride + effective_kernel_size(k, dilation)
    sizes = []
    for n in range(1, bound + 1):
        try:
            if conv_output_size(n, k, stride=stride, padding=padding, dilation=dilation) == n_out:
                sizes.append(n)
        except ValueError:
            continue
    return sizes
