"""The taps of one window along one axis: what each output position reads, in one run.

:func:`convlib.clean.clean_region` compares two runs of a network (the true-size input and the
zero canvas) tap by tap. A tap is a real cell ``("c", r, weight)``, a zero pad ``("z",)``, an
ignored pad ``("i",)`` (max pooling's pads, average pooling's uncounted ones) or nothing
``("n",)`` (a transposed convolution's tap that no input reaches). This module turns one node of
the graph, with its per-axis :class:`~convlib.shapes.WindowAxis` records, into that list for every
output position, for each op the clean region follows.
"""

from __future__ import annotations

import math

from .graph.ir import evaluate
from .padding import source_index

__all__ = ["hw", "taps", "cell"]

MIRROR = {"reflect", "replicate", "circular"}


def hw(shape) -> tuple[int, int]:
    """The spatial size of a ``(C, H, W)`` shape; ``(1, 1)`` for a flat one."""
    return (shape[1], shape[2]) if len(shape) == 3 else (1, 1)


def taps(node, i: int, n: int, shapes):
    """``o -> list of taps`` along axis ``i`` of ``node`` in one run whose input axis has ``n`` cells."""
    op, a, geo = node.op, node.attrs, shapes[node.name].axes
    n_out = hw(shapes[node.name].shape)[i]
    if op in ("conv", "max_pool", "avg_pool"):
        g = geo[i]
        include = op == "conv" or (
            op == "avg_pool" and a.get("count_include_pad", True) and a["padding"] != "same"
        )
        mode, pad = a.get("padding_mode", "zeros"), ("z",) if include else ("i",)
        lo, hi = -g.before, n + g.after  # taps beyond [lo, hi) are ceil_mode overhang: never counted
        return lambda o: [
            cell(r, n, mode) if 0 <= r < n or mode in MIRROR else pad if lo <= r < hi else ("i",)
            for r in range(o * g.stride - g.before, o * g.stride - g.before + g.window, g.dilation)
        ]
    if op in ("conv_transpose", "max_unpool"):
        if op == "conv_transpose":
            k, s, d, before = geo[i].k, geo[i].stride, geo[i].dilation, geo[i].before
        else:
            k, s, d, before = a["kernel"][i], a["stride"][i], 1, a["padding"][i]
        # Output o receives input j through tap t when j*s - before + t*d == o; other taps see nothing.
        return lambda o: [
            ("n",) if (o + before - t * d) % s else cell((o + before - t * d) // s, n, "zeros")
            for t in range(k)
        ]
    if op in ("pad", "crop"):
        pads = evaluate(a["pads"] if op == "pad" else a["crops"], {k: v.shape for k, v in shapes.items()})[i]
        before, mode = (pads[0], a.get("mode", "constant")) if op == "pad" else (-pads[0], "zeros")
        return lambda o: [cell(o - before, n, mode)]
    if op == "pixel_shuffle":
        r = a["factor"]
        return (
            (lambda o: [("c", o // r, 1.0)])
            if r > 0
            else (lambda o: [("c", o * -r + j, 1.0) for j in range(-r)])
        )
    if op == "upsample":
        return upsample_taps(a, i, n, n_out)
    if op in ("adaptive_pool", "global_pool"):  # PyTorch's bins: floor(o*n/m) to ceil((o+1)*n/m)
        m = 1 if op == "global_pool" else n_out
        return lambda o: [("c", r, 1.0) for r in range(o * n // m, -(-(o + 1) * n // m))]
    raise ValueError(f"clean_region: node {node.label} has op {op!r}, which it cannot follow")


def cell(r: int, n: int, mode: str):
    """Input position ``r`` as a tap: a cell, or a pad (zero, or the source cell of PyTorch's modes,
    from :func:`convlib.padding.source_index`)."""
    if 0 <= r < n:
        return ("c", r, 1.0)
    if mode not in MIRROR:
        return ("z",)
    before = max(-r, 0)
    return ("c", int(source_index(n, before, max(r - n + 1, 0), mode)[r + before]), 1.0)


def upsample_taps(a, i: int, n: int, n_out: int):
    """Nearest and bilinear resizing as PyTorch, Keras and ``tf.image.resize`` sample them."""
    inv = 1 / a["scale"][i] if a.get("scale") is not None else n / n_out
    mode = str(a.get("mode", "nearest")).lower()
    if mode == "nearest":
        return lambda o: [("c", min(math.floor(o * inv), n - 1), 1.0)]
    if mode not in ("bilinear", "linear"):
        raise ValueError(f"clean_region: upsampling mode {mode!r} is not followed (nearest and bilinear are)")
    corners = bool(a.get("align_corners"))

    def bilinear(o):
        # align_corners maps the corner cells onto each other, so the grid depends on both sizes.
        src = o * (n - 1) / max(n_out - 1, 1) if corners else max((o + 0.5) * inv - 0.5, 0.0)
        i0 = min(math.floor(src), n - 1)
        i1, lam = min(i0 + 1, n - 1), src - math.floor(src)
        taps = {i0: 1.0 - lam}
        taps[i1] = taps.get(i1, 0.0) + lam
        return [("c", r, w) for r, w in sorted(taps.items()) if w != 0.0]

    return bilinear
