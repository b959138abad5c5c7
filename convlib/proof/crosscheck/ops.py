"""Transposed convolution, pooling and gradients through TensorFlow, PyTorch and convlib."""

from __future__ import annotations

import numpy as np

from ...layout import as_float_array
from ...padding import normalize_padding_mode, normalize_pair
from ...shapes import check_conv_shapes, check_data_format, check_pool_shape, check_transpose_shapes
from ..frameworks import load_tf, load_torch
from .conv import _canonical, _tf_pad_mode
from .report import Outcome, Report, run, tolerance


def _nchw(a):
    return _canonical(a.transpose(0, 3, 1, 2))


def _nhwc(a):
    return _canonical(a.transpose(0, 2, 3, 1))


def crosscheck_conv_transpose2d(
    x, w, b=None, *, stride=1, padding=0, output_padding=None, dilation=1, groups=1, data_format="NHWC"
) -> Report:
    """:func:`convlib.conv_transpose2d` next to ``tf.nn.conv2d_transpose``, Keras and PyTorch.

    4-D ``x`` in ``data_format``; ``w`` as convlib takes it. TensorFlow gets the output shape
    convlib computed; Keras ``Conv2DTranspose`` runs only for the words "valid"/"same" with
    groups 1; PyTorch runs natively when the pads are symmetric, else at padding 0 and is
    then cropped (``F.pad`` with negative widths) and zero-extended by ``output_padding``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> r = crosscheck_conv_transpose2d(rng.standard_normal((1, 4, 4, 2)), rng.standard_normal((3, 3, 5, 2)),
    ...                                 stride=2, padding="same")
    >>> r.agree, r.reference.shape
    (True, (1, 8, 8, 5))
    """
    from ...transpose import conv_transpose2d

    tf, torch = load_tf(), load_torch()
    fmt = check_data_format(data_format)
    kw = dict(stride=stride, padding=padding, output_padding=output_padding, dilation=dilation)
    ref = run("convlib", lambda: conv_transpose2d(x, w, b, groups=groups, data_format=fmt, **kw))
    xa, wa = as_float_array(x, "x"), as_float_array(w, "w")
    x_tf = xa if fmt == "NHWC" else _nhwc(xa)
    w_tf = wa if fmt == "NHWC" else _canonical(wa.transpose(2, 3, 1, 0))  # (kh, kw, O/g, I)
    back = (lambda y: y) if fmt == "NHWC" else _nchw
    crops = None
    if not ref.refused:
        axes = check_transpose_shapes(xa.shape, wa.shape, groups=groups, data_format=fmt, **kw).axes
        crops = tuple((a.before, a.after, a.left) for a in axes)
    word = padding.upper() if isinstance(padding, str) else None

    def tf_call():
        if crops is None:
            raise ValueError("configuration refused before reaching the framework")
        (t, bt, _), (lf, r, _) = crops
        shape = (
            ref.output.shape
            if fmt == "NHWC"
            else (ref.output.shape[0], *ref.output.shape[2:], ref.output.shape[1])
        )
        pad = word or [[0, 0], [t, bt], [lf, r], [0, 0]]
        y = tf.nn.conv2d_transpose(x_tf, w_tf, shape, strides=stride, padding=pad, dilations=dilation).numpy()
        return back(y + (0 if b is None else b))

    def keras_call():
        if word is None or groups != 1:
            raise ValueError("Keras Conv2DTranspose: only 'valid'/'same' padding and groups=1 are compared")
        layer = tf.keras.layers.Conv2DTranspose(
            w_tf.shape[2],
            w_tf.shape[:2],
            strides=stride,
            padding=padding,
            output_padding=output_padding,
            dilation_rate=dilation,
            use_bias=b is not None,
            dtype=x_tf.dtype.name,
        )
        layer.build(x_tf.shape)
        layer.set_weights([w_tf] + ([] if b is None else [b]))
        return back(layer(x_tf).numpy())

    def torch_call():
        if crops is None:
            raise ValueError("configuration refused before reaching the framework")
        F = torch.nn.functional
        (t, bt, eh), (lf, r, ew) = crops
        xt, wt = (
            torch.from_numpy(_nchw(x_tf)),
            torch.from_numpy(_canonical(w_tf.transpose(3, 2, 0, 1))),
        )
        bias = None if b is None else torch.from_numpy(np.asarray(b))
        lim = [max(_pair(stride, i), _pair(dilation, i)) for i in (0, 1)]
        if t == bt and lf == r and eh < lim[0] and ew < lim[1]:
            y = F.conv_transpose2d(
                xt,
                wt,
                bias,
                stride=stride,
                padding=(t, lf),
                output_padding=(eh, ew),
                dilation=dilation,
                groups=groups,
            )
        else:
            y = F.pad(
                F.conv_transpose2d(xt, wt, None, stride=stride, dilation=dilation, groups=groups),
                (-lf, ew - r, -t, eh - bt),
            )
            y = y if bias is None else y + bias[:, None, None]
            how["torch"] = f"F.conv_transpose2d(padding=0) then F.pad(y, {(-lf, ew - r, -t, eh - bt)})"
        y = y.numpy()
        return y if fmt == "NCHW" else _nhwc(y)

    how = {"torch": "F.conv_transpose2d"}
    torch_run = run("PyTorch", torch_call)
    torch_run.how = how["torch"]
    others = [
        run("TensorFlow", tf_call, "tf.nn.conv2d_transpose"),
        run("Keras", keras_call, "Conv2DTranspose"),
        torch_run,
    ]
    pads = None if crops is None else tuple(c[:2] for c in crops)
    return Report(ref, others, tolerance(xa.dtype), pads=pads)


