"""Porting between Keras and PyTorch, proven in three runtimes plus convlib.

Each drawn configuration is built in its source framework with random weights, converted
(:func:`convlib.bridges.porting.to_torch` / :func:`~convlib.bridges.porting.to_keras`), run in
both frameworks, written as an ONNX node from :func:`convlib.bridges.onnx_attrs.onnx_attrs` and
run in ONNX Runtime, and every output is compared with convlib's (the strict rule of
:func:`convlib.proof.onnxrt.disagreements`). The two sweeps draw 230 configurations per run.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convlib
from convlib.bridges.onnx_attrs import onnx_attrs
from convlib.bridges.porting import describe_port, to_keras, to_torch
from convlib.proof.frameworks import load_tf, load_torch
from convlib.proof.onnxrt import disagreements, node_model, run_model
from convlib.records import ConvSpec, MaxPoolSpec
from convlib.shapes.geometry import effective_kernel_size, pool_axes, transpose_axes
from convlib.viz.porting import port_shift_images, sample_image

tf, torch = load_tf(), load_torch()
import keras  # noqa: E402  (after load_tf: TensorFlow is Keras's backend, imported quietly)

nn = torch.nn
SWEEP = settings(max_examples=115, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
KERAS_KINDS = (
    "Conv2D",
    "DepthwiseConv2D",
    "SeparableConv2D",
    "Conv2DTranspose",
    "MaxPooling2D",
    "AveragePooling2D",
)


def _randomize(layer, rng):
    # Keras starts biases at zero, which would hide a bias put in the wrong place.
    layer.set_weights([rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()])


def _nchw(x):
    return np.ascontiguousarray(np.moveaxis(x, -1, 1))


def _nhwc(x):
    return np.ascontiguousarray(np.moveaxis(x, 1, -1))


def _run_torch(module, x_nhwc):
    with torch.no_grad():
        return _nhwc(module(torch.from_numpy(_nchw(x_nhwc))).numpy())


def _pair(draw, lo, hi):
    return draw(st.integers(lo, hi)), draw(st.integers(lo, hi))


# --------------------------------------------------------------------------- Keras -> PyTorch
@st.composite
def keras_layers(draw):
    kind = draw(st.sampled_from(KERAS_KINDS))
    k, s = _pair(draw, 1, 4), _pair(draw, 1, 3)
    if kind in ("DepthwiseConv2D", "SeparableConv2D"):
        # TF's depthwise kernels: Eigen's refuses unequal strides, oneDNN's can return garbage
        # for them (KNOWN_DEFECTS["tf-depthwise-unequal-strides"], tested in test_onnx.py).
        s = (s[0], s[0])
    pool = kind.endswith("Pooling2D")
    # TF's CPU kernels refuse dilation > 1 together with stride > 1.
    d = (1, 1) if pool or s != (1, 1) else _pair(draw, 1, 2)
    padding = draw(st.sampled_from(["valid", "same"]))
    eff = [effective_kernel_size(k[i], d[i]) for i in range(2)]
    lo = [1 if padding == "same" or kind == "Conv2DTranspose" else eff[i] for i in range(2)]
    h, w = draw(st.integers(lo[0], 12)), draw(st.integers(lo[1], 12))
    cin, filters = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    cfg = dict(
        kind=kind,
        k=k,
        s=s,
        d=d,
        padding=padding,
        hw=(h, w),
        cin=cin,
        filters=filters,
        bias=draw(st.booleans()),
        activation=draw(st.sampled_from(["linear", "relu"])),
        groups=draw(st.sampled_from([g for g in (1, 2, 3) if cin % g == 0 and filters % g == 0])),
        multiplier=draw(st.integers(1, 2)),
        op=None,
        auto_pad=draw(st.booleans()),
    )
    if kind == "Conv2DTranspose" and draw(st.booleans()):
        op = (draw(st.integers(0, s[0] - 1)), draw(st.integers(0, s[1] - 1)))
        try:  # Keras's output_padding must give a size its forward convolution maps back
            transpose_axes((h, w), k, stride=s, padding=padding, output_padding=op, dilation=d)
            cfg["op"] = op
        except ValueError:
            pass
    return cfg


def _keras_layer(cfg):
    L, c = keras.layers, cfg
    conv = dict(
        strides=c["s"],
        padding=c["padding"],
        dilation_rate=c["d"],
        use_bias=c["bias"],
        activation=c["activation"],
    )
    if c["kind"] == "Conv2D":
        return L.Conv2D(c["filters"], c["k"], groups=c["groups"], **conv)
    if c["kind"] == "DepthwiseConv2D":
        return L.DepthwiseConv2D(c["k"], depth_multiplier=c["multiplier"], **conv)
    if c["kind"] == "SeparableConv2D":
        return L.SeparableConv2D(c["filters"], c["k"], depth_multiplier=c["multiplier"], **conv)
    if c["kind"] == "Conv2DTranspose":
        return L.Conv2DTranspose(c["filters"], c["k"], output_padding=c["op"], **conv)
    return getattr(L, c["kind"])(c["k"], strides=c["s"], padding=c["padding"])


def _convlib_keras(cfg, layer, x):
    """convlib's answer for a Keras layer, NHWC, and the ONNX Runtime answer (NHWC too)."""
    c, w = cfg, [np.asarray(v) for v in layer.get_weights()]
    geo = dict(stride=c["s"], padding=c["padding"], dilation=c["d"])
    ax = dict(stride=c["s"], padding=c["padding"], dilation=c["d"], auto_pad=c["auto_pad"])
    hw, xc = c["hw"], _nchw(x)
    if c["kind"] in ("MaxPooling2D", "AveragePooling2D"):
        fn = convlib.max_pool2d if c["kind"] == "MaxPooling2D" else convlib.avg_pool2d
        kind = "max_pool" if c["kind"] == "MaxPooling2D" else "avg_pool"
        ort = run_model(
            node_model(
                onnx_attrs(kind, hw, c["k"], stride=c["s"], padding=c["padding"], auto_pad=c["auto_pad"]),
                xc.shape,
            ),
            xc,
        )[0]
        return fn(x, c["k"], c["s"], c["padding"]), _nhwc(ort)
    b = w[-1] if c["bias"] else None
    if c["kind"] == "Conv2D":
        ref = convlib.conv2d(x, w[0], b, groups=c["groups"], **geo)
        attrs = onnx_attrs("conv", hw, c["k"], groups=c["groups"], **ax)
        ort = run_model(node_model(attrs, xc.shape, w[0].transpose(3, 2, 0, 1), b), xc)[0]
    elif c["kind"] in ("DepthwiseConv2D", "SeparableConv2D"):
        kh, kw, cin, m = w[0].shape
        dw = w[0].reshape(kh, kw, 1, cin * m)
        separable = c["kind"] == "SeparableConv2D"
        ref = convlib.conv2d(x, dw, None if separable else b, groups=cin, **geo)
        attrs = onnx_attrs("conv", hw, c["k"], groups=cin, **ax)
        ort = run_model(node_model(attrs, xc.shape, dw.transpose(3, 2, 0, 1), None if separable else b), xc)[
            0
        ]
        if separable:  # the pointwise 1x1 convolution, a second node
            ref = convlib.conv2d(ref, w[1], b)
            one = onnx_attrs("conv", ort.shape[2:], 1)
            ort = run_model(node_model(one, ort.shape, w[1].transpose(3, 2, 0, 1), b), ort)[0]
    else:
        ref = convlib.conv_transpose2d(x, w[0], b, output_padding=c["op"], **geo)
        attrs = onnx_attrs("conv_transpose", hw, c["k"], output_padding=c["op"], **ax)
        ort = run_model(node_model(attrs, xc.shape, w[0].transpose(3, 2, 0, 1), b), xc)[0]
    if c["activation"] == "relu":  # the ONNX node is the convolution alone; its Relu is not in question
        ref, ort = np.maximum(ref, 0), np.maximum(ort, 0)
    return ref, _nhwc(ort)


