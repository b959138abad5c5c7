"""What a new input size costs at run time: retracing, recompiling and the first call, measured.

Three measurements the variable-sizes chapter shows, each read from the framework's own counter:

- :func:`tf_trace_counts`: how many times a ``tf.function`` traced its Python body over a
  stream of input sizes (``experimental_get_tracing_count()``), with no signature, a fixed one,
  one with ``None`` sizes, or ``reduce_retracing=True``;
- :func:`torch_compile_counts`: how many graphs ``torch.compile`` compiled over the same stream
  (``torch._dynamo.testing.CompileCounter``, a backend that counts and then runs the graph
  eagerly, so no C compiler is needed), static, automatic-dynamic, ``dynamic=True`` or with
  ``torch._dynamo.mark_dynamic`` on the height and width;
- :func:`check_clean`: a framework's two outputs (true size, canvas) against a
  :class:`~convlib.clean.CleanRegion`: equal inside, different on the first row and column outside;
- :func:`first_call_times`: wall time of the first call at each new size against the median of
  the calls after it (oneDNN builds a primitive per new shape), in either framework.

The counts are deterministic and a notebook may compare them; the times are not.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .frameworks import load_tf, load_torch

__all__ = [
    "CountLog",
    "FirstCall",
    "CleanCheck",
    "tf_trace_counts",
    "torch_compile_counts",
    "first_call_times",
    "check_clean",
]

TF_MODES = ("default", "fixed", "none", "reduce_retracing")
TORCH_MODES = ("static", "default", "dynamic", "mark_dynamic")


@dataclass(frozen=True)
class CountLog:
    """The counter after each call of a stream: ``counts[i]`` after ``sizes[i]`` (``None``: refused)."""

    framework: str
    mode: str
    sizes: tuple[tuple[int, int], ...]
    counts: tuple[int | None, ...]

    @property
    def total(self) -> int:
        """The counter after the whole stream."""
        return max(c for c in self.counts if c is not None)

    @property
    def refused(self) -> int:
        """Calls the function refused (a fixed signature that does not match)."""
        return sum(c is None for c in self.counts)

    def marks(self) -> str:
        """One character per call: ``+`` a new trace or compile, ``.`` reused, ``x`` refused.

        Examples
        --------
        >>> CountLog("TensorFlow", "fixed", ((8, 8), (8, 8), (9, 12)), (1, 1, None)).marks()
        '+.x'
        """
        out, last = [], 0
        for c in self.counts:
            out.append("x" if c is None else "+" if c > last else ".")
            last = last if c is None else c
        return "".join(out)


def _sizes(stream) -> tuple[tuple[int, int], ...]:
    sizes = tuple((int(h), int(w)) for h, w in stream)
    if not sizes or any(min(s) < 3 for s in sizes):
        raise ValueError(f"stream must hold (height, width) pairs of at least 3x3, got {list(stream)[:4]}")
    return sizes


def _check_mode(mode: str, modes) -> str:
    if mode not in modes:
        raise ValueError(f"mode must be one of {', '.join(modes)}, got {mode!r}")
    return mode


def tf_trace_counts(stream, mode: str = "default", *, channels: int = 3, filters: int = 4) -> CountLog:
    """Call a two-layer conv ``tf.function`` on each size of ``stream``; count its traces.

    ``mode``: ``"default"`` (no signature: one trace per new shape), ``"fixed"``
    (``input_signature`` of the first size: other sizes are refused), ``"none"`` (a
    ``TensorSpec`` with ``None`` batch, height and width: one trace) or ``"reduce_retracing"``
    (TensorFlow generalises the shape after the second one).

    """
    mode, sizes = _check_mode(mode, TF_MODES), _sizes(stream)
    tf = load_tf()
    rng = np.random.default_rng(0)
    w1 = tf.constant(rng.standard_normal((3, 3, channels, filters)).astype(np.float32))
    w2 = tf.constant(rng.standard_normal((3, 3, filters, filters)).astype(np.float32))

    def body(x):
        return tf.nn.conv2d(tf.nn.relu(tf.nn.conv2d(x, w1, 1, "SAME")), w2, 2, "SAME")

    first = (1, *sizes[0], channels)
    fn = {
        "default": lambda: tf.function(body),
        "fixed": lambda: tf.function(body, input_signature=[tf.TensorSpec(first, tf.float32)]),
        "none": lambda: tf.function(
            body, input_signature=[tf.TensorSpec((None, None, None, channels), tf.float32)]
        ),
        "reduce_retracing": lambda: tf.function(body, reduce_retracing=True),
    }[mode]()
    counts = []
    for h, w in sizes:
        x = tf.constant(rng.standard_normal((1, h, w, channels)).astype(np.float32))
        try:
            fn(x)
        except (TypeError, ValueError):  # the fixed signature does not match this shape
            counts.append(None)
            continue
        counts.append(int(fn.experimental_get_tracing_count()))
    return CountLog("TensorFlow", mode, sizes, tuple(counts))


def torch_compile_counts(stream, mode: str = "default", *, channels: int = 3, filters: int = 4) -> CountLog:
    """Call a ``torch.compile``-d two-layer conv module on each size of ``stream``; count its graphs.

    ``mode``: ``"static"`` (``dynamic=False``: one graph per new shape), ``"default"``
    (``dynamic=None``: a second shape makes dynamo recompile once with symbolic sizes),
    ``"dynamic"`` (``dynamic=True`` from the start) or ``"mark_dynamic"`` (the default, with
    ``torch._dynamo.mark_dynamic`` on the height and width of every input).

    Raises
    ------
    ValueError
        An unknown mode, or more distinct sizes than dynamo's recompile limit (past it dynamo
        stops compiling and runs eagerly, so the count would stop meaning anything).
    """
    mode, sizes = _check_mode(mode, TORCH_MODES), _sizes(stream)
    torch = load_torch()
    import torch._dynamo as dynamo
    from torch._dynamo.testing import CompileCounter

    if mode == "static" and len(set(sizes)) > dynamo.config.recompile_limit:
        raise ValueError(
            f"the stream has {len(set(sizes))} distinct sizes, more than dynamo's recompile_limit "
            f"{dynamo.config.recompile_limit}: past it torch.compile falls back to eager"
        )
    torch.manual_seed(0)
    nn = torch.nn
    module = nn.Sequential(
        nn.Conv2d(channels, filters, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(filters, filters, 3, stride=2, padding=1),
    ).eval()
    dynamo.reset()  # forget graphs compiled by earlier measurements
    counter = CompileCounter()
    compiled = torch.compile(module, backend=counter, dynamic={"static": False, "dynamic": True}.get(mode))
    counts = []
    with torch.no_grad():
        for h, w in sizes:
            x = torch.randn(1, channels, h, w)
            if mode == "mark_dynamic":
                dynamo.mark_dynamic(x, 2)
                dynamo.mark_dynamic(x, 3)
            compiled(x)
            counts.append(int(counter.frame_count))
    dynamo.reset()
    return CountLog("PyTorch", mode, sizes, tuple(counts))


@dataclass(frozen=True)
class FirstCall:
    """Seconds of the first call at ``size`` and the median of the ``repeats`` calls after it."""

    size: tuple[int, int]
    first: float
    steady: float

    @property
    def ratio(self) -> float:
        return self.first / self.steady


def first_call_times(framework: str, sizes, *, channels: int = 16, filters: int = 16, repeats: int = 5):
    """Time a 3x3 convolution at each new size: its first call, then ``repeats`` more.

    ``framework`` is ``"pytorch"`` (``F.conv2d`` on one thread, oneDNN on the CPU) or ``"tensorflow"``
    (``tf.nn.conv2d`` run eagerly, oneDNN on, as :func:`~convlib.proof.frameworks.load_tf` sets).
    Returns one :class:`FirstCall` per size. Timings vary from run to run and machine to machine.
    """
    sizes = _sizes(sizes)
    repeats = int(repeats)
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 3, channels, filters)).astype(np.float32)
    if framework == "pytorch":
        torch = load_torch()
        wt = torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1)))

        def call(h, width):
            x = torch.from_numpy(rng.standard_normal((1, channels, h, width)).astype(np.float32))
            return lambda: torch.nn.functional.conv2d(x, wt, padding=1)

    elif framework == "tensorflow":
        tf = load_tf()
        wt = tf.constant(w)

        def call(h, width):
            x = tf.constant(rng.standard_normal((1, h, width, channels)).astype(np.float32))
            return lambda: tf.nn.conv2d(x, wt, 1, "SAME").numpy()

    else:
        raise ValueError(f"framework must be 'pytorch' or 'tensorflow', got {framework!r}")
    # PyTorch runs on one thread here: on a shared machine a second thread waiting for a core costs
    # a scheduler slice (tens of ms, measured on the book's 2-core machine), more than the effect.
    threads = torch.get_num_threads() if framework == "pytorch" else None
    out = []
    try:
        if threads is not None:
            torch.set_num_threads(1)
        for h, width in sizes:
            run = call(h, width)
            times = []
            for _ in range(repeats + 1):
                start = time.perf_counter()
                run()
                times.append(time.perf_counter() - start)
            out.append(FirstCall((h, width), times[0], float(np.median(times[1:]))))
    finally:
        if threads is not None:
            torch.set_num_threads(threads)
    return tuple(out)


@dataclass(frozen=True)
class CleanCheck:
    """A region against two outputs: the largest difference inside, and on the first row/column outside.

    ``outside`` holds ``None`` where the true output has no cell past the region on that axis;
    ``clean`` is the region's (rows, columns). ``agree`` is the strict verdict: inside within ``tol``,
    every existing outside line beyond it (vacuous inside an empty region, which ``line`` says).
    """

    inside: float
    outside: tuple[float | None, float | None]
    tol: float
    clean: tuple[int, int] = (1, 1)

    @property
    def agree(self) -> bool:
        return self.inside <= self.tol and all(d is None or d > self.tol for d in self.outside)

    def line(self) -> str:
        """The verdict in words (no float noise, so that a notebook can compare it)."""
        lines = [name for name, d in zip(("row", "column"), self.outside, strict=True) if d is not None]
        if 0 in self.clean and self.agree:
            empty = "cell" if self.clean == (0, 0) else "row" if self.clean[0] == 0 else "column"
            return f"no clean {empty}" + (f"; the first {lines[0]} differs" if lines else "")
        if not self.agree:
            return f"DISAGREE: inside {self.inside:.1e} (tol {self.tol:.0e}), outside {self.outside}"
        verb = "differ" if len(lines) == 2 else "differs"
        after = f", the next {' and '.join(lines)} {verb}" if lines else ", nothing outside it"
        return f"agree: exact inside{after}"


def check_clean(region, y_true, y_canvas, *, channels_last: bool = False) -> CleanCheck:
    """Compare one output of the true-size run and of the canvas run with ``region``'s clean cells.

    ``y_true`` and ``y_canvas`` are one sample's output, ``(C, H, W)`` (``(H, W, C)`` with
    ``channels_last``) or flat ``(F,)`` (one cell). Tolerance: float32 against a framework,
    ``1e-5 * max(1, max|y_true|)``.

    Examples
    --------
    >>> from convlib.clean import clean_region
    >>> from convlib.records import ConvSpec
    >>> region = clean_region([ConvSpec(1, 3, padding=1)], (2, 2), (3, 3))
    >>> check_clean(region, np.ones((1, 2, 2)), np.ones((1, 3, 3))).agree
    True
    """
    y_true, y_canvas = (np.asarray(y, dtype=np.float64) for y in (y_true, y_canvas))
    y_true, y_canvas = (
        y.reshape(-1, 1, 1) if y.ndim == 1 else np.moveaxis(y, -1, 0) if channels_last else y
        for y in (y_true, y_canvas)
    )
    rows, cols = region.rows, region.cols
    tol = 1e-5 * max(1.0, float(np.abs(y_true).max()))
    h, w = len(rows), len(cols)
    inside = float(np.abs(y_true[:, :h, :w] - y_canvas[:, :h, :w]).max()) if h and w else 0.0
    below = float(np.abs(y_true[:, h, :w] - y_canvas[:, h, :w]).max()) if h < y_true.shape[1] and w else None
    right = float(np.abs(y_true[:, :h, w] - y_canvas[:, :h, w]).max()) if w < y_true.shape[2] and h else None
    return CleanCheck(inside, (below, right), tol, (h, w))
