"""The compiled loops of :mod:`convlib.fast.depthwise_jit` (importing this module imports numba).

``taps3`` fuses the nine taps of a 3x3 kernel into one pass over the channels of an output
pixel (one store per pixel instead of one per tap: 34 against 15 GFLOP/s on 4x56x56x144,
one thread); ``rows3`` does the same over runs of whole output rows for stride 1 with zero
padding (few channels: the per-pixel loop's cost of finding nine pixels is then paid per run);
``taps5`` does the same for the 25 taps of a 5x5 kernel; ``taps1`` takes one
tap per pass, for any other kernel; ``mult`` serves ``M > 1`` output channels per input
channel. An output whose window touches a zero pad cell takes the per-tap path (``edge``),
which skips that cell.
"""

from __future__ import annotations

import numba

# cache=True: compiled code is stored in __pycache__ beside this file and reused by later processes.
# fastmath only to contract and reassociate the sums (FMA, vectorised); NaN and inf keep IEEE semantics.
jit = numba.njit(nogil=True, cache=True, fastmath={"contract", "reassoc"})


@jit
def edge(x, w, ri, ci, out, n, i, j, sh, sw, dh, dw):
    # One output pixel whose window reads zero pad cells (index -1): tap by tap, skipping them.
    for ch in range(out.shape[0]):
        out[ch] = 0
    for a in range(w.shape[0]):
        src_r = ri[i * sh + a * dh]
        if src_r < 0:
            continue
        for b in range(w.shape[1]):
            src_c = ci[j * sw + b * dw]
            if src_c < 0:
                continue
            row, tap = x[n, src_r, src_c], w[a, b]
            for ch in range(out.shape[0]):
                out[ch] += row[ch] * tap[ch]


@jit
def taps1(x, w, ri, ci, y, b0, b1, r0, r1, sh, sw, dh, dw, inner):
    for n in range(b0, b1):
        for i in range(r0, r1):
            for j in range(y.shape[2]):
                edge(x, w, ri, ci, y[n, i, j], n, i, j, sh, sw, dh, dw)


@jit
def taps3(x, w, ri, ci, y, b0, b1, r0, r1, sh, sw, dh, dw, inner):
    # 3x3 only: all nine taps in one expression, one store per output pixel. ``inner`` is
    # (i0, i1, j0, j1), the outputs whose windows read no zero pad cell.
    c, wo = w.shape[2], y.shape[2]
    i0, i1, j0, j1 = inner
    w00, w01, w02, w10, w11, w12 = w[0, 0], w[0, 1], w[0, 2], w[1, 0], w[1, 1], w[1, 2]
    w20, w21, w22 = w[2, 0], w[2, 1], w[2, 2]
    for n in range(b0, b1):
        for i in range(r0, r1):
            if i < i0 or i >= i1:
                for j in range(wo):
                    edge(x, w, ri, ci, y[n, i, j], n, i, j, sh, sw, dh, dw)
                continue
            for j in range(j0):
                edge(x, w, ri, ci, y[n, i, j], n, i, j, sh, sw, dh, dw)
            for j in range(j1, wo):
                edge(x, w, ri, ci, y[n, i, j], n, i, j, sh, sw, dh, dw)
            q0, q1, q2 = x[n, ri[i * sh]], x[n, ri[i * sh + dh]], x[n, ri[i * sh + 2 * dh]]
            yr = y[n, i]
            for j in range(j0, j1):
                out = yr[j]
                c0, c1, c2 = ci[j * sw], ci[j * sw + dw], ci[j * sw + 2 * dw]
                a0, a1, a2, m0, m1, m2 = q0[c0], q0[c1], q0[c2], q1[c0], q1[c1], q1[c2]
                z0, z1, z2 = q2[c0], q2[c1], q2[c2]
                for ch in range(c):
                    out[ch] = (
                        a0[ch] * w00[ch]
                        + a1[ch] * w01[ch]
                        + a2[ch] * w02[ch]
                        + m0[ch] * w10[ch]
                        + m1[ch] * w11[ch]
                        + m2[ch] * w12[ch]
                        + z0[ch] * w20[ch]
                        + z1[ch] * w21[ch]
                        + z2[ch] * w22[ch]
                    )


@jit
def rows3(x, w, ri, ci, y, b0, b1, r0, r1, dh, dw, inner, x2, y2, wrep, jc):
    # 3x3, stride 1, zero padding: each interior output row is cut into runs of jc pixels, and a
    # run is one loop over its jc * C values (pixels and channels flattened), every tap one
    # contiguous run of an input row; wrep (9, >= jc * C) holds each tap's C weights repeated jc
    # times, so the weight of value f is wrep[tap, f]. x2 and y2 are x and y with (W, C) flattened.
    c, wo = w.shape[2], y.shape[2]
    i0, i1, j0, j1 = inner
    for n in range(b0, b1):
        for i in range(r0, r1):
            if i < i0 or i >= i1:
                for j in range(wo):
                    edge(x, w, ri, ci, y[n, i, j], n, i, j, 1, 1, dh, dw)
                continue
            for j in range(j0):
                edge(x, w, ri, ci, y[n, i, j], n, i, j, 1, 1, dh, dw)
            for j in range(j1, wo):
                edge(x, w, ri, ci, y[n, i, j], n, i, j, 1, 1, dh, dw)
            q0, q1, q2 = x2[n, ri[i]], x2[n, ri[i + dh]], x2[n, ri[i + 2 * dh]]
            yr = y2[n, i]
            for js in range(j0, j1, jc):
                run = (min(j1, js + jc) - js) * c
                out = yr[js * c : js * c + run]
                e0, e1, e2 = ci[js] * c, ci[js + dw] * c, ci[js + 2 * dw] * c
                a0, a1, a2 = q0[e0 : e0 + run], q0[e1 : e1 + run], q0[e2 : e2 + run]
                m0, m1, m2 = q1[e0 : e0 + run], q1[e1 : e1 + run], q1[e2 : e2 + run]
                z0, z1, z2 = q2[e0 : e0 + run], q2[e1 : e1 + run], q2[e2 : e2 + run]
                w00, w01, w02 = wrep[0, :run], wrep[1, :run], wrep[2, :run]
                w10, w11, w12 = wrep[3, :run], wrep[4, :run], wrep[5, :run]
                w20, w21, w22 = wrep[6, :run], wrep[7, :run], wrep[8, :run]
                for f in range(run):
                    out[f] = (
                        a0[f] * w00[f]
                        + a1[f] * w01[f]
                        + a2[f] * w02[f]
                        + m0[f] * w10[f]
                        + m1[f] * w11[f]
                        + m2[f] * w12[f]
                        + z0[f] * w20[f]
                        + z1[f] * w21[f]
                        + z2[f] * w22[f]
                    )