@SWEEP
@given(cfg=keras_layers(), seed=st.integers(0, 2**16))
def test_keras_layer_to_torch_in_three_runtimes(cfg, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, *cfg["hw"], cfg["cin"])).astype(np.float32)
    layer = _keras_layer(cfg)
    layer(x)
    _randomize(layer, rng)
    module = to_torch(layer)
    h, w = cfg["hw"]
    # One module for every input size, as the Keras layer: a second size, one row and column more.
    for hw in [(h, w), (h + 1, w + 1)]:
        x = rng.standard_normal((1, *hw, cfg["cin"])).astype(np.float32)
        ref, ort = _convlib_keras(cfg | {"hw": hw}, layer, x)
        bad = disagreements(ref, keras=np.asarray(layer(x)), torch=_run_torch(module, x), onnxruntime=ort)
        assert bad == [], f"{cfg} at {hw}\n{module.source}\n" + "\n".join(bad)


# --------------------------------------------------------------------------- PyTorch -> Keras
@st.composite
def torch_modules(draw):
    kind = draw(st.sampled_from(["Conv2d", "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "Pad2d"]))
    k, s, d = _pair(draw, 1, 4), _pair(draw, 1, 3), _pair(draw, 1, 2)
    cin = draw(st.integers(1, 3))
    cfg = dict(kind=kind, k=k, s=s, d=d, cin=cin, bias=draw(st.booleans()))
    if kind == "Conv2d":
        cfg["mode"] = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
        words = ["valid", "same"] if s == (1, 1) else ["valid"]
        cfg["padding"] = draw(st.sampled_from([0, 1, 2, (0, 1), (2, 1), *words]))
        cfg["groups"] = draw(st.sampled_from([1, cin]))
        cfg["out"] = cfg["groups"] * draw(st.integers(1, 2)) if cfg["groups"] > 1 else draw(st.integers(1, 3))
        p = (0, 0) if isinstance(cfg["padding"], str) else np.broadcast_to(cfg["padding"], 2)
        eff = [effective_kernel_size(k[i], d[i]) for i in range(2)]
        lo = [max(eff[i] - 2 * p[i], p[i] + 1, 1) for i in range(2)]  # reflect needs pad < size
        if cfg["padding"] == "same":
            lo = [max(eff[i], 1) for i in range(2)]
    elif kind == "ConvTranspose2d":
        cfg["padding"] = (draw(st.integers(0, k[0] - 1)), draw(st.integers(0, k[1] - 1)))
        limit = [max(s[i], d[i]) - 1 for i in range(2)]
        cfg["op"] = (draw(st.integers(0, limit[0])), draw(st.integers(0, limit[1])))
        cfg["out"] = draw(st.integers(1, 3))
        lo = [1, 1]
    elif kind in ("MaxPool2d", "AvgPool2d"):
        if kind == "AvgPool2d":
            cfg["d"] = d = (1, 1)
        cfg["padding"] = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
        cfg["ceil"], cfg["include"] = draw(st.booleans()), draw(st.booleans())
        lo = [max(effective_kernel_size(k[i], d[i]) - 2 * cfg["padding"][i], 1) for i in range(2)]
    else:
        cfg["mode"] = draw(
            st.sampled_from(["ZeroPad2d", "ReflectionPad2d", "ReplicationPad2d", "CircularPad2d"])
        )
        low = -1 if cfg["mode"] == "ZeroPad2d" else 0
        cfg["pads"] = tuple(draw(st.integers(low, 2)) for _ in range(4))
        lo = [3, 3]
    cfg["hw"] = (draw(st.integers(lo[0], 12)), draw(st.integers(lo[1], 12)))
    return cfg


def _torch_module(c):
    if c["kind"] == "Conv2d":
        return nn.Conv2d(
            c["cin"],
            c["out"],
            c["k"],
            c["s"],
            c["padding"],
            c["d"],
            c["groups"],
            c["bias"],
            padding_mode=c["mode"],
        )
    if c["kind"] == "ConvTranspose2d":
        return nn.ConvTranspose2d(
            c["cin"], c["out"], c["k"], c["s"], c["padding"], c["op"], bias=c["bias"], dilation=c["d"]
        )
    if c["kind"] == "MaxPool2d":
        return nn.MaxPool2d(c["k"], c["s"], c["padding"], c["d"], ceil_mode=c["ceil"])
    if c["kind"] == "AvgPool2d":
        return nn.AvgPool2d(c["k"], c["s"], c["padding"], c["ceil"], c["include"])
    return getattr(nn, c["mode"])(c["pads"])


def _convlib_torch(c, module, x):
    """convlib's answer for a torch module (NCHW) and ONNX Runtime's, when ONNX has one node for it."""
    hw, geo = c["hw"], dict(stride=c["s"], dilation=c["d"], data_format="NCHW")
    if c["kind"] == "Pad2d":
        left, r, t, b = c["pads"]
        grow = ((max(t, 0), max(b, 0)), (max(left, 0), max(r, 0)))
        mode = {
            "ZeroPad2d": "zeros",
            "ReflectionPad2d": "reflect",
            "ReplicationPad2d": "replicate",
            "CircularPad2d": "circular",
        }[c["mode"]]
        y = convlib.apply_padding(x, grow, mode, axes=(2, 3))
        crop = [max(-t, 0), max(-b, 0), max(-left, 0), max(-r, 0)]
        return y[:, :, crop[0] : y.shape[2] - crop[1], crop[2] : y.shape[3] - crop[3]], None
    if c["kind"] in ("MaxPool2d", "AvgPool2d"):
        pool = dict(ceil_mode=c["ceil"], data_format="NCHW")
        if c["kind"] == "MaxPool2d":
            ref = convlib.max_pool2d(x, c["k"], c["s"], c["padding"], dilation=c["d"], **pool)
            attrs = onnx_attrs(
                "max_pool",
                hw,
                c["k"],
                stride=c["s"],
                padding=c["padding"],
                dilation=c["d"],
                ceil_mode=c["ceil"],
                convention="torch",
            )
        else:
            ref = convlib.avg_pool2d(x, c["k"], c["s"], c["padding"], count_include_pad=c["include"], **pool)
            attrs = onnx_attrs(
                "avg_pool",
                hw,
                c["k"],
                stride=c["s"],
                padding=c["padding"],
                ceil_mode=c["ceil"],
                count_include_pad=c["include"],
                convention="torch",
            )
        return ref, run_model(node_model(attrs, x.shape), x)[0]
    w = module.weight.detach().numpy()
    b = module.bias.detach().numpy() if module.bias is not None else None
    if c["kind"] == "Conv2d":
        ref = convlib.conv2d(x, w, b, padding=c["padding"], groups=c["groups"], padding_mode=c["mode"], **geo)
        attrs = onnx_attrs(
            "conv",
            hw,
            c["k"],
            stride=c["s"],
            padding=c["padding"],
            dilation=c["d"],
            groups=c["groups"],
            padding_mode=c["mode"],
            convention="torch",
        )
    else:
        ref = convlib.conv_transpose2d(x, w, b, padding=c["padding"], output_padding=c["op"], **geo)
        attrs = onnx_attrs(
            "conv_transpose",
            hw,
            c["k"],
            stride=c["s"],
            padding=c["padding"],
            dilation=c["d"],
            output_padding=c["op"],
            convention="torch",
        )
    return ref, run_model(node_model(attrs, x.shape, w, b), x)[0]


@SWEEP
@given(cfg=torch_modules(), seed=st.integers(0, 2**16))
def test_torch_module_to_keras_in_three_runtimes(cfg, seed):
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    module = _torch_module(cfg).eval()
    x = rng.standard_normal((1, cfg["cin"], *cfg["hw"])).astype(np.float32)
    if cfg["kind"] == "ConvTranspose2d" and any(o >= s for o, s in zip(cfg["op"], cfg["s"])):
        with pytest.raises(ValueError, match=r"output_padding .* is not smaller than the stride"):
            to_keras(module)
        return
    layer = to_keras(module)
    ref, ort = _convlib_torch(cfg, module, x)
    with torch.no_grad():
        y_torch = module(torch.from_numpy(x)).numpy()
    y_keras = _nchw(np.asarray(layer(_nhwc(x))))
    outputs = {"torch": y_torch, "keras": y_keras} | ({} if ort is None else {"onnxruntime": ort})
    bad = disagreements(ref, **outputs)
    assert bad == [], f"{cfg}\n{layer.source}\n" + "\n".join(bad)


# --------------------------------------------------------------------------- fixed layers
def test_the_size_free_keras_layers(rng):
    L = keras.layers
    x = rng.standard_normal((2, 7, 9, 3)).astype(np.float32)
    refs = {
        "GlobalAveragePooling2D": (L.GlobalAveragePooling2D(), convlib.global_avg_pool2d(x)),
        "GlobalMaxPooling2D": (
            L.GlobalMaxPooling2D(keepdims=True),
            convlib.global_max_pool2d(x, keepdims=True),
        ),
        "ZeroPadding2D": (L.ZeroPadding2D(((1, 0), (2, 1))), np.pad(x, ((0, 0), (1, 0), (2, 1), (0, 0)))),
        "Cropping2D": (L.Cropping2D(((1, 2), (0, 3))), x[:, 1:-2, :-3]),
        "UpSampling2D": (L.UpSampling2D((2, 3)), x.repeat(2, axis=1).repeat(3, axis=2)),
        "ReLU": (L.ReLU(), np.maximum(x, 0)),
    }
    for name, (layer, ref) in refs.items():
        y_keras = np.asarray(layer(x))
        module = to_torch(layer)
        with torch.no_grad():
            y = module(torch.from_numpy(_nchw(x))).numpy()
        y_torch = _nhwc(y) if y.ndim == 4 else y
        assert disagreements(ref, keras=y_keras, torch=y_torch) == [], (name, module.source)


def test_bilinear_upsampling_has_no_convlib_twin_but_the_frameworks_agree(rng):
    x = rng.standard_normal((1, 5, 4, 2)).astype(np.float32)
    layer = keras.layers.UpSampling2D((2, 3), interpolation="bilinear")
    y_keras = np.asarray(layer(x))
    module = to_torch(layer)
    assert "mode='bilinear', align_corners=False" in module.source
    # convlib has no resizing: the two frameworks are compared with each other (named, not skipped).
    assert disagreements(y_keras, torch=_run_torch(module, x)) == []


def test_channels_first_conv_needs_no_transpose(rng):
    x = rng.standard_normal((1, 2, 9, 8)).astype(np.float32)
    layer = keras.layers.Conv2D(3, 3, strides=2, padding="same", data_format="channels_first")
    layer(x)
    _randomize(layer, rng)
    module = to_torch(layer)
    with torch.no_grad():
        y_torch = module(torch.from_numpy(x)).numpy()
    kernel, bias = layer.get_weights()
    ref = convlib.conv2d(x, convlib.oihw(kernel), bias, stride=2, padding="same", data_format="NCHW")
    assert disagreements(ref, keras=np.asarray(layer(x)), torch=y_torch) == []


def test_the_figure_shows_a_one_cell_shift():
    out = port_shift_images(sample_image(16))
    assert out["pads"]["tf_same"] == (0, 1) and out["pads"]["torch_k2"] == (1, 1)
    assert not np.allclose(out["tf_same"], out["torch_k2"])
    # PyTorch's transposed result is Keras's moved by one cell (the chapter's second row).
    assert np.allclose(out["torch_t"][:-1, :-1], out["keras_t"][1:, 1:])


def test_a_keras_sequential_ports_whole(rng):
    L = keras.layers
    model = keras.Sequential(
        [
            L.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
            L.MaxPooling2D(2, padding="same"),
            L.Conv2DTranspose(2, 3, strides=2, padding="same"),
            L.AveragePooling2D(3, strides=2, padding="same"),
        ]
    )
    x = rng.standard_normal((1, 11, 10, 3)).astype(np.float32)
    model(x)
    for layer in model.layers:
        _randomize(layer, rng)
    net = to_torch(model)
    assert net.source.count("\n") == 5 and "Conv2dSame(3, 4" in net.source
    for hw in [(11, 10), (8, 13)]:  # one module for every input size, as the Keras model
        xs = rng.standard_normal((2, *hw, 3)).astype(np.float32)
        assert disagreements(np.asarray(model(xs)), torch=_run_torch(net, xs)) == []


def test_a_convlib_spec_is_built_with_random_weights():
    net = to_torch([ConvSpec(4, 3, stride=2, padding="same"), MaxPoolSpec(2)], (1, 9, 9))
    assert tuple(net(torch.zeros(1, 1, 9, 9)).shape) == (1, 4, 2, 2)
    assert not hasattr(net, "source")  # random weights: no code to paste for the whole net
    assert type(net[0]).__name__ == "Conv2dSame"  # TF's "same" with a stride, pads from each input


def test_a_torch_sequential_ports_whole(rng):
    net = nn.Sequential(
        nn.ReflectionPad2d(1),
        nn.Conv2d(2, 4, 3, stride=2),
        nn.ReLU(),
        nn.MaxPool2d(3, 2, 1, ceil_mode=True),
        nn.ConvTranspose2d(4, 2, 4, 2, 1),
    ).eval()
    model = to_keras(net)
    assert "TorchPool2D('max'" in model.source and "padding='same'" in model.source
    x = rng.standard_normal((1, 2, 13, 10)).astype(np.float32)
    with torch.no_grad():
        y = net(torch.from_numpy(x)).numpy()
    assert disagreements(y, keras=_nchw(np.asarray(model(_nhwc(x))))) == []


# --------------------------------------------------------------------------- refusals
def _built(layer, shape=(1, 6, 6, 2)):
    layer(np.zeros(shape, np.float32))
    return layer


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: _built(keras.layers.Dense(3), (1, 4)), r"Keras Dense has no exact PyTorch equivalent"),
        (lambda: keras.layers.Conv2D(2, 3), r"is not built; call it on an input first"),
        (
            lambda: _built(keras.layers.UpSampling2D(interpolation="bicubic")),
            r"a = -0\.5, PyTorch's a = -0\.75",
        ),
        (lambda: _built(keras.layers.Conv2D(2, 3, activation="softmax")), r"activation 'softmax'"),
        (lambda: _built(keras.layers.ReLU(max_value=6.0)), r"only a plain ReLU"),
        (lambda: [ConvSpec(2, 3)], r"needs input_shape=\(C, H, W\)"),
        (lambda: object(), r"takes a convlib spec .* got object"),
    ],
)
def test_to_torch_refuses_what_has_no_exact_equivalent(make, message):
    with pytest.raises(ValueError, match=message):
        to_torch(make())


