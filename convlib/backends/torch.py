"""convlib's algorithms written in torch operations, for a CPU or a CUDA device.

Not a call to ``torch.nn.functional.conv2d``: each engine below re-writes one NumPy engine of
:mod:`convlib.fast` with ``F.pad``, ``unfold``, ``matmul`` and ``torch.fft``, so the same
algorithm can be timed on a GPU. Validation and sizes come from
:func:`convlib.shapes.check_conv_shapes`; ``"auto"`` uses :func:`convlib.fast.choose_algorithm`
(the rule tuned on the CPU, not on a GPU). What is shared and where they differ, exactly:

- **Shared plans.** The Winograd transforms ``B^T, G, A^T`` are the NumPy engine's
  (:func:`convlib.engines.winograd.transforms`), applied as the same ``kron`` products; the im2col
  engine streams the same row blocks (:func:`convlib.fast.blocks`, same byte budget);
  the tap order of the shifted engine and the window order of naive are the NumPy ones.
- **im2col** gathers with ``unfold``, whose patch order is ``(C, kh, kw)`` instead of NumPy's
  ``(kh, kw, C)``; the kernel is reordered to match, so the sums are the same but in another order.
- **shifted** runs one product per tap over strided views of the padded input; the NumPy engine
  instead flattens the image, splits a stride into its phases and uses contiguous row slices
  (computing ``W_p - W_out`` discarded columns). Same taps, different memory traffic.
- **winograd** transforms all tiles at once; the NumPy engine does it in cache-sized blocks.
- **fft** transforms the whole padded image (``rfft2`` of ``H_p x W_p``); the NumPy engine uses
  overlap-save tiles of a power-of-two size. Both subsample the stride-1 result for a stride.
- **groups**: im2col runs them as one batched product (``bmm`` over the groups), as the NumPy
  engine does; shifted, Winograd and FFT loop over the groups, as in NumPy.
- **grouped_jit** runs the same channel rounds (:func:`convlib.fast.grouped_jit.rounds`),
  each a tap accumulation like depthwise's; **planes_jit** makes the same channel planes (row
  and column phases, rows end to end at :func:`convlib.fast.planes_jit.plane_width`) and adds
  every tap as one shifted run of them, but for the whole batch at once and as one batched
  product over the groups per tap (``baddbmm``); the NumPy engine goes block by block, four
  output channels at a time; **winograd** splits a dilated layer into the same
  phases, of the input padded once.
- **depthwise** and **depthwise_jit** are one torch implementation: the tap accumulation of
  :mod:`convlib.engines.depthwise` (each tap a strided view times per-channel weights, added
  into the output, channels innermost). There is no numba here: on a GPU the elementwise
  kernels of torch are the fused pass, and on the CPU this path is the reference loop.
- **taps** runs one product per tap over the outputs that tap reads inside the input, the
  rectangles of :func:`convlib.engines.taps.tap_ranges`.
- The padding is one ``F.pad`` of the whole input (on a GPU there is no 64 MiB promise).

Nothing here imports :mod:`convlib.proof` or changes torch's global flags; the comparisons in
:mod:`convlib.proof` turn TF32 off through :func:`convlib.proof.frameworks.load_torch`.
"""

from __future__ import annotations

import numpy as np

from ..engines import depthwise, shifted, taps, winograd
from ..fast import blocks, check_supported, choose_algorithm, grouped_jit, planes_jit
from ..layout import check_bias, compute_dtype, dtype_error
from ..padding import check_mode_pads
from ..shapes import check_conv_shapes, effective_kernel_size, span, window_count

__all__ = ["conv2d", "TORCH_ENGINES"]

_TORCH_MODES = {"reflect": "reflect", "replicate": "replicate", "circular": "circular"}


def _tensor(torch, a, name, device):
    """``a`` as a floating torch tensor on ``device`` (NumPy arrays are shared, not copied, on CPU)."""
    if a is None:
        return None
    if not isinstance(a, torch.Tensor):
        if isinstance(a, (str, bytes)):
            raise ValueError(f"{name} must be a numeric array, got {type(a).__name__}")
        arr = np.asarray(a)
        if arr.dtype.type not in (np.float16, np.float32, np.float64):
            raise ValueError(f"{name} must be float16, float32 or float64, got dtype {arr.dtype}")
        a = torch.from_numpy(np.ascontiguousarray(arr))
    if a.dtype not in (torch.float16, torch.float32, torch.float64):
        raise ValueError(f"{name} must be float16, float32 or float64, got dtype {a.dtype}")
    return a.to(device)


