"""Reproductions of framework defects the verifier found, each in a fresh interpreter.

A defect that corrupts the heap cannot be shown in the process that reports it: glibc
notices the damage at some later ``free``, possibly in unrelated code. So each
reproduction runs in a child interpreter with ``MALLOC_CHECK_=3`` (glibc then checks every
heap operation and aborts at the first inconsistency) and reports how that child ended.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

__all__ = ["STRIDED_1X1_GRADIENT", "run_in_fresh_interpreter", "simd_level"]


def simd_level() -> str:
    """The widest x86 vector extension oneDNN may use here: ``"avx512"``, ``"avx2"`` or ``"other"``.

    TensorFlow's oneDNN kernels pick their code path (and their channel block) from it, so the
    oneDNN defects the verifier found reproduce only on CPUs of the same level. The verification
    JSON records it, and the tests that replay a stored defect compare it first.

    It is the CPU's widest extension, lowered to the cap that ``ONEDNN_MAX_CPU_ISA`` (or its older
    name ``DNNL_MAX_CPU_ISA``) sets: ``make test`` runs the notebooks with ``AVX2`` there, so that an
    AVX-512 CPU computes the float32 results the notebooks store.
    """
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return "other"
    level = "avx512" if "avx512f" in flags else "avx2" if "avx2" in flags else "other"
    cap = (os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or "").upper()
    if cap.startswith("SSE") or cap == "AVX":
        return "other"
    if cap.startswith("AVX2") and level == "avx512":
        return "avx2"
    return level


# TF 2.21 (oneDNN) differentiating a 1x1 conv with stride 2 over an NHWC input with fewer
# input channels than oneDNN's SIMD channel block (16 with AVX-512, 8 with AVX2): the
# backward kernels' reduce-to-unit-stride workspace is booked for C channels but written
# for a whole block (oneDNN issue #6035). ResNet's 1x1/2 shortcuts have 256+ channels and
# are unaffected; a small teaching example with 4 channels is not.
STRIDED_1X1_GRADIENT = """
import numpy as np
from convlib.proof.frameworks import load_tf
tf = load_tf()
rng = np.random.default_rng(0)
x = tf.constant(rng.standard_normal((2, 56, 56, 4)).astype("float32"))
w = tf.constant(rng.standard_normal((1, 1, 4, 8)).astype("float32"))
for _ in range({repeats}):
    with tf.GradientTape() as tape:
        tape.watch([x, w])
        y = tf.nn.conv2d(x, w, strides=2, padding="VALID")
    gx, gw = tape.gradient(y, [x, w])
print("finished", {repeats}, "gradients; grad_x", tuple(gx.shape), "grad_w", tuple(gw.shape))
"""


def run_in_fresh_interpreter(code: str, *, onednn: bool = True, timeout: float = 300.0) -> str:
    """Run ``code`` in a new Python with glibc's heap checks on; one line saying how it ended.

    Parameters
    ----------
    code : str
        The program (it may import convlib).
    onednn : bool
        ``False`` sets ``TF_ENABLE_ONEDNN_OPTS=0``: TensorFlow's own kernels instead of oneDNN's.
    timeout : float
        Seconds before the child is killed.

    Returns
    -------
    str
        ``"exit 0: <last line printed>"``, ``"exit N: <last line of stderr>"`` or
        ``"killed by SIGABRT"`` (another signal's name where another signal ended it).
    """
    env = {**os.environ, "MALLOC_CHECK_": "3", "TF_ENABLE_ONEDNN_OPTS": "1" if onednn else "0"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=timeout, check=False)  # fmt: skip
    if done.returncode < 0:
        return f"killed by {signal.Signals(-done.returncode).name}"
    stream = done.stdout if done.returncode == 0 else done.stderr
    lines = [line for line in stream.splitlines() if line.strip()] or [""]
    return f"exit {done.returncode}: {lines[-1]}"