def test_to_torch_refuses_an_input_shape_for_a_keras_layer():
    with pytest.raises(ValueError, match=r"input_shape is for convlib specs"):
        to_torch(_built(keras.layers.Conv2D(2, 3)), (2, 6, 6))


@pytest.mark.parametrize(
    "module, message",
    [
        (nn.ConvTranspose2d(2, 2, 3, groups=2), r"groups=2 \(Keras Conv2DTranspose has no groups\)"),
        (nn.ConvTranspose2d(2, 2, 3, stride=1, dilation=2, output_padding=1), r"\(1, 1\) is not smaller"),
        (nn.AvgPool2d(2, divisor_override=3), r"divisor_override"),
        (nn.Linear(3, 3), r"Linear has no exact Keras equivalent"),
        (nn.ReflectionPad2d((-1, 1, 0, 0)), r"negative pads .* only exact for zero padding"),
    ],
)
def test_to_keras_refuses_what_has_no_exact_equivalent(module, message):
    with pytest.raises(ValueError, match=message):
        to_keras(module)


def test_the_shape_calculator_lines():
    assert describe_port("max_pool", (7, 7), (3, 3), (2, 2), (1, 1), ((1, 1), (1, 1)), ceil_mode=True) == [
        "Keras: TorchPool2D('max', (3, 3), (2, 2), ((1, 1), (1, 1)), dilation=(1, 1), ceil_mode=True, "
        "count_include_pad=True)",
        "ONNX:  MaxPool(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)",
    ]
    lines = describe_port("conv", (6, 6), (3, 3), (1, 1), (1, 1), "full")
    assert lines[0] == (
        "Keras: keras.Sequential([layers.ZeroPadding2D(((2, 2), (2, 2))), layers.Conv2D(C_out, (3, 3), "
        "strides=(1, 1), padding='valid', dilation_rate=(1, 1))])"
    )
    assert lines[1] == "ONNX:  Conv(kernel_shape=[3, 3], pads=[2, 2, 2, 2])"
    pool = describe_port("avg_pool", (6, 6), (2, 2), (2, 2), (1, 1), ((0, 1), (0, 1)))
    assert pool[0].startswith("Keras: no exact layer: pooling pads ((0, 1), (0, 1)) are not symmetric")


