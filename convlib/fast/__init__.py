"""The fast room: what exists only to make ``algorithm="auto"`` fast.

:mod:`convlib.engines` holds one plain reference engine per algorithm, written to be read.
This room holds the same algorithms written to race PyTorch and TensorFlow in the benchmark
(:mod:`convlib.proof.bench`): every engine pads block by block (:mod:`._slab`) and works in
blocks, so its workspace stays under 64 MiB besides the output (``_blocks.BUFFER_BYTES``),
split over the worker threads of :mod:`._threads`; each thread keeps up to 16 MiB of those
buffers between calls (``_blocks.scratch``: fresh pages cost a fault each), which
:func:`release_workspace` frees. ``depthwise_jit``, ``grouped_jit`` and ``planes_jit`` are
loops compiled with numba, and :func:`choose_algorithm` picks an engine per layer with
constants tuned on the benchmark suite. A property test (``tests/test_engines_props.py``)
holds every engine here to its reference engine within 1e-10 in float64.

Engines, by name in :data:`ENGINES` (signature ``engine(x, w, *, stride, dilation, groups,
pads, padding_mode)`` on the *unpadded* NHWC input): ``im2col``, ``shifted``, ``taps``,
``winograd_f2``, ``winograd_f4``, ``fft``, ``depthwise`` (the algorithms of the reference
room, blocked and threaded), ``depthwise_jit`` (the depthwise tap loop compiled),
``grouped_jit`` (any grouped layer as ``C/groups`` passes of that loop) and ``planes_jit`` (a
compiled direct convolution over channel planes, for few channels per group).

numba is optional (``pip install convlib[fast]``). Without it the three compiled engines fall
back to this room's NumPy engines, ``depthwise`` for ``depthwise_jit`` and ``im2col`` for the
other two: every call still runs, with the same results and the same memory bound, only slower.
"""

from __future__ import annotations

import functools

import numpy as np

from ..engines import taps as taps_reference
from ..shapes import window_count
from . import (
    _blocks,
    depthwise,
    depthwise_jit,
    fft,
    grouped_jit,
    im2col,
    planes_jit,
    shifted,
    taps,
    winograd,
)
from ._blocks import blocks, kept_bytes
from ._blocks import release as release_workspace
from ._slab import padded_shape
from ._threads import get_threads, run_split, set_threads

__all__ = [
    "ENGINES",
    "REFERENCE",
    "blocks",
    "check_supported",
    "choose_algorithm",
    "conv2d_auto",
    "get_threads",
    "has_numba",
    "kept_bytes",
    "release_workspace",
    "run_split",
    "select_engine",
    "set_threads",
    "supports",
]

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
# From this many input channels a tap's GEMM (K = C) is wide enough that the taps engine's
# kh * kw products over the input itself beat im2col's gather of kh * kw copies of it.
TAPS_MIN_CHANNELS = 128
# A dilated 3x3 layer runs as d_h * d_w Winograd convolutions, one call each: beyond this many
# phases their fixed costs outweigh the saving (36 phases of 28x28x64, d = 6: 2.4x im2col's time for F2).
WINOGRAD_MAX_PHASES = 9
# Groups of at most this many input channels run as a direct convolution over channel planes
# (planes_jit); from 16 per group im2col's batched GEMM was faster (ResNeXt's 14x14x512,
# one thread: 0.81 against 1.02 ms at batch 1, 6.1 against 6.7 ms at batch 8).
PLANES_MAX_CHANNELS = 8


