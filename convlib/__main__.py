"""The shape calculator: ``python -m convlib shape ...`` and ``python -m convlib trace ...``.

``shape`` prints the output size of one convolution, transposed convolution or pooling
layer, the exact pad on each side, and the equivalent PyTorch and TensorFlow calls (the
calls of :mod:`convlib.bridges`, the ones the cross-checks run).
``trace`` prints the layer table of a built-in network (see :mod:`convlib.zoo`) or of the
PyTorch or Keras model that ``FUNCTION`` in ``FILE.py`` builds (``trace FILE.py:FUNCTION --input
CxHxW``, through :func:`convlib.graph.trace`), with a legend of its columns, or the rows up to
the layer that refuses the size and then the refusal; ``sizes NET --range LO:HI`` lists every input size
in the range the network accepts, the closed-form rule and the layer that refuses the others
(:mod:`convlib.graph.sizes`, :mod:`convlib.graph.rule`). Every size comes from
:mod:`convlib.shapes`. Invalid arguments give one line on stderr and status 2.
"""

from __future__ import annotations

import argparse
import difflib
import importlib.util
import json
import sys
from pathlib import Path

from ._version import __version__
from .bridges import Inexpressible, express_conv2d, express_conv_transpose2d, express_pool2d
from .bridges.porting import describe_port
from .graph.build import from_model
from .graph.rule import size_rule
from .graph.sizes import scan_sizes
from .graph.trace import trace_until
from .padding import normalize_padding, normalize_pair
from .shapes import conv_axes, pool_axes, transpose_axes
from .zoo import resnet18, resnet50, vgg16

NETWORKS = {"vgg16": vgg16, "resnet18": resnet18, "resnet50": resnet50}


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, argparse's exit status
        self.exit(2, f"{self.prog}: error: {message}\n")


def _ints(text: str, name: str, count: tuple[int, ...]) -> tuple[int, ...]:
    parts = text.replace(",", "x").split("x")
    if len(parts) not in count or not all(p.strip().lstrip("-").isdigit() for p in parts):
        counts = " or ".join(str(n) for n in count)
        raise ValueError(f"{name} must be {counts} integers joined by 'x' (e.g. 10x11), got {text!r}")
    return tuple(int(p) for p in parts)


def _pair(text: str, name: str, allow_zero: bool = False) -> tuple[int, int]:
    values = _ints(text, name, (1, 2))
    return normalize_pair(values[0] if len(values) == 1 else values, name, allow_zero=allow_zero)


def _padding(text: str):
    """``valid|same|full``, ``p``, ``phxpw`` or ``top,bottom,left,right``."""
    if text.isalpha():
        return normalize_padding(text)  # refuses an unknown word with the list of known ones
    v = _ints(text, "--padding", (1, 2, 4))
    return normalize_padding(v[0] if len(v) == 1 else v if len(v) == 2 else ((v[0], v[1]), (v[2], v[3])))


def _source(framework: str, express, **args) -> str:
    """The call as text, or why the framework has none (:mod:`convlib.bridges`)."""
    try:
        return express(framework, **args).source
    except Inexpressible as exc:
        single = "no single PyTorch call" if framework == "pytorch" else "no TensorFlow equivalent"
        return f"{single}: {exc.reason}"


def _calls(express, **args) -> dict:
    return {
        "pytorch": _source("pytorch", express, **args),
        "tensorflow": _source("tensorflow", express, **args),
    }


def _conv(a, n, k, s, d) -> dict:
    axes = conv_axes(n, k, stride=s, padding=a.padding, dilation=d)
    pads = (axes[0].pads, axes[1].pads)
    return {"op": "conv2d", "output": (axes[0].out, axes[1].out), "pads": pads,
            **_calls(express_conv2d, stride=s, padding=a.padding, dilation=d, pads=pads)}  # fmt: skip


def _transpose(a, n, k, s, d) -> dict:
    axes = transpose_axes(n, k, stride=s, padding=a.padding, output_padding=a.output_padding, dilation=d)
    pads, op, out = (axes[0].pads, axes[1].pads), (axes[0].left, axes[1].left), (axes[0].n, axes[1].n)
    return {"op": "conv_transpose2d", "output": out, "pads": pads, "output_padding": op,
            **_calls(express_conv_transpose2d, stride=s, padding=a.padding, dilation=d, crops=pads,
                     output_padding=op, out_hw=out)}  # fmt: skip


def _pool(a, n, k, s, d) -> dict:
    if a.pool == "avg" and d != (1, 1):
        raise ValueError("--dilation applies to max pooling only (average pooling has no dilation)")
    axes = pool_axes(n, k, s, a.padding, dilation=d, ceil_mode=a.ceil_mode)
    pads = (axes[0].pads, axes[1].pads)
    return {"op": f"{a.pool}_pool2d", "output": (axes[0].out, axes[1].out), "pads": pads,
            **_calls(express_pool2d, kind=a.pool, pool_size=k, strides=s, padding=a.padding, pads=pads,
                     dilation=d, ceil_mode=a.ceil_mode)}  # fmt: skip