def _pair(v, i):
    return int(v) if np.isscalar(v) else int(tuple(v)[i])


def crosscheck_pool2d(
    kind,
    x,
    pool_size,
    strides=None,
    padding="valid",
    *,
    ceil_mode=False,
    count_include_pad=True,
    dilation=1,
    data_format="NHWC",
) -> Report:
    """:func:`convlib.max_pool2d` / :func:`convlib.avg_pool2d` next to TensorFlow and PyTorch.

    ``kind`` is ``"max"`` or ``"avg"``; ``x`` is 4-D in ``data_format``. TensorFlow
    (``tf.nn.max_pool2d`` / ``avg_pool2d``) takes only "SAME"/"VALID"; numeric pads are
    given to it as ``tf.pad`` (-inf for max, zeros for avg with ``count_include_pad``) then
    "VALID", and anything else is recorded as a refusal. PyTorch takes symmetric numbers
    natively; TF's "same" is emulated with ``F.pad`` (max) or a sum / real-cell-count ratio (avg).

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal((1, 5, 5, 2))
    >>> crosscheck_pool2d("avg", x, 2, padding="same").agree
    True
    """
    from ...pool import avg_pool2d, max_pool2d

    tf, torch = load_tf(), load_torch()
    F = torch.nn.functional
    fmt = check_data_format(data_format)
    if kind not in ("max", "avg"):
        raise ValueError(f"kind must be 'max' or 'avg', got {kind!r}")
    xa = as_float_array(x, "x")
    x_tf = xa if fmt == "NHWC" else _nhwc(xa)
    back = (lambda y: y) if fmt == "NHWC" else _nchw
    opts = dict(ceil_mode=ceil_mode, data_format=fmt)
    if kind == "max":
        fn, opts["dilation"] = max_pool2d, dilation
    else:
        fn, opts["count_include_pad"] = avg_pool2d, count_include_pad
    ref = run("convlib", lambda: fn(x, pool_size, strides, padding, **opts))
    axes = (
        None
        if ref.refused
        else [
            (a.k, a.stride, a.dilation, a.before, a.after, a.overhang, a.out)
            for a in check_pool_shape(
                x_tf.shape, pool_size, strides, padding, dilation=dilation, ceil_mode=ceil_mode
            ).axes
        ]
    )
    word = padding.lower() if isinstance(padding, str) else None
    fill = -np.inf if kind == "max" else 0.0

    def tf_call():
        if ceil_mode or normalize_pair(dilation, "dilation") != (1, 1):
            raise ValueError("tf.nn pooling has no ceil_mode or dilation")
        op = tf.nn.max_pool2d if kind == "max" else tf.nn.avg_pool2d
        if word is not None:  # the literal request, so that TF's own refusal shows where convlib refused
            return back(op(x_tf, pool_size, pool_size if strides is None else strides, word.upper()).numpy())
        if axes is None:
            raise ValueError("configuration refused before reaching the framework")
        ks, ss = [a[0] for a in axes], [a[1] for a in axes]
        if kind == "avg" and not count_include_pad:
            raise ValueError("tf.nn.avg_pool2d cannot leave explicit zero padding out of the count")
        xp = tf.pad(x_tf, [[0, 0], axes[0][3:5], axes[1][3:5], [0, 0]], constant_values=fill)
        return back(op(xp, ks, ss, "VALID").numpy())

    def torch_call():
        xt = torch.from_numpy(_nchw(x_tf))
        if axes is None and word is None:  # convlib refused: the literal request, so PyTorch's error shows
            fn = F.max_pool2d if kind == "max" else F.avg_pool2d
            extra = dict(dilation=dilation) if kind == "max" else dict(count_include_pad=count_include_pad)
            return fn(xt, pool_size, strides, padding, ceil_mode=ceil_mode, **extra).numpy()
        if axes is None:
            raise ValueError("configuration refused before reaching the framework")
        (kh, sh, dh, t, bt, *_), (kw, sw, dw, lf, r, *_) = axes
        if word == "same":
            xp = F.pad(xt, (lf, r, t, bt), value=fill)
            if kind == "max":
                y = F.max_pool2d(xp, (kh, kw), (sh, sw), dilation=(dh, dw))
            else:  # TF divides by the real cells: average of x over average of a real-cell mask
                y = F.avg_pool2d(xp, (kh, kw), (sh, sw)) / F.avg_pool2d(
                    F.pad(torch.ones_like(xt), (lf, r, t, bt)), (kh, kw), (sh, sw)
                )
        elif t != bt or lf != r:
            raise ValueError("PyTorch pooling takes symmetric padding only")
        elif kind == "max":
            y = F.max_pool2d(xt, (kh, kw), (sh, sw), (t, lf), dilation=(dh, dw), ceil_mode=ceil_mode)
        else:
            y = F.avg_pool2d(
                xt, (kh, kw), (sh, sw), (t, lf), ceil_mode=ceil_mode, count_include_pad=count_include_pad
            )
        y = y.numpy()
        return y if fmt == "NCHW" else _nhwc(y)

    others = [
        run("TensorFlow", tf_call, f"tf.nn.{kind}_pool2d"),
        run("PyTorch", torch_call, f"F.{kind}_pool2d"),
    ]
    pads = None if axes is None else tuple(tuple(a[3:5]) for a in axes)
    return Report(ref, others, tolerance(xa.dtype), pads=pads)


