"""Transposed convolution, pooling and gradients through TensorFlow, PyTorch and convlib."""

from __future__ import annotations

import numpy as np

from ...bridges import Inexpressible, express_conv_transpose2d, express_pool2d
from ...bridges.express import tf_pad_mode
from ...layout import as_float_array, hwio, nchw, nhwc, oihw
from ...padding import normalize_padding, normalize_padding_mode, normalize_pair
from ...shapes import (
    check_conv_shapes,
    check_data_format,
    check_pool_shape,
    check_transpose_shapes,
    resolve_padding,
)
from ..frameworks import load_tf, load_torch
from .report import Outcome, Report, cannot, run, tolerance


def _word(padding) -> str | None:
    p = normalize_padding(padding)
    return p if isinstance(p, str) else None


def _expression(framework, express, **kw):
    """``(Expression, None)``, or ``(None, reason)`` where the framework cannot express it."""
    try:
        return express(framework, **kw), None
    except Inexpressible as exc:
        return None, exc.reason
    except ValueError as exc:  # an argument no call can be written with: the framework is not called
        return None, f"not called: no call can be written for this request ({exc})"


def _convlib_refused(ref: Outcome) -> str:
    return f"convlib refused the request ({ref.error})"


KERAS_CANNOT = {
    "padding": "Keras Conv2DTranspose takes only the words 'valid'/'same', no numeric padding",
    "groups": "Keras Conv2DTranspose has no groups argument",
    "dilation": "Keras Conv2DTranspose refuses dilation_rate > 1 together with strides > 1",
}


def _keras_cannot(word, groups, dilation, stride) -> str | None:
    if word not in ("valid", "same"):
        return KERAS_CANNOT["padding"]
    if groups != 1:
        return KERAS_CANNOT["groups"]
    if normalize_pair(dilation, "dilation") != (1, 1) and normalize_pair(stride, "stride") != (1, 1):
        return KERAS_CANNOT["dilation"]
    return None


def _tf_accepted_sizes(expr, x_tf, w_tf, axes, groups) -> list[tuple[int, int]]:
    """The output sizes ``tf.nn.conv2d_transpose`` itself accepts for this input.

    TF takes ``output_shape`` as an argument and refuses any size its forward convolution
    would not map back onto the input; so every size within ``max(stride, dilation)`` of
    convlib's, on each axis (a bracket around the whole accepted range), is tried on the
    first example and the accepted ones are returned.
    """
    c = w_tf.shape[2] * groups  # the kernel holds C_out / groups filters
    brackets = []
    for a in axes:
        m = max(a.stride, a.dilation)
        brackets.append(range(max(1, a.n - m + 1), a.n + m))
    accepted = []
    for h in brackets[0]:
        for w in brackets[1]:
            try:
                expr.call(x_tf[:1], w_tf, None, output_shape=(1, h, w, c))
            except Exception:  # TF's refusal of this size is the answer sought
                continue
            accepted.append((h, w))
    return accepted


def _sizes_text(accepted) -> str:
    if not accepted:
        return "TF accepts none of the sizes tried"
    hs, ws = sorted({h for h, _ in accepted}), sorted({w for _, w in accepted})
    if len(hs) * len(ws) == len(accepted):
        return f"TF accepts H in {hs}, W in {ws}"
    return f"TF accepts (H, W) in {sorted(accepted)}"