def _shape(a) -> str:
    if a.transpose and a.pool:
        raise ValueError("--transpose and --pool cannot be combined")
    if a.output_padding and not a.transpose:
        raise ValueError("--output-padding needs --transpose")
    if a.ceil_mode and not a.pool:
        raise ValueError("--ceil-mode needs --pool")
    n, k = _pair(a.input, "--input"), _pair(a.kernel, "--kernel")
    s = _pair(a.stride, "--stride") if a.stride else (k if a.pool else (1, 1))
    d = _pair(a.dilation, "--dilation")
    a.padding = _padding(a.padding)
    a.output_padding = (
        _pair(a.output_padding, "--output-padding", allow_zero=True) if a.output_padding else None
    )
    res = (_transpose if a.transpose else _pool if a.pool else _conv)(a, n, k, s, d)
    res = {"input": n, "kernel": k, "stride": s, "dilation": d, "padding": a.padding, **res}
    (t, b), (left, r) = res["pads"]
    kind = "conv_transpose" if a.transpose else f"{a.pool}_pool" if a.pool else "conv"
    lines = describe_port(kind, n, k, s, d, a.padding, output_padding=a.output_padding, ceil_mode=a.ceil_mode)
    port = [line.split(":", 1) for line in lines]
    res["keras"], res["onnx"] = port[0][1].strip(), [text.strip() for _, text in port[1:]]
    if a.json:
        res["pads"] = {"top": t, "bottom": b, "left": left, "right": r}
        return json.dumps(res)
    lines = [
        f"{res['op']}: input {n[0]}x{n[1]}, kernel {k[0]}x{k[1]}, stride {s[0]}x{s[1]}, "
        f"dilation {d[0]}x{d[1]}, padding {a.padding!r}",
        f"output      {res['output'][0]}x{res['output'][1]}",
        f"pads        top {t}, bottom {b}, left {left}, right {r}",
    ]
    if "output_padding" in res:
        lines.append(f"output_pad  {res['output_padding'][0]}x{res['output_padding'][1]}")
    lines += [f"PyTorch     {res['pytorch']}", f"TensorFlow  {res['tensorflow']}"]
    lines += [f"{label:<12}{text.strip()}" for label, text in port]
    return "\n".join(lines)


