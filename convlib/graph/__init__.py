"""Whole networks as graphs: trace any PyTorch or Keras model, and find every input size it accepts.

:mod:`.ir` is the graph contract (:class:`Node`, :class:`Graph`, the op vocabulary);
:mod:`.shapes` runs sizes through it; :mod:`.field` adds receptive fields and parameters;
:mod:`.build` turns a convlib spec, a ``torch.nn.Module`` or a Keras model into a graph;
:mod:`.trace` is the per-layer table (the one tracer, convlib specs included); :mod:`.sizes` the
set of accepted input sizes and :mod:`.rule` that set as a closed form, with the size at each
layer as a formula (:mod:`.floor`).
"""

from .build import from_model
from .field import Field
from .ir import OPS, Graph, Node, Size, evaluate
from .rule import Floor, SizeRule, size_rule
from .shapes import NodeShape, run
from .sizes import SizeScan, input_sizes, scan_sizes
from .trace import GraphRow, GraphTrace, trace, trace_until

__all__ = [
    "OPS",
    "Node",
    "Graph",
    "Size",
    "evaluate",
    "NodeShape",
    "run",
    "from_model",
    "trace",
    "trace_until",
    "GraphTrace",
    "GraphRow",
    "Field",
    "input_sizes",
    "scan_sizes",
    "SizeScan",
    "size_rule",
    "SizeRule",
    "Floor",
]
