"""conv2d and the Conv2D layer through TensorFlow, PyTorch and convlib."""

from __future__ import annotations

import numpy as np

from ...bridges import express_conv2d
from ...layout import as_float_array, hwio, nchw, nhwc, oihw
from ...padding import normalize_padding, normalize_padding_mode
from ...shapes import check_conv_shapes, check_data_format, resolve_padding
from ..frameworks import load_tf, load_torch
from .report import Report, run, tolerance


def _to_nhwc(x, w, fmt):
    """Input and kernel in TensorFlow's NHWC / HWIO layout."""
    if fmt == "NHWC":
        return x, w
    return nhwc(x), hwio(w)


def tf_conv2d(
    x, w, b=None, *, stride=1, padding="valid", dilation=1, groups=1, padding_mode="zeros", pads=None
):
    """``tf.nn.conv2d`` on NHWC ``x`` and HWIO ``w``; returns ``(array, how)``.

    The call is :func:`convlib.bridges.express_conv2d`'s: words map to TF's
    ``"VALID"``/``"SAME"``, numbers and ``"full"`` to TF's explicit pads; non-zero modes pad
    first with ``tf.pad`` (reflect) or a ``tf.gather`` of clipped / wrapped indices.
    """
    load_tf()
    e = express_conv2d(
        "tensorflow", stride=stride, padding=padding, dilation=dilation, groups=groups, pads=pads,
        padding_mode=padding_mode,
    )  # fmt: skip
    return np.asarray(e.call(x, w, b)), e.source


def torch_conv2d(
    x, w, b=None, *, stride=1, padding="valid", dilation=1, groups=1, padding_mode="zeros", pads=None
):
    """``torch.nn.functional.conv2d`` on NCHW ``x`` and OIHW ``w``; returns ``(array, how)``.

    The call is :func:`convlib.bridges.express_conv2d`'s: symmetric zero pads go to
    ``padding=(ph, pw)``; anything else (asymmetric pads, TF's "same" with an odd total,
    non-zero modes) is ``F.pad`` with the resolved pads, then ``padding=0``.
    """
    load_torch()
    e = express_conv2d(
        "pytorch", stride=stride, padding=padding, dilation=dilation, groups=groups, pads=pads,
        padding_mode=padding_mode,
    )  # fmt: skip
    return e.call(x, w, b).numpy(), e.source


def crosscheck_layer(
    filters: int,
    kernel_size: int,
    *,
    strides=1,
    padding="valid",
    activation=None,
    input_sizes=(8, 10, 5),
    channels: int = 3,
    seed: int = 0,
) -> list[Report]:
    """One Keras ``Conv2D`` layer, fed inputs of several sizes, next to PyTorch and convlib.

    The Keras layer is built once and its weights are copied into a :class:`convlib.Conv2D`
    (with :meth:`~convlib.Conv2D.from_keras`) and into the PyTorch call (HWIO -> OIHW), so
    all three apply the very same kernel. Returns one :class:`Report` per input size.

    Examples
    --------
    >>> [r.reference.shape for r in crosscheck_layer(4, 3, input_sizes=(8, 5))]
    [(1, 6, 6, 4), (1, 3, 3, 4)]
    """
    from ...layers import Conv2D

    tf = load_tf()
    keras_layer = tf.keras.layers.Conv2D(
        filters, kernel_size, strides=strides, padding=padding, activation=activation
    )
    keras_layer.build((None, None, None, channels))
    keras_layer.set_weights([w.numpy() for w in _glorot_like(tf, keras_layer, seed)])
    ours = Conv2D.from_keras(keras_layer)
    w, b = ours.kernel, ours.bias
    rng = np.random.default_rng(seed)
    reports = []
    for n in input_sizes:
        x = rng.standard_normal((1, n, n, channels)).astype(np.float32)
        geo = None
        try:
            geo = check_conv_shapes(x.shape, w.shape, stride=strides, padding=padding)
        except ValueError:
            pass

        def torch_call(x=x, geo=geo):
            # Where convlib refused, hand PyTorch the literal request so its own error shows.
            pads = ((0, 0), (0, 0)) if geo is None else geo.pads
            y, _ = torch_conv2d(
                x.transpose(0, 3, 1, 2),
                w.transpose(3, 2, 0, 1),
                b,
                stride=strides,
                padding=normalize_padding(padding),
                pads=pads,
            )
            y = y.transpose(0, 2, 3, 1)
            return np.maximum(y, 0) if activation == "relu" else y

        ref = run("convlib", lambda x=x: ours(x), how="convlib.Conv2D.from_keras(layer)")
        others = [
            run("TensorFlow", lambda x=x: keras_layer(x).numpy(), how="tf.keras.layers.Conv2D"),
            run("PyTorch", torch_call, how="F.conv2d, same weights"),
        ]
        reports.append(Report(ref, others, tolerance(np.float32), pads=None if geo is None else geo.pads))
    return reports


