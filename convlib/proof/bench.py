"""Benchmark: convlib ``auto`` next to PyTorch, TensorFlow and each layer's roofline, on seven networks.

``python -m convlib.proof.bench [--quick] [--threads N] [--batch 1 8] [--repeats R] [--json out.json]``

For every layer of :data:`convlib.proof.bench_suite.SUITE` and batch size, one run times,
interleaved and repeated in a fresh random order each repeat, with the median kept:
:func:`convlib.conv2d` with ``algorithm="auto"``, ``torch.nn.functional.conv2d`` on an NCHW
tensor and on a ``channels_last`` one (converted beforehand), and TensorFlow
(``tf.nn.depthwise_conv2d`` for depthwise layers, ``tf.nn.conv2d`` otherwise). Two limits
are timed the same way: the **GEMM roofline**, one ``np.matmul`` of the layer's im2col shape
(batched over the groups), the same flops at BLAS speed; and the **stream** time, one read of
the input plus one write of the output. A layer is memory-bound when its stream time exceeds
its GEMM time (depthwise layers always are: their products are not GEMMs); its limit is the
larger of the two, and ``auto_vs_limit = limit / auto time`` is the fraction of it reached.

Fairness: every contender gets the thread count before any work (``torch.set_num_threads``,
TensorFlow's intra-op pool, :func:`convlib.fast.set_threads`, which runs BLAS at one thread
per worker); with two threads the limits run on convlib's two workers too. Each process runs
one thread count (TensorFlow's cannot change once started). The machine may be shared, so the
1-minute load average is stored before and after the run and with every layer, and the
best-of-repeats times are stored next to the medians.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from ..conv import conv2d
from ..fast import choose_algorithm, get_threads, run_split, set_threads
from .bench_report import format_summary, format_table, summarize
from .bench_suite import QUICK, SUITE, Conv
from .frameworks import load_tf, load_torch

__all__ = ["PEERS", "run_layer", "main"]

PEERS = ("torch", "torch_cl", "tf")


def setup_threads(threads: int, torch, tf) -> None:
    """Give PyTorch, TensorFlow and convlib (and so BLAS) the same thread count, before any work."""
    torch.set_num_threads(threads)
    try:  # only possible before TensorFlow's runtime has started
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")  # convlib's workers, or one thread: BLAS at 1
    set_threads(threads)


def _split_rows(fn, rows: int):
    """``fn(r0, r1)`` over ``rows`` split among convlib's worker threads."""
    step = -(-rows // get_threads())
    return lambda: run_split(lambda run: [fn(r0, min(rows, r0 + step)) for r0 in run], range(0, rows, step))


def _limits(layer: Conv, x: np.ndarray, ho: int, wo: int):
    """The GEMM roofline and the stream time of ``layer``, as zero-argument callables."""
    n, (kh, kw), g = x.shape[0], layer.kernel, layer.groups
    k, og, rows = kh * kw * layer.cin // g, layer.cout // g, n * ho * wo
    rng = np.random.default_rng(1)
    a = rng.standard_normal((g, rows, k), dtype=np.float32)
    b = rng.standard_normal((g, k, og), dtype=np.float32)
    c = np.empty((g, rows, og), np.float32)
    gemm = _split_rows(lambda r0, r1: np.matmul(a[:, r0:r1], b, out=c[:, r0:r1]), rows)
    parts = get_threads()
    xin = np.array_split(x.reshape(-1), parts)
    yout = np.array_split(np.empty(rows * layer.cout, np.float32), parts)

    def stream_part(i0, i1):
        for i in range(i0, i1):
            xin[i].max()  # one read of the input
            yout[i].fill(0.0)  # one write of the output

    stream = _split_rows(stream_part, parts)
    return gemm, stream


def _contenders(layer: Conv, x, w, torch, tf):
    """Name -> zero-argument callable, every input converted beforehand."""
    f = torch.nn.functional
    s, p, d, g = layer.stride, layer.pad, layer.dilation, layer.groups
    # .copy() gives canonical strides; np.ascontiguousarray may keep odd strides on size-1 axes.
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    wt = torch.from_numpy(w.transpose(3, 2, 0, 1).copy())
    xcl = xt.contiguous(memory_format=torch.channels_last)
    xtf = tf.constant(x)
    tf_pad = [[0, 0], [p[0], p[0]], [p[1], p[1]], [0, 0]]
    out = {
        "auto": lambda: conv2d(x, w, stride=s, padding=p, dilation=d, groups=g),
        "torch": lambda: f.conv2d(xt, wt, stride=s, padding=p, dilation=d, groups=g),
        "torch_cl": lambda: f.conv2d(xcl, wt, stride=s, padding=p, dilation=d, groups=g),
    }
    if layer.depthwise:
        # tf.nn.depthwise_conv2d takes the kernel as (kh, kw, C, multiplier); its documented limit,
        # no stride above 1 together with a dilation above 1, excludes no layer of the suite.
        wdw = tf.constant(w.reshape(*layer.kernel, layer.cin, layer.cout // layer.cin))
        out["tf"] = lambda: tf.nn.depthwise_conv2d(xtf, wdw, [1, s, s, 1], tf_pad, dilations=[d, d])
    else:
        wtf = tf.constant(w)
        out["tf"] = lambda: tf.nn.conv2d(xtf, wtf, s, tf_pad, dilations=d)
    return out


def _nhwc(name, y):
    y = np.asarray(y)
    return y.transpose(0, 2, 3, 1) if name.startswith("torch") else y


def run_layer(layer: Conv, batch: int, repeats: int, torch, tf) -> dict:
    """Time one layer at one batch size; return its record (times in seconds, medians)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, layer.size, layer.size, layer.cin), dtype=np.float32)
    cg = layer.cin // layer.groups
    w = rng.standard_normal((*layer.kernel, cg, layer.cout)) / math.sqrt(cg * math.prod(layer.kernel))
    w = w.astype(np.float32)
    s, p, d, g = layer.stride, layer.pad, layer.dilation, layer.groups
    ref = conv2d(x.astype(np.float64), w.astype(np.float64), stride=s, padding=p, dilation=d, groups=g)
    ho, wo = ref.shape[1:3]
    calls = _contenders(layer, x, w, torch, tf)
    calls["gemm"], calls["stream"] = _limits(layer, x, ho, wo)
    scale, err = max(1.0, float(np.abs(ref).max())), {}
    for name, fn in calls.items():  # warm-up call, checked against the float64 reference
        y = fn()
        if name in ("auto", *PEERS):
            err[name] = float(np.abs(_nhwc(name, y) - ref).max()) / scale
    times = {name: [] for name in calls}
    # A fresh random order in every repeat: a contender timed right after one that read the same
    # input finds it in cache; a fixed order would favour whoever always comes second.
    shuffle = np.random.default_rng(repeats)
    for _ in range(repeats):
        for name in shuffle.permutation(list(calls)):
            t0 = time.perf_counter()
            calls[name]()
            times[name].append(time.perf_counter() - t0)
    med = {q: float(np.median(t)) for q, t in times.items()}
    best = {q: float(np.min(t)) for q, t in times.items()}
    gflop = layer.gflop(batch)
    memory_bound = layer.depthwise or med["stream"] > med["gemm"]
    limit = med["stream"] if layer.depthwise else max(med["gemm"], med["stream"])
    peer = min(PEERS, key=lambda q: med[q])
    xp_shape = (batch, layer.size + 2 * p[0], layer.size + 2 * p[1], layer.cin)
    return {
        "net": layer.net,
        "layer": layer.name,
        "batch": batch,
        "threads": get_threads(),
        "input": list(x.shape),
        "kernel": list(w.shape),
        "stride": s,
        "padding": list(p),
        "dilation": d,
        "groups": g,
        "output": list(ref.shape),
        "gflop": gflop,
        "auto_engine": choose_algorithm(
            xp_shape, w.shape, stride=(s, s), dilation=(d, d), groups=g, pads=((p[0], p[0]), (p[1], p[1]))
        ),
        "time_s": med,
        "time_min_s": best,
        "loadavg_1min": os.getloadavg()[0],
        "gflops": {q: gflop / t for q, t in med.items() if q not in ("stream",)},
        "max_rel_err_vs_float64": err,
        "bound": "memory" if memory_bound else "compute",
        "limit_s": limit,
        "faster_peer": peer,
        "auto_over_peer": med["auto"] / med[peer],
        "auto_vs_limit": limit / med["auto"],
        "auto_over_peer_min": best["auto"] / min(best[q] for q in PEERS),
    }


def meta(threads: int, repeats: int, quick: bool, torch, tf, load_start) -> dict:
    from threadpoolctl import threadpool_info

    blas = [
        {k: i.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
        for i in threadpool_info()
    ]
    return {
        "threads": threads,
        "repeats": repeats,
        "quick": quick,
        "dtype": "float32",
        "layout": "NHWC (torch: NCHW and channels_last, converted beforehand)",
        "numpy": np.__version__,
        "torch": torch.__version__,
        "tensorflow": tf.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "blas": blas,
        # With more than one thread, idle worker threads that spin (PyTorch's OpenMP, OpenBLAS)
        # steal the cores of whichever contender runs next; `make bench` sets these so they sleep.
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
        "OPENBLAS_THREAD_TIMEOUT": os.environ.get("OPENBLAS_THREAD_TIMEOUT"),
        # A set OPENBLAS_CORETYPE overrides OpenBLAS's own choice of kernels (blas above says
        # which ran); `make bench` unsets it, as on a machine where nobody set it.
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "cpu": _cpu_model(),
        # The machine is shared: a 1-minute load average above the thread count means other
        # processes competed for the cores while this ran, and timings are noisy.
        "loadavg_at_start": list(load_start),
        "loadavg_at_end": list(os.getloadavg()),
    }


def _cpu_model() -> str | None:
    """``"<model name>, family F model M"`` from ``/proc/cpuinfo`` (Linux), else None."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    fields = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    if "model name" not in fields:
        return None
    return f"{fields['model name']}, family {fields.get('cpu family')} model {fields.get('model')}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m convlib.proof.bench", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="5 tiny layers, batch 1, 2 repeats (CI smoke test)")
    ap.add_argument("--batch", type=int, nargs="+", default=None, help="batch sizes (default 1 8)")
    ap.add_argument("--json", default=None, help="write the records here")
    ap.add_argument("--threads", type=int, default=1, help="threads for every contender (default 1)")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats per contender (default 7)")
    ap.add_argument("--net", nargs="+", default=None, help="only these networks of the suite")
    args = ap.parse_args(argv)
    if args.threads < 1:
        ap.error(f"--threads must be >= 1, got {args.threads}")
    load_start = os.getloadavg()
    tf, torch = load_tf(), load_torch()
    old = get_threads()
    setup_threads(args.threads, torch, tf)
    batches = args.batch or ([1] if args.quick else [1, 8])
    repeats = args.repeats or (2 if args.quick else 7)
    layers = QUICK if args.quick else [c for c in SUITE if args.net is None or c.net in args.net]
    print(f"threads: {args.threads} (torch.set_num_threads, TF intra-op, convlib workers, BLAS at 1)")
    records = []
    try:
        for batch in batches:
            for layer in layers:
                records.append(run_layer(layer, batch, repeats, torch, tf))
                print(format_table(records[-1:]).splitlines()[-1], flush=True)
    finally:
        set_threads(old)
    summary = summarize(records)
    print(format_table(records))
    print(format_summary(summary))
    if args.json:
        doc = {
            "meta": meta(args.threads, repeats, args.quick, torch, tf, load_start),
            "records": records,
            "summary": summary,
        }
        with open(args.json, "w") as fh:
            json.dump(doc, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