def _load(target: str):
    """A built-in network by name, or the model that ``FUNCTION()`` in ``FILE.py`` returns.

    The file's folder comes first on ``sys.path`` while it is imported and built, as when Python
    runs the file itself, so that it can import the modules beside it.
    """
    if ":" not in target:
        if target not in NETWORKS:
            choices = ", ".join(sorted(NETWORKS))
            raise ValueError(
                f"argument network: invalid choice: {target!r} (choose from {choices}, or FILE.py:FUNCTION)"
            )
        return NETWORKS[target]()
    file, _, func = target.rpartition(":")
    path = Path(file)
    if not path.exists():
        raise ValueError(f"model file {file!r}: no such file")
    if path.suffix != ".py" or not path.is_file():
        raise ValueError(f"model file {file!r} is not a .py file")
    spec = importlib.util.spec_from_file_location(f"_convlib_model_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    try:
        try:
            spec.loader.exec_module(module)
        except Exception as err:  # the reader's file: report its error in one line
            raise ValueError(f"importing {file} failed: {type(err).__name__}: {err}") from None
        build = getattr(module, func, None)
        if not callable(build):
            names = [k for k, v in vars(module).items() if callable(v) and not k.startswith("_")]
            near = difflib.get_close_matches(func, names, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ValueError(f"{file} defines no function {func!r}{hint}")
        try:
            return build()
        except Exception as err:
            raise ValueError(f"{func}() in {file} failed: {type(err).__name__}: {err}") from None
    finally:
        sys.path.remove(folder)


def _trace(a) -> str:
    """The table and its legend; a layer that cannot take its input ends the table, and its
    refusal follows (rows on stdout, the refusal as the one error line)."""
    shape = _ints(a.input, "--input", (3,))
    t, error = trace_until(_load(a.network), shape)
    if a.json:
        if error is not None:
            raise error
        return json.dumps({"network": a.network, **t.to_dict()})
    # A built-in spec prints chapter 11's compact table (no input row, no "left" column).
    text = t.table(compact=":" not in a.network, legend=True)
    if error is not None:
        print(text)
        raise error
    return text


def _channels(graph) -> int:
    """Input channels: the first layer that fixes them (a convolution's ``in_channels``), else 3."""
    for node in graph.nodes:
        if node.inputs == (graph.input,) and node.attrs.get("in_channels"):
            return node.attrs["in_channels"]
    return 3


def _spans(values) -> str:
    out, start = [], None
    for i, v in enumerate(values):
        start = v if start is None else start
        if i + 1 == len(values) or values[i + 1] != v + 1:
            out.append(str(v) if v == start else f"{v if start == v else start}..{v}")
            start = None
    return ", ".join(out) or "none"


def _sizes(a) -> str:
    parts = a.range.split(":")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"--range must be LO:HI with two positive integers, got {a.range!r}")
    lo, hi = int(parts[0]), int(parts[1])
    graph = from_model(_load(a.network))
    channels = a.channels or _channels(graph)
    scan = scan_sizes(graph, lo, hi, channels=channels, axis=a.axis)
    rule = size_rule(graph, channels=channels, axis=a.axis, other=scan.other, upto=max(hi, 256))
    if a.json:
        refused = {str(n): {"layer": r[0], "kind": r[1], "message": r[2]} for n, r in scan.refused.items()}
        return json.dumps({"network": a.network, "range": [lo, hi], "channels": channels, "axis": a.axis,
                           "accepted": list(scan.accepted), "rule": rule.text, "conditions": rule.layers,
                           "refused": refused})  # fmt: skip
    square = f", {a.axis} varies, the other axis {scan.other})" if a.axis else ", input n x n)"
    lines = [
        f"{len(scan.accepted)} of {hi - lo + 1} sizes in {lo}..{hi} accepted ({channels} channels{square}",
        f"accepted  {_spans(list(scan.accepted))}",
        f"rule      {rule.text}  (every n up to {rule.checked_up_to} checked)",
    ]
    below = max((n for n in range(1, rule.n_min or 1) if n % rule.period in rule.residues), default=0)
    why = {  # what the layer behind each condition of the rule refuses (SizeRule.layers)
        "lower bound": f"refuses {below}, the largest size below {rule.n_min} with those remainders",
        "residue": f"refuses the other remainders mod {rule.period}",
        "size": "refuses every other size",
    }
    lines += [f"  {cond}: {layer}  ({why[cond]})" for cond, layer in rule.layers.items()]
    lines += [f"refused by {layer}: {_spans(ns)}" for layer, ns in scan.reasons().items()]
    return "\n".join(lines)


EPILOG = """examples:
  %(prog)s shape --input 10x11 --kernel 3 --stride 2 --padding same
  %(prog)s trace resnet18 --input 3x224x224
  %(prog)s trace model.py:build --input 3x64x64
  %(prog)s sizes model.py:build --range 16:80
FILE.py:FUNCTION: FUNCTION() in FILE.py builds a torch.nn.Module or Keras model.
'%(prog)s COMMAND --help' lists a command's options."""


def _prog() -> str:
    """``convlib`` when run as the installed console script, else ``python -m convlib``."""
    return "convlib" if Path(sys.argv[0]).name in ("convlib", "convlib.exe") else "python -m convlib"


def build_parser() -> argparse.ArgumentParser:
    """The ``argparse`` parser of the command line (``convlib`` or ``python -m convlib``)."""
    parser = _Parser(
        prog=_prog(),
        description="Sizes, pads and framework calls of one layer;\n"
        "the layer table and the accepted input sizes of a whole network.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"convlib {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    shape = sub.add_parser(
        "shape", help="one layer: output size, pads per side, PyTorch/TensorFlow/Keras/ONNX calls"
    )
    shape.add_argument("--input", required=True, help="H or HxW, e.g. 10x11")
    shape.add_argument("--kernel", required=True, help="k or khxkw")
    shape.add_argument("--stride", help="s or shxsw (default 1; the kernel for pooling)")
    shape.add_argument(
        "--padding", default="valid", help="valid|same|full, p, phxpw or top,bottom,left,right"
    )
    shape.add_argument("--dilation", default="1", help="d or dhxdw")
    shape.add_argument("--transpose", action="store_true", help="transposed convolution")
    shape.add_argument("--output-padding", help="op or ohxow (with --transpose)")
    shape.add_argument("--pool", choices=("max", "avg"), help="a pooling layer instead of a convolution")
    shape.add_argument("--ceil-mode", action="store_true", help="PyTorch's ceil_mode (with --pool)")
    shape.add_argument("--json", action="store_true", help="machine-readable output")
    tr = sub.add_parser(
        "trace", help="a network's layer table: shapes, parameters, receptive fields, unread cells"
    )
    tr.add_argument("network", help=f"{', '.join(sorted(NETWORKS))}, or FILE.py:FUNCTION building a model")
    tr.add_argument("--input", required=True, help="CxHxW, e.g. 3x224x224")
    tr.add_argument("--json", action="store_true", help="machine-readable output")
    sz = sub.add_parser(
        "sizes", help="the input sizes in a range a network accepts, the rule, the layer refusing"
    )
    sz.add_argument("network", help=f"{', '.join(sorted(NETWORKS))}, or FILE.py:FUNCTION building a model")
    sz.add_argument("--range", required=True, help="LO:HI, both included, e.g. 16:80")
    sz.add_argument("--channels", type=int, help="input channels (default: the first layer's, else 3)")
    sz.add_argument("--axis", choices=("height", "width"), help="vary one axis only")
    sz.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; bad arguments exit with status 2 and one line on stderr."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        text = {"shape": _shape, "trace": _trace, "sizes": _sizes}[args.command](args)
    except (ValueError, TypeError) as err:
        parser.error(str(err).splitlines()[0])
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
