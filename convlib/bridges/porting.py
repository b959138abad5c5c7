"""The front doors for porting: :func:`to_torch`, :func:`to_keras`, :func:`onnx_attrs`, and the
lines the shape calculator prints (:func:`describe_port`).

:func:`to_torch` takes either a convlib network spec (a list of :mod:`convlib.records` layers,
built by :mod:`.spec_torch` with random weights) or a built Keras layer or
``keras.Sequential`` (converted with its weights by :mod:`.keras_to_torch`). :func:`to_keras` is
the reverse for PyTorch modules (:mod:`.torch_to_keras`). Both return a module or layer whose
``source`` attribute holds the code that built it, and refuse with a ``ValueError`` saying why
wherever no exact equivalent exists: never an approximate one.

Examples
--------
>>> print(*describe_port("conv", (10, 11), (3, 3), (2, 2), (1, 1), "same"), sep="\\n")
Keras: layers.Conv2D(C_out, (3, 3), strides=(2, 2), padding='same', dilation_rate=(1, 1))
ONNX:  Conv(kernel_shape=[3, 3], strides=[2, 2], pads=[0, 1, 1, 1])
"""

from __future__ import annotations

from ..padding import normalize_padding
from ..records import LayerSpec
from ..shapes.geometry import effective_kernel_size, resolve_padding
from .keras_to_torch import MODULE_SOURCE, keras_to_torch
from .onnx_attrs import KINDS, OnnxAttrs, onnx_attrs
from .spec_torch import spec_to_torch
from .torch_to_keras import LAYER_SOURCE, keras_expression, torch_to_keras

__all__ = [
    "to_torch",
    "to_keras",
    "paste_source",
    "onnx_attrs",
    "OnnxAttrs",
    "describe_port",
    "MODULE_SOURCE",
    "LAYER_SOURCE",
]


def _is_keras(obj) -> bool:
    # Decided from the class's module, so that a convlib spec never imports Keras.
    return any(c.__module__.split(".")[0] == "keras" for c in type(obj).__mro__)


def to_torch(obj, input_shape: tuple[int, int, int] | None = None):
    """A PyTorch module for a convlib spec or a built Keras layer.

    Parameters
    ----------
    obj : list of convlib.records layers, or keras.layers.Layer, or keras.Sequential
        A spec is built by :func:`.spec_torch.spec_to_torch` (random weights); a Keras layer
        (see :data:`~convlib.bridges.keras_to_torch.SUPPORTED_KERAS`) keeps its weights.
    input_shape : (C, H, W), optional
        Required for a spec (it fixes the channel counts); a Keras layer carries its own.

    Returns
    -------
    torch.nn.Module
        In eval mode. From a spec: module names are the rows of :func:`convlib.graph.trace`.
        From Keras: computes the same function on NCHW input, for every input size
        (TensorFlow's size-dependent "same" included); ``module.source`` is its code, which
        needs torch only (:func:`paste_source`).

    Raises
    ------
    ValueError
        A spec without ``input_shape``, an ``input_shape`` with a Keras layer, a Keras layer
        without an exact PyTorch equivalent (with the reason), an unbuilt layer, a Keras model
        that is not a ``Sequential``, or an object that is neither.

    Examples
    --------
    >>> from convlib.records import ConvSpec
    >>> tuple(to_torch([ConvSpec(4, 3, stride=2, padding="same")], (1, 5, 6))(
    ...     __import__("torch").zeros(1, 1, 5, 6)).shape)
    (1, 4, 3, 3)
    """
    if isinstance(obj, LayerSpec) or (
        isinstance(obj, (list, tuple)) and obj and all(isinstance(x, LayerSpec) for x in obj)
    ):
        if input_shape is None:
            raise ValueError("to_torch: a convlib spec needs input_shape=(C, H, W) to fix its channel counts")
        return spec_to_torch([obj] if isinstance(obj, LayerSpec) else list(obj), input_shape)
    if not _is_keras(obj):
        raise ValueError(
            f"to_torch takes a convlib spec (a list of convlib.records layers) or a built Keras layer, "
            f"got {type(obj).__name__}"
        )
    if input_shape is not None:
        raise ValueError("to_torch: input_shape is for convlib specs; a built Keras layer carries its shapes")
    if type(obj).__name__ == "Sequential":
        return _sequential([keras_to_torch(layer) for layer in obj.layers])
    if hasattr(obj, "layers") and type(obj).__name__ in ("Functional", "Model"):
        raise ValueError(
            "to_torch: only keras.Sequential models convert layer by layer (a functional graph may branch)"
        )
    return keras_to_torch(obj)


