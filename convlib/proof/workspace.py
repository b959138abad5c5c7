"""How much memory each engine needs besides its output, as the input grows.

Plain im2col would hold the whole patch matrix, ``(N * H_out * W_out) x (kh * kw * C)``
values, which grows with the input without bound, and a padded copy of the input grows with
it too; convlib's engines pad and work block by block, in blocks of at most
``convlib.fast._blocks.BUFFER_BYTES``, and promise at most 64 MiB of workspace for any input.
:func:`workspace_profile` measures that promise with ``tracemalloc`` (which sees every NumPy
allocation) on "same"-padded layers, and :func:`plot_workspace` draws it.
"""

from __future__ import annotations

import functools
import tracemalloc

import numpy as np

from ..fast import ENGINES, kept_bytes, supports
from ..shapes import conv_output_size

__all__ = ["WORKSPACE_LIMIT_MIB", "peak_extra_mib", "patch_matrix_mib", "workspace_profile", "plot_workspace"]

WORKSPACE_LIMIT_MIB = 64


def peak_extra_mib(fn) -> float:
    """Workspace of ``fn()`` in MiB: its traced peak minus the array it returns, plus kept buffers.

    The engines keep buffers between calls (:func:`convlib.fast.kept_bytes`); they are
    memory a call holds without allocating it, so they count: an engine that reuses a kept
    buffer is charged for it, and so is one that leaves other engines' kept buffers beside its own.

    Examples
    --------
    >>> from convlib.fast import release_workspace
    >>> _ = release_workspace()  # nothing kept: only the call's own allocations count
    >>> round(peak_extra_mib(lambda: np.zeros(2**20, np.uint8)), 2)  # the output is not workspace
    0.0
    >>> round(peak_extra_mib(lambda: (np.ones(2**20, np.uint8), np.zeros(1))[1]), 1)  # 1 MiB freed
    1.0
    """
    kept = kept_bytes()
    tracemalloc.start()
    tracemalloc.reset_peak()
    out = fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # An upper bound: a kept buffer that grows is freed only after its successor is traced.
    return max(0.0, (peak - out.nbytes + kept) / 2**20)


def patch_matrix_mib(n: int, h: int, w: int, c: int, k: int, itemsize: int = 4) -> float:
    """MiB of the full im2col patch matrix of a valid, stride-1 ``k x k`` conv.

    Shape: ``(n * (h - k + 1) * (w - k + 1)) x (k * k * c)`` values of ``itemsize`` bytes.

    Examples
    --------
    >>> round(patch_matrix_mib(1, 1400, 1400, 16, 3))
    1074
    """
    rows = n * conv_output_size(h, k) * conv_output_size(w, k)
    return rows * k * k * c * itemsize / 2**20


def workspace_profile(sizes=(100, 400, 1400), channels: int = 16, out_channels: int = 2, k: int = 3):
    """Peak extra memory of every fast engine on square ``size x size x channels`` inputs.

    Each engine runs once on a stride-1 ``k x k`` conv with "same" padding (``k // 2`` cells
    each side, handed to the engine, which pads block by block), float32, batch 1, under
    ``tracemalloc``; its peak traced allocation minus the output is its workspace. The dense
    engines run a ``channels -> out_channels`` kernel, the depthwise ones a depthwise kernel
    on the same input (``groups = channels``).

    Returns
    -------
    list of dict
        ``{"size", "patch_matrix_mib", "padded_copy_mib", "engines": {name: MiB}}`` per size,
        Winograd only where ``k == 3``.
    """
    rng, rows, p = np.random.default_rng(0), [], k // 2
    dense = np.full((k, k, channels, out_channels), 0.1, np.float32)
    depthwise = np.full((k, k, 1, channels), 0.1, np.float32)
    for size in sizes:
        x = rng.standard_normal((1, size, size, channels), dtype=np.float32)
        got = {}
        for name, engine in ENGINES.items():
            w = depthwise if name.startswith("depthwise") else dense
            if not supports(name, w.shape, stride=(1, 1), dilation=(1, 1)):
                continue
            groups = channels if w is depthwise else 1
            run = functools.partial(
                engine, x, w, stride=(1, 1), dilation=(1, 1), groups=groups, pads=((p, p), (p, p))
            )
            run()  # the first call of depthwise_jit compiles (or loads) its kernels: not workspace
            got[name] = peak_extra_mib(run)
        rows.append(
            {
                "size": size,
                "patch_matrix_mib": patch_matrix_mib(1, size + 2 * p, size + 2 * p, channels, k),
                "padded_copy_mib": (size + 2 * p) ** 2 * channels * 4 / 2**20,
                "engines": got,
            }
        )
    return rows


def plot_workspace(rows):
    """Workspace against input size, one line per engine, next to the full patch matrix."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.8), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    sizes = [r["size"] for r in rows]
    ax.plot(sizes, [r["patch_matrix_mib"] for r in rows], ":k", marker="s", label="full im2col patch matrix")
    ax.plot(sizes, [r["padded_copy_mib"] for r in rows], "--k", lw=1, label="padded copy of the input")
    for name in rows[0]["engines"]:
        ax.plot(sizes, [r["engines"][name] for r in rows], marker="o", label=name)
    ax.axhline(
        WORKSPACE_LIMIT_MIB, color="tab:red", lw=1, ls="--", label=f"{WORKSPACE_LIMIT_MIB} MiB promise"
    )
    ax.set(xscale="log", yscale="log", xlabel="input height = width (3x3 kernel, 'same' padding)")
    ax.set(ylabel="MiB besides the output", title="Peak workspace, traced by tracemalloc")
    ax.legend(fontsize=8)
    return fig
