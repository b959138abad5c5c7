"""Winograd F(m x m, 3 x 3) of :mod:`convlib.engines.winograd`, in blocks, over the threads.

The two transforms are written as one small dense GEMM each (``kron(B^T, B^T)`` applied to all
tiles of a block at once), which runs in BLAS instead of Python loops; the kernel transform ``U``
is made once per output-channel chunk and shared by the blocks; a dilated layer runs as
``d_h * d_w`` phases, each with its share of the zero padding (other padding modes do not split
that way here, since the padding is made block by block).
"""

from __future__ import annotations

import functools

import numpy as np

from ..engines.windows import windows
from ..engines.winograd import transforms
from ..shapes import window_count
from . import _blocks
from . import _winograd_parts as parts
from ._slab import NO_PADS, padded_shape, slab
from ._threads import get_threads, run_split

MIN_BLOCK_TILES = 128


def check_supported(w_shape, stride, dilation, *, padding_mode: str | None = None) -> None:
    """Raise ``ValueError`` unless the layer is 3x3 with stride 1 (and dilation 1, or zero padding).

    With ``padding_mode="zeros"`` a dilated 3x3 kernel is allowed too: the NumPy engine runs
    it as ``d_h * d_w`` undilated convolutions of the input's phases (:func:`conv_f`), whose
    zero padding is the phase's share of the zero padding; other padding modes do not split
    that way. Without ``padding_mode`` (the torch path) dilation must be 1.
    """
    kh, kw = w_shape[:2]
    dilated_ok = padding_mode == "zeros"
    if (kh, kw) != (3, 3) or tuple(stride) != (1, 1) or (tuple(dilation) != (1, 1) and not dilated_ok):
        need = "dilation 1" if padding_mode is None else "dilation 1 or zero padding"
        raise ValueError(
            f"winograd needs a 3x3 kernel with stride 1 and {need}; got kernel {kh}x{kw}, "
            f"stride {tuple(stride)}, dilation {tuple(dilation)}"
            + ("" if padding_mode is None else f", padding_mode {padding_mode!r}")
            + " (use 'im2col' or 'shifted')"
        )