def test_pool_geometry_agrees_with_what_torch_pool_refuses():
    # TorchPool2D asks pool_axes for its sizes, so it refuses exactly what nn.MaxPool2d refuses.
    with pytest.raises(ValueError, match=r"at most half the pool size"):
        pool_axes((6, 6), 2, 2, 2)
    with pytest.raises(RuntimeError, match=r"pad should be at most half"):
        nn.MaxPool2d(2, 2, 2)(torch.zeros(1, 1, 6, 6))


def test_the_shape_calculator_prints_the_recipe_to_keras_evaluates():
    from convlib.padding import normalize_padding

    line = describe_port("conv", (9, 9), (3, 3), (2, 2), (1, 1), normalize_padding(1))[0]
    source = to_keras(nn.Conv2d(2, 4, 3, stride=2, padding=1)).source
    assert line == "Keras: " + source.replace("Conv2D(4,", "Conv2D(C_out,").replace(", use_bias=True", "")


def test_the_pasted_source_builds_the_same_module_and_layer(rng):
    from convlib.bridges.porting import paste_source

    layer = keras.layers.Conv2D(3, 3, strides=2, padding="same")
    x = rng.standard_normal((1, 8, 9, 2)).astype(np.float32)
    layer(x)
    module = to_torch(layer)
    scope: dict = {}
    exec(paste_source(module), scope)  # a reader's fresh namespace: only the pasted text
    scope["module"].load_state_dict(module.state_dict())
    assert disagreements(_run_torch(module, x), pasted=_run_torch(scope["module"].eval(), x)) == []
    back = to_keras(nn.MaxPool2d(3, 2, 1, ceil_mode=True))
    scope = {}
    exec(paste_source(back), scope)
    assert disagreements(np.asarray(back(x)), pasted=np.asarray(scope["layer"](x))) == []
    with pytest.raises(ValueError, match=r"paste_source needs a result of to_torch or to_keras, got int"):
        paste_source(3)


