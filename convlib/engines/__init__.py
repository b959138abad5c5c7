"""Convolution engines: different algorithms for the same convolution.

Every engine has the signature
``engine(x, w, *, stride, dilation, groups, pads=((0, 0), (0, 0)), padding_mode="zeros") -> y``
with ``x`` the NHWC input ``(N, H, W, C)``, ``w`` an HWIO kernel ``(kh, kw, C/groups, O)`` and
``y`` the output ``(N, H_out, W_out, O)``, all in one floating dtype. Called without ``pads``
an engine computes the valid convolution of an already padded input. Layouts, dtypes, bias
and argument checks are handled once, in :mod:`convlib.conv`.

Engines: ``naive`` (the teaching loop), ``im2col`` (gathered windows + one GEMM, groups as
one batched GEMM), ``shifted`` (one GEMM per tap over the input itself), ``winograd_f2`` /
``winograd_f4`` (3x3, stride 1, dilation 1 only), ``fft`` (overlap-save FFT), ``taps`` (one GEMM
per tap over the outputs that tap reads inside the input: zero padding skipped), ``depthwise``
(one input channel per group: a NumPy tap loop) and ``depthwise_jit`` (the same loop compiled
with numba, imported on first use). Every fast engine pads block by block (:mod:`._slab`) and
works in blocks, so its workspace stays under 64 MiB besides the output
(``_blocks.BUFFER_BYTES``), split over the worker threads of :mod:`._threads`.
"""

from __future__ import annotations

from ..shapes import window_count
from . import depthwise, depthwise_jit, fft, im2col, naive, shifted, taps, winograd
from ._threads import get_threads, set_threads

__all__ = ["ENGINES", "choose_algorithm", "get_threads", "select_engine", "set_threads", "supports"]

# Thresholds of the "auto" rule (see choose_algorithm), checked on the suite in benchmarks/.
WINOGRAD_F4_MIN_TILES = 48
WINOGRAD_F2_MIN_TILES = 48
WINOGRAD_MIN_CHANNELS = 16
# F(4x4)'s float32 error grows with the channels summed: measured 2.5e-6 at 64, 5.6e-6 to
# 7.5e-6 at 512 (relative to max|y|, vs float64); beyond 512 it would near the 1e-5 tolerance.
WINOGRAD_MAX_CHANNELS = 512
FFT_MIN_TAPS = 169
# Below this share of tap reads inside the input (the rest is zero padding), skip the padding.
TAPS_MAX_USEFUL = 0.6

ENGINES = {
    "naive": naive.conv,
    "im2col": im2col.conv,
    "shifted": shifted.conv,
    "winograd_f2": winograd.conv_f2,
    "winograd_f4": winograd.conv_f4,
    "fft": fft.conv,
    "depthwise": depthwise.conv,
    "depthwise_jit": depthwise_jit.conv,
    "taps": taps.conv,
}


def _check_supported(algorithm: str, w_shape, stride, dilation, padding_mode="zeros") -> None:
    if algorithm == "taps" and padding_mode != "zeros":
        raise ValueError(f"the taps engine skips zero pad cells only; got padding_mode={padding_mode!r}")
    if algorithm.startswith("winograd"):
        winograd.check_supported(w_shape, stride, dilation)
    elif algorithm.startswith("depthwise"):
        depthwise.check_supported(w_shape)


def supports(algorithm: str, w_shape, *, stride, dilation, padding_mode: str = "zeros") -> bool:
    """Whether engine ``algorithm`` can run a layer (Winograd and depthwise have limits).

    Examples
    --------
    >>> supports("winograd_f4", (3, 3, 8, 8), stride=(2, 2), dilation=(1, 1))
    False
    >>> supports("depthwise", (3, 3, 1, 32), stride=(2, 2), dilation=(1, 1))
    True
    """
    try:
        _check_supported(algorithm, w_shape, stride, dilation, padding_mode)
    except ValueError:
        return False
    return True


