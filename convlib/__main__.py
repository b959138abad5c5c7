"""The shape calculator: ``python -m convlib shape ...`` and ``python -m convlib trace ...``.

``shape`` prints the output size of one convolution, transposed convolution or pooling
layer, the exact pad on each side, and the equivalent PyTorch and TensorFlow calls.
``trace`` prints the layer table of a built-in network (see :mod:`convlib.zoo`). Every size
comes from :mod:`convlib.shapes`. Invalid arguments give one line on stderr and status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from .network import trace
from .padding import normalize_padding, normalize_pair
from .shapes import (
    conv_output_size,
    conv_transpose_output_size,
    pool_output_size,
    pool_padding_1d,
    resolve_padding,
    transpose_padding_1d,
)
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


def _pads_of(padding, n, k, s, d):
    return resolve_padding(n, k, padding, stride=s, dilation=d)


def _tf_pads(pads) -> str:
    (t, b), (left, r) = pads
    return f"[[0, 0], [{t}, {b}], [{left}, {r}], [0, 0]]"


def _torch_pad(pads, value: str = "") -> str:
    (t, b), (left, r) = pads
    return f"F.pad(x, ({left}, {r}, {t}, {b}){value})"


def _conv(a, n, k, s, d) -> dict:
    pads = _pads_of(a.padding, n, k, s, d)
    out = tuple(conv_output_size(n[i], k[i], stride=s[i], padding=pads[i], dilation=d[i]) for i in range(2))
    sym = pads[0][0] == pads[0][1] and pads[1][0] == pads[1][1]
    dil = f", dilation={d}" if d != (1, 1) else ""
    x = "x" if sym else _torch_pad(pads)
    torch = f"F.conv2d({x}, w, stride={s}, padding={(pads[0][0], pads[1][0]) if sym else 0}{dil})"
    tf_pad = f'"{a.padding.upper()}"' if a.padding in ("same", "valid") else _tf_pads(pads)
    tf = f"tf.nn.conv2d(x, w, strides={s}, padding={tf_pad}" + (f", dilations={d})" if dil else ")")
    return {"op": "conv2d", "output": out, "pads": pads, "pytorch": torch, "tensorflow": tf}


def _transpose(a, n, k, s, d) -> dict:
    op = _pair(a.output_padding, "--output-padding", allow_zero=True) if a.output_padding else (None, None)
    axis_pads = [a.padding] * 2 if isinstance(a.padding, str) else a.padding
    resolved = [
        transpose_padding_1d(n[i], k[i], axis_pads[i], stride=s[i], output_padding=op[i], dilation=d[i])
        for i in range(2)
    ]
    pads = tuple(r[:2] for r in resolved)
    op = tuple(r[2] for r in resolved)
    out = tuple(
        conv_transpose_output_size(
            n[i], k[i], stride=s[i], padding=pads[i], output_padding=op[i], dilation=d[i]
        )
        for i in range(2)
    )
    dil = f", dilation={d}" if d != (1, 1) else ""
    if pads[0][0] == pads[0][1] and pads[1][0] == pads[1][1]:
        p = (pads[0][0], pads[1][0])
        torch = f"F.conv_transpose2d(x, w, stride={s}, padding={p}, output_padding={op}{dil})"
    else:  # PyTorch pads symmetrically only: crop the unpadded result instead
        (t, _), (left, _) = pads
        crop = f"[:, :, {t}:{t + out[0]}, {left}:{left + out[1]}]"
        torch = f"F.conv_transpose2d(x, w, stride={s}, padding=0, output_padding={op}{dil}){crop}"
    tf_pad = f'"{a.padding.upper()}"' if isinstance(a.padding, str) else _tf_pads(pads)
    shape = f"(N, {out[0]}, {out[1]}, C_out)"
    tf = f"tf.nn.conv2d_transpose(x, w, output_shape={shape}, strides={s}, padding={tf_pad}"
    tf += f", dilations={d})  # TensorFlow on CPU refuses dilations > 1 here" if dil else ")"
    return {"op": "conv_transpose2d", "output": out, "pads": pads, "output_padding": op, "pytorch": torch,
            "tensorflow": tf}  # fmt: skip


def _pool(a, n, k, s, d) -> dict:
    if a.pool == "avg" and d != (1, 1):
        raise ValueError("--dilation applies to max pooling only (average pooling has no dilation)")
    axis_pads = [a.padding] * 2 if isinstance(a.padding, str) else a.padding
    pads = tuple(pool_padding_1d(n[i], k[i], axis_pads[i], stride=s[i], dilation=d[i]) for i in (0, 1))
    size = pool_output_size
    out = tuple(
        size(n[i], k[i], stride=s[i], padding=axis_pads[i], dilation=d[i], ceil_mode=a.ceil_mode)
        for i in (0, 1)
    )
    fn, ceil = f"F.{a.pool}_pool2d", ", ceil_mode=True" if a.ceil_mode else ""
    dil = f", dilation={d}" if d != (1, 1) else ""
    same_avg = a.pool == "avg" and a.padding == "same"  # TF divides by the real cells only
    native = all(pads[i][0] == pads[i][1] <= k[i] // 2 for i in range(2))
    if native:
        p = (pads[0][0], pads[1][0])
        torch = f"{fn}(x, {k}, stride={s}, padding={p}{dil}{ceil}" + (
            ", count_include_pad=False)" if same_avg else ")"
        )
    elif a.ceil_mode:
        torch = "no single PyTorch call: ceil_mode with pads PyTorch's padding= cannot express"
    elif a.pool == "max":
        padded = _torch_pad(pads, ', value=float("-inf")')
        torch = f"{fn}({padded}, {k}, stride={s}{dil})"
    elif same_avg:
        ones = _torch_pad(pads).replace("(x,", "(torch.ones_like(x),")
        torch = f"{fn}({_torch_pad(pads)}, {k}, stride={s}) / {fn}({ones}, {k}, stride={s})"
    else:
        torch = f"{fn}({_torch_pad(pads)}, {k}, stride={s})"
    tf_fn = f"tf.nn.{a.pool}_pool2d"
    if a.ceil_mode:
        tf = "no TensorFlow equivalent of ceil_mode (pad the bottom/right by hand)"
    elif d != (1, 1):
        tf = "no TensorFlow equivalent: tf.nn.pool allows dilations only with strides 1"
    elif a.padding in ("same", "valid"):
        tf = f'{tf_fn}(x, ksize={k}, strides={s}, padding="{a.padding.upper()}")'
    else:
        value = ', constant_values=float("-inf")' if a.pool == "max" else ""
        tf = f'{tf_fn}(tf.pad(x, {_tf_pads(pads)}{value}), ksize={k}, strides={s}, padding="VALID")'
    return {"op": f"{a.pool}_pool2d", "output": out, "pads": pads, "pytorch": torch, "tensorflow": tf}


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
    res = (_transpose if a.transpose else _pool if a.pool else _conv)(a, n, k, s, d)
    res = {"input": n, "kernel": k, "stride": s, "dilation": d, "padding": a.padding, **res}
    (t, b), (left, r) = res["pads"]
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
    return "\n".join(lines)


def _trace(a) -> str:
    t = trace(NETWORKS[a.network](), _ints(a.input, "--input", (3,)))
    return json.dumps({"network": a.network, **t.to_dict()}) if a.json else t.table()


def build_parser() -> argparse.ArgumentParser:
    """The ``argparse`` parser of ``python -m convlib``."""
    parser = _Parser(prog="python -m convlib", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    shape = sub.add_parser("shape", help="output size, pads and framework calls of one layer")
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
    tr = sub.add_parser("trace", help="layer table of a built-in network")
    tr.add_argument("network", choices=sorted(NETWORKS))
    tr.add_argument("--input", required=True, help="CxHxW, e.g. 3x224x224")
    tr.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; bad arguments exit with status 2 and one line on stderr."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        text = _shape(args) if args.command == "shape" else _trace(args)
    except (ValueError, TypeError) as err:
        parser.error(str(err).splitlines()[0])
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
