"""ONNX Runtime as the third runtime: graphs from ``onnx_attrs`` (every ``auto_pad`` value) and
torch modules exported with ``torch.onnx.export``, compared with convlib; and the known defects
of the runtimes and exporters, each reproduced."""

from __future__ import annotations

import itertools

import numpy as np
import onnx
import pytest

import convlib
from convlib.bridges.keras_to_torch import keras_to_torch
from convlib.bridges.onnx_attrs import AUTO_PADS, OnnxAttrs, auto_pad_pads, onnx_attrs
from convlib.bridges.porting import to_torch
from convlib.proof.frameworks import load_tf, load_torch
from convlib.proof.onnxrt import (
    KNOWN_DEFECTS,
    disagreements,
    export_many,
    export_torch,
    node_model,
    reproduce,
    run_model,
)
from convlib.proof.verify.defects import simd_level

tf, torch = load_tf(), load_torch()
import keras  # noqa: E402  (after load_tf: TensorFlow is Keras's backend, imported quietly)

nn = torch.nn
SIZES = [(9, 8), (6, 7)]


@pytest.mark.parametrize("auto_pad, stride", list(itertools.product(AUTO_PADS, (1, 2, 3))))
def test_every_auto_pad_value_of_conv_and_pools(auto_pad, stride, rng):
    k = (4, 3)
    for hw in SIZES:
        x = rng.standard_normal((1, 2, *hw)).astype(np.float32)
        w = rng.standard_normal((3, 2, *k)).astype(np.float32)
        pads = auto_pad_pads(auto_pad, hw, k, stride=stride)
        base = {"kernel_shape": list(k), "strides": [stride, stride]}
        # NOTSET means explicit pads: those of SAME_UPPER, so that the pads are not all zero.
        word = {"auto_pad": auto_pad} if auto_pad != "NOTSET" else {"pads": [0, 0, 0, 0]}
        if auto_pad == "NOTSET":
            pads = auto_pad_pads("SAME_UPPER", hw, k, stride=stride)
            word["pads"] = [pads[0][0], pads[1][0], pads[0][1], pads[1][1]]
        conv = run_model(node_model(OnnxAttrs("Conv", base | word), x.shape, w), x)[0]
        ref = convlib.conv2d(x, w, stride=stride, padding=pads, data_format="NCHW")
        assert disagreements(ref, onnxruntime=conv) == [], (auto_pad, hw)
        top = run_model(node_model(OnnxAttrs("MaxPool", base | word), x.shape), x)[0]
        ref = convlib.max_pool2d(x, k, stride, pads, data_format="NCHW")
        assert disagreements(ref, onnxruntime=top) == [], (auto_pad, hw)
        mean = run_model(
            node_model(OnnxAttrs("AveragePool", base | word | {"count_include_pad": 0}), x.shape), x
        )[0]
        ref = convlib.avg_pool2d(x, k, stride, pads, count_include_pad=False, data_format="NCHW")
        assert disagreements(ref, onnxruntime=mean) == [], (auto_pad, hw)


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER"])
def test_conv_transpose_output_shape_splits_as_the_spec_says(auto_pad, rng):
    # total = s*(n-1) + op + d*(k-1)+1 - output_shape; SAME_UPPER starts at total//2 (onnxruntime once
    # swapped the two words here; 1.31 follows the spec).
    x = rng.standard_normal((1, 2, 5, 4)).astype(np.float32)
    w = rng.standard_normal((2, 3, 3, 4)).astype(np.float32)
    attrs = {"kernel_shape": [3, 4], "strides": [2, 2], "auto_pad": auto_pad, "output_shape": [10, 8]}
    y = run_model(node_model(OnnxAttrs("ConvTranspose", attrs), x.shape, w), x)[0]
    totals = ((5 - 1) * 2 + 3 - 10, (4 - 1) * 2 + 4 - 8)
    crops = tuple((t // 2, t - t // 2) if auto_pad == "SAME_UPPER" else (t - t // 2, t // 2) for t in totals)
    ref = convlib.conv_transpose2d(x, w, stride=2, padding=crops, data_format="NCHW")
    assert disagreements(ref, onnxruntime=y) == []


def test_keras_same_transposed_as_auto_pad_and_as_pads(rng):
    x = rng.standard_normal((1, 5, 4, 2)).astype(np.float32)
    w = rng.standard_normal((3, 3, 3, 2)).astype(np.float32)  # Keras layout (kh, kw, C_out, C_in)
    ref = convlib.nchw(convlib.conv_transpose2d(x, w, stride=2, padding="same"))
    lines = []
    for auto in (False, True):
        attrs = onnx_attrs("conv_transpose", (5, 4), 3, stride=2, padding="same", auto_pad=auto)
        lines += attrs.lines()
        y = run_model(node_model(attrs, (1, 2, 5, 4), w.transpose(3, 2, 0, 1)), convlib.nchw(x))[0]
        assert disagreements(ref, onnxruntime=y) == [], attrs
    assert lines == [
        "ConvTranspose(kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1])",
        "ConvTranspose(kernel_shape=[3, 3], strides=[2, 2], auto_pad='SAME_UPPER', output_shape=[10, 8])",
    ]


def _keras_modules(rng):
    """Keras layers whose PyTorch twins are convlib's own modules, and convlib's answer for each."""
    L, out = keras.layers, []
    layers = [
        (
            L.Conv2D(3, 3, strides=2, padding="same"),
            lambda x, w: convlib.conv2d(x, w[0], w[1], stride=2, padding="same"),
        ),
        (L.Conv2D(3, 4, padding="same"), lambda x, w: convlib.conv2d(x, w[0], w[1], padding="same")),
        (L.MaxPooling2D(2, padding="same"), lambda x, w: convlib.max_pool2d(x, 2, 2, "same")),
        (L.AveragePooling2D(3, strides=2, padding="same"), lambda x, w: convlib.avg_pool2d(x, 3, 2, "same")),
        (
            L.Conv2DTranspose(2, 3, strides=2, padding="same"),
            lambda x, w: convlib.conv_transpose2d(x, w[0], w[1], stride=2, padding="same"),
        ),
        (L.Cropping2D(((1, 0), (2, 1))), lambda x, w: x[:, 1:, 2:-1]),
        (L.UpSampling2D(2), lambda x, w: x.repeat(2, axis=1).repeat(2, axis=2)),
    ]
    probe = np.zeros((1, 9, 7, 2), np.float32)
    for layer, ref in layers:
        layer(probe)
        layer.set_weights([rng.standard_normal(v.shape).astype(np.float32) for v in layer.get_weights()])
        weights = [np.asarray(v) for v in layer.get_weights()]
        out.append((keras_to_torch(layer), lambda x, r=ref, w=weights: convlib.nchw(r(convlib.nhwc(x), w))))
    return out


def _torch_modules():
    """PyTorch modules whose ONNX export needs more than one attribute, and convlib's answer."""
    torch.manual_seed(0)
    mods = [
        nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"),
        nn.Conv2d(2, 3, 3, padding=2, padding_mode="replicate"),
        nn.Conv2d(2, 3, 3, padding=1, padding_mode="circular"),
        nn.Conv2d(2, 4, 3, padding="same", dilation=2, groups=2),
        nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1),
        nn.ConvTranspose2d(2, 3, 3, stride=2, padding=2, output_padding=1, dilation=2),
        nn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True),
        nn.AvgPool2d(3, 2, 1, ceil_mode=True),
        nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
        nn.ReflectionPad2d((1, 2, 0, 1)),
        nn.ZeroPad2d((1, -1, -2, 0)),
    ]
    refs = []
    for m in mods:
        if isinstance(m, nn.Conv2d):

            def ref(x, m=m):
                p = "same" if m.padding == "same" else m.padding
                return convlib.conv2d(
                    x,
                    m.weight.detach().numpy(),
                    m.bias.detach().numpy(),
                    padding=p,
                    dilation=m.dilation,
                    groups=m.groups,
                    padding_mode=m.padding_mode,
                    data_format="NCHW",
                )
        elif isinstance(m, nn.ConvTranspose2d):

            def ref(x, m=m):
                return convlib.conv_transpose2d(
                    x,
                    m.weight.detach().numpy(),
                    m.bias.detach().numpy(),
                    stride=m.stride,
                    padding=m.padding,
                    dilation=m.dilation,
                    output_padding=m.output_padding,
                    data_format="NCHW",
                )
        elif isinstance(m, nn.MaxPool2d):

            def ref(x, m=m):
                return convlib.max_pool2d(x, 3, 2, 1, dilation=2, ceil_mode=True, data_format="NCHW")
        elif isinstance(m, nn.AvgPool2d):

            def ref(x, m=m):
                return convlib.avg_pool2d(
                    x, 3, 2, 1, ceil_mode=True, count_include_pad=m.count_include_pad, data_format="NCHW"
                )
        elif isinstance(m, nn.ReflectionPad2d):

            def ref(x):
                return convlib.apply_padding(x, ((0, 1), (1, 2)), "reflect", axes=(2, 3))
        else:

            def ref(x):
                return np.pad(x, ((0, 0), (0, 0), (0, 0), (1, 0)))[:, :, 2:, :-1]

        refs.append((m.eval(), ref))
    return refs


