"""The compiled loops of :mod:`convlib.fast.grouped_jit` (importing this module imports numba).

``gather`` copies one block of the padded input into a reused buffer, in one pass: the
padding (through index maps, any ``padding_mode``), a channel map (one source channel per
output channel, a rotation within each group: :func:`convlib.fast.grouped_jit.rounds`;
the identity for a depthwise layer) and, for a column stride ``s_w > 1``, the split into
``s_w`` column phases, so that output pixel ``j`` reads, for tap column ``b``,
column ``j + (b * d_w) // s_w`` of phase ``(b * d_w) % s_w``.

The ``rows`` kernels then treat a run of ``jc`` output pixels of one row as one vector of
``jc * O`` values (channels innermost): each tap reads one contiguous slice of a phase and
multiplies it by that tap's weights tiled ``jc`` times, and LLVM vectorises the loop. Two
things keep it vectorised: every slice is taken before the loop, so that the loop index alone
addresses it (an index such as ``t + offset`` makes numba test it for wraparound, and that
test stops the vectoriser), and there are no per-pixel array views. Measured on a depthwise
112x112x32 3x3 layer, one thread, hot caches: 0.19 ms, against 0.72 ms for the per-pixel
loop of :mod:`convlib.fast._dw_kernels` and 0.12 ms for PyTorch channels_last.
``depthwise_jit`` reads its rows straight from the input the same way (``_dw_kernels.rows3``,
no gather: its taps are shifted runs of the input rows themselves), but only up to 64 channels;
from 96 on its per-pixel loop was as fast or faster.

``rows3`` fuses the nine taps of a 3x3 kernel into one expression (one store per value),
``rows5`` takes a 5x5 kernel one kernel row (five taps) per pass, ``rows_any`` one tap per
pass for any other kernel. With ``add`` they add to the output instead of storing: a grouped
layer is the sum of ``C/groups`` such passes.
"""

from __future__ import annotations

import numba

# cache=True: compiled code is stored in __pycache__ beside this file and reused by later processes.
# fastmath only to contract and reassociate the sums (FMA, vectorised); NaN and inf keep IEEE semantics.
jit = numba.njit(nogil=True, cache=True, fastmath={"contract", "reassoc"})


