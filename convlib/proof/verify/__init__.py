"""The verification matrix: many configurations through TensorFlow, PyTorch and convlib.

Every configuration of conv2d, conv_transpose2d, max/avg pooling and conv2d_backward is
run through :mod:`convlib.proof.crosscheck` and lands in exactly one class:

* ``agree`` -- every framework that can express it matches convlib in shape and values;
* ``refused`` -- somebody refuses (the exception and its first line are recorded);
  refusals shared by convlib and a framework are the normal way undefined requests end;
* ``disagree`` -- a framework returns something else (the ``max|diff|`` is recorded).

Each refusal or disagreement is matched against :data:`REASONS`, the list of causes
understood so far; anything unmatched is reported as ``unexplained`` and fails the tests.
Requests convlib refuses run in forked children (:func:`run_isolated`): they reach the
frameworks' untested paths, and one of them (``tf.nn.max_pool2d`` with a window wider than
the input) kills its process with SIGFPE.

Modules: :mod:`.cases` (what is sampled), :mod:`.reasons` (the classes),
:mod:`.matrix` (running), :mod:`.precision` (float32 error study), :mod:`.cli`.
Run ``python -m convlib.proof.verify [--quick] [--json PATH] [--seed N]``.
"""

from .cases import OPS, Case, configurations
from .cli import main
from .matrix import (
    check_case,
    class_table,
    describe_class,
    ops_table,
    run_case,
    run_cases,
    run_isolated,
    run_matrix,
    summarize,
)
from .precision import plot_precision, precision_study
from .reasons import REASONS, classify

__all__ = [
    "OPS",
    "Case",
    "configurations",
    "check_case",
    "run_case",
    "run_cases",
    "run_isolated",
    "run_matrix",
    "summarize",
    "class_table",
    "ops_table",
    "describe_class",
    "precision_study",
    "plot_precision",
    "REASONS",
    "classify",
    "main",
]