def choose_algorithm(xp_shape, w_shape, *, stride, dilation, groups, pads=None, padding_mode="zeros") -> str:
    """The ``"auto"`` rule: the engine name for one layer, from the broad benchmark in ``benchmarks/``.

    1. Depthwise (one input channel per group, ``groups > 1``): ``depthwise_jit``. The layer
       is memory-bound (about two flops per value read) and only the compiled, fused loop
       makes one pass over the data; im2col would copy every input value ``kh * kw`` times
       to feed products of one input channel each.
    2. Zero padding that most taps read (``pads`` given, ``padding_mode="zeros"``, at most
       ``TAPS_MAX_USEFUL`` of the tap reads inside the input, :func:`.taps.useful_fraction`):
       ``taps``, which skips them (DeepLabv3's ASPP: dilation 12 on a 14x14 map, 18% useful).
    3. A dense (``groups == 1``) 3x3, stride-1, dilation-1 kernel with ``WINOGRAD_MIN_CHANNELS``
       to ``WINOGRAD_MAX_CHANNELS`` channels: ``winograd_f4`` if the batch has at least
       ``WINOGRAD_F4_MIN_TILES`` 4x4 output tiles, else ``winograd_f2`` if it has at least
       ``WINOGRAD_F2_MIN_TILES`` 2x2 tiles. The tiles are the rows of Winograd's products: with
       fewer, those 36 (or 16) GEMMs are too small for BLAS and the transforms cost more than
       the multiplications saved (a 7x7 map at batch 1 makes 4 tiles of 4x4, 16 of 2x2).
    4. A dense large kernel (``kh * kw >= FFT_MIN_TAPS``) with stride 1: ``fft`` (from a side
       measurement: kernels 5 to 15, 16 and 64 channels, 64x64 maps; FFT overtook im2col only
       from about 13x13 on).
    5. Otherwise ``im2col``: a 1x1 stride-1 layer is a single GEMM on the input itself, and
       groups are one batched GEMM over all of them. The shifted GEMM never wins on the suite:
       its many small products and the wasted padded-width columns cost more than the im2col
       copy saves.

    Examples
    --------
    >>> choose_algorithm((8, 58, 58, 64), (3, 3, 64, 64), stride=(1, 1), dilation=(1, 1), groups=1)
    'winograd_f4'
    >>> choose_algorithm((8, 9, 9, 512), (3, 3, 512, 512), stride=(1, 1), dilation=(1, 1), groups=1)
    'winograd_f2'
    >>> choose_algorithm((1, 9, 9, 512), (3, 3, 512, 512), stride=(1, 1), dilation=(1, 1), groups=1)
    'im2col'
    >>> choose_algorithm((8, 114, 114, 96), (3, 3, 1, 96), stride=(2, 2), dilation=(1, 1), groups=96)
    'depthwise_jit'
    """
    kh, kw, cg, o = w_shape
    stride, dilation = tuple(stride), tuple(dilation)
    if cg == 1 and groups > 1:
        return "depthwise_jit"
    if pads is not None and padding_mode == "zeros":
        (t, b), (left, r) = pads
        x_shape = (xp_shape[0], xp_shape[1] - t - b, xp_shape[2] - left - r, xp_shape[3])
        useful = taps.useful_fraction(x_shape, w_shape, stride=stride, dilation=dilation, pads=pads)
        if useful <= TAPS_MAX_USEFUL:
            return "taps"
    if groups > 1:
        return "im2col"
    if (kh, kw) == (3, 3) and stride == (1, 1) and dilation == (1, 1):
        n, ho, wo = (
            xp_shape[0],
            window_count(xp_shape[1], 3, stride=1, dilation=1),
            window_count(xp_shape[2], 3, stride=1, dilation=1),
        )
        channels_ok = WINOGRAD_MIN_CHANNELS <= min(cg, o) and cg <= WINOGRAD_MAX_CHANNELS
        if channels_ok and n * -(-ho // 4) * -(-wo // 4) >= WINOGRAD_F4_MIN_TILES:
            return "winograd_f4"
        if channels_ok and n * -(-ho // 2) * -(-wo // 2) >= WINOGRAD_F2_MIN_TILES:
            return "winograd_f2"
    if kh * kw >= FFT_MIN_TAPS and stride == (1, 1):
        return "fft"
    return "im2col"


def select_engine(
    algorithm: str, xp_shape, w_shape, *, stride, dilation, groups, pads=None, padding_mode="zeros"
):
    """Return the engine function for ``algorithm`` (``"auto"`` applies :func:`choose_algorithm`).

    ``pads`` and ``padding_mode`` are the padding the engine will apply (``xp_shape`` is the
    padded shape); without them ``auto`` does not consider the ``taps`` engine.

    Raises
    ------
    ValueError
        For an unknown name, or an engine that cannot run this layer (Winograd with a
        kernel other than 3x3, a stride or a dilation; depthwise with more than one input
        channel per group), naming why.
    """
    if not isinstance(algorithm, str) or (algorithm != "auto" and algorithm not in ENGINES):
        raise ValueError(f"algorithm must be 'auto' or one of {sorted(ENGINES)}, got {algorithm!r}")
    if algorithm == "auto":
        algorithm = choose_algorithm(
            xp_shape,
            w_shape,
            stride=stride,
            dilation=dilation,
            groups=groups,
            pads=pads,
            padding_mode=padding_mode,
        )
    else:
        _check_supported(algorithm, w_shape, stride, dilation, padding_mode)
    return ENGINES[algorithm]