@jit
def gather(x, ri, ci, chan, identity, b0, r0, sw, out):
    # out (s_w, B, R, W_q, O): padded rows r0 .. r0 + R of images b0 .. b0 + B; column cc of
    # ci (the block's padded columns, -1 for a zero cell) goes to phase cc % s_w, cc // s_w.
    o = out.shape[4]
    for n in range(out.shape[1]):
        for r in range(out.shape[2]):
            src_r = ri[r0 + r]
            for cc in range(ci.shape[0]):
                dst = out[cc % sw, n, r, cc // sw]
                src_c = ci[cc]
                if src_r < 0 or src_c < 0:
                    for k in range(o):
                        dst[k] = 0
                elif identity:
                    src = x[b0 + n, src_r, src_c]
                    for k in range(o):
                        dst[k] = src[k]
                else:
                    src = x[b0 + n, src_r, src_c]
                    for k in range(o):
                        dst[k] = src[chan[k]]


@jit
def _source(p, n, row, b, c, j, lc, sw, dw):
    # The lc values tap column b reads for the outputs from block column j on, in one row.
    start = (j + (b * dw) // sw) * c
    return p[(b * dw) % sw, n, row, start : start + lc]


@jit
def _three(p, n, row, c, j, lc, sw, dw):
    # The slices of tap columns 0, 1, 2 in one row.
    s0 = _source(p, n, row, 0, c, j, lc, sw, dw)
    return s0, _source(p, n, row, 1, c, j, lc, sw, dw), _source(p, n, row, 2, c, j, lc, sw, dw)


@jit
def rows3(p, wt, y, c, sh, sw, dh, dw, jc, j_lo, j_hi, add):
    # p (s_w, B, R, W_q * O), block columns from output column j_lo; wt (9, jc * O);
    # y (B, R_out, W_out * O), written for output columns j_lo .. j_hi.
    w0, w1, w2, w3, w4, w5, w6, w7, w8 = wt[0], wt[1], wt[2], wt[3], wt[4], wt[5], wt[6], wt[7], wt[8]
    for n in range(y.shape[0]):
        for i in range(y.shape[1]):
            q0, q1, q2 = i * sh, i * sh + dh, i * sh + 2 * dh
            for j0 in range(j_lo, j_hi, jc):
                lc, j = (min(j_hi, j0 + jc) - j0) * c, j0 - j_lo
                a0, a1, a2 = _three(p, n, q0, c, j, lc, sw, dw)
                b0, b1, b2 = _three(p, n, q1, c, j, lc, sw, dw)
                e0, e1, e2 = _three(p, n, q2, c, j, lc, sw, dw)
                out = y[n, i, j0 * c : j0 * c + lc]
                if add:
                    for t in range(lc):
                        out[t] += (
                            a0[t] * w0[t] + a1[t] * w1[t] + a2[t] * w2[t]
                            + b0[t] * w3[t] + b1[t] * w4[t] + b2[t] * w5[t]
                            + e0[t] * w6[t] + e1[t] * w7[t] + e2[t] * w8[t]
                        )  # fmt: skip
                else:
                    for t in range(lc):
                        out[t] = (
                            a0[t] * w0[t] + a1[t] * w1[t] + a2[t] * w2[t]
                            + b0[t] * w3[t] + b1[t] * w4[t] + b2[t] * w5[t]
                            + e0[t] * w6[t] + e1[t] * w7[t] + e2[t] * w8[t]
                        )  # fmt: skip


@jit
def rows5(p, wt, y, c, sh, sw, dh, dw, jc, j_lo, j_hi, add):
    # As rows3 for a 5x5 kernel, one kernel row of five taps per pass: wt (25, jc * O).
    for n in range(y.shape[0]):
        for i in range(y.shape[1]):
            for j0 in range(j_lo, j_hi, jc):
                lc, j = (min(j_hi, j0 + jc) - j0) * c, j0 - j_lo
                out = y[n, i, j0 * c : j0 * c + lc]
                for a in range(5):
                    q = i * sh + a * dh
                    s0, s1, s2 = _three(p, n, q, c, j, lc, sw, dw)
                    s3, s4 = _source(p, n, q, 3, c, j, lc, sw, dw), _source(p, n, q, 4, c, j, lc, sw, dw)
                    v0, v1, v2, v3, v4 = wt[5 * a], wt[5 * a + 1], wt[5 * a + 2], wt[5 * a + 3], wt[5 * a + 4]
                    if a == 0 and not add:
                        for t in range(lc):
                            out[t] = (
                                s0[t] * v0[t] + s1[t] * v1[t] + s2[t] * v2[t] + s3[t] * v3[t] + s4[t] * v4[t]
                            )
                    else:
                        for t in range(lc):
                            out[t] += (
                                s0[t] * v0[t] + s1[t] * v1[t] + s2[t] * v2[t] + s3[t] * v3[t] + s4[t] * v4[t]
                            )


@jit
def rows_any(p, wt, y, c, kh, kw, sh, sw, dh, dw, jc, j_lo, j_hi, add):
    # Any kernel, one tap per pass: wt (kh * kw, jc * O).
    for n in range(y.shape[0]):
        for i in range(y.shape[1]):
            for j0 in range(j_lo, j_hi, jc):
                lc, j = (min(j_hi, j0 + jc) - j0) * c, j0 - j_lo
                out = y[n, i, j0 * c : j0 * c + lc]
                if not add:
                    for t in range(lc):
                        out[t] = 0
                for a in range(kh):
                    for b in range(kw):
                        src, tap = _source(p, n, i * sh + a * dh, b, c, j, lc, sw, dw), wt[a * kw + b]
                        for t in range(lc):
                            out[t] += src[t] * tap[t]
