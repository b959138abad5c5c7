"""A Keras model (functional or Sequential) as a :class:`convlib.graph.ir.Graph`, from its layer graph.

The reader walks ``model.operations`` in Keras's topological order (layers, and Keras 3
operations such as ``x + 3.0``) and follows each one's inbound node to those that feed it; it
reads layer configurations (``filters``, ``kernel_size``, ``strides``, ``padding``, ...) and
parameter counts, never weights, and runs nothing. A model nested inside (a ``Sequential`` stem)
is read in place. Shapes in the IR are ``(C, H, W)`` whatever the ``data_format``; the graph's
layout is ``"NHWC"`` (or ``"NCHW"`` for ``channels_first`` models). A layer class without a rule
keeps Keras's own ``compute_output_spec`` shape at each size; a layer called more than once
(shared weights) or an operation that changes sizes in a way convlib cannot describe raise a
``ValueError`` that names it.
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
        attrs = {"fn": kind, "params": layer.count_params()}
        if kind == "GroupNormalization" or (
            kind == "LayerNormalization" and _over_space(layer, channels_last)
        ):
            attrs["space"] = "global"  # statistics over every cell of the grid
        return "pointwise", attrs
    raise ValueError(f"layer {layer.name} ({kind}): convlib's Keras reader does not know this layer class")


def _over_space(layer, channels_last: bool) -> bool:
    """Whether a LayerNormalization's axes include a spatial one (of a 4-d input)."""
    axes = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    return bool({a % 4 for a in axes} & ({1, 2} if channels_last else {2, 3}))


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


# Keras 3 operations that are not layers (``x + 3.0``, ``x * y``, ``ops.relu6``): per cell.
ELEMENTWISE_OPS = {
    "Add", "Subtract", "Multiply", "Divide", "TrueDivide", "Maximum", "Minimum", "Power", "Negative", "Abs",
    "Relu", "Relu6", "Sigmoid", "HardSigmoid", "HardSilu", "Silu", "Gelu", "Tanh", "Exp", "Sqrt", "Square",
    "Clip", "Softplus", "LeakyRelu", "Elu", "Selu", "Where", "Cast",
}  # fmt: skip


def keras_graph(model) -> Graph:
    """Read a built Keras functional or Sequential ``model`` into a graph.

    Layers and Keras 3 operations (``x + 3.0``, ``x * y``) are read in ``model.operations``
    order; a model nested inside is read in place, its nodes named ``outer.inner``; a
    ``SeparableConv2D`` becomes its depthwise and pointwise convolutions. A layer the reader has
    no rule for keeps the shape Keras's own ``compute_output_spec`` gives at each input size,
    marked ``space="unknown"`` (its footprint in space is not known).

    Raises
    ------
    ValueError
        A layer or operation that changes sizes in a way convlib cannot describe (named), a
        shared layer, or a model with more than one input or output.
    """
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(f"model {model.name}: convlib reads models with one input and one output")
    channels_last = not any(getattr(layer, "data_format", None) == "channels_first" for layer in model.layers)
    nodes = [Node("input", "input", (), {}, "InputLayer")]
    # A Sequential keeps its layer graph in a functional model of its own (no ``operations``).
    functional = getattr(model, "_functional", None) if type(model).__name__ == "Sequential" else model
    if functional is None:
        raise ValueError(f"model {model.name}: give the Sequential model an Input before reading it")
    out = _read(functional, "input", "", nodes, {}, channels_last)
    return Graph(tuple(nodes), "input", out, "NHWC" if channels_last else "NCHW")


