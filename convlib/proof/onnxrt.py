"""ONNX Runtime as the third runtime: graphs built from :func:`convlib.bridges.onnx_attrs.onnx_attrs`,
torch modules exported with ``torch.onnx.export``, both run on ORT's CPU provider.

:func:`node_model` builds a one-node graph (``Pad`` first when the attributes need it) with
``onnx.helper``; :func:`export_torch` exports a module (or, to pay the exporter's start-up
once, several modules side by side, :func:`export_many`) with the default dynamo exporter,
its progress lines and warnings silenced; :func:`run_model` runs either in ORT.
:data:`KNOWN_DEFECTS` holds what a runtime or exporter does against its own documented
semantics, each with a minimal reproduction that :func:`reproduce` runs and that prints one
line, as :mod:`convlib.proof.verify.defects` does for TensorFlow.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from dataclasses import dataclass

import numpy as np

__all__ = [
    "OPSET",
    "Defect",
    "KNOWN_DEFECTS",
    "node_model",
    "export_torch",
    "export_many",
    "run_model",
    "ops_per_output",
    "disagreements",
    "reproduce",
]

OPSET = 20  # what torch 2.13's dynamo exporter writes; AveragePool takes dilations from 19 on


def node_model(attrs, x_shape, w=None, b=None):
    """A one-node ONNX model (``Pad`` first when ``attrs.pad`` is set) taking ``X`` of ``x_shape``.

    Parameters
    ----------
    attrs : convlib.bridges.onnx_attrs.OnnxAttrs
    x_shape : tuple of int
        NCHW input shape.
    w, b : numpy.ndarray, optional
        ``Conv`` weight OIHW / ``ConvTranspose`` weight ``(C_in, C_out/group, kh, kw)`` and bias,
        stored as initializers.

    Returns
    -------
    onnx.ModelProto
        Checked with ``onnx.checker``.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits, nodes, src = [], [], "X"
    if attrs.pad is not None:
        mode, ((t, bt), (left, r)) = attrs.pad
        inits.append(numpy_helper.from_array(np.array([0, 0, t, left, 0, 0, bt, r], np.int64), "pads"))
        nodes.append(helper.make_node("Pad", ["X", "pads"], ["Xp"], mode=mode))
        src = "Xp"
    inputs = [src]
    for name, value in (("W", w), ("B", b)):
        if value is not None:
            inits.append(numpy_helper.from_array(np.ascontiguousarray(value, np.float32), name))
            inputs.append(name)
    nodes.append(helper.make_node(attrs.op_type, inputs, ["Y"], **attrs.attributes))
    graph = helper.make_graph(
        nodes,
        "convlib",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, list(x_shape))],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None] * len(x_shape))],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 9  # onnxruntime 1.31 reads IR 9 and later; onnx 1.23 would write 11
    onnx.checker.check_model(model)
    return model


@contextlib.contextmanager
def _quiet_exporter():
    """The dynamo exporter prints progress to stdout, logs to stderr and warns; none of it is a result."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def export_torch(module, x, *, dynamo: bool = True) -> bytes:
    """``torch.onnx.export`` of ``module`` on the example input ``x``; the serialized model.

    ``dynamo=True`` is torch 2.13's default exporter (``torch.export`` then onnxscript);
    ``dynamo=False`` the older TorchScript one, for comparison.
    """
    import torch

    xt = torch.as_tensor(np.ascontiguousarray(x, np.float32))
    with _quiet_exporter(), torch.no_grad():
        if dynamo:
            return torch.onnx.export(
                module.eval(), (xt,), dynamo=True, opset_version=OPSET
            ).model_proto.SerializeToString()
        buf = io.BytesIO()
        torch.onnx.export(module.eval(), (xt,), buf, dynamo=False, opset_version=OPSET)
        return buf.getvalue()


def export_many(modules, x, *, dynamo: bool = True) -> bytes:
    """Export several modules that take the same input as one graph with one output each.

    The exporter's start-up costs about a second; one export for a batch of modules pays it once.
    """
    import torch

    class Bundle(torch.nn.Module):
        def __init__(self, parts):
            super().__init__()
            self.parts = torch.nn.ModuleList(parts)

        def forward(self, x):
            return tuple(m(x) for m in self.parts)

    return export_torch(Bundle(list(modules)), x, dynamo=dynamo)


def run_model(model, x) -> list[np.ndarray]:
    """Run an ONNX model (a ``ModelProto`` or its bytes) on ``x`` in ORT's CPU provider."""
    import onnxruntime as ort

    data = model if isinstance(model, bytes) else model.SerializeToString()
    options = ort.SessionOptions()
    options.log_severity_level = 4  # only fatal: a refused node raises, and its log line would be noise
    sess = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: np.ascontiguousarray(x, np.float32)})