@jit
def taps5(x, w, ri, ci, y, b0, b1, r0, r1, sh, sw, dh, dw, inner):
    # 5x5 only: all 25 taps in one expression, one store per output pixel (against one per kernel
    # row: 1.8 against 3.4 ms on 8x28x28x240, one thread). ``inner`` as in taps3.
    c, wo = w.shape[2], y.shape[2]
    i0, i1, j0, j1 = inner
    w00, w01, w02, w03, w04 = w[0, 0], w[0, 1], w[0, 2], w[0, 3], w[0, 4]
    w10, w11, w12, w13, w14 = w[1, 0], w[1, 1], w[1, 2], w[1, 3], w[1, 4]
    w20, w21, w22, w23, w24 = w[2, 0], w[2, 1], w[2, 2], w[2, 3], w[2, 4]
    w30, w31, w32, w33, w34 = w[3, 0], w[3, 1], w[3, 2], w[3, 3], w[3, 4]
    w40, w41, w42, w43, w44 = w[4, 0], w[4, 1], w[4, 2], w[4, 3], w[4, 4]
    for n in range(b0, b1):
        for i in range(r0, r1):
            if i < i0 or i >= i1:
                for j in range(wo):
                    edge(x, w, ri, ci, y[n, i, j], n, i, j, sh, sw, dh, dw)
                continue
            for j in range(j0):
                edge(x, w, ri, ci, y[n, i, j], n, i, j, sh, sw, dh, dw)
            for j in range(j1, wo):
                edge(x, w, ri, ci, y[n, i, j], n, i, j, sh, sw, dh, dw)
            q0, q1, q2 = x[n, ri[i * sh]], x[n, ri[i * sh + dh]], x[n, ri[i * sh + 2 * dh]]
            q3, q4 = x[n, ri[i * sh + 3 * dh]], x[n, ri[i * sh + 4 * dh]]
            yr = y[n, i]
            for j in range(j0, j1):
                out = yr[j]
                c0, c1, c2 = ci[j * sw], ci[j * sw + dw], ci[j * sw + 2 * dw]
                c3, c4 = ci[j * sw + 3 * dw], ci[j * sw + 4 * dw]
                p00, p01, p02, p03, p04 = q0[c0], q0[c1], q0[c2], q0[c3], q0[c4]
                p10, p11, p12, p13, p14 = q1[c0], q1[c1], q1[c2], q1[c3], q1[c4]
                p20, p21, p22, p23, p24 = q2[c0], q2[c1], q2[c2], q2[c3], q2[c4]
                p30, p31, p32, p33, p34 = q3[c0], q3[c1], q3[c2], q3[c3], q3[c4]
                p40, p41, p42, p43, p44 = q4[c0], q4[c1], q4[c2], q4[c3], q4[c4]
                for ch in range(c):
                    s0 = p00[ch] * w00[ch] + p01[ch] * w01[ch] + p02[ch] * w02[ch]
                    s0 += p03[ch] * w03[ch] + p04[ch] * w04[ch]
                    s1 = p10[ch] * w10[ch] + p11[ch] * w11[ch] + p12[ch] * w12[ch]
                    s1 += p13[ch] * w13[ch] + p14[ch] * w14[ch]
                    s2 = p20[ch] * w20[ch] + p21[ch] * w21[ch] + p22[ch] * w22[ch]
                    s2 += p23[ch] * w23[ch] + p24[ch] * w24[ch]
                    s3 = p30[ch] * w30[ch] + p31[ch] * w31[ch] + p32[ch] * w32[ch]
                    s3 += p33[ch] * w33[ch] + p34[ch] * w34[ch]
                    s4 = p40[ch] * w40[ch] + p41[ch] * w41[ch] + p42[ch] * w42[ch]
                    s4 += p43[ch] * w43[ch] + p44[ch] * w44[ch]
                    out[ch] = s0 + s1 + s2 + s3 + s4


@jit
def mult(x, w, ri, ci, y, b0, b1, r0, r1, sh, sw, dh, dw, inner):
    kh, kw, c, m = w.shape[0], w.shape[1], w.shape[2], w.shape[3]
    for n in range(b0, b1):
        for i in range(r0, r1):
            for j in range(y.shape[2]):
                out = y[n, i, j]
                for k in range(out.shape[0]):
                    out[k] = 0
                for a in range(kh):
                    src_r = ri[i * sh + a * dh]
                    if src_r < 0:
                        continue
                    for b in range(kw):
                        src_c = ci[j * sw + b * dw]
                        if src_c < 0:
                            continue
                        row, tap = x[n, src_r, src_c], w[a, b]
                        for ch in range(c):
                            for k in range(m):
                                out[ch * m + k] += row[ch] * tap[ch, k]