def _pad(torch, x, pads, mode):
    """Pad NHWC ``x`` by ``((top, bottom), (left, right))`` in a mode that check_mode_pads passed."""
    (t, b), (left, r) = pads
    if t == b == left == r == 0:
        return x
    f = torch.nn.functional
    if mode == "zeros":
        return f.pad(x, (0, 0, left, r, t, b))
    y = f.pad(x.permute(0, 3, 1, 2), (left, r, t, b), mode=_TORCH_MODES[mode])
    return y.permute(0, 2, 3, 1)


def _out_hw(xp, w, stride, dilation):
    (sh, sw), (dh, dw) = stride, dilation
    eh, ew = effective_kernel_size(w.shape[0], dh), effective_kernel_size(w.shape[1], dw)
    return (
        window_count(xp.shape[1], w.shape[0], stride=sh, dilation=dh),
        window_count(xp.shape[2], w.shape[1], stride=sw, dilation=dw),
        eh,
        ew,
    )


def _naive(torch, xp, w, stride, dilation, groups):
    """One window at a time, as :func:`convlib.engines.naive.conv` (small inputs only)."""
    ho, wo, eh, ew = _out_hw(xp, w, stride, dilation)
    (sh, sw), (dh, dw) = stride, dilation
    kh, kw, cg, o = w.shape
    og = o // groups
    y = xp.new_zeros((xp.shape[0], ho, wo, o))
    for i in range(ho):
        for j in range(wo):
            win = xp[:, i * sh : i * sh + eh : dh, j * sw : j * sw + ew : dw]
            for g in range(groups):
                part = win[..., g * cg : (g + 1) * cg]
                y[:, i, j, g * og : (g + 1) * og] = torch.tensordot(
                    part, w[..., g * og : (g + 1) * og], dims=3
                )
    return y


def _im2col(torch, xp, w, stride, dilation, groups):
    """``unfold`` one block of rows at a time, then one batched ``matmul`` over the groups."""
    ho, wo, eh, ew = _out_hw(xp, w, stride, dilation)
    (sh, sw) = stride
    kh, kw, cg, o = w.shape
    og, k = o // groups, kh * kw * cg
    # unfold orders a patch (C, kh, kw), so a group's k columns are contiguous: reorder the kernel.
    wm = w.reshape(kh, kw, cg, groups, og).permute(3, 2, 0, 1, 4).reshape(groups, k, og)
    y = xp.new_empty((xp.shape[0], ho, wo, o))
    x_nchw = xp.permute(0, 3, 1, 2)
    for b0, b1, r0, r1 in blocks(xp.shape[0], ho, wo * k * groups * xp.element_size()):
        part = x_nchw[b0:b1, :, r0 * sh : span(r1, sh, eh)]
        cols = torch.nn.functional.unfold(part, (kh, kw), dilation=dilation, stride=stride)  # (B, C*k, L)
        nb, length = cols.shape[0], cols.shape[2]
        cols = cols.reshape(nb, groups, k, length).permute(1, 0, 3, 2).reshape(groups, nb * length, k)
        prod = torch.bmm(cols, wm)  # (G, B*L, O/G)
        y[b0:b1, r0:r1] = prod.permute(1, 0, 2).reshape(nb, r1 - r0, wo, o)
    return y