def test_exported_modules_run_in_onnxruntime_as_convlib_computes(rng):
    """One dynamo export of every module side by side (the exporter's start-up paid once)."""
    pairs = _keras_modules(rng) + _torch_modules()
    x = rng.standard_normal((1, 2, 9, 7)).astype(np.float32)  # odd sizes: "same" pads unevenly
    model = export_many([m for m, _ in pairs], x)
    ops = {n.op_type for n in onnx.load_from_string(model).graph.node}
    assert {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "Pad", "Slice"} <= ops
    outputs = run_model(model, x)
    assert len(outputs) == len(pairs)
    for (module, ref), y in zip(pairs, outputs, strict=True):
        with torch.no_grad():
            y_torch = module(torch.from_numpy(x)).numpy()
        bad = disagreements(ref(x), torch=y_torch, onnxruntime=y)
        assert bad == [], f"{getattr(module, 'source', module)}: {bad}"


def test_a_ported_dilated_same_conv_exports_explicit_pads_that_onnxruntime_runs(rng):
    # Keras "same" at stride 1 with an even d*(k-1) pads d*(k-1)/2 per side for every input size:
    # to_torch writes those numbers, so the TorchScript exporter writes pads, not SAME_UPPER
    # (which ORT refuses with dilation: KNOWN_DEFECTS["ort-conv-same-dilated"]).
    layer = keras.layers.Conv2D(4, 3, padding="same", dilation_rate=2)
    x = rng.standard_normal((1, 9, 7, 2)).astype(np.float32)
    layer(x)
    layer.set_weights([rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()])
    module = to_torch(layer)
    assert "padding=(2, 2)" in module.source and "'same'" not in module.source
    model = export_torch(module, convlib.nchw(x), dynamo=False)
    (conv,) = [n for n in onnx.load_from_string(model).graph.node if n.op_type == "Conv"]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in conv.attribute}
    assert attrs["pads"] == [2, 2, 2, 2] and attrs.get("auto_pad", b"NOTSET") == b"NOTSET"
    (y,) = run_model(model, convlib.nchw(x))
    ref = convlib.conv2d(x, *[np.asarray(w) for w in layer.get_weights()], padding="same", dilation=2)
    assert disagreements(ref, keras=np.asarray(layer(x)), onnxruntime=convlib.nhwc(y)) == []


