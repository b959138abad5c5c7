"""``python -m convlib.proof.verify``: run the matrix, print the class table, write the JSON."""

from __future__ import annotations

import argparse
import json
import sys

from .matrix import _isolated_worker, class_table, run_matrix

__all__ = ["main"]


def main(argv=None) -> int:
    """Command line: ``python -m convlib.proof.verify [--quick] [--json PATH] [--seed N]``."""
    desc = "The verification matrix: TensorFlow, PyTorch and convlib."
    ap = argparse.ArgumentParser(prog="python -m convlib.proof.verify", description=desc)
    ap.add_argument("--quick", action="store_true", help="a few hundred configurations (CI)")
    ap.add_argument("--json", metavar="PATH", help="write the summary as JSON")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--isolated", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.isolated:  # the worker of run_isolated: cases on stdin, one result line each on stdout
        _isolated_worker(json.load(sys.stdin))
        return 0
    summary = run_matrix(args.quick, args.seed, progress=lambda s: print(s, file=sys.stderr, flush=True))
    print(f"{summary['configurations']} configurations in {summary['wall_seconds']} s: {summary['counts']}")
    print(class_table(summary))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)
            f.write("\n")
    return 1 if summary["unexplained"] else 0
