"""Bridges to the frameworks: one configuration expressed as a PyTorch or TensorFlow call.

:mod:`.express` returns both the callable and its source text, so that the shape calculator
(``python -m convlib shape``), :mod:`.spec_torch` (a convlib spec as torch modules) and the
cross-checks of :mod:`convlib.proof` print and run the very same call. The frameworks are imported only when
a call is run, never when this package is imported.
"""

from .express import (
    FRAMEWORKS,
    Expression,
    Inexpressible,
    express_conv2d,
    express_conv_transpose2d,
    express_pool2d,
)

__all__ = [
    "FRAMEWORKS",
    "Expression",
    "Inexpressible",
    "express_conv2d",
    "express_conv_transpose2d",
    "express_pool2d",
]