def crosscheck_backward(
    x,
    w,
    grad_out,
    *,
    stride=1,
    padding="valid",
    dilation=1,
    groups=1,
    data_format="NHWC",
    padding_mode="zeros",
) -> dict:
    """:func:`convlib.conv2d_backward` next to ``tf.GradientTape`` and ``torch.autograd``.

    Both frameworks differentiate "pad (``tf.pad``/gather or ``F.pad``), then a valid
    ``conv2d``" with convlib's resolved pads, so every padding and mode is compared.
    Returns ``{"grad_x": Report, "grad_w": Report, "grad_b": Report}``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x, w = rng.standard_normal((1, 6, 7, 2)), rng.standard_normal((3, 3, 2, 4))
    >>> r = crosscheck_backward(x, w, rng.standard_normal((1, 3, 4, 4)), stride=2, padding="same")
    >>> [rep.agree for rep in r.values()]
    [True, True, True]
    """
    from ...grad import conv2d_backward

    tf, torch = load_tf(), load_torch()
    F = torch.nn.functional
    fmt, mode = check_data_format(data_format), normalize_padding_mode(padding_mode)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    ours = run(
        "convlib",
        lambda: np.concatenate(
            [a.ravel() for a in conv2d_backward(x, w, grad_out, data_format=fmt, padding_mode=mode, **kw)]
        ),
    )
    xa, wa, ga = as_float_array(x, "x"), as_float_array(w, "w"), as_float_array(grad_out, "grad_out")
    x_tf, g_tf = (xa, ga) if fmt == "NHWC" else (_nhwc(xa), _nhwc(ga))
    w_tf = wa if fmt == "NHWC" else _canonical(wa.transpose(2, 3, 1, 0))
    pads = None if ours.refused else check_conv_shapes(x_tf.shape, w_tf.shape, **kw).pads
    bias = np.zeros(w_tf.shape[3], dtype=xa.dtype)
    # TF 2.21's oneDNN gradient of a strided 1x1 conv with fewer input channels than its SIMD
    # block (16 on AVX-512) writes past its workspace (oneDNN issue #6035): the heap is
    # corrupted and glibc aborts the process thousands of calls later. A 1x1 conv with stride s
    # reads exactly x[::s, ::s], so TF differentiates that slice under a stride-1 1x1 conv.
    sh_sw = normalize_pair(stride, "stride") if pads is not None else (1, 1)
    one_by_one_strided = w_tf.shape[:2] == (1, 1) and sh_sw != (1, 1)
    tf_how = "tf.GradientTape" + (" of x[::s, ::s] (oneDNN #6035)" if one_by_one_strided else "")

    def tf_call():
        (t, bt), (lf, r) = pads
        xt, wt, bt_ = tf.constant(x_tf), tf.constant(w_tf), tf.constant(bias)
        with tf.GradientTape() as tape:
            tape.watch([xt, wt, bt_])
            xp = (
                _tf_pad_mode(tf, xt, pads, mode)
                if mode != "zeros"
                else tf.pad(xt, [[0, 0], [t, bt], [lf, r], [0, 0]])
            )
            if one_by_one_strided:  # the same conv, minus oneDNN's defective strided 1x1 gradient
                xp, tf_stride = xp[:, :: sh_sw[0], :: sh_sw[1], :], 1
            else:
                tf_stride = stride
            y = tf.nn.conv2d(xp, wt, strides=tf_stride, padding="VALID", dilations=dilation)
            y = tf.nn.bias_add(y, bt_)
        gx, gw, gb = tape.gradient(y, [xt, wt, bt_], output_gradients=tf.constant(g_tf))
        gw = gw.numpy() if fmt == "NHWC" else gw.numpy().transpose(3, 2, 0, 1)
        return (gx.numpy() if fmt == "NHWC" else _nchw(gx.numpy())), gw, gb.numpy()

    def torch_call():
        (t, bt), (lf, r) = pads
        xt = torch.tensor(_nchw(x_tf), requires_grad=True)
        wt = torch.tensor(w_tf.transpose(3, 2, 0, 1).copy(), requires_grad=True)
        bt_ = torch.tensor(bias, requires_grad=True)
        xp = F.pad(xt, (lf, r, t, bt), mode="constant" if mode == "zeros" else mode)
        F.conv2d(xp, wt, bt_, stride=stride, dilation=dilation, groups=groups).backward(
            torch.from_numpy(_nchw(g_tf))
        )
        gw = wt.grad.numpy() if fmt == "NCHW" else wt.grad.numpy().transpose(2, 3, 1, 0)
        return (xt.grad.numpy() if fmt == "NCHW" else _nhwc(xt.grad.numpy())), gw, bt_.grad.numpy()

    results = {}
    for name, fn, how in (
        ("TensorFlow", tf_call, tf_how),
        ("PyTorch", torch_call, "torch.autograd"),
    ):
        if pads is None:
            results[name] = Outcome(
                name, error="ValueError: configuration refused before reaching the framework"
            )
            continue
        got = run(name, lambda fn=fn: np.concatenate([a.ravel() for a in fn()]), how=how)
        results[name] = got
    sizes, shapes = np.cumsum([xa.size, wa.size]), (xa.shape, wa.shape, bias.shape)
    reports = {}
    for i, key in enumerate(("grad_x", "grad_w", "grad_b")):

        def part(o, i=i):
            if o.refused:
                return Outcome(o.framework, error=o.error, how=o.how)
            return run(o.framework, lambda: np.split(o.output, sizes)[i].reshape(shapes[i]), how=o.how)

        reports[key] = Report(part(ours), [part(o) for o in results.values()], tolerance(xa.dtype), pads=pads)
    return reports