def ops_per_output(model) -> list[list[str]]:
    """For each output of a model (bytes or ``ModelProto``), the op types that compute it, in order.

    Walks back from the output through the nodes that produce its inputs, so that an
    :func:`export_many` bundle shows what the exporter wrote for each module.
    """
    import onnx

    proto = onnx.load_from_string(model) if isinstance(model, bytes) else model
    nodes = list(proto.graph.node)
    producer = {out: i for i, node in enumerate(nodes) for out in node.output}
    result = []
    for output in proto.graph.output:
        seen, stack = set(), [output.name]
        while stack:
            i = producer.get(stack.pop())
            if i is not None and i not in seen:
                seen.add(i)
                stack.extend(nodes[i].input)
        result.append([nodes[i].op_type for i in sorted(seen) if nodes[i].op_type != "Constant"])
    return result


def disagreements(reference, **outputs) -> list[str]:
    """Every runtime whose output differs from ``reference`` (convlib's), one line each.

    The strict rule: a shape that differs, or any cell off by more than
    ``1e-5 * max(1, max|reference|)`` (float32 against a framework), is a disagreement. An
    empty list is the verdict "every runtime agrees".

    Examples
    --------
    >>> disagreements(np.ones((2, 2)), torch=np.ones((2, 2)), onnxruntime=np.zeros((2, 2)))
    ['onnxruntime: max |diff| 1 > 1e-05']
    """
    ref = np.asarray(reference, np.float64)
    atol = 1e-5 * max(1.0, float(np.abs(ref).max()) if ref.size else 1.0)
    out = []
    for name, y in outputs.items():
        y = np.asarray(y, np.float64)
        if y.shape != ref.shape:
            out.append(f"{name}: shape {y.shape}, convlib {ref.shape}")
        elif y.size and (diff := float(np.abs(y - ref).max())) > atol:
            out.append(f"{name}: max |diff| {diff:.3g} > {atol:.3g}")
    return out


def verdict(reference, **outputs) -> str:
    """:func:`disagreements` as one line: ``"agree (a, b vs convlib)"`` or what disagreed.

    Examples
    --------
    >>> verdict(np.ones(3), torch=np.ones(3), keras=np.ones(3) + 1)
    'DISAGREE: keras: max |diff| 1'
    """
    bad = disagreements(reference, **outputs)
    if bad:  # "name: max |diff| D > tol": the name and D
        return "DISAGREE: " + "; ".join(b.split(" >")[0] for b in bad)
    return f"agree ({', '.join(outputs)} vs convlib)"


def fold(text: str, *, first: str = "", indent: int = 4, width: int = 74) -> str:
    """One long line wrapped to ``width`` columns (what a chapter's output box holds), words kept whole.

    Examples
    --------
    >>> print(fold("nn.Conv2d(2, 4, (3, 3), stride=(2, 2))", first="torch: ", width=30))
    torch: nn.Conv2d(2, 4, (3, 3),
        stride=(2, 2))
    """
    import textwrap

    return textwrap.fill(text, width, initial_indent=first, subsequent_indent=" " * indent,
                         break_long_words=False)  # fmt: skip


@dataclass(frozen=True)
class Defect:
    """A runtime or exporter disagreeing with its own documented semantics.

    ``code`` is a self-contained program that prints one line, starting ``DEFECT:`` while the
    defect lasts and ``FIXED:`` once it is gone. ``simd`` names the x86 vector level
    (:func:`convlib.proof.verify.defects.simd_level`) a CPU-dependent defect needs, else ``None``.
    """

    name: str
    where: str
    summary: str
    code: str
    simd: str | None = None


def reproduce(defect: Defect) -> str:
    """Run ``defect.code`` in this process and return the line it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(defect.code, f"<defect {defect.name}>", "exec"), {"__name__": "__defect__"})
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    return lines[-1] if lines else ""


_ORT_CONV_SAME_DILATED = """
import numpy as np
from convlib.bridges.onnx_attrs import OnnxAttrs
from convlib.proof.onnxrt import node_model, run_model
x, w = np.ones((1, 1, 8, 8), np.float32), np.ones((1, 1, 3, 3), np.float32)
node = OnnxAttrs("Conv", {"kernel_shape": [3, 3], "dilations": [2, 2], "auto_pad": "SAME_UPPER"})
try:
    y = run_model(node_model(node, x.shape, w), x)[0]
    print("FIXED: output", y.shape, "(spec: (1, 1, 8, 8))")