def _read(model, source: str, prefix: str, nodes: list, ranks: dict, channels_last: bool) -> str:
    """Append ``model``'s operations to ``nodes``, its input fed by node ``source``; its output's name."""
    names: dict[str, str] = {}
    ours = {op.name for op in model.operations}
    for layer in model.operations:
        kind = type(layer).__name__
        if kind == "InputLayer":
            names[layer.name] = source
            continue
        inbound = [
            n
            for n in layer._inbound_nodes
            if all(t._keras_history.operation.name in ours for t in n.input_tensors)  # calls in this model
        ]
        if len(inbound) != 1:
            raise ValueError(
                f"layer {prefix}{layer.name} ({kind}) is called {len(inbound)} times; convlib reads each once"
            )
        sources = [names.get(t._keras_history.operation.name, source) for t in inbound[0].input_tensors]
        name = prefix + layer.name
        rank = ranks.get(sources[0], 4)
        nested = getattr(layer, "_functional", None) if kind == "Sequential" else layer  # its graph
        if hasattr(nested, "operations"):  # a model used as a layer
            names[layer.name] = _read(nested, sources[0], name + ".", nodes, ranks, channels_last)
            continue
        if type(layer).__module__.startswith("keras.src.ops"):
            op, attrs = _operation(layer, inbound[0], name, rank)
        elif kind == "SeparableConv2D":
            c = layer.depthwise_kernel.shape[2]
            nodes.append(Node(name + ".depthwise", "conv", (sources[0],), _separable(layer, c), kind))
            sources = [name + ".depthwise"]
            op, attrs = "conv", dict(out_channels=layer.filters, in_channels=c * layer.depth_multiplier,
                                     kernel=(1, 1), stride=(1, 1), dilation=(1, 1), groups=1, padding="valid",
                                     padding_mode="zeros", bias=layer.use_bias)  # fmt: skip
        elif kind == "Dense":
            op, attrs = _dense(layer, rank)
        elif kind == "Reshape":
            op, attrs = _reshape(layer, inbound[0], name, rank, channels_last)
        else:
            try:
                op, attrs = _attrs(layer, kind, channels_last)
            except ValueError as err:
                if "does not know this layer class" not in str(err):
                    raise
                op, attrs = "pointwise", _probe(layer, name, channels_last)
        nodes.append(Node(name, op, tuple(sources), attrs, kind))
        names[layer.name] = name
        flat = op in ("flatten", "linear") or (op == "global_pool" and not attrs["keepdims"])
        ranks[name] = 2 if flat else 4 if op == "pointwise" and attrs.get("shape") else rank
    return names[model.outputs[0]._keras_history.operation.name]


def _separable(layer, c: int) -> dict:
    return dict(out_channels=c * layer.depth_multiplier, in_channels=c, kernel=_pair(layer.kernel_size),
                stride=_pair(layer.strides), dilation=_pair(layer.dilation_rate), groups=c,
                padding=layer.padding, padding_mode="zeros", bias=False)  # fmt: skip


def _operation(op, node, name: str, rank: int) -> tuple[str, dict]:
    """A Keras 3 operation node: elementwise (one or more tensors), or a mean over rows and columns."""
    kind = type(op).__name__
    tensors = [t for t in node.input_tensors]
    if kind in ELEMENTWISE_OPS:
        if len(tensors) > 1:
            return "add", {"fn": kind.lower()}
        return "pointwise", {"fn": kind.lower(), "params": 0}
    axis = getattr(op, "axis", None)
    if kind in ("Mean", "Max") and rank == 4 and axis is not None and {a % 4 for a in _pair(axis)} == {1, 2}:
        return "global_pool", {"mode": "avg" if kind == "Mean" else "max", "keepdims": bool(op.keepdims)}
    raise ValueError(f"operation {name} ({kind}): convlib cannot describe what it does to sizes")


def _reshape(layer, node, name: str, rank: int, channels_last: bool) -> tuple[str, dict]:
    """``Reshape((1, 1, C))`` of a flat ``(C,)`` (squeeze-and-excitation): a ``(C, 1, 1)`` map."""
    target = tuple(layer.target_shape)
    c = node.input_tensors[0].shape[-1]
    if rank == 2 and len(target) == 3 and sorted(target).count(1) >= 2 and c in target and None not in target:
        hw = target[:2] if channels_last else target[1:]
        if hw == (1, 1):
            return "pointwise", {"fn": "reshape", "params": 0, "shape": (c, 1, 1)}
    raise ValueError(f"layer {name} (Reshape): target_shape={target} is not a (1, 1, C) of a flat input")


def _probe(layer, name: str, channels_last: bool) -> dict:
    """A layer without a rule: Keras's own shape inference at each size (``compute_output_spec``)."""
    from keras import KerasTensor

    def probe(shape: tuple) -> tuple:
        c, h, w = shape
        try:
            spec = layer.compute_output_spec(KerasTensor((1, h, w, c) if channels_last else (1, c, h, w)))
        except Exception as err:  # Keras refuses this size
            raise ValueError(f"Keras's compute_output_spec refuses it: {err}") from None
        out = tuple(spec.shape[1:])
        # Not a refusal by Keras but convlib unable to follow: NotImplementedError, never a size verdict.
        if len(out) != 3 or None in out:
            raise NotImplementedError(f"layer {name} gives the shape {out}; convlib cannot describe it")
        oc, oh, ow = (out[2], out[0], out[1]) if channels_last else out
        if (oh, ow) != (h, w):
            raise NotImplementedError(
                f"layer {name} changes {h}x{w} to {oh}x{ow}; convlib cannot describe it"
            )
        return oc, oh, ow

    return {"fn": type(layer).__name__, "params": layer.count_params(), "space": "unknown", "probe": probe}