def _glorot_like(tf, layer, seed):
    """Seeded weights for a Keras layer (Keras's own initialiser is seeded per process)."""
    rng = np.random.default_rng(seed)
    return [tf.constant(rng.uniform(-0.5, 0.5, size=v.shape).astype(np.float32)) for v in layer.weights]


def _literal_pads(x_shape, w_shape, fmt, padding, stride, dilation):
    """The pads a request names, even where no window fits; zeros where they cannot be read."""
    if not isinstance(padding, str):
        return padding
    try:
        hw = x_shape[-3:-1] if fmt == "NHWC" else x_shape[-2:]
        khw = w_shape[:2] if fmt == "NHWC" else w_shape[2:]
        return resolve_padding(hw, khw, padding, stride=stride, dilation=dilation)
    except (ValueError, IndexError):
        return (0, 0), (0, 0)


def crosscheck_conv2d(
    x,
    w,
    b=None,
    *,
    stride=1,
    padding="valid",
    dilation=1,
    groups=1,
    data_format="NHWC",
    padding_mode="zeros",
    algorithm="auto",
) -> Report:
    """Run one conv2d configuration through convlib, TensorFlow and PyTorch.

    ``x``, ``w`` are in ``data_format``'s layout (HWIO kernel for NHWC, OIHW for NCHW);
    they are converted for each framework and the results converted back.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x, w = rng.standard_normal((1, 10, 11, 3)), rng.standard_normal((3, 3, 3, 4))
    >>> crosscheck_conv2d(x, w, stride=2, padding="same").agree
    True
    """
    from ...conv import conv2d

    fmt = check_data_format(data_format)
    mode = normalize_padding_mode(padding_mode)
    norm = normalize_padding(padding)
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    ref = run(
        "convlib",
        lambda: conv2d(x, w, b, data_format=fmt, padding_mode=mode, algorithm=algorithm, **kwargs),
        how=f"algorithm={algorithm!r}",
    )
    xa, wa = as_float_array(x, "x"), as_float_array(w, "w")
    ba = None if b is None else as_float_array(b, "b")
    try:
        pads = check_conv_shapes(xa.shape, wa.shape, data_format=fmt, **kwargs).pads
    except ValueError:
        # convlib refused: hand each framework the literal request so it gives its own verdict.
        pads = _literal_pads(xa.shape, wa.shape, fmt, norm, stride, dilation)
    x_tf, w_tf = _to_nhwc(xa, wa, fmt)
    x_pt, w_pt = nchw(x_tf), oihw(w_tf)
    common = dict(stride=stride, padding=norm, dilation=dilation, groups=groups, padding_mode=mode, pads=pads)

    def in_layout(y, from_fmt):
        if from_fmt == fmt:
            return y
        return nchw(y) if from_fmt == "NHWC" else nhwc(y)

    others = []
    for name, fn, xs, ws, native in (
        ("TensorFlow", tf_conv2d, x_tf, w_tf, "NHWC"),
        ("PyTorch", torch_conv2d, x_pt, w_pt, "NCHW"),
    ):
        holder = {}

        def call(fn=fn, xs=xs, ws=ws, native=native, holder=holder):
            y, holder["how"] = fn(xs, ws, ba, **common)
            return in_layout(y, native)

        o = run(name, call)
        o.how = holder.get("how", "")
        others.append(o)
    return Report(ref, others, tolerance(xa.dtype), pads=pads)
