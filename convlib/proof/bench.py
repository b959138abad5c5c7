"""Benchmark: convlib's engines next to PyTorch, TensorFlow and the GEMM roofline on ResNet-50.

``python -m convlib.proof.bench [--quick] [--batch 1 8] [--json out.json] [--threads N]``

For every ResNet-50 convolution shape (input 224x224, float32, NHWC) and batch size, one
run times, interleaved and repeated, with the median kept: :func:`convlib.conv2d` with
``algorithm="auto"`` and with every engine that can run the layer (``naive`` is left out:
it takes minutes), ``torch.nn.functional.conv2d`` on an NCHW tensor converted beforehand
and on a ``channels_last`` one, ``tf.nn.conv2d``, and the roofline: one ``np.matmul`` of
the im2col shape ``(N*H_out*W_out, kh*kw*C) @ (kh*kw*C, O)``, the same FLOPs. Every
contender gets the same thread count, and each repeat times them in a fresh random order.
Medians are the headline; the best-of-repeats times and the load average are stored too,
since on a shared machine other processes steal cores.
Each engine's workspace is measured with ``tracemalloc`` in an untimed call on the padded
input, and every output is compared with a float64 reference.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time

import numpy as np

from ..conv import conv2d
from ..engines import ENGINES, choose_algorithm, supports
from ..shapes import conv_output_size
from .frameworks import load_tf, load_torch
from .workspace import peak_extra_mib

__all__ = ["RESNET50_LAYERS", "QUICK_LAYERS", "run_layer", "main"]

# (name, input size, C_in, C_out, kernel, stride, padding) of ResNet-50 v1.5 at 224x224.
RESNET50_LAYERS = [
    ("stem 7x7/2", 224, 3, 64, 7, 2, 3),
    ("res2 1x1 64-64", 56, 64, 64, 1, 1, 0),
    ("res2 3x3 64", 56, 64, 64, 3, 1, 1),
    ("res2 1x1 64-256", 56, 64, 256, 1, 1, 0),
    ("res2 1x1 256-64", 56, 256, 64, 1, 1, 0),
    ("res3 1x1 256-128", 56, 256, 128, 1, 1, 0),
    ("res3 3x3/2 128", 56, 128, 128, 3, 2, 1),
    ("res3 1x1/2 256-512", 56, 256, 512, 1, 2, 0),
    ("res3 3x3 128", 28, 128, 128, 3, 1, 1),
    ("res3 1x1 128-512", 28, 128, 512, 1, 1, 0),
    ("res3 1x1 512-128", 28, 512, 128, 1, 1, 0),
    ("res4 1x1 512-256", 28, 512, 256, 1, 1, 0),
    ("res4 3x3/2 256", 28, 256, 256, 3, 2, 1),
    ("res4 1x1/2 512-1024", 28, 512, 1024, 1, 2, 0),
    ("res4 3x3 256", 14, 256, 256, 3, 1, 1),
    ("res4 1x1 256-1024", 14, 256, 1024, 1, 1, 0),
    ("res4 1x1 1024-256", 14, 1024, 256, 1, 1, 0),
    ("res5 1x1 1024-512", 14, 1024, 512, 1, 1, 0),
    ("res5 3x3/2 512", 14, 512, 512, 3, 2, 1),
    ("res5 1x1/2 1024-2048", 14, 1024, 2048, 1, 2, 0),
    ("res5 3x3 512", 7, 512, 512, 3, 1, 1),
    ("res5 1x1 512-2048", 7, 512, 2048, 1, 1, 0),
    ("res5 1x1 2048-512", 7, 2048, 512, 1, 1, 0),
]
QUICK_LAYERS = [RESNET50_LAYERS[i] for i in (0, 2, 7, 20)]
PEERS = ("torch", "torch_cl", "tf")


def engines_for(k: int, stride: int) -> list[str]:
    """The engines timed on a ``k x k`` layer: all that can run it, bar ``naive`` (and ``fft`` on 1x1)."""
    s, d = (stride, stride), (1, 1)
    names = [e for e in ENGINES if e != "naive" and supports(e, (k, k), stride=s, dilation=d)]
    return [e for e in names if not (e == "fft" and k == 1)]


def set_threads(threads: int, torch, tf):
    """Give BLAS, PyTorch and TensorFlow the same thread count; return the threadpoolctl limiter."""
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    try:  # only possible before TensorFlow's runtime has started
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass
    return threadpool_limits(limits=threads)


def _contenders(x, w, p, s, torch, tf, engines):
    """Name -> zero-argument callable, every input converted beforehand."""
    f = torch.nn.functional
    # .copy() gives canonical strides; np.ascontiguousarray may keep odd strides on size-1 axes.
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    wt = torch.from_numpy(w.transpose(3, 2, 0, 1).copy())
    xcl = xt.contiguous(memory_format=torch.channels_last)
    xtf, wtf = tf.constant(x), tf.constant(w)
    tf_pad = [[0, 0], [p, p], [p, p], [0, 0]]
    n, k, o = x.shape[0], w.shape[0], w.shape[3]
    ho = conv_output_size(x.shape[1], k, stride=s, padding=p)
    a = np.random.default_rng(1).standard_normal((n * ho * ho, k * k * x.shape[3]), dtype=np.float32)
    b = np.random.default_rng(2).standard_normal((k * k * x.shape[3], o), dtype=np.float32)
    c = np.empty((a.shape[0], o), np.float32)
    out = {name: (lambda e=name: conv2d(x, w, stride=s, padding=p, algorithm=e)) for name in engines}
    out["torch"] = lambda: f.conv2d(xt, wt, stride=s, padding=p)
    out["torch_cl"] = lambda: f.conv2d(xcl, wt, stride=s, padding=p)
    out["tf"] = lambda: tf.nn.conv2d(xtf, wtf, s, tf_pad)
    out["gemm"] = lambda: np.matmul(a, b, out=c)
    return out


def _to_nhwc(name, y):
    y = np.asarray(y)
    return y.transpose(0, 2, 3, 1) if name.startswith("torch") else y


def run_layer(layer, batch: int, repeats: int, torch, tf) -> dict:
    """Time one layer at one batch size; return its record (times in seconds, medians)."""
    name, size, c, o, k, s, p = layer
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, size, size, c), dtype=np.float32)
    w = (rng.standard_normal((k, k, c, o)) / math.sqrt(k * k * c)).astype(np.float32)
    engines = ["auto", *engines_for(k, s)]
    calls = _contenders(x, w, p, s, torch, tf, engines)
    ref = conv2d(x.astype(np.float64), w.astype(np.float64), stride=s, padding=p, algorithm="im2col")
    scale = max(1.0, float(np.abs(ref).max()))
    err, peak = {}, {}
    for cname, fn in calls.items():  # warm-up call, checked against the float64 reference
        y = fn()
        if cname != "gemm":
            err[cname] = float(np.abs(_to_nhwc(cname, y) - ref).max()) / scale
    # Workspace of the engine alone, on the padded input (conv2d's padded copy is not the engine's).
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    auto = choose_algorithm(xp.shape, w.shape, stride=(s, s), dilation=(1, 1), groups=1)
    for e in engines:
        fn = ENGINES[auto if e == "auto" else e]
        peak[e] = peak_extra_mib(lambda f=fn: f(xp, w, stride=(s, s), dilation=(1, 1), groups=1))
    times = {cname: [] for cname in calls}
    # A fresh random order in every repeat: a contender timed right after one that read the same
    # input finds it in cache. A fixed rotation always timed "auto" right after the GEMM roofline,
    # which had just flushed the cache, and made it look 10-25% slower than its own engine at batch 1.
    shuffle = np.random.default_rng(repeats)
    for _ in range(repeats):
        for cname in shuffle.permutation(list(calls)):
            t0 = time.perf_counter()
            calls[cname]()
            times[cname].append(time.perf_counter() - t0)
    med = {cname: float(np.median(t)) for cname, t in times.items()}
    best = {cname: float(np.min(t)) for cname, t in times.items()}
    ho = ref.shape[1]
    flops = 2.0 * batch * ho * ho * o * c * k * k
    peer = min(med[q] for q in PEERS)
    return {
        "layer": name,
        "batch": batch,
        "input": [batch, size, size, c],
        "kernel": [k, k, c, o],
        "stride": s,
        "padding": p,
        "output": list(ref.shape),
        "gflop": flops / 1e9,
        "auto_engine": auto,
        "time_s": med,
        "time_min_s": best,
        "loadavg_1min": os.getloadavg()[0],
        "gflops": {q: flops / t / 1e9 for q, t in med.items()},
        "max_rel_err_vs_float64": err,
        "peak_extra_mib": peak,
        "faster_peer": min(PEERS, key=lambda q: med[q]),
        "auto_over_peer": med["auto"] / peer,
        "auto_vs_roofline": med["gemm"] / med["auto"],
        "auto_over_peer_min": best["auto"] / min(best[q] for q in PEERS),
        "auto_vs_roofline_min": best["gemm"] / best["auto"],
    }


def _geomean(values) -> float:
    return math.exp(float(np.mean([math.log(v) for v in values])))


def summarize(records: list[dict]) -> dict:
    """Per batch: geometric mean of auto/faster-peer time, and the worst roofline fraction."""
    out = {}
    for batch in sorted({r["batch"] for r in records}):
        rs = [r for r in records if r["batch"] == batch]
        out[str(batch)] = {
            "geomean_auto_over_peer": _geomean(r["auto_over_peer"] for r in rs),
            "geomean_auto_over_peer_min": _geomean(r["auto_over_peer_min"] for r in rs),
            # The same ratio for the roofline itself: one NumPy matrix product of the layer's FLOPs.
            "geomean_gemm_over_peer": _geomean(
                r["time_s"]["gemm"] / min(r["time_s"][q] for q in PEERS) for r in rs
            ),
            "min_auto_vs_roofline": min(r["auto_vs_roofline"] for r in rs),
            "layers_at_085_roofline": sum(r["auto_vs_roofline"] >= 0.85 for r in rs),
            "layers": len(rs),
        }
    return out


def meta(threads: int, repeats: int, quick: bool, torch, tf) -> dict:
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
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        # With more than one thread, idle worker threads that spin (PyTorch's OpenMP, OpenBLAS)
        # steal the cores of whichever contender runs next; `make bench` sets these so they sleep.
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
        "OPENBLAS_THREAD_TIMEOUT": os.environ.get("OPENBLAS_THREAD_TIMEOUT"),
        # The machine is shared: a 1-minute load average above the thread count means other
        # processes competed for the cores while this ran, and timings are noisy.
        "loadavg_at_end": list(os.getloadavg()),
    }


def format_table(records: list[dict]) -> str:
    """Fixed-width per-layer table: GFLOP/s of each contender, auto's engine and ratios."""
    cols = [
        "auto",
        "im2col",
        "shifted",
        "winograd_f4",
        "winograd_f2",
        "fft",
        "torch",
        "torch_cl",
        "tf",
        "gemm",
    ]
    head = f"{'layer':22s} {'N':>2s} {'engine':12s}" + "".join(f"{c[:11]:>12s}" for c in cols)
    lines = [head + f"{'auto/peer':>10s}{'auto/roof':>10s}{'peakMiB':>8s}"]
    for r in records:
        g = r["gflops"]
        cells = "".join(f"{g[c]:12.1f}" if c in g else f"{'-':>12s}" for c in cols)
        lines.append(
            f"{r['layer']:22s} {r['batch']:2d} {r['auto_engine']:12s}{cells}"
            f"{r['auto_over_peer']:10.2f}{r['auto_vs_roofline']:10.2f}{max(r['peak_extra_mib'].values()):8.1f}"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m convlib.proof.bench", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="4 layers, batch 1, 2 repeats (CI smoke test)")
    ap.add_argument("--batch", type=int, nargs="+", default=None, help="batch sizes (default 1 8)")
    ap.add_argument("--json", default=None, help="write the records here")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for every contender")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats per contender (default 7)")
    args = ap.parse_args(argv)
    if args.threads < 1:
        ap.error(f"--threads must be >= 1, got {args.threads}")
    tf, torch = load_tf(), load_torch()
    limiter = set_threads(args.threads, torch, tf)
    batches = args.batch or ([1] if args.quick else [1, 8])
    repeats = args.repeats or (2 if args.quick else 7)
    layers = QUICK_LAYERS if args.quick else RESNET50_LAYERS
    print(f"threads: {args.threads} (BLAS via threadpoolctl, torch.set_num_threads, TF intra-op)")
    records = []
    for batch in batches:
        for layer in layers:
            records.append(run_layer(layer, batch, repeats, torch, tf))
            print(format_table(records[-1:]).splitlines()[-1], flush=True)
    limiter.restore_original_limits()
    summary = summarize(records)
    print(format_table(records))
    for batch, s in summary.items():
        print(
            f"batch {batch}: geomean auto/faster-peer time {s['geomean_auto_over_peer']:.2f}x; "
            f"auto >= 0.85x roofline on {s['layers_at_085_roofline']}/{s['layers']} layers "
            f"(worst {s['min_auto_vs_roofline']:.2f}x); with best-of-repeats times: "
            f"{s['geomean_auto_over_peer_min']:.2f}x"
        )
    if args.json:
        doc = {
            "meta": meta(args.threads, repeats, args.quick, torch, tf),
            "records": records,
            "summary": summary,
        }
        with open(args.json, "w") as fh:
            json.dump(doc, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