def crosscheck_conv_transpose2d(
    x, w, b=None, *, stride=1, padding=0, output_padding=None, dilation=1, groups=1, data_format="NHWC"
) -> Report:
    """:func:`convlib.conv_transpose2d` next to ``tf.nn.conv2d_transpose``, Keras and PyTorch.

    4-D ``x`` in ``data_format``; ``w`` as convlib takes it. Each framework call is
    :func:`convlib.bridges.express_conv_transpose2d`'s (Keras ``Conv2DTranspose`` aside).

    TensorFlow's output size comes from TensorFlow, never from convlib: for the words
    "valid"/"same" it is the Keras layer's own output size; and every size near convlib's is
    tried on ``tf.nn.conv2d_transpose``, which refuses those its forward convolution does not
    map back onto the input. The accepted sizes are reported in ``how``; convlib's size must
    be among them (else ``SHAPE DIFFERS``) and the values must agree at that size.

    Named as unable (:attr:`Report.cannot`), from the configuration and not called: Keras
    with numeric padding, groups, or dilation together with a stride. Where convlib refuses,
    PyTorch gets the literal request (numeric padding; it has no padding words), and
    TensorFlow runs at the Keras layer's size (it has no size of its own to give).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> r = crosscheck_conv_transpose2d(rng.standard_normal((1, 4, 4, 2)), rng.standard_normal((3, 3, 5, 2)),
    ...                                 stride=2, padding="same")
    >>> r.agree, r.reference.shape, r.cannot
    (True, (1, 8, 8, 5), {})
    >>> r.others[0].how.split("; ")[1]
    'TF accepts H in [7, 8], W in [7, 8]'
    """
    from ...transpose import conv_transpose2d

    tf, _ = load_tf(), load_torch()
    fmt = check_data_format(data_format)
    kw = dict(stride=stride, padding=padding, output_padding=output_padding, dilation=dilation)
    ref = run("convlib", lambda: conv_transpose2d(x, w, b, groups=groups, data_format=fmt, **kw))
    xa, wa = as_float_array(x, "x"), as_float_array(w, "w")
    x_tf = xa if fmt == "NHWC" else nhwc(xa)
    w_tf = wa if fmt == "NHWC" else hwio(wa)  # (kh, kw, O/g, I)
    back = (lambda y: y) if fmt == "NHWC" else nchw
    axes = None
    if not ref.refused:
        axes = check_transpose_shapes(xa.shape, wa.shape, groups=groups, data_format=fmt, **kw).axes
    word = _word(padding) if isinstance(padding, str) else None
    common = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    if axes is not None:
        common.update(
            crops=tuple(a.pads for a in axes),
            output_padding=tuple(a.left for a in axes),
            out_hw=(axes[0].n, axes[1].n),
        )
    tf_expr, tf_cannot = _expression("tensorflow", express_conv_transpose2d, **common)
    pt_expr, pt_cannot = _expression("pytorch", express_conv_transpose2d, **common)
    keras_cannot = _keras_cannot(word, groups, dilation, stride)
    keras_hw = {}

    def keras_call():
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
        y = layer(x_tf).numpy()
        keras_hw["hw"] = y.shape[1:3]
        return back(y)

    how = {"TensorFlow": "" if tf_expr is None else tf_expr.source}

    def tf_call():
        if axes is None:  # convlib refused: only the Keras layer's size is TF's to try
            target = tuple(keras_hw["hw"])
            how["TensorFlow"] = f"{tf_expr.source}; run at {target} (size from Keras)"
            shape = (x_tf.shape[0], *target, w_tf.shape[2] * groups)
            return back(np.asarray(tf_expr.call(x_tf, w_tf, b, output_shape=shape)))
        accepted = _tf_accepted_sizes(tf_expr, x_tf, w_tf, axes, groups)
        ours = (axes[0].n, axes[1].n)
        if "hw" in keras_hw:  # the words: TF's size is the Keras layer's
            target, source = tuple(keras_hw["hw"]), "size from Keras"
        elif ours in accepted or not accepted:
            target, source = ours, "convlib's size, accepted by TF" if accepted else "convlib's size"
        else:
            target, source = accepted[0], "TF's first accepted size"
        how["TensorFlow"] = f"{tf_expr.source}; {_sizes_text(accepted)}; run at {target} ({source})"
        shape = (x_tf.shape[0], *target, w_tf.shape[2] * groups)
        return back(np.asarray(tf_expr.call(x_tf, w_tf, b, output_shape=shape)))

    if axes is None:  # convlib refused: PyTorch is asked the literal request, so its own answer shows
        pt_expr, pt_cannot = _torch_literal_transpose(output_padding, **common)

    def torch_call():
        y = pt_expr.call(nchw(x_tf), oihw(w_tf), b).numpy()
        return y if fmt == "NCHW" else nhwc(y)

    keras = cannot("Keras", keras_cannot, "Conv2DTranspose") if keras_cannot else run("Keras", keras_call)
    if not keras_cannot:
        keras.how = "Conv2DTranspose"
    if axes is None and not tf_cannot and "hw" not in keras_hw:
        tf_cannot = (
            "not called: tf.nn.conv2d_transpose needs an output_shape, and no size was given: "
            f"{_convlib_refused(ref)}, and the Keras layer gave none"
        )
    if tf_cannot:
        tf_run = cannot("TensorFlow", tf_cannot, "tf.nn.conv2d_transpose")
    else:
        tf_run = run("TensorFlow", tf_call)
        tf_run.how = how["TensorFlow"]
    if pt_cannot:
        pt_run = cannot("PyTorch", pt_cannot, "F.conv_transpose2d")
    else:
        pt_run = run("PyTorch", torch_call, pt_expr.source)
    others = [tf_run, keras, pt_run]
    pads = None if axes is None else tuple(a.pads for a in axes)
    return Report(ref, others, tolerance(xa.dtype), pads=pads)