except Exception as exc:
    why = str(exc).split("Status Message: ")[-1]
    print("DEFECT: the ONNX spec defines SAME_UPPER with dilations; ORT:", why)
"""

_ORT_MAXPOOL_SAME_DILATED = """
import numpy as np
from convlib.bridges.onnx_attrs import OnnxAttrs
from convlib.proof.onnxrt import node_model, run_model
x = np.arange(64, dtype=np.float32).reshape(1, 1, 8, 8)
attrs = {"kernel_shape": [3, 3], "dilations": [2, 2], "strides": [1, 1], "auto_pad": "SAME_UPPER"}
node = OnnxAttrs("MaxPool", attrs)
shape = run_model(node_model(node, x.shape), x)[0].shape
verdict = "FIXED" if shape == (1, 1, 8, 8) else "DEFECT"
print(f"{verdict}: spec output ceil(8/1) = 8 per axis, (1, 1, 8, 8); ORT gives {shape}",
      "(pads of the undilated kernel)")
"""

_TF_DEPTHWISE_UNEQUAL_STRIDES = """
import numpy as np
from convlib.proof.frameworks import load_tf
tf = load_tf()
x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
w = np.ones((1, 2, 1, 2), np.float32)  # one input channel, depth multiplier 2
y = tf.nn.depthwise_conv2d(x, w, strides=(1, 1, 2, 1), padding="VALID").numpy()[0, :, 0, 0]
wrong = [i for i in range(3) if not np.isclose(y[i], [1, 7, 13][i])]
# The wrong rows hold whatever memory held: their values are not printed, only where they are.
verdict = "FIXED" if not wrong else "DEFECT"
print(f"{verdict}: expected rows [1, 7, 13] (x[i, 0] + x[i, 1]); rows {wrong} of TensorFlow's differ")
"""

_TORCH_EXPORT_ADAPTIVE_MAX = """
import numpy as np
from convlib.proof.frameworks import load_torch
from convlib.proof.onnxrt import export_torch
torch = load_torch()
try:
    export_torch(torch.nn.AdaptiveMaxPool2d(3), np.zeros((1, 1, 8, 7), np.float32))
    print("FIXED: AdaptiveMaxPool2d(3) on 8x7 exports")
except Exception as exc:
    print("DEFECT: AdaptiveMaxPool2d(3) on 8x7 (3 divides neither):", type(exc).__name__)
"""

KNOWN_DEFECTS: dict[str, Defect] = {
    d.name: d
    for d in (
        Defect(
            "ort-conv-same-dilated",
            "onnxruntime 1.31 CPU",
            "Conv with auto_pad SAME_UPPER/SAME_LOWER and dilations > 1 is refused at run time, "
            "though the ONNX spec defines it; torch's TorchScript exporter writes "
            "nn.Conv2d(padding='same', dilation=2) exactly so, and that model cannot run "
            "(convlib's to_torch writes the equal explicit pads instead, which ORT runs)",
            _ORT_CONV_SAME_DILATED,
        ),
        Defect(
            "ort-maxpool-same-dilated",
            "onnxruntime 1.31 CPU",
            "MaxPool with auto_pad SAME_UPPER and dilations > 1 pads as if the kernel were not "
            "dilated: the output is smaller than the spec's ceil(n / s)",
            _ORT_MAXPOOL_SAME_DILATED,
        ),
        Defect(
            "tf-depthwise-unequal-strides",
            "TensorFlow 2.21 CPU, oneDNN on",
            "tf.nn.depthwise_conv2d (Keras DepthwiseConv2D, SeparableConv2D) with unequal strides, "
            "one input channel and a depth multiplier above 1 returns uninitialised values for "
            "some rows; with oneDNN off TensorFlow refuses unequal strides instead",
            _TF_DEPTHWISE_UNEQUAL_STRIDES,
            simd="avx512",
        ),
        Defect(
            "torch-export-adaptive-max",
            "torch.onnx.export 2.13 (dynamo)",
            "AdaptiveMaxPool2d whose output size divides neither input size fails to export "
            "(ConversionError; the TorchScript exporter refuses it too, pytorch#75383)",
            _TORCH_EXPORT_ADAPTIVE_MAX,
        ),
    )
}
