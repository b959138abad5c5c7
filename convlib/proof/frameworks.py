"""Import TensorFlow and PyTorch quietly, for the cross-checks.

TensorFlow's C++ runtime writes a time-stamped oneDNN notice to file descriptor 2 while
it is imported, whatever ``TF_CPP_MIN_LOG_LEVEL`` says. A notebook kernel forwards that
descriptor into the cell's stderr, and nbval would then compare a time stamp. So the
import runs with descriptor 2 pointed at ``/dev/null``; everything after it (including
real errors) reaches stderr as usual. Neither framework is a dependency of the NumPy core.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys

__all__ = ["load_tf", "load_torch", "quiet_stderr", "triton_before_tensorflow"]


@contextlib.contextmanager
def quiet_stderr():
    """Silence file descriptor 2 (C and C++ writes too) in a with block."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def triton_before_tensorflow() -> None:
    """Import Triton, where it is installed, before TensorFlow is.

    PyTorch's CUDA wheels (what ``pip install torch`` takes on Linux x86-64) bring Triton, whose
    compiler library crashes the process with SIGSEGV when it is loaded after TensorFlow's;
    ``torch.export`` and ``torch.compile`` load it on first use. Loaded first, both work. With
    the CPU wheel there is no Triton and this does nothing.
    """
    if "tensorflow" not in sys.modules and importlib.util.find_spec("triton") is not None:
        import triton  # noqa: F401


def load_tf():
    """Return the ``tensorflow`` module, imported without its start-up log lines.

    For the whole process, unless the environment already says otherwise: ``TF_CPP_MIN_LOG_LEVEL=3``,
    ``TF_ENABLE_ONEDNN_OPTS=1`` (oneDNN kernels on every x86 CPU, not only where TensorFlow picks
    them), and TensorFlow's Python logger at ``ERROR``.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    # Level 3 hides the runtime's INFO/WARNING lines after import (XLA, cpu_feature_guard).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # TensorFlow turns its oneDNN kernels on by itself only on some x86 CPUs (those with AVX-512,
    # among others), and they answer some requests differently from its Eigen kernels (the
    # verification appendix). Turned on here, every x86 machine runs the same kernels, so the book
    # prints the same thing on every one; TF_ENABLE_ONEDNN_OPTS=0 in the environment still wins.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    triton_before_tensorflow()
    with quiet_stderr():
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
    return tf


def load_torch():
    """Return the ``torch`` module with deterministic CPU settings for comparisons."""
    import torch

    # TF32 would round float32 products to 10 mantissa bits on a GPU; comparisons need full float32.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return torch


def import_stderr(quiet: bool) -> list[str]:
    """What a fresh interpreter writes to stderr while importing TensorFlow.

    ``quiet=False`` is a plain ``import tensorflow`` (with ``TF_CPP_MIN_LOG_LEVEL=3``);
    ``quiet=True`` goes through :func:`load_tf`. ``tests/test_frameworks.py`` uses it to show
    why :func:`load_tf` exists.
    """
    import subprocess

    code = "from convlib.proof.frameworks import load_tf; load_tf()" if quiet else "import tensorflow"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return [line for line in done.stderr.splitlines() if line.strip()]
