"""convlib's torch path on a CUDA GPU against cuDNN, on the CPU benchmark's suite; writes JSON.

    python benchmarks/cuda_vs_cudnn.py [--batch 1 8] [--repeats 20] [--json benchmarks/suite_cuda.json]

For every layer of :data:`convlib.proof.bench_suite.SUITE` and batch size: convlib's torch
backend (``convlib.backends.torch.conv2d``, ``algorithm="auto"``: the CPU's rule, applied on
the GPU) on NHWC tensors, and ``torch.nn.functional.conv2d`` (cuDNN) on NCHW and on
``channels_last`` tensors, all float32 with **TF32 off** (through
:func:`convlib.proof.frameworks.load_torch`, checked below) and ``cudnn.benchmark`` on, so that
cuDNN runs its fastest algorithm for each shape. Times are medians of CUDA-event timings after
warm-up, interleaved in a fresh random order per repeat. Each result is compared with the
float64 CPU result of :func:`convlib.conv2d` (1e-5 relative to max|y|), and recorded.

Without a CUDA device the script refuses with exit status 2 and says so; the CPU tests never
need it. The chapter on algorithms shows the table of the stored JSON when one exists.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time

import numpy as np


def _median_ms(torch, fn, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(stop))
    return times


def run_layer(layer, batch: int, repeats: int, torch) -> dict:
    from convlib import conv2d
    from convlib.backends.torch import conv2d as torch_conv2d
    from convlib.fast import choose_algorithm

    f = torch.nn.functional
    rng = np.random.default_rng(0)
    cg = layer.cin // layer.groups
    x = rng.standard_normal((batch, layer.size, layer.size, layer.cin), dtype=np.float32)
    w = (
        rng.standard_normal((*layer.kernel, cg, layer.cout)) / math.sqrt(cg * math.prod(layer.kernel))
    ).astype(np.float32)
    s, p, d, g = layer.stride, layer.pad, layer.dilation, layer.groups
    pads = ((p[0], p[0]), (p[1], p[1]))
    ref = conv2d(x.astype(np.float64), w.astype(np.float64), stride=s, padding=pads, dilation=d, groups=g)
    xs, ws = torch.from_numpy(x).cuda(), torch.from_numpy(w).cuda()
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).cuda()
    wt = torch.from_numpy(w.transpose(3, 2, 0, 1).copy()).cuda()
    xcl = xt.contiguous(memory_format=torch.channels_last)
    calls = {
        "convlib": lambda: torch_conv2d(xs, ws, stride=s, padding=pads, dilation=d, groups=g),
        "cudnn": lambda: f.conv2d(xt, wt, stride=s, padding=p, dilation=d, groups=g),
        "cudnn_cl": lambda: f.conv2d(xcl, wt, stride=s, padding=p, dilation=d, groups=g),
    }
    scale, err = max(1.0, float(np.abs(ref).max())), {}
    for name, fn in calls.items():  # warm-up (cudnn.benchmark picks its algorithm here) and check
        for _ in range(3):
            y = fn()
        torch.cuda.synchronize()
        y = y.cpu().numpy()
        y = y if name == "convlib" else y.transpose(0, 2, 3, 1)
        err[name] = float(np.abs(y - ref).max()) / scale
    times = {name: [] for name in calls}
    order = np.random.default_rng(repeats)
    for _ in range(repeats):
        for name in order.permutation(list(calls)):
            times[name] += _median_ms(torch, calls[name], 1)
    med = {name: float(np.median(t)) / 1e3 for name, t in times.items()}
    best_cudnn = min(med["cudnn"], med["cudnn_cl"])
    xp_shape = (batch, layer.size + 2 * p[0], layer.size + 2 * p[1], layer.cin)
    return {
        "net": layer.net,
        "layer": layer.name,
        "batch": batch,
        "engine": choose_algorithm(xp_shape, w.shape, stride=(s, s), dilation=(d, d), groups=g, pads=pads),
        "gflop": layer.gflop(batch),
        "time_s": {
            "convlib": med["convlib"],
            "cudnn": best_cudnn,
            "cudnn_nchw": med["cudnn"],
            "cudnn_cl": med["cudnn_cl"],
        },
        "auto_over_cudnn": med["convlib"] / best_cudnn,
        "max_rel_err_vs_float64": err,
        "agrees_1e-5": all(e <= 1e-5 for e in err.values()),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--json", default="benchmarks/suite_cuda.json")
    ap.add_argument("--net", nargs="+", default=None, help="only these networks of the suite")
    args = ap.parse_args(argv)
    from convlib.proof.bench_report import format_gpu_table, geomean
    from convlib.proof.bench_suite import SUITE
    from convlib.proof.frameworks import load_torch

    torch = load_torch()
    if not torch.cuda.is_available():
        print("refusing: no CUDA device (torch.cuda.is_available() is False); nothing was timed or written")
        return 2
    # The comparison needs full float32 products on both sides.
    if torch.backends.cuda.matmul.allow_tf32 or torch.backends.cudnn.allow_tf32:
        print("refusing: TF32 is on; load_torch() should have turned it off")
        return 2
    torch.backends.cudnn.benchmark = True
    t0 = time.time()
    layers = [c for c in SUITE if args.net is None or c.net in args.net]
    records = []
    for batch in args.batch:
        for layer in layers:
            records.append(run_layer(layer, batch, args.repeats, torch))
            print(format_gpu_table(records[-1:]).splitlines()[-1], flush=True)
    print(format_gpu_table(records))
    by_batch = {str(b): geomean(r["auto_over_cudnn"] for r in records if r["batch"] == b) for b in args.batch}
    print("geometric mean of t(convlib)/t(cudnn):", {b: round(v, 2) for b, v in by_batch.items()})
    doc = {
        "meta": {
            "device": torch.cuda.get_device_name(0),
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(),
            "tf32": False,
            "cudnn_benchmark": True,
            "repeats": args.repeats,
            "python": platform.python_version(),
            "seconds": time.time() - t0,
        },
        "records": records,
        "summary": {
            "geomean_auto_over_cudnn": by_batch,
            "all_agree_1e-5": all(r["agrees_1e-5"] for r in records),
        },
    }
    with open(args.json, "w") as fh:
        json.dump(doc, fh, indent=1)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
