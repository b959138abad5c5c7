"""A Keras model (functional or Sequential) as a :class:`convlib.graph.ir.Graph`, from its layer graph.

The reader walks ``model.layers`` in Keras's topological order and follows each layer's inbound
node to the layers that feed it; it reads layer configurations (``filters``, ``kernel_size``,
``strides``, ``padding``, ...) and parameter counts, never weights, and runs nothing. Shapes in
the IR are ``(C, H, W)`` whatever the ``data_format``; the graph's layout is ``"NHWC"`` (or
``"NCHW"`` for ``channels_first`` models). A layer class not listed here, a layer called more
than once (shared weights) or a nested model raise a ``ValueError`` that names it.
"""

from __future__ import annotations

from ..graph.ir import Graph, Node

__all__ = ["keras_graph"]

POINTWISE = {
    "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "BatchNormalization", "LayerNormalization",
    "GroupNormalization", "Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "Identity",
    "Rescaling", "Normalization", "ActivityRegularization",
}  # fmt: skip
MERGES = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"}


def _pair(v) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _conv(layer, c_in: int) -> dict:
    return dict(
        out_channels=layer.filters,
        in_channels=c_in,
        kernel=_pair(layer.kernel_size),
        stride=_pair(layer.strides),
        dilation=_pair(layer.dilation_rate),
        groups=getattr(layer, "groups", 1),
        padding=layer.padding,
        padding_mode="zeros",
        bias=layer.use_bias,
    )


def _attrs(layer, kind: str, channels_last: bool) -> tuple[str, dict]:
    if kind == "Conv2D":
        return "conv", _conv(layer, layer.kernel.shape[-2] * layer.groups)
    if kind == "Conv2DTranspose":
        op = None if layer.output_padding is None else _pair(layer.output_padding)
        return "conv_transpose", {
            **_conv(layer, layer.kernel.shape[-1]),
            "output_padding": op,
            "output_size": None,
        }
    if kind == "DepthwiseConv2D":
        c = layer.kernel.shape[2]
        attrs = dict(out_channels=c * layer.depth_multiplier, in_channels=c, kernel=_pair(layer.kernel_size),
                     stride=_pair(layer.strides), dilation=_pair(layer.dilation_rate), groups=c,
                     padding=layer.padding, padding_mode="zeros", bias=layer.use_bias)  # fmt: skip
        return "conv", attrs
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        k = _pair(layer.pool_size)
        attrs = dict(
            kernel=k,
            stride=_pair(layer.strides) if layer.strides is not None else k,
            padding=layer.padding,
            dilation=(1, 1),
            ceil_mode=False,
            count_include_pad=False,
        )
        return ("max_pool" if kind[:3] == "Max" else "avg_pool"), attrs
    if kind in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        return "global_pool", {
            "mode": "avg" if "Average" in kind else "max",
            "keepdims": bool(layer.keepdims),
        }
    if kind == "ZeroPadding2D":
        return "pad", {"pads": tuple(map(tuple, layer.padding)), "mode": "constant"}
    if kind == "Cropping2D":
        return "crop", {"crops": tuple(map(tuple, layer.cropping))}
    if kind == "UpSampling2D":
        return "upsample", {"scale": tuple(float(v) for v in _pair(layer.size)), "mode": layer.interpolation}
    if kind == "Resizing":
        return "upsample", {"size": (layer.height, layer.width), "mode": layer.interpolation}
    if kind == "Concatenate":
        if layer.axis not in ((-1, 3) if channels_last else (1, -3)):
            raise ValueError(f"layer {layer.name} (Concatenate): axis={layer.axis} is not the channel axis")
        return "concat", {"axis": 0}
    if kind in MERGES:
        return "add", {"fn": kind.lower()}
    if kind == "Flatten":
        return "flatten", {}
    if kind in POINTWISE:
        return "pointwise", {"fn": kind, "params": layer.count_params()}
    raise ValueError(f"layer {layer.name} ({kind}): convlib's Keras reader does not know this layer class")


def _dense(layer, rank: int) -> tuple[str, dict]:
    n_in = layer.kernel.shape[0]
    if rank == 2:
        return "linear", {"in_features": n_in, "out_features": layer.units, "bias": layer.use_bias}
    # Keras applies Dense to the last axis of a (H, W, C) map: a 1x1 convolution.
    return "conv", dict(
        out_channels=layer.units,
        in_channels=n_in,
        kernel=(1, 1),
        stride=(1, 1),
        dilation=(1, 1),
        groups=1,
        padding="valid",
        padding_mode="zeros",
        bias=layer.use_bias,
    )


def keras_graph(model) -> Graph:
    """Read a built Keras functional or Sequential ``model`` into a graph.

    Raises
    ------
    ValueError
        An unknown layer class (named), a shared layer, a nested model, or a model with more
        than one input or output.
    """
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(f"model {model.name}: convlib reads models with one input and one output")
    channels_last = not any(getattr(layer, "data_format", None) == "channels_first" for layer in model.layers)
    names: dict[str, str] = {}
    ranks: dict[str, int] = {}
    nodes = [Node("input", "input", (), {}, "InputLayer")]
    ours = {layer.name for layer in model.layers}
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "InputLayer":
            names[layer.name], ranks[layer.name] = "input", 4
            continue
        if hasattr(layer, "layers"):
            raise ValueError(f"layer {layer.name} ({kind}) is a nested model; build the model flat")
        inbound = [
            n
            for n in layer._inbound_nodes
            if all(
                t._keras_history.operation.name in ours  # calls inside this model, not another one
                or type(t._keras_history.operation).__name__ == "InputLayer"
                for t in n.input_tensors
            )
        ]
        if len(inbound) != 1:
            raise ValueError(
                f"layer {layer.name} ({kind}) is called {len(inbound)} times; convlib reads each once"
            )
        sources = []
        for t in inbound[0].input_tensors:
            op = t._keras_history.operation
            sources.append(
                names.get(op.name, "input") if type(op).__name__ == "InputLayer" else names[op.name]
            )
        rank = ranks.get(sources[0], 4) if sources[0] != "input" else 4
        op, attrs = _dense(layer, rank) if kind == "Dense" else _attrs(layer, kind, channels_last)
        nodes.append(Node(layer.name, op, tuple(sources), attrs, kind))
        names[layer.name] = layer.name
        ranks[layer.name] = (
            2 if op in ("flatten", "linear") or (op == "global_pool" and not attrs["keepdims"]) else rank
        )
    out = model.outputs[0]._keras_history.operation.name
    return Graph(tuple(nodes), "input", names[out], "NHWC" if channels_last else "NCHW")
