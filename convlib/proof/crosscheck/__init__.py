"""Run one configuration through TensorFlow, PyTorch and convlib, and compare.

:func:`crosscheck_conv2d` is the helper every test and chapter uses for conv2d. The
generic pieces (:func:`run`, :class:`Outcome`, :class:`Report`) serve the other
operations too: each framework call is a zero-argument function returning a NumPy array
in convlib's layout, and a refusal is recorded with its exception instead of raised.

Tolerances: ``max|diff| <= tol * max(1, max|reference|)`` with ``tol = 1e-5`` for float32
(the tolerance of TensorFlow's own convolution tests) and ``1e-10`` for float64.
"""

from .conv import crosscheck_conv2d, crosscheck_layer, tf_conv2d, torch_conv2d
from .ops import crosscheck_backward, crosscheck_conv_transpose2d, crosscheck_pool2d
from .report import Outcome, Report, cannot, run, summarize, tolerance

__all__ = [
    "Outcome",
    "cannot",
    "Report",
    "run",
    "tolerance",
    "summarize",
    "crosscheck_conv2d",
    "crosscheck_layer",
    "tf_conv2d",
    "torch_conv2d",
    "crosscheck_conv_transpose2d",
    "crosscheck_pool2d",
    "crosscheck_backward",
]