@functools.cache
def has_numba() -> bool:
    """Whether numba can be imported (checked once; the import itself waits for a compiled engine)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _compiled(jit_conv, fallback):
    """``jit_conv`` where numba is installed, else the NumPy engine ``fallback`` (same arguments)."""

    @functools.wraps(jit_conv)
    def run(*args, **kwargs):
        return (jit_conv if has_numba() else fallback)(*args, **kwargs)

    return run


ENGINES = {
    "im2col": im2col.conv,
    "shifted": shifted.conv,
    "winograd_f2": winograd.conv_f2,
    "winograd_f4": winograd.conv_f4,
    "fft": fft.conv,
    "depthwise": depthwise.conv,
    "depthwise_jit": _compiled(depthwise_jit.conv, depthwise.conv),
    "grouped_jit": _compiled(grouped_jit.conv, im2col.conv),
    "planes_jit": _compiled(planes_jit.conv, im2col.conv),
    "taps": taps.conv,
}


def check_supported(algorithm: str, w_shape, stride, dilation, padding_mode="zeros") -> None:
    """Raise ``ValueError`` if fast engine ``algorithm`` cannot run this layer (see :func:`supports`)."""
    if algorithm == "taps" and padding_mode != "zeros":
        raise ValueError(f"the taps engine skips zero pad cells only; got padding_mode={padding_mode!r}")
    if algorithm.startswith("winograd"):
        winograd.check_supported(w_shape, stride, dilation, padding_mode=padding_mode)
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
        check_supported(algorithm, w_shape, stride, dilation, padding_mode)
    except ValueError:
        return False
    return True


def _winograd_tiles(xp_shape, m: int, dilation) -> int:
    """Output tiles of F(m x m, 3 x 3) in one product: per phase when the kernel is dilated."""
    n, (dh, dw) = xp_shape[0], dilation
    ho = window_count(xp_shape[1], 3, stride=1, dilation=dh)
    wo = window_count(xp_shape[2], 3, stride=1, dilation=dw)
    per_phase = (-(-ho // dh), -(-wo // dw))  # ceil: phase 0 has the most outputs
    return n * -(-per_phase[0] // m) * -(-per_phase[1] // m)


def choose_algorithm(xp_shape, w_shape, *, stride, dilation, groups, pads=None, padding_mode="zeros") -> str:
    """The ``"auto"`` rule: the engine name for one layer, from the broad benchmark in ``benchmarks/``.

    1. Depthwise (one input channel per group, ``groups > 1``): ``depthwise_jit``. The layer
       is memory-bound (about two flops per value read) and only the compiled, fused loop
       makes one pass over the data; im2col would copy every input value ``kh * kw`` times
       to feed products of one input channel each.
    2. Zero padding that most taps read (``pads`` given, ``padding_mode="zeros"``, at most
       ``TAPS_MAX_USEFUL`` of the tap reads inside the input,
       :func:`convlib.engines.taps.useful_fraction`):
       ``taps``, which skips them (DeepLabv3's ASPP: dilation 12 on a 14x14 map, 18% useful).
    3. Groups of at most ``PLANES_MAX_CHANNELS`` input channels: ``planes_jit`` (ResNeXt's
       first two stages, 32 groups of 4 and of 8: the batched GEMM's products would be 4 or
       8 columns wide and 36 or 72 deep); wider groups, or a stride past the padded input:
       ``im2col``, one batched GEMM. ``grouped_jit`` is never chosen: ``planes_jit`` was
       faster on every grouped layer of the suite.
    4. A dense 3x3 stride-1 kernel with ``WINOGRAD_MIN_CHANNELS`` to ``WINOGRAD_MAX_CHANNELS``
       channels: ``winograd_f4`` if one product has at least ``WINOGRAD_F4_MIN_TILES`` 4x4
       output tiles, else ``winograd_f2`` if it has at least ``WINOGRAD_F2_MIN_TILES`` 2x2
       tiles. The tiles are the rows of Winograd's products: with fewer, those 36 (or 16)
       GEMMs are too small for BLAS and the transforms cost more than the multiplications
       saved (a 7x7 map at batch 1 makes 4 tiles of 4x4, 16 of 2x2). A dilated kernel with
       zero padding runs as ``d_h * d_w`` convolutions of the input's phases, so its tiles
       are counted per phase, there may be at most ``WINOGRAD_MAX_PHASES`` phases, and its
       transformed kernel must fit one buffer (``_blocks.BUFFER_BYTES``, float32) so that it
       is made once, not once per phase.
    5. A dense large kernel (``kh * kw >= FFT_MIN_TAPS``) with stride 1: ``fft`` (from a side
       measurement: kernels 5 to 15, 16 and 64 channels, 64x64 maps; FFT overtook im2col only
       from about 13x13 on).
    6. Zero padding, stride 1, a kernel larger than 1x1 and at least ``TAPS_MIN_CHANNELS``
       input channels: ``taps`` (Inception's 1x7 and 7x1, DeepLabv3's dilated 3x3 at batch 1).
    7. Otherwise ``im2col``: a 1x1 stride-1 layer is a single GEMM on the input itself. The
       shifted GEMM never wins on the suite: its many small products and the wasted
       padded-width columns cost more than the im2col copy saves.

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
    >>> choose_algorithm((8, 58, 58, 128), (3, 3, 4, 128), stride=(1, 1), dilation=(1, 1), groups=32)
    'planes_jit'
    >>> choose_algorithm((1, 16, 16, 512), (3, 3, 16, 512), stride=(1, 1), dilation=(1, 1), groups=32)
    'im2col'
    >>> choose_algorithm((1, 1, 1, 4), (1, 1, 2, 2), stride=(10**9, 1), dilation=(1, 1), groups=2)
    'im2col'
    """
    kh, kw, cg, o = w_shape
    stride, dilation = tuple(stride), tuple(dilation)
    if cg == 1 and groups > 1:
        return "depthwise_jit"
    zero_pads = pads is not None and padding_mode == "zeros"
    if zero_pads:
        (t, b), (left, r) = pads
        x_shape = (xp_shape[0], xp_shape[1] - t - b, xp_shape[2] - left - r, xp_shape[3])
        useful = taps_reference.useful_fraction(x_shape, w_shape, stride=stride, dilation=dilation, pads=pads)
        if useful <= TAPS_MAX_USEFUL:
            return "taps"
    if groups > 1:
        # planes_jit's index maps span (output rows + reach) x stride: a stride past the padded input
        # would make them as long as the stride (7.5 GiB at stride 10**9) for a single output.
        inside = stride[0] <= xp_shape[1] and stride[1] <= xp_shape[2]
        return "planes_jit" if cg <= PLANES_MAX_CHANNELS and inside else "im2col"
    dilated = dilation != (1, 1)
    phases_ok = not dilated or (padding_mode == "zeros" and dilation[0] * dilation[1] <= WINOGRAD_MAX_PHASES)
    if (kh, kw) == (3, 3) and stride == (1, 1) and phases_ok:
        channels_ok = WINOGRAD_MIN_CHANNELS <= min(cg, o) and cg <= WINOGRAD_MAX_CHANNELS
        for m, least in ((4, WINOGRAD_F4_MIN_TILES), (2, WINOGRAD_F2_MIN_TILES)):
            u_fits = not dilated or (m + 2) ** 2 * cg * o * 4 <= _blocks.BUFFER_BYTES
            if channels_ok and u_fits and _winograd_tiles(xp_shape, m, dilation) >= least:
                return f"winograd_f{m}"
    if kh * kw >= FFT_MIN_TAPS and stride == (1, 1):
        return "fft"
    if zero_pads and stride == (1, 1) and kh * kw > 1 and cg >= TAPS_MIN_CHANNELS:
        return "taps"
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
        check_supported(algorithm, w_shape, stride, dilation, padding_mode)
    return ENGINES[algorithm]


# The reference engine (convlib.engines.ENGINES) each fast engine computes the same result as.
REFERENCE = {name: name for name in ENGINES} | {
    "depthwise_jit": "depthwise",
    "grouped_jit": "im2col",
    "planes_jit": "im2col",
}


def conv2d_auto(x4, w4, b, geo, padding_mode: str, dtype) -> np.ndarray:
    """:func:`convlib.conv2d` with ``algorithm="auto"``, on the arrays that prepare_arrays checked.

    ``x4`` is the unpadded NHWC input and ``w4`` the HWIO kernel in the compute dtype, ``geo``
    the call's :class:`convlib.shapes.ConvGeometry`; the result is in ``geo``'s layout and
    ``dtype``; ``padding_mode`` is already checked (:func:`convlib.padding.check_mode_pads`).
    """
    if x4.shape[0] == 0:  # an empty batch: the compiled engines' flat views cannot be formed
        return np.zeros(geo.output_shape, dtype=dtype)
    engine = select_engine(
        "auto",
        padded_shape(x4.shape, geo.pads),
        w4.shape,
        stride=geo.stride,
        dilation=geo.dilation,
        groups=geo.groups,
        pads=geo.pads,
        padding_mode=padding_mode,
    )
    run = functools.partial(
        engine,
        w=w4,
        stride=geo.stride,
        dilation=geo.dilation,
        groups=geo.groups,
        pads=geo.pads,
        padding_mode=padding_mode,
    )
    if geo.data_format == "NHWC" and x4.dtype == dtype:
        y = run(x4)
        if b is not None:
            y += b
        return y if geo.batch is not None else y[0]
    return _in_chunks(run, x4, b, geo, dtype)


def _in_chunks(run, x4, b, geo, dtype) -> np.ndarray:
    """Run the engine on batches of images, each result moved into the final layout and dtype.

    An NCHW result (or a float16 one, computed in float32) is a second array of the output's
    size; converting the whole NHWC float32 result at the end would hold both at once. Chunks
    of at most :data:`._blocks.BUFFER_BYTES` of engine output keep that extra memory bounded
    (a single image larger than that is one chunk).
    """
    (ho, wo), n, o = geo.out_hw, x4.shape[0], geo.out_channels
    nchw = geo.data_format == "NCHW"
    y = np.empty((n, o, ho, wo) if nchw else (n, ho, wo, o), dtype=dtype)
    per_image = ho * wo * o * np.dtype(x4.dtype).itemsize
    step = max(1, _blocks.BUFFER_BYTES // max(per_image, 1))
    for b0 in range(0, n, step):
        part = run(x4[b0 : b0 + step])
        if b is not None:
            part += b
        y[b0 : b0 + step] = part.transpose(0, 3, 1, 2) if nchw else part
    return y if geo.batch is not None else y[0]