def _sequential(modules):
    from torch import nn

    net = nn.Sequential(*modules).eval()
    net.source = "nn.Sequential(\n" + "".join(f"    {m.source},\n" for m in modules) + ")"
    return net


def to_keras(module):
    """A built Keras layer (or small ``keras.Sequential``) for a PyTorch module, weights included.

    Parameters
    ----------
    module : torch.nn.Module
        ``nn.Conv2d`` (any padding and padding_mode, grouped, depthwise), ``nn.ConvTranspose2d``,
        ``nn.MaxPool2d``, ``nn.AvgPool2d``, the 2-D padding modules, ``nn.ReLU`` or an
        ``nn.Sequential`` of them (see :data:`~convlib.bridges.torch_to_keras.SUPPORTED_TORCH`).

    Returns
    -------
    keras.layers.Layer
        Computes the same function on NHWC input; ``layer.source`` is its code.

    Raises
    ------
    ValueError
        Where Keras cannot compute the module's function exactly, with the reason.
    """
    return torch_to_keras(module)


def paste_source(converted) -> str:
    """A self-contained program that builds ``converted`` (a result of :func:`to_torch` or
    :func:`to_keras`), for a reader to paste: the helper classes it uses, then the one line.

    The weights are not in the text; copy them with ``state_dict()`` / ``get_weights()``.

    Raises
    ------
    ValueError
        An object without the ``source`` text the converters attach.
    """
    text = getattr(converted, "source", None)
    if not isinstance(text, str):
        raise ValueError(
            f"paste_source needs a result of to_torch or to_keras, got {type(converted).__name__}"
        )
    torch_side = text.startswith(("nn.", *_TORCH_CLASSES))
    classes, library = (_TORCH_CLASSES, MODULE_SOURCE) if torch_side else (_KERAS_CLASSES, LAYER_SOURCE)
    if any(f"{name}(" in text for name in classes):
        head = library
    else:
        head = "from torch import nn\n" if torch_side else "import keras\nfrom keras import layers\n"
    return f"{head}\n\n{'module' if torch_side else 'layer'} = {text}\n"


_TORCH_CLASSES = ("Conv2dSame", "MaxPool2dSame", "AvgPool2dSame", "ConvTranspose2dCrop", "Crop2d")
_KERAS_CLASSES = ("Pad2D", "TorchPool2D")


def _written_out(kind: str, s, d, numbers: bool) -> bool:
    """Whether the Keras recipe writes the dilated kernel out, zeros between its taps: TF's CPU
    kernels refuse dilation > 1 with stride > 1, and the transposed recipe for numbers always does."""
    if kind not in ("conv", "conv_transpose") or d == (1, 1):
        return False
    return s != (1, 1) or (kind == "conv_transpose" and numbers)


