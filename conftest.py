"""Project-wide pytest configuration: plain ``pytest --nbval`` means the whole book.

``pytest`` alone runs the unit tests and the doctests (``testpaths`` in ``pyproject.toml``).
With ``--nbval`` (or ``--nbval-lax``) it also runs every chapter notebook in ``chapters/``,
in a kernel of the current interpreter and with the sanitize rules of
``tests/nbval_sanitize.cfg``, so that no longer command line is needed for CI.
"""

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent

# The notebooks store float32 results whose last bits depend on the kernels OpenBLAS and TensorFlow's
# oneDNN pick for the CPU (AVX2 or AVX-512). Their kernel fixes both at the AVX2 kernels, which every
# x86-64 machine with AVX2 runs, so any such machine computes what is stored. The Makefile gives the
# JupyterLab kernel (conv2d-book) the same two variables; the unit tests keep the CPU's own kernels,
# so oneDNN's AVX-512 defects still replay where the CPU has AVX-512.
NOTEBOOK_ENV = {"OPENBLAS_CORETYPE": "Haswell", "ONEDNN_MAX_CPU_ISA": "AVX2"}

# Under pytest-xdist, each worker (and the notebook kernels and subprocesses it starts) gets its
# share of the cores for the frameworks' thread pools. By default TensorFlow, oneDNN and PyTorch
# each size their pools to every core, and with two workers on two cores their small operations
# wait on threads that another process holds: chapter 6's sweep of 6,912 framework calls took
# 38 s so, and 6 s with one thread each. Thread counts that a user sets are kept.
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    _cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    _share = max(1, _cores // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    for _var in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(_var, str(_share))
KERNEL_NAME = "conv2d-book-nbval"


def _kernelspec_dir() -> Path:
    """A kernelspec for this interpreter with ``NOTEBOOK_ENV``, in a fresh Jupyter data folder."""
    root = Path(tempfile.mkdtemp(prefix="nbval-kernel-"))
    spec = root / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec_json = {"argv": argv, "display_name": "nbval (this interpreter)", "language": "python",
                 "env": NOTEBOOK_ENV}  # fmt: skip
    (spec / "kernel.json").write_text(json.dumps(spec_json, indent=1))
    return root


def pytest_configure(config):
    # Before any test module imports Keras (and so TensorFlow): see triton_before_tensorflow.
    from convlib.proof.frameworks import triton_before_tensorflow

    triton_before_tensorflow()
    if not (config.getoption("nbval", False) or config.getoption("nbval_lax", False)):
        return
    if not config.option.nbval_sanitize_with:
        config.option.nbval_sanitize_with = str(ROOT / "tests" / "nbval_sanitize.cfg")
    if not config.option.nbval_kernel_name and not config.option.nbval_current_env:
        # The kernel is this interpreter (the notebooks import the convlib of this checkout) with
        # the two pins; jupyter_client finds its kernelspec through JUPYTER_PATH.
        root = _kernelspec_dir()
        config.add_cleanup(lambda: shutil.rmtree(root, ignore_errors=True))
        os.environ["JUPYTER_PATH"] = os.pathsep.join(
            filter(None, [str(root), os.environ.get("JUPYTER_PATH")])
        )
        config.option.nbval_kernel_name = KERNEL_NAME


def pytest_collection_modifyitems(config, items):
    """The longest scopes first, so that the xdist workers finish together.

    ``make test`` hands out whole modules and notebooks (``--dist loadscope``) in collection order
    (``--no-loadscope-reorder``): first the modules marked ``slow`` (a browser, a book build, fresh
    interpreters), then the chapters, then the other tests and the doctests, many and short, which
    fill the end. A sort by number of tests instead put the chapters, few cells each, last.
    """
    slow = {item.nodeid.split("::")[0] for item in items if item.get_closest_marker("slow")}

    def rank(item):
        path = item.nodeid.split("::")[0]
        return 0 if path in slow else 1 if path.endswith(".ipynb") else 2 if path.startswith("tests/") else 3

    items.sort(key=rank)  # stable: each module and notebook keeps its own order