@functools.lru_cache(maxsize=8)
def _dense(m: int, dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(kron(B^T, B^T), kron(A^T, A^T), kron(G, G))`` in ``dtype``, made once and read-only.

    Shape ``(a*a, a*a)``, ``(m*m, a*a)`` and ``(a*a, 9)``. Three ``np.kron`` calls took about
    50 us of every call before they were kept (a third of the engine's whole time on a small map).
    """
    bt, gm, at = transforms(m, dtype)
    out = np.kron(bt, bt), np.kron(at, at), np.kron(gm, gm)
    for t in out:
        t.flags.writeable = False
    return out


def _kernel_transform(m, w, dtype, out=None):
    """``U = G g G^T`` for every ``(c, o)`` of HWIO ``w``: ``(a*a, cg, o)``, one BLAS product.

    ``kron(G, G)`` maps the 9 taps of a kernel to its ``a*a`` transformed values, and HWIO
    already lists the taps first, so ``kron(G, G) @ w.reshape(9, cg*o)`` is ``U`` in the
    layout the products need. (Two ``tensordot`` calls and a transpose took 17 ms on a
    3x3x256x256 kernel; this takes well under one.) ``out``, an ``(a*a, cg*o)`` view, receives
    the product instead of a new array.
    """
    a, (_, _, cg, o) = m + 2, w.shape
    g2 = _dense(m, np.dtype(dtype))[2]  # (a*a, 9)
    u = np.empty((a * a, cg * o), dtype=dtype) if out is None else out
    np.matmul(g2, np.ascontiguousarray(w, dtype=dtype).reshape(9, cg * o), out=u)
    return u.reshape(a * a, cg, o)


# Below this many bytes of U a pass's kernel transform stays on the calling thread: splitting the
# 4.2 MB U of a 256x256 F(2x2) kernel (0.8 ms) made ResNet's 14x14x256 layer at batch 1, two
# threads, 1.05 times slower in paired runs; from the 9.4 MB of a 256x256 F(4x4) kernel on it
# was faster (0.91 to 0.95 of the time, batch 8).
SPLIT_U_BYTES = 8 * 2**20


def _kernel_transforms(m, w, chunks, dtype) -> dict:
    """:func:`_kernel_transform` of each output-channel chunk ``(o0, o1)``, split over the threads.

    From ``SPLIT_U_BYTES`` of ``U`` on, each worker transforms a range of input channels of every
    chunk into one shared ``U`` per chunk (rows ``c0:c1`` of ``U``'s ``(a*a, cg*oc)`` matrix are
    columns ``c0*oc:c1*oc``). Called by the calling thread only: inside a worker,
    :func:`.run_split` would wait on itself. Made serially, the ``U`` of a 512x512 kernel (one
    F(2x2) pass, 16.8 MB) took 4.9 ms on one core while the other waited; split, VGG-16's
    28x28x512 layer (F(4x4), batch 1, two threads) took 0.91 to 0.94 of its time, paired runs.

    Returns
    -------
    dict
        ``o0 -> U`` of shape ``(a*a, cg, o1 - o0)``.
    """
    a, (_, _, cg, _) = m + 2, w.shape
    us = {o0: np.empty((a * a, cg, o1 - o0), dtype=dtype) for o0, o1 in chunks}
    total = a * a * cg * sum(o1 - o0 for o0, o1 in chunks) * np.dtype(dtype).itemsize
    step = -(-cg // get_threads()) if total >= SPLIT_U_BYTES else cg
    items = [(o0, o1, c0, min(cg, c0 + step)) for o0, o1 in chunks for c0 in range(0, cg, step)]

    def work(run):
        for o0, o1, c0, c1 in run:
            oc = o1 - o0
            _kernel_transform(
                m, w[:, :, c0:c1, o0:o1], dtype, out=us[o0].reshape(a * a, cg * oc)[:, c0 * oc : c1 * oc]
            )

    run_split(work, items)
    return us


def _block(xp, b0, b1, r0, r1, m, tw, pads, mode):
    """Padded input of tile rows ``r0:r1``, zeros past the edge: ``(B, (r1-r0)*m + 2, tw*m + 2, C)``."""
    hs, ws = (r1 - r0) * m + 2, tw * m + 2
    return slab(xp, b0, b1, (r0 * m, r0 * m + hs), (0, ws), pads, mode, slot="winograd.padded")


def conv_f(
    xp: np.ndarray,
    w: np.ndarray,
    *,
    m: int,
    stride=(1, 1),
    dilation=(1, 1),
    groups=1,
    pads=NO_PADS,
    padding_mode="zeros",
    out: np.ndarray | None = None,
    u_cache: dict | None = None,
) -> np.ndarray:
    """Valid 3x3 cross-correlation by Winograd F(m x m, 3 x 3), ``m`` in ``{2, 4}``.

    Parameters
    ----------
    xp : numpy.ndarray
        Input ``(N, H, W, C)``; already padded when ``pads`` is zero.
    w : numpy.ndarray
        HWIO kernel ``(3, 3, C/groups, O)``.
    m : int
        Output tile size: 2 for F(2x2, 3x3), 4 for F(4x4, 3x3).
    stride, dilation : (int, int)
        Must be ``(1, 1)``.
    groups : int
        Independent channel groups.
    pads : ((int, int), (int, int)), optional
        ``((top, bottom), (left, right))``, applied tile row block by block.
    padding_mode : {"zeros", "reflect", "replicate", "circular"}
    out : numpy.ndarray, optional
        Where to write the result (any strides); a new array by default.
    u_cache : dict, optional
        Transformed kernels ``U`` by output-channel chunk, shared between calls with the same
        ``w`` (the phases of a dilated layer).

    Returns
    -------
    numpy.ndarray
        ``(N, H_p - 2 d_h, W_p - 2 d_w, O)`` with ``H_p = H + p_top + p_bottom``.

    Shape
    -----
    ``H_out = H_p - 2 d_h``, ``W_out = W_p - 2 d_w``. Undilated: ``ceil(H_out / m) x
    ceil(W_out / m)`` tiles per image, the last ones zero-padded. Dilated: output row ``i``
    reads padded rows ``i, i + d_h, i + 2 d_h``, all in phase ``i mod d_h``, so the outputs
    of each of the ``d_h * d_w`` phases are the undilated convolution of that phase, a
    strided view of the input with its share of the zero padding, written into a strided
    view of the output (no copy of either).

    Raises
    ------
    ValueError
        If the kernel is not 3x3, or the stride is not 1, or the dilation is not 1 and the
        padding not zeros.
    """
    check_supported(w.shape, stride, dilation, padding_mode=padding_mode)
    if tuple(dilation) != (1, 1):
        return _phases(xp, w, m, tuple(dilation), groups, pads, out)
    n, hp, wp, c = padded_shape(xp.shape, pads)
    _, _, cg, o = w.shape
    og, a = o // groups, m + 2
    dtype = np.result_type(xp, w)
    ho, wo = window_count(hp, 3, stride=1, dilation=1), window_count(wp, 3, stride=1, dilation=1)
    th, tw = -(-ho // m), -(-wo // m)
    # One dense (a*a x a*a) GEMM per transform: a measured 1.3-1.5x faster here than applying
    # B^T along each axis in turn, whose (a x a) products are too small for BLAS.
    in_t, out_t, _ = _dense(m, dtype)  # (a*a, a*a) and (m*m, a*a)
    y = np.empty((n, ho, wo, o), dtype=dtype) if out is None else out
    # U, the transformed kernel, is made once per call and shared by the worker threads, in
    # passes of output-channel chunks of at most one buffer in all, each pass one split of the
    # tile blocks over the threads; but where U takes several passes (a 512x512 kernel's U for
    # F(4x4) is 37.7 MB) every pass transforms the input tiles again, and where that costs more
    # flops than transforming the kernel again for every block, each block makes its own U.
    # Measured, one F(2x2) layer 14x14x512 at batch 1 on two threads: 10.1 ms with U made per
    # block, 7.2 ms in two passes; F(4x4) at batch 8, one thread (one block): 36 against 49 ms.
    chunks = parts.chunks(groups, og, _blocks.BUFFER_BYTES // (a * a * cg * dtype.itemsize))
    passes = parts.passes(chunks, a * a * cg * dtype.itemsize)
    oc = max(o1 - o0 for _, o0, o1 in chunks)
    cache = (u_cache if u_cache is not None else {}) if len(passes) == 1 else {}  # phases share U
    row_bytes = tw * a * a * max(cg, oc) * dtype.itemsize
    # Cache-sized blocks of tiles (measured at batch 8: 14 ms on ResNet's 56x56x64 layer against
    # 24 ms with 16 MiB blocks), but at least MIN_BLOCK_TILES tiles, the rows of the products:
    # with 256 or 512 channels fewer rows make those products too small for BLAS.
    tile_bytes = a * a * max(cg, oc) * dtype.itemsize
    budget = max(_blocks.CACHE_BYTES // 2, MIN_BLOCK_TILES * tile_bytes)
    plan = _blocks.plan(n, th, row_bytes, budget=budget)
    v_flops = 2 * a**4 * n * th * tw * cg * groups  # the input transform of every tile
    u_flops = 2 * 9 * a * a * cg * o  # the whole kernel transform
    per_block = len(passes) > 1 and (len(passes) - 1) * v_flops >= (len(plan) - 1) * u_flops
    if per_block:
        # One pass; each worker makes U per block, a chunk of at most its share of the cap at a time.
        passes = [parts.chunks(groups, og, _blocks.buffer_bytes() // (a * a * cg * dtype.itemsize))]

    def work(run, todo, us):
        for b0, b1, r0, r1 in run:
            part = _block(xp, b0, b1, r0, r1, m, tw, pads, padding_mode).astype(dtype, copy=False)
            # The transforms and products go to reused buffers (page faults cost more than
            # the work on small maps otherwise; see convlib.fast._blocks.scratch).
            tiles = windows(part, a, a, stride=(m, m), dilation=(1, 1))  # (B, tr, tw, a, a, C)
            t = tiles.shape[0] * tiles.shape[1] * tiles.shape[2]
            rows_out = min(ho, r1 * m) - r0 * m
            for g in sorted({g for g, _, _ in todo}):
                d = _blocks.scratch("winograd.tiles", a * a * t * cg, dtype).reshape(
                    (a, a) + tiles.shape[:3] + (cg,)
                )
                np.copyto(d, tiles[..., g * cg : (g + 1) * cg].transpose(3, 4, 0, 1, 2, 5))
                v = _blocks.scratch("winograd.v", a * a * t * cg, dtype).reshape(a * a, t, cg)
                np.matmul(in_t, d.reshape(a * a, -1), out=v.reshape(a * a, -1))
                for _, o0, o1 in (ch for ch in todo if ch[0] == g):
                    prod = _blocks.scratch("winograd.prod", a * a * t * (o1 - o0), dtype).reshape(
                        a * a, t, -1
                    )
                    u = _kernel_transform(m, w[..., o0:o1], dtype) if us is None else us[o0]
                    np.matmul(v, u, out=prod)  # (a*a, t, o1 - o0)
                    yt = _blocks.scratch("winograd.out", m * m * t * (o1 - o0), dtype).reshape(m * m, -1)
                    np.matmul(out_t, prod.reshape(a * a, -1), out=yt)
                    yt = yt.reshape(m, m, b1 - b0, r1 - r0, tw, o1 - o0)
                    dst = y[b0:b1, r0 * m : r0 * m + rows_out, :, o0:o1]
                    parts.scatter(dst, yt.transpose(2, 3, 0, 4, 1, 5))

    us = None if per_block else cache  # U by first output channel, made below for each pass
    for todo in passes:
        if us is not None:
            us.update(_kernel_transforms(m, w, [(o0, o1) for _, o0, o1 in todo if o0 not in us], dtype))
        run_split(lambda run, todo=todo: work(run, todo, us), plan)
        if len(passes) > 1:
            cache.clear()  # only one pass of U is held at a time
    return y


def _phases(xp, w, m, dilation, groups, pads, out):
    """A dilated 3x3 layer as ``d_h * d_w`` undilated Winograd convolutions of the input's phases."""
    n, hp, wp, _ = padded_shape(xp.shape, pads)
    (dh, dw), o = dilation, w.shape[3]
    ho, wo = window_count(hp, 3, stride=1, dilation=dh), window_count(wp, 3, stride=1, dilation=dw)
    y = np.empty((n, ho, wo, o), dtype=np.result_type(xp, w)) if out is None else out
    u_cache = {}
    (t, b), (left, right) = pads
    for r in range(min(dh, ho)):
        r0, rt, rb = parts.phase(xp.shape[1], t, b, r, dh)
        for q in range(min(dw, wo)):
            c0, cl, cr = parts.phase(xp.shape[2], left, right, q, dw)
            conv_f(
                xp[:, r0::dh, c0::dw],
                w,
                m=m,
                groups=groups,
                pads=((rt, rb), (cl, cr)),
                out=y[:, r::dh, q::dw],
                u_cache=u_cache,
            )
    return y


def conv_f2(
    xp: np.ndarray, w: np.ndarray, *, stride, dilation, groups, pads=NO_PADS, padding_mode="zeros"
) -> np.ndarray:
    """Engine ``"winograd_f2"``: F(2x2, 3x3); see :func:`conv_f`.

    Examples
    --------
    >>> conv_f2(np.arange(16.0).reshape(1, 4, 4, 1), np.ones((3, 3, 1, 1)), stride=(1, 1),
    ...         dilation=(1, 1), groups=1)[0, :, :, 0]
    array([[45., 54.],
           [81., 90.]])
    """
    return conv_f(
        xp, w, m=2, stride=stride, dilation=dilation, groups=groups, pads=pads, padding_mode=padding_mode
    )


def conv_f4(
    xp: np.ndarray, w: np.ndarray, *, stride, dilation, groups, pads=NO_PADS, padding_mode="zeros"
) -> np.ndarray:
    """Engine ``"winograd_f4"``: F(4x4, 3x3); see :func:`conv_f`.

    Examples
    --------
    >>> y = conv_f4(np.arange(16.0).reshape(1, 4, 4, 1), np.ones((3, 3, 1, 1)), stride=(1, 1),
    ...             dilation=(1, 1), groups=1)
    >>> np.round(y[0, :, :, 0], 10)
    array([[45., 54.],
           [81., 90.]])
    """
    return conv_f(
        xp, w, m=4, stride=stride, dilation=dilation, groups=groups, pads=pads, padding_mode=padding_mode
    )