def test_a_dilated_strided_kernel_written_out_is_the_same_convolution(rng):
    # describe_port's Keras line for dilation with a stride (TF's CPU refuses the pair).
    line = describe_port("conv", (11, 10), (3, 3), (2, 2), (2, 2), "same")[0]
    assert line.startswith("Keras: layers.Conv2D(C_out, (5, 5), strides=(2, 2), padding='same'")
    x = rng.standard_normal((1, 11, 10, 2)).astype(np.float32)
    w = rng.standard_normal((3, 3, 2, 4)).astype(np.float32)
    big = np.zeros((5, 5, 2, 4), np.float32)
    big[::2, ::2] = w
    layer = keras.layers.Conv2D(4, 5, strides=2, padding="same", use_bias=False)
    layer(x)
    layer.set_weights([big])
    ref = convlib.conv2d(x, w, stride=2, padding="same", dilation=2)
    assert disagreements(ref, keras=np.asarray(layer(x))) == []


def test_the_shape_calculator_refuses_an_unknown_kind_and_says_why_a_side_has_none():
    with pytest.raises(ValueError, match=r"kind must be one of \['conv', 'conv_transpose'"):
        describe_port("deconv", (9, 9), (3, 3), (2, 2), (1, 1), "same")
    lines = describe_port("max_pool", (9, 9), (3, 3), (2, 2), (1, 1), "full")
    assert lines == [
        "Keras: no exact layer: padding='full' is a convolution padding only, not one of max_pool",
        "ONNX:  no node: padding='full' is not a pooling padding; use 'valid', 'same' or numbers",
    ]


