"""The compiled loops of :mod:`convlib.fast.planes_jit` (importing this module imports numba).

A block of the padded input is held as channel planes, ``T[c, u, v, f]``: the padded input
rows ``u, u + s_h, ...`` and columns ``v, v + s_w, ...`` of channel ``c`` (one row/column
phase), rows laid end to end at a common width ``Q`` so that ``f = row * Q + column``.
Output ``(row, column)`` of the block is then ``f = row * Q + column`` as well, and for tap
``(a, b)`` it reads ``T[c, (a d_h) % s_h, (b d_w) % s_w, f + ((a d_h) // s_h) Q + (b d_w) // s_w]``:
every tap is one contiguous run of the plane, shifted. The ``Q - W_out`` outputs of a row
that fall past the layer's width (and the rows between two images of a block) are computed
and dropped, which is what lets a tap be one run of ``L`` values instead of ``rows``
separate ones.

``planes`` accumulates, for four output channels at a time, two input channels per pass
over that run (``4 x 2`` weights in registers, four accumulators, two loads per eight
multiply-adds), and LLVM vectorises the run. As in :mod:`._grouped_kernels`, every slice is
taken before its loop, so that the loop index alone addresses it.
"""

from __future__ import annotations

import numba

# cache=True: compiled code is stored in __pycache__ beside this file and reused by later processes.
# fastmath only to contract and reassociate the sums (FMA, vectorised); NaN and inf keep IEEE semantics.
jit = numba.njit(nogil=True, cache=True, fastmath={"contract", "reassoc"})


@jit
def gather(x, ri, ci, b0, images, r0, rows, sh, sw, q_len, t):
    # t (C, >= s_h * s_w * F), F = images * rows * Q: t[c, (u * s_w + v) * F + (m * rows + r) * Q + q]
    # = padded input of image b0 + m at padded row (r0 + r) * s_h + u, column q * s_w + v; ri
    # and ci map padded coordinates to input ones (-1, or past their end: a zero cell). ci
    # starts at the block's first padded column.
    c, f_len = t.shape[0], images * rows * q_len
    for m in range(images):
        for r in range(rows):
            for u in range(sh):
                pr = (r0 + r) * sh + u
                src_r = ri[pr] if pr < ri.shape[0] else -1
                for v in range(sw):
                    row = (u * sw + v) * f_len + (m * rows + r) * q_len
                    for q in range(q_len):
                        pc = q * sw + v
                        src_c = ci[pc] if pc < ci.shape[0] else -1
                        dst = t[:, row + q]
                        if src_r < 0 or src_c < 0:
                            for k in range(c):
                                dst[k] = 0
                        else:
                            src = x[b0 + m, src_r, src_c]
                            for k in range(c):
                                dst[k] = src[k]


@jit
def _four(t, w, acc, g, k, sh, sw, dh, dw, q_len, f_len, n):
    # acc[k .. k + 3, :n] = the four output channels from k on, all taps and input channels of group g.
    kh, kw, cg = w.shape[0], w.shape[1], w.shape[2]
    d0, d1, d2, d3 = acc[k, :n], acc[k + 1, :n], acc[k + 2, :n], acc[k + 3, :n]
    for f in range(n):
        d0[f] = 0
        d1[f] = 0
        d2[f] = 0
        d3[f] = 0
    for a in range(kh):
        u, off_a = (a * dh) % sh, ((a * dh) // sh) * q_len
        for b in range(kw):
            off = (u * sw + (b * dw) % sw) * f_len + off_a + (b * dw) // sw
            for c0 in range(0, cg - 1, 2):
                s0, s1 = t[g * cg + c0, off : off + n], t[g * cg + c0 + 1, off : off + n]
                we, wf = w[a, b, c0, k : k + 4], w[a, b, c0 + 1, k : k + 4]
                e0, e1, e2, e3 = we[0], we[1], we[2], we[3]
                f0, f1, f2, f3 = wf[0], wf[1], wf[2], wf[3]
                for f in range(n):
                    x0, x1 = s0[f], s1[f]
                    d0[f] += e0 * x0 + f0 * x1
                    d1[f] += e1 * x0 + f1 * x1
                    d2[f] += e2 * x0 + f2 * x1
                    d3[f] += e3 * x0 + f3 * x1
            if cg % 2:
                s0 = t[g * cg + cg - 1, off : off + n]
                we = w[a, b, cg - 1, k : k + 4]
                e0, e1, e2, e3 = we[0], we[1], we[2], we[3]
                for f in range(n):
                    x0 = s0[f]
                    d0[f] += e0 * x0
                    d1[f] += e1 * x0
                    d2[f] += e2 * x0
                    d3[f] += e3 * x0


@jit
def _one(t, w, acc, g, k, sh, sw, dh, dw, q_len, f_len, n):
    # acc[k, :n] = output channel k (the last channels of a group whose width is not a multiple of four).
    kh, kw, cg = w.shape[0], w.shape[1], w.shape[2]
    d0 = acc[k, :n]
    for f in range(n):
        d0[f] = 0
    for a in range(kh):
        u, off_a = (a * dh) % sh, ((a * dh) // sh) * q_len
        for b in range(kw):
            off = (u * sw + (b * dw) % sw) * f_len + off_a + (b * dw) // sw
            for c in range(cg):
                s0, e0 = t[g * cg + c, off : off + n], w[a, b, c, k]
                for f in range(n):
                    d0[f] += e0 * s0[f]


@jit
def planes(t, w, acc, groups, sh, sw, dh, dw, q_len, f_len, n):
    # acc (O, >= n): acc[o, f] for the first n flat outputs of the block held in t (see gather).
    og = w.shape[3] // groups
    for g in range(groups):
        k, end = g * og, (g + 1) * og
        while k + 4 <= end:
            _four(t, w, acc, g, k, sh, sw, dh, dw, q_len, f_len, n)
            k += 4
        while k < end:
            _one(t, w, acc, g, k, sh, sw, dh, dw, q_len, f_len, n)
            k += 1


@jit
def scatter(acc, y, b0, images, rows, r0, nrows, j0, ncols, q_len):
    # y[b0 + m, r0 + i, j0 + j] = acc[:, (m * rows + i) * Q + j] for the block's valid outputs.
    o = y.shape[3]
    for m in range(images):
        for i in range(nrows):
            out = y[b0 + m, r0 + i]
            for j in range(ncols):
                f = (m * rows + i) * q_len + j
                dst = out[j0 + j]
                for k in range(o):
                    dst[k] = acc[k, f]