@pytest.mark.parametrize("name", sorted(KNOWN_DEFECTS))
def test_known_defect_still_reproduces(name):
    # A line starting "FIXED" means the runtime was repaired: update KNOWN_DEFECTS and the chapter.
    defect = KNOWN_DEFECTS[name]
    if defect.simd is not None and simd_level() != defect.simd:
        pytest.skip(f"oneDNN's {defect.simd} kernels carry this defect; this CPU is {simd_level()!r}")
    line = reproduce(defect)
    assert line.startswith("DEFECT: "), line


def test_onnx_attrs_never_writes_auto_pad_where_the_runtime_misreads_it():
    dilated = onnx_attrs("conv", (8, 8), 3, padding="same", dilation=2, auto_pad=True)
    assert "auto_pad" not in dilated.attributes and dilated.attributes["pads"] == [2, 2, 2, 2]
    plain = onnx_attrs("max_pool", (8, 8), 3, stride=1, padding="same", auto_pad=True)
    assert plain.attributes["auto_pad"] == "SAME_UPPER"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(kind="deconv"), r"kind must be one of \['conv', 'conv_transpose', 'max_pool', 'avg_pool'\]"),
        (dict(convention="jax"), r"convention must be 'keras' or 'torch', got 'jax'"),
        (dict(padding=1), r"Keras padding must be 'valid' or 'same', got 1"),
        (dict(padding="same", stride=2, convention="torch"), r"padding='same' needs stride 1"),
        (dict(kind="max_pool", ceil_mode=True), r"Keras pooling has no ceil_mode"),
        (dict(kind="avg_pool", dilation=2), r"average pooling has no dilation"),
        (dict(kind="conv_transpose", padding="same", convention="torch"), r"takes numbers for padding"),
        (dict(padding="same", padding_mode="reflect"), r"Keras's Conv2D has no padding_mode"),
        (dict(kernel=9, convention="torch"), r"kernel height 9 .* larger than the padded input height 6"),
    ],
)
def test_onnx_attrs_refuses_with_the_parameter_named(kwargs, message):
    args = dict(kind="conv", input_hw=(6, 6), kernel=3) | kwargs
    with pytest.raises(ValueError, match=message):
        onnx_attrs(args.pop("kind"), args.pop("input_hw"), args.pop("kernel"), **args)


def test_auto_pad_pads_refuses_an_unknown_word():
    with pytest.raises(ValueError, match=r"auto_pad must be one of \['NOTSET', 'SAME_UPPER'"):
        auto_pad_pads("SAME", (4, 4), 3)
