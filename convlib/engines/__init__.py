"""Convolution engines: different algorithms for the same valid, already-padded conv.

Every engine has the signature ``engine(xp, w, *, stride, dilation, groups) -> y`` with
``xp`` the padded input ``(N, Hp, Wp, C)``, ``w`` an HWIO kernel ``(kh, kw, C/groups, O)``
and ``y`` the output ``(N, H_out, W_out, O)``, all in one floating dtype. Padding, layouts,
dtypes and bias are handled once, in :mod:`convlib.conv`.

Engines: ``naive`` (the teaching loop), ``im2col`` (gathered windows + one GEMM),
``shifted`` (one GEMM per tap over the input itself), ``winograd_f2`` / ``winograd_f4``
(3x3, stride 1, dilation 1 only) and ``fft`` (overlap-save FFT). Every fast engine works
in blocks so its workspace stays under 64 MiB besides the output (``_blocks.BUFFER_BYTES``).
"""

from __future__ import annotations

from ..shapes import window_count
from . import fft, im2col, naive, shifted, winograd

__all__ = ["ENGINES", "choose_algorithm", "select_engine", "supports"]

# Thresholds of the "auto" rule, read off benchmarks/resnet50_cpu_1thread.json (see choose_algorithm).
WINOGRAD_F4_MIN_TILES = 48
WINOGRAD_F2_MIN_TILES = 48
WINOGRAD_MIN_CHANNELS = 16
# F(4x4)'s float32 error grows with the channels summed: measured 2.5e-6 at 64, 5.6e-6 to
# 7.5e-6 at 512 (relative to max|y|, vs float64); beyond 512 it would near the 1e-5 tolerance.
WINOGRAD_MAX_CHANNELS = 512
FFT_MIN_TAPS = 169

ENGINES = {
    "naive": naive.conv,
    "im2col": im2col.conv,
    "shifted": shifted.conv,
    "winograd_f2": winograd.conv_f2,
    "winograd_f4": winograd.conv_f4,
    "fft": fft.conv,
}


def supports(algorithm: str, w_shape, *, stride, dilation) -> bool:
    """Whether engine ``algorithm`` can run a layer (only Winograd has limits).

    Examples
    --------
    >>> supports("winograd_f4", (3, 3, 8, 8), stride=(2, 2), dilation=(1, 1))
    False
    """
    if algorithm.startswith("winograd"):
        try:
            winograd.check_supported(w_shape, stride, dilation)
        except ValueError:
            return False
    return True


def choose_algorithm(xp_shape, w_shape, *, stride, dilation, groups) -> str:
    """The ``"auto"`` rule: the engine name for one layer, from ``benchmarks/resnet50_cpu_1thread.json``.

    1. A 3x3, stride-1, dilation-1 kernel with ``WINOGRAD_MIN_CHANNELS`` to ``WINOGRAD_MAX_CHANNELS``
       channels per group: ``winograd_f4`` if the batch has at least ``WINOGRAD_F4_MIN_TILES``
       4x4 output tiles, else ``winograd_f2`` if it has at least ``WINOGRAD_F2_MIN_TILES`` 2x2
       tiles. The tiles are the rows of Winograd's products: with fewer, those 36 (or 16) GEMMs
       are too small for BLAS and the transforms cost more than the multiplications saved
       (ResNet-50's 7x7 res5 maps at batch 1 make 4 tiles of 4x4 per image, 16 of 2x2).
    2. A large kernel (``kh * kw >= FFT_MIN_TAPS``) with stride 1: ``fft``. ResNet-50 has none;
       this threshold comes from a side measurement (kernels 5 to 15, 16 and 64 channels,
       64x64 maps) where FFT overtook im2col only from about 13x13 on.
    3. Otherwise ``im2col`` (a 1x1 stride-1 layer is a single GEMM on the input itself).
    The shifted GEMM never wins on ResNet-50 shapes: its many small products and the wasted
    padded-width columns cost more than the im2col copy saves.

    Examples
    --------
    >>> choose_algorithm((8, 58, 58, 64), (3, 3, 64, 64), stride=(1, 1), dilation=(1, 1), groups=1)
    'winograd_f4'
    >>> choose_algorithm((8, 9, 9, 512), (3, 3, 512, 512), stride=(1, 1), dilation=(1, 1), groups=1)
    'winograd_f2'
    >>> choose_algorithm((1, 9, 9, 512), (3, 3, 512, 512), stride=(1, 1), dilation=(1, 1), groups=1)
    'im2col'
    >>> choose_algorithm((8, 56, 56, 64), (1, 1, 64, 256), stride=(1, 1), dilation=(1, 1), groups=1)
    'im2col'
    """
    kh, kw, cg, o = w_shape
    stride, dilation = tuple(stride), tuple(dilation)
    if (kh, kw) == (3, 3) and stride == (1, 1) and dilation == (1, 1):
        n, ho, wo = (
            xp_shape[0],
            window_count(xp_shape[1], 3, stride=1, dilation=1),
            window_count(xp_shape[2], 3, stride=1, dilation=1),
        )
        channels_ok = WINOGRAD_MIN_CHANNELS <= min(cg, o // groups) and cg <= WINOGRAD_MAX_CHANNELS
        if channels_ok and n * -(-ho // 4) * -(-wo // 4) >= WINOGRAD_F4_MIN_TILES:
            return "winograd_f4"
        if channels_ok and n * -(-ho // 2) * -(-wo // 2) >= WINOGRAD_F2_MIN_TILES:
            return "winograd_f2"
    if kh * kw >= FFT_MIN_TAPS and stride == (1, 1):
        return "fft"
    return "im2col"


def select_engine(algorithm: str, xp_shape, w_shape, *, stride, dilation, groups):
    """Return the engine function for ``algorithm`` (``"auto"`` applies :func:`choose_algorithm`).

    Raises
    ------
    ValueError
        For an unknown name, or an engine that cannot run this layer (Winograd with a
        kernel other than 3x3, a stride or a dilation), naming why.
    """
    if not isinstance(algorithm, str) or (algorithm != "auto" and algorithm not in ENGINES):
        raise ValueError(f"algorithm must be 'auto' or one of {sorted(ENGINES)}, got {algorithm!r}")
    if algorithm == "auto":
        algorithm = choose_algorithm(xp_shape, w_shape, stride=stride, dilation=dilation, groups=groups)
    elif algorithm.startswith("winograd"):
        winograd.check_supported(w_shape, stride, dilation)
    return ENGINES[algorithm]