def _keras_line(kind: str, n, k, s, d, padding, output_padding, ceil_mode) -> str:
    word = padding if isinstance(padding, str) else None
    if word == "full" and kind != "conv":
        raise ValueError(f"padding='full' is a convolution padding only, not one of {kind}")
    if word in ("valid", "same") and _written_out(kind, s, d, False):
        k, d = tuple(effective_kernel_size(k[i], d[i]) for i in range(2)), (1, 1)  # the same pads
    if kind == "conv":
        if word in ("valid", "same"):
            return f"layers.Conv2D(C_out, {k}, strides={s}, padding={word!r}, dilation_rate={d})"
        pads = resolve_padding(n, k, padding, stride=s, dilation=d)
        cfg = {
            "kind": "Conv2d",
            "in": "C_in",
            "out": "C_out",
            "kernel": k,
            "stride": s,
            "pads": pads,
            "dilation": d,
            "groups": 1,
            "bias": True,
            "mode": "zeros",
        }
        return keras_expression(cfg).replace(", use_bias=True", "")
    if kind == "conv_transpose":
        if word in ("valid", "same"):
            op = "" if output_padding is None else f", output_padding={output_padding}"
            dil = "" if d == (1, 1) else f", dilation_rate={d}"
            return f"layers.Conv2DTranspose(C_out, {k}, strides={s}, padding={word!r}{op}{dil})"
        cfg = {
            "kind": "ConvTranspose2d",
            "out": "C_out",
            "kernel": k,
            "stride": s,
            "padding": padding,
            "output_padding": output_padding or (0, 0),
            "dilation": d,
            "bias": True,
        }
        return keras_expression(cfg).replace(", use_bias=True", "")
    name = "MaxPooling2D" if kind == "max_pool" else "AveragePooling2D"
    if word in ("valid", "same") and not ceil_mode and d == (1, 1):
        return f"layers.{name}({k}, strides={s}, padding={word!r})"
    if word == "same":
        raise ValueError("Keras pooling has no dilation and no ceil_mode, and TorchPool2D takes numbers")
    (t, b), (left, r) = ((0, 0), (0, 0)) if word == "valid" else padding
    if t != b or left != r:
        raise ValueError(f"pooling pads {padding} are not symmetric: neither PyTorch nor Keras takes them")
    cfg = {
        "kind": "MaxPool2d" if kind == "max_pool" else "AvgPool2d",
        "kernel": k,
        "stride": s,
        "padding": (t, left),
        "ceil_mode": ceil_mode,
        "dilation": d,
        "count_include_pad": True,
    }
    return keras_expression(cfg)


def describe_port(kind: str, n, k, s, d, padding, output_padding=None, ceil_mode: bool = False) -> list[str]:
    """The Keras layer and the ONNX node of one layer, as the shape calculator prints them.

    Framework-free: the text comes from :mod:`.torch_to_keras` and :mod:`.onnx_attrs`, the same
    text :func:`to_keras` evaluates.

    Parameters
    ----------
    kind : {"conv", "conv_transpose", "max_pool", "avg_pool"}
    n, k, s, d : (int, int)
        Input size, kernel, stride and dilation per axis.
    padding
        ``"valid"``/``"same"`` (Keras's meaning), ``"full"`` (convolution), or per-axis numbers
        (PyTorch's meaning: symmetric for pooling and transposed convolution).
    output_padding : (int, int), optional
        Transposed convolution only.
    ceil_mode : bool
        Pooling only (PyTorch's).

    Returns
    -------
    list of str
        ``"Keras: ..."`` and one ``"ONNX:  ..."`` line per node; a configuration one side cannot
        express gets a line saying why instead.

    Raises
    ------
    ValueError
        An unknown ``kind`` or padding word.

    Examples
    --------
    >>> print(*describe_port("conv_transpose", (4, 4), (3, 3), (2, 2), (1, 1), (1, 1), (1, 1)), sep="\\n")
    Keras: keras.Sequential([layers.Conv2DTranspose(C_out, (3, 3), strides=(2, 2), padding='valid', \
output_padding=(1, 1)), layers.Cropping2D(((1, 1), (1, 1)))])
    ONNX:  ConvTranspose(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1])
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}")
    padding = normalize_padding(padding)
    try:
        keras_line = "Keras: " + _keras_line(kind, n, k, s, d, padding, output_padding, ceil_mode)
    except ValueError as exc:
        keras_line = f"Keras: no exact layer: {exc}"
    numbers = not isinstance(padding, str) or padding == "full"
    if _written_out(kind, s, d, numbers) and not keras_line.startswith("Keras: no"):
        keras_line += f"  # kernel {k} dilated by {d}: zeros between its taps"
    word = padding if isinstance(padding, str) else None
    keras_words = word in ("valid", "same")
    if kind == "conv" and word == "full":
        padding, keras_words = resolve_padding(n, k, padding, stride=s, dilation=d), False
    try:
        attrs = onnx_attrs(
            kind,
            n,
            k,
            stride=s,
            padding=padding,
            dilation=d,
            output_padding=output_padding if kind == "conv_transpose" else None,
            ceil_mode=ceil_mode,
            convention="keras" if keras_words else "torch",
        )
        onnx_lines = ["ONNX:  " + line for line in attrs.lines()]
    except ValueError as exc:
        onnx_lines = [f"ONNX:  no node: {exc}"]
    return [keras_line, *onnx_lines]