def _depthwise(torch, xp, w, stride, dilation, groups):
    """Tap accumulation of :mod:`convlib.engines.depthwise`: per tap a strided view times its weights."""
    depthwise.check_supported(tuple(w.shape))
    ho, wo, _, _ = _out_hw(xp, w, stride, dilation)
    kh, kw, _, o = w.shape
    c = xp.shape[3]
    taps_w = w.reshape(kh, kw, c, o // c)
    y = xp.new_zeros((xp.shape[0], ho, wo, c, o // c))
    for a in range(kh):
        for b in range(kw):
            y.addcmul_(shifted.tap_slice(xp, a, b, (ho, wo), stride, dilation)[..., None], taps_w[a, b])
    return y.reshape(xp.shape[0], ho, wo, o)


def _taps(torch, xp, w, stride, dilation, groups, pads):
    """One product per tap over the outputs whose tap reads the (unpadded) input ``xp``."""
    (sh, sw), (dh, dw) = stride, dilation
    kh, kw, cg, o = w.shape
    og = o // groups
    hp, wp = xp.shape[1] + sum(pads[0]), xp.shape[2] + sum(pads[1])
    ho, wo = window_count(hp, kh, stride=sh, dilation=dh), window_count(wp, kw, stride=sw, dilation=dw)
    y = xp.new_zeros((xp.shape[0], ho, wo, o))
    for a, (i0, i1, r) in enumerate(taps.tap_ranges(xp.shape[1], ho, kh, sh, dh, pads[0][0])):
        for b, (j0, j1, q) in enumerate(taps.tap_ranges(xp.shape[2], wo, kw, sw, dw, pads[1][0])):
            if i1 <= i0 or j1 <= j0:
                continue
            src = xp[:, r : r + span(i1 - i0, sh) : sh, q : q + span(j1 - j0, sw) : sw]
            for g in range(groups):
                y[:, i0:i1, j0:j1, g * og : (g + 1) * og] += (
                    src[..., g * cg : (g + 1) * cg] @ w[a, b, :, g * og : (g + 1) * og]
                )
    return y


def _shifted(torch, xp, w, stride, dilation, groups):
    """One GEMM per tap over a strided view of the input, accumulated."""
    ho, wo, _, _ = _out_hw(xp, w, stride, dilation)
    kh, kw, cg, o = w.shape
    og = o // groups
    y = xp.new_zeros((xp.shape[0], ho, wo, o))
    for a in range(kh):
        for b in range(kw):
            view = shifted.tap_slice(xp, a, b, (ho, wo), stride, dilation)
            for g in range(groups):
                y[..., g * og : (g + 1) * og] += (
                    view[..., g * cg : (g + 1) * cg] @ w[a, b, :, g * og : (g + 1) * og]
                )
    return y


def _grouped(torch, xp, w, stride, dilation, groups):
    """The channel rounds of :func:`convlib.fast.grouped_jit.conv`, as tap accumulations."""
    ho, wo, _, _ = _out_hw(xp, w, stride, dilation)
    kh, kw, cg, o = w.shape
    chan, tap = (torch.as_tensor(a, device=xp.device) for a in grouped_jit.rounds(tuple(w.shape), groups))
    outs = torch.arange(o, device=xp.device)
    y = xp.new_zeros((xp.shape[0], ho, wo, o))
    for r in range(cg):
        xr, wr = xp[..., chan[r]], w[:, :, tap[r], outs]  # round r: one input channel per output
        for a in range(kh):
            for b in range(kw):
                y.addcmul_(shifted.tap_slice(xr, a, b, (ho, wo), stride, dilation), wr[a, b])
    return y


def _planes(torch, xp, w, stride, dilation, groups):
    """The channel planes of :func:`convlib.fast.planes_jit.conv`: each tap one shifted run of them."""
    ho, wo, _, _ = _out_hw(xp, w, stride, dilation)
    n, hp, wp, c = xp.shape
    kh, kw, cg, o = w.shape
    (sh, sw), (dh, dw), og = stride, dilation, o // groups
    rows, q = planes_jit.plane_width(ho, kh, sh, dh), planes_jit.plane_width(wo, kw, sw, dw)
    # Padded rows r * s_h + u and columns q * s_w + v; cells past the padded input are zeros.
    big = xp.new_zeros((n, rows * sh, q * sw, c))
    hh, ww = min(rows * sh, hp), min(q * sw, wp)
    big[:, :hh, :ww] = xp[:, :hh, :ww]
    planes = big.reshape(n, rows, sh, q, sw, c).permute(5, 2, 4, 0, 1, 3).reshape(groups, cg, sh, sw, -1)
    flat = ((n - 1) * rows + ho - 1) * q + wo  # up to the last valid output
    acc = xp.new_zeros((groups, og, flat))
    wg = w.reshape(kh, kw, cg, groups, og).permute(0, 1, 3, 4, 2)  # (kh, kw, G, O/G, C/G)
    for a in range(kh):
        for b in range(kw):
            off = ((a * dh) // sh) * q + (b * dw) // sw
            run = planes[:, :, (a * dh) % sh, (b * dw) % sw, off : off + flat]
            acc.baddbmm_(wg[a, b], run)
    full = acc.new_zeros((o, n * rows * q))
    full[:, :flat] = acc.reshape(o, flat)
    return full.reshape(o, n, rows, q)[:, :, :ho, :wo].permute(1, 2, 3, 0)


def _winograd(torch, xp, w, stride, dilation, groups, m):
    """F(m x m, 3 x 3) with the transforms of :mod:`convlib.engines.winograd`; dilated by phases.

    ``xp`` is already padded, so a dilated layer is the undilated convolution of each phase
    ``xp[:, r::d_h, q::d_w]``, written to ``y[:, r::d_h, q::d_w]``, as in the NumPy engine.
    """
    if tuple(dilation) != (1, 1):
        (dh, dw), o = dilation, w.shape[3]
        ho, wo, _, _ = _out_hw(xp, w, stride, dilation)
        y = xp.new_empty((xp.shape[0], ho, wo, o))
        for r in range(min(dh, ho)):
            for q in range(min(dw, wo)):
                y[:, r::dh, q::dw] = _winograd(torch, xp[:, r::dh, q::dw], w, stride, (1, 1), groups, m)
        return y
    n, hp, wp, c = xp.shape
    _, _, cg, o = w.shape
    og, a = o // groups, m + 2
    ho, wo = window_count(hp, 3, stride=1, dilation=1), window_count(wp, 3, stride=1, dilation=1)
    th, tw = -(-ho // m), -(-wo // m)
    bt, gm, at = (torch.as_tensor(t, device=xp.device) for t in winograd.transforms(m, np.float64))
    bt, gm, at = (t.to(xp.dtype) for t in (bt, gm, at))
    in_t, out_t = torch.kron(bt, bt), torch.kron(at, at)
    u = (torch.kron(gm, gm) @ w.reshape(9, cg * o)).reshape(a * a, cg, o)  # as the NumPy engine
    # Zero rows/columns at the bottom/right so the last tile is whole (H_p = H_out + 2 <= th*m + 2).
    xs = torch.nn.functional.pad(xp, (0, 0, 0, tw * m + 2 - wp, 0, th * m + 2 - hp))
    tiles = xs.unfold(1, a, m).unfold(2, a, m)  # (N, th, tw, C, a, a)
    t = n * th * tw
    y = xp.new_empty((n, th * m, tw * m, o))
    for g in range(groups):
        d = tiles[:, :, :, g * cg : (g + 1) * cg].permute(4, 5, 0, 1, 2, 3).reshape(a * a, -1)
        v = (in_t @ d).reshape(a * a, t, cg)
        prod = torch.bmm(v, u[:, :, g * og : (g + 1) * og])
        yt = (out_t @ prod.reshape(a * a, -1)).reshape(m, m, n, th, tw, og)
        y[..., g * og : (g + 1) * og] = yt.permute(2, 3, 0, 4, 1, 5).reshape(n, th * m, tw * m, og)
    return y[:, :ho, :wo]


def _fft(torch, xp, w, stride, dilation, groups):
    """Whole-image FFT (``rfft2`` of size ``H_p x W_p``), stride by subsampling."""
    ho, wo, eh, ew = _out_hw(xp, w, stride, dilation)
    (sh, sw), (dh, dw) = stride, dilation
    n, hp, wp, c = xp.shape
    kh, kw, cg, o = w.shape
    og = o // groups
    kd = xp.new_zeros((eh, ew, cg, o))
    kd[::dh, ::dw] = w
    kf = torch.fft.rfft2(torch.flip(kd, (0, 1)), s=(hp, wp), dim=(0, 1))  # (Hp, Wp/2+1, Cg, O)
    y = xp.new_empty((n, ho, wo, o))
    for g in range(groups):
        xf = torch.fft.rfft2(xp[..., g * cg : (g + 1) * cg], dim=(1, 2))  # (N, Hp, Wp/2+1, Cg)
        yf = torch.einsum("nhwc,hwco->nhwo", xf, kf[..., g * og : (g + 1) * og])
        full = torch.fft.irfft2(yf, s=(hp, wp), dim=(1, 2))[:, eh - 1 :, ew - 1 :]
        y[..., g * og : (g + 1) * og] = full[:, ::sh, ::sw][:, :ho, :wo]
    return y


TORCH_ENGINES = {
    "naive": _naive,
    "im2col": _im2col,
    "shifted": _shifted,
    "winograd_f2": lambda torch, *a: _winograd(torch, *a, m=2),
    "winograd_f4": lambda torch, *a: _winograd(torch, *a, m=4),
    "fft": _fft,
    "depthwise": _depthwise,
    "depthwise_jit": _depthwise,
    "grouped_jit": _grouped,
    "planes_jit": _planes,
    "taps": _taps,  # called on the unpadded input with the pads (see conv2d)
}


def conv2d(
    x,
    w,
    b=None,
    *,
    stride=1,
    padding="valid",
    dilation=1,
    groups: int = 1,
    data_format: str = "NHWC",
    padding_mode: str = "zeros",
    algorithm: str = "auto",
    device=None,
):
    """:func:`convlib.conv2d` computed with torch operations (cross-correlation, as in both frameworks).

    Parameters
    ----------
    x, w, b : numpy.ndarray or torch.Tensor
        Input, kernel (HWIO for NHWC, OIHW for NCHW) and optional bias ``(C_out,)``.
    stride, padding, dilation, groups, data_format, padding_mode
        As in :func:`convlib.conv2d`.
    algorithm : str
        ``"auto"`` or a name from :data:`TORCH_ENGINES` (the same names as the NumPy engines).
    device : str or torch.device, optional
        Where to compute; default: ``x``'s device for a tensor, else ``"cpu"``.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        The same kind as ``x`` (a tensor stays on ``device``), in ``x``'s dtype.

    Raises
    ------
    ValueError
        Invalid arguments (from :func:`convlib.shapes.check_conv_shapes`), an unknown algorithm,
        Winograd asked for a layer that is not 3x3 with stride 1 and dilation 1, depthwise for
        a kernel with more than one input channel per group, or taps with non-zero padding.

    Shape
    -----
    ``H_out = floor((H + p_top + p_bottom - d*(k-1) - 1) / s) + 1``, likewise for the width.

    Examples
    --------
    >>> y = conv2d(np.arange(16.0).reshape(1, 4, 4, 1), np.ones((2, 2, 1, 1)), algorithm="im2col")
    >>> y[0, :, :, 0]
    array([[10., 14., 18.],
           [26., 30., 34.],
           [42., 46., 50.]])
    """
    import torch

    as_numpy = not isinstance(x, torch.Tensor)
    if device is None:
        device = "cpu" if as_numpy else x.device
    xt, wt, bt = (_tensor(torch, a, n, device) for a, n in ((x, "x"), (w, "w"), (b, "b")))
    dtypes = {n: t.dtype for n, t in (("x", xt), ("w", wt), ("b", bt)) if t is not None}
    if len(set(dtypes.values())) > 1:
        raise dtype_error(dtypes)
    geo = check_conv_shapes(
        tuple(xt.shape),
        tuple(wt.shape),
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        data_format=data_format,
    )
    mode = check_mode_pads(geo.in_hw, geo.pads, padding_mode)
    if bt is not None:
        check_bias(tuple(bt.shape), geo.out_channels)
    nchw = geo.data_format == "NCHW"
    x4 = xt if geo.batch is not None else xt[None]
    x4 = x4.permute(0, 2, 3, 1) if nchw else x4
    w4 = wt.permute(2, 3, 1, 0) if nchw else wt
    # float16 is accumulated in float32 and rounded once, as in the NumPy path.
    compute = getattr(torch, np.dtype(compute_dtype(str(xt.dtype).removeprefix("torch."))).name)
    x4, w4 = x4.to(compute), w4.to(compute).contiguous()
    name = algorithm
    if algorithm == "auto":
        (t, b_), (left, r) = geo.pads
        padded = (x4.shape[0], x4.shape[1] + t + b_, x4.shape[2] + left + r, x4.shape[3])
        name = choose_algorithm(
            padded, tuple(w4.shape), stride=geo.stride, dilation=geo.dilation, groups=geo.groups,
            pads=geo.pads, padding_mode=mode,
        )  # fmt: skip
    if not isinstance(name, str) or name not in TORCH_ENGINES:
        raise ValueError(f"algorithm must be 'auto' or one of {sorted(TORCH_ENGINES)}, got {algorithm!r}")
    check_supported(name, tuple(w4.shape), geo.stride, geo.dilation, mode)  # the NumPy engines' limits
    if name == "taps":
        y = _taps(torch, x4.contiguous(), w4, geo.stride, geo.dilation, geo.groups, geo.pads)
    else:
        xp = _pad(torch, x4, geo.pads, mode).contiguous()
        y = TORCH_ENGINES[name](torch, xp, w4, geo.stride, geo.dilation, geo.groups)
    if bt is not None:
        y = y + bt.to(compute)
    y = y.permute(0, 3, 1, 2) if nchw else y
    y = (y if geo.batch is not None else y[0]).contiguous().to(xt.dtype)
    return y.cpu().numpy() if as_numpy else y