def _torch_literal_transpose(output_padding, *, padding, stride, dilation, groups, **_):
    """PyTorch's call for a transposed request convlib refused: ``(Expression, None)`` with the
    literal numbers (per-side pads as a crop), or ``(None, reason)`` for a padding word."""
    if isinstance(padding, str):
        return None, f"F.conv_transpose2d has no padding words ({padding!r} is convlib's to read; it refused)"

    def literal(framework, **kw):
        return express_conv_transpose2d(framework, crops=normalize_padding(padding), **kw)

    op = output_padding or 0
    return _expression("pytorch", literal, stride=stride, dilation=dilation, groups=groups, output_padding=op)


def _literal_pool_pads(hw, pool_size, strides, padding, dilation):
    """``(pads, None)`` a pooling request names where convlib refused it, or ``(None, reason)``."""
    try:
        ks = normalize_pair(pool_size, "pool_size")
        ss = ks if strides is None else normalize_pair(strides, "strides")
        return resolve_padding(hw, ks, padding, stride=ss, dilation=dilation), None
    except (ValueError, TypeError, IndexError) as exc:
        return None, f"not called: the pads of padding={padding!r} cannot be read ({exc})"


TF_NO_NUMERIC_POOL = (
    "not called: numeric pooling pads are PyTorch's request, which TensorFlow gets only as the "
    "cross-check's tf.pad of pads convlib accepts"
)


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

    ``kind`` is ``"max"`` or ``"avg"``; ``x`` is 4-D in ``data_format``. Each framework call
    is :func:`convlib.bridges.express_pool2d`'s: TensorFlow takes the words natively,
    numbers as ``tf.pad`` then "VALID", dilation through ``tf.nn.pool`` (stride 1); PyTorch
    takes symmetric pads natively, other pads with ``F.pad`` (and a sum over the real-cell
    count where the padding is left out of an average, as in TF's "same").

    Named as unable (:attr:`Report.cannot`), from the configuration and not called: TensorFlow
    with ``ceil_mode``, with dilation and a stride > 1, or an average leaving explicit pads out
    of the count; PyTorch with ``ceil_mode`` and pads its ``padding=`` cannot take. Where
    convlib refuses, PyTorch gets numeric pads literally and a word as its pads (``"valid"``
    is 0); TensorFlow gets a word, never numeric pads (see :data:`TF_NO_NUMERIC_POOL`).

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal((1, 5, 5, 2))
    >>> crosscheck_pool2d("avg", x, 2, padding="same").agree
    True
    >>> crosscheck_pool2d("max", x, 2, ceil_mode=True).cannot
    {'TensorFlow': 'tf.nn pooling has no ceil_mode (pad the bottom/right by hand)'}
    """
    from ...pool import avg_pool2d, max_pool2d

    load_tf()
    torch = load_torch()
    F = torch.nn.functional
    fmt = check_data_format(data_format)
    if kind not in ("max", "avg"):
        raise ValueError(f"kind must be 'max' or 'avg', got {kind!r}")
    xa = as_float_array(x, "x")
    x_tf = xa if fmt == "NHWC" else nhwc(xa)
    back = (lambda y: y) if fmt == "NHWC" else nchw
    opts = dict(ceil_mode=ceil_mode, data_format=fmt)
    if kind == "max":
        fn, opts["dilation"] = max_pool2d, dilation
    else:
        fn, opts["count_include_pad"] = avg_pool2d, count_include_pad
    ref = run("convlib", lambda: fn(x, pool_size, strides, padding, **opts))
    geo = None
    if not ref.refused:
        geo = check_pool_shape(
            x_tf.shape, pool_size, strides, padding, dilation=dilation, ceil_mode=ceil_mode
        )
    pads, unread = (
        (geo.pads, None)
        if geo is not None
        else _literal_pool_pads(x_tf.shape[1:3], pool_size, strides, padding, dilation)
    )
    word = _word(padding) if isinstance(padding, str) else None
    spec = dict(pool_size=pool_size, strides=strides, padding=padding, pads=pads, ceil_mode=ceil_mode,
                count_include_pad=count_include_pad, dilation=dilation if kind == "max" else 1)  # fmt: skip

    def torch_literal():  # convlib refused numeric pads: the literal request, so PyTorch's own answer shows
        lit = F.max_pool2d if kind == "max" else F.avg_pool2d
        extra = dict(dilation=dilation) if kind == "max" else dict(count_include_pad=count_include_pad)
        return lit(
            torch.from_numpy(nchw(x_tf)), pool_size, strides, padding, ceil_mode=ceil_mode, **extra
        ).numpy()

    outcomes = []
    for name, framework in (("TensorFlow", "tensorflow"), ("PyTorch", "pytorch")):
        api = f"{'tf.nn' if name == 'TensorFlow' else 'F'}.{kind}_pool2d"
        if geo is None and word is None:
            if name == "PyTorch":
                outcomes.append(run(name, torch_literal, f"F.{kind}_pool2d (literal)"))
            else:
                why = f"{TF_NO_NUMERIC_POOL}; {_convlib_refused(ref)}"
                outcomes.append(cannot(name, why, api))
            continue
        expr, why = (
            (None, unread) if pads is None else _expression(framework, express_pool2d, kind=kind, **spec)
        )
        if why is not None:
            outcomes.append(cannot(name, why, api))
            continue

        def call(expr=expr, name=name):
            if name == "TensorFlow":
                return back(np.asarray(expr.call(x_tf)))
            y = expr.call(torch.from_numpy(nchw(x_tf))).numpy()
            return y if fmt == "NCHW" else nhwc(y)

        outcomes.append(run(name, call, expr.source))
    return Report(ref, outcomes, tolerance(xa.dtype), pads=None if geo is None else geo.pads)


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
    ``conv2d``" with convlib's resolved pads, so every padding and mode is compared. Both are
    always called, groups and dilation included (TensorFlow's oneDNN kernels, which
    :func:`~convlib.proof.frameworks.load_tf` turns on, differentiate both; with
    ``TF_ENABLE_ONEDNN_OPTS=0`` its CPU kernels refuse, and the report says so). Where convlib
    refuses, neither is called: there are no pads to differentiate with.
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
    x_tf, g_tf = (xa, ga) if fmt == "NHWC" else (nhwc(xa), nhwc(ga))
    w_tf = wa if fmt == "NHWC" else hwio(wa)
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
                tf_pad_mode(tf, xt, pads, mode)
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
        return (gx.numpy() if fmt == "NHWC" else nchw(gx.numpy())), gw, gb.numpy()

    def torch_call():
        (t, bt), (lf, r) = pads
        xt = torch.tensor(nchw(x_tf), requires_grad=True)
        wt = torch.tensor(w_tf.transpose(3, 2, 0, 1).copy(), requires_grad=True)
        bt_ = torch.tensor(bias, requires_grad=True)
        xp = F.pad(xt, (lf, r, t, bt), mode="constant" if mode == "zeros" else mode)
        F.conv2d(xp, wt, bt_, stride=stride, dilation=dilation, groups=groups).backward(
            torch.from_numpy(nchw(g_tf))
        )
        gw = wt.grad.numpy() if fmt == "NCHW" else wt.grad.numpy().transpose(2, 3, 1, 0)
        return (xt.grad.numpy() if fmt == "NCHW" else nhwc(xt.grad.numpy())), gw, bt_.grad.numpy()

    results = {}
    for name, fn, how in (
        ("TensorFlow", tf_call, tf_how),
        ("PyTorch", torch_call, "torch.autograd"),
    ):
        if pads is None:
            why = f"not called: the gradient is taken with convlib's resolved pads; {_convlib_refused(ours)}"
            results[name] = cannot(name, why, how)
            continue
        results[name] = run(name, lambda fn=fn: np.concatenate([a.ravel() for a in fn()]), how=how)
    sizes, shapes = np.cumsum([xa.size, wa.size]), (xa.shape, wa.shape, bias.shape)
    reports = {}
    for i, key in enumerate(("grad_x", "grad_w", "grad_b")):

        def part(o, i=i):
            if o.cannot is not None:
                return cannot(o.framework, o.cannot, o.how)
            if o.refused:
                return Outcome(o.framework, error=o.error, how=o.how)
            return run(o.framework, lambda: np.split(o.output, sizes)[i].reshape(shapes[i]), how=o.how)

        reports[key] = Report(part(ours), [part(o) for o in results.values()], tolerance(xa.dtype), pads=pads)
    return reports