def test_the_size_dependent_keras_layers_refuse_an_unknown_size():
    layer = to_keras(nn.ReflectionPad2d(1))
    with pytest.raises(ValueError, match=r"Pad2D needs a known input height and width"):
        keras.Sequential([keras.Input((None, None, 2)), layer])


_WITHOUT_CONVLIB = """
import sys

import numpy as np
import torch

sys.modules["convlib"] = None  # "import convlib" now raises ImportError: the reader has no convlib
try:
    import convlib  # noqa: F401
    raise SystemExit("convlib is importable")
except ImportError:
    pass
scope = {}
exec(open(sys.argv[1]).read(), scope)
module = scope["module"].eval()
module.load_state_dict(torch.load(sys.argv[2]))
for path in sys.argv[3:]:
    with torch.no_grad():
        np.save(path + ".out.npy", module(torch.from_numpy(np.load(path))).numpy())
"""


def test_pasted_torch_code_runs_without_convlib(rng, tmp_path):
    import subprocess
    import sys

    from convlib.bridges.porting import paste_source

    L = keras.layers
    model = keras.Sequential([
        keras.Input((None, None, 2)),
        L.Conv2D(4, 3, strides=2, padding="same"), L.MaxPooling2D(3, strides=2, padding="same"),
        L.AveragePooling2D(2, padding="same"), L.Conv2DTranspose(3, 3, strides=2, padding="same"),
        L.Conv2D(2, 2, padding="same", dilation_rate=2), L.Cropping2D(((1, 0), (0, 1))),
    ])  # fmt: skip
    for layer in model.layers:
        _randomize(layer, rng)
    net = to_torch(model)
    (tmp_path / "net.py").write_text(paste_source(net))
    torch.save(net.state_dict(), tmp_path / "weights.pt")
    xs = [rng.standard_normal((1, *hw, 2)).astype(np.float32) for hw in [(17, 13), (16, 20), (9, 9)]]
    for i, x in enumerate(xs):
        np.save(tmp_path / f"x{i}.npy", _nchw(x))
    paths = [str(tmp_path / f"x{i}.npy") for i in range(len(xs))]
    script = tmp_path / "run.py"
    script.write_text(_WITHOUT_CONVLIB)
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "net.py"), str(tmp_path / "weights.pt"), *paths],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    for x, path in zip(xs, paths, strict=True):
        got = _nhwc(np.load(path + ".out.npy"))
        assert disagreements(np.asarray(model(x)), pasted=got) == []


@pytest.mark.parametrize("k, s, d", [(1, 1, 1), (3, 2, 1), (4, 3, 2), (5, 1, 3), (2, 4, 1)])
def test_the_pasted_same_pads_are_tensorflows(k, s, d):
    from convlib.bridges.keras_to_torch import MODULE_SOURCE
    from convlib.shapes.geometry import resolve_padding

    scope: dict = {}
    exec(MODULE_SOURCE, scope)
    for h, w in [(1, 1), (7, 8), (16, 13), (31, 2)]:
        (t, b), (left, r) = resolve_padding((h, w), (k, k), "same", stride=s, dilation=d)
        assert scope["tf_same_pads"](torch.zeros(1, 1, h, w), k, (s, s), d) == (left, r, t, b), (h, w)
