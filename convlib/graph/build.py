"""Any model as a :class:`~convlib.graph.ir.Graph`: a convlib spec here, PyTorch and Keras by bridge.

:func:`from_model` dispatches on what it is given: a list of convlib layer records (or a
:class:`~convlib.records.SequentialSpec`), a ``torch.nn.Module`` (read with ``torch.fx`` by
:mod:`convlib.bridges.torch_graph`) or a Keras model (its layer graph, read by
:mod:`convlib.bridges.keras_graph`). A :class:`Graph` passes through unchanged. The frameworks
are imported by the bridges only, and only when such a model arrives.
"""

from __future__ import annotations

from .. import records as rec
from .ir import Graph, Node

__all__ = ["from_model", "spec_graph"]


def from_model(model) -> Graph:
    """The graph of ``model``: a convlib spec, a ``torch.nn.Module``, a Keras model or a Graph.

    Raises
    ------
    ValueError
        A layer or function the bridge does not know (named), or a model that cannot be read.
    TypeError
        Anything else.

    Examples
    --------
    >>> from convlib.records import ConvSpec, MaxPoolSpec, ReLUSpec
    >>> g = from_model([ConvSpec(4, 3, padding=1), ReLUSpec(), MaxPoolSpec(2)])
    >>> [(n.name, n.op) for n in g.nodes]
    [('input', 'input'), ('0', 'conv'), ('1', 'pointwise'), ('2', 'max_pool')]
    """
    if isinstance(model, Graph):
        return model
    if isinstance(model, (list, tuple, rec.SequentialSpec)):
        return spec_graph(model)
    for klass in type(model).__mro__:
        module = klass.__module__ or ""
        if module.startswith("torch."):
            from ..bridges.torch_graph import torch_graph

            return torch_graph(model)
        if module.startswith(("keras", "tf_keras", "tensorflow")):
            from ..bridges.keras_graph import keras_graph

            return keras_graph(model)
    raise TypeError(
        f"from_model takes a convlib spec (a list of layer records), a torch.nn.Module or a Keras "
        f"model, got {type(model).__name__}"
    )


def spec_graph(spec) -> Graph:
    """A convlib spec as a graph: node names are the dotted paths of :func:`convlib.records.iter_layers`
    (a residual block adds ``<name>.relu`` after its sum), kinds the record names without ``Spec``."""
    nodes = [Node("input", "input")]
    layers = spec.layers if isinstance(spec, rec.SequentialSpec) else spec
    out = _sequence(layers, "input", "", nodes)
    return Graph(tuple(nodes), "input", out, "spec")


def _sequence(layers, x: str, prefix: str, nodes: list) -> str:
    for i, layer in enumerate(layers):
        if not isinstance(layer, rec.LayerSpec):
            raise TypeError(f"network entry {prefix}{i} must be a layer record, got {type(layer).__name__}")
        name = f"{prefix}{layer.name if layer.name is not None else i}"
        if isinstance(layer, rec.SequentialSpec):
            x = _sequence(layer.layers, x, name + ".", nodes)
        elif isinstance(layer, rec.ResidualSpec):
            main = _sequence(layer.main, x, name + ".main.", nodes)
            short = _sequence(layer.shortcut, x, name + ".shortcut.", nodes)
            nodes.append(Node(name, "add", (main, short), {}, "Residual"))
            x = name
            if layer.relu:
                nodes.append(Node(f"{name}.relu", "pointwise", (x,), {"fn": "relu"}, "ReLU"))
                x = f"{name}.relu"
        else:
            op, attrs = _leaf(layer)
            nodes.append(Node(name, op, (x,), attrs, type(layer).__name__.removesuffix("Spec")))
            x = name
    return x


def _leaf(layer) -> tuple[str, dict]:
    if isinstance(layer, rec.ConvSpec):
        attrs = dict(out_channels=layer.filters, in_channels=None, kernel=layer.kernel, stride=layer.stride,
                     dilation=layer.dilation, groups=layer.groups, padding=layer.padding,
                     padding_mode="zeros", bias=layer.bias)  # fmt: skip
        return "conv", attrs
    if isinstance(layer, (rec.MaxPoolSpec, rec.AvgPoolSpec)):
        op = "max_pool" if isinstance(layer, rec.MaxPoolSpec) else "avg_pool"
        attrs = dict(
            kernel=layer.kernel,
            stride=layer.stride,
            padding=layer.padding,
            dilation=layer.dilation,
            ceil_mode=layer.ceil_mode,
            count_include_pad=getattr(layer, "count_include_pad", True),
        )
        return op, attrs
    if isinstance(layer, rec.GlobalAvgPoolSpec):
        return "global_pool", {"mode": "avg", "keepdims": True}
    if isinstance(layer, rec.FlattenSpec):
        return "flatten", {}
    if isinstance(layer, rec.DenseSpec):
        return "linear", {"in_features": layer.in_features, "out_features": layer.units, "bias": layer.bias}
    if isinstance(layer, rec.BatchNormSpec):
        return "pointwise", {"fn": "batch_norm", "params_per_channel": 2}
    if isinstance(layer, rec.ReLUSpec):
        return "pointwise", {"fn": "relu"}
    raise TypeError(f"unknown layer record {type(layer).__name__}")
