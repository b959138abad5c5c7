"""The configurations of the verification matrix: one :class:`Case` each, a seeded grid plus
random whole configurations."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["OPS", "Case", "configurations"]

OPS = ("conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "conv2d_backward")


@dataclass
class Case:
    """One configuration: the operation, the array shapes and the keyword arguments."""

    op: str
    x_shape: tuple
    w_shape: tuple | None  # kernel (or grad_out shape is derived); None for pooling
    kwargs: dict = field(default_factory=dict)
    dtype: str = "float32"
    seed: int = 0

    def arrays(self):
        """Seeded input and kernel of the case's dtype (kernel None for pooling)."""
        rng = np.random.default_rng(self.seed)
        x = rng.standard_normal(self.x_shape).astype(self.dtype)
        w = None if self.w_shape is None else rng.standard_normal(self.w_shape).astype(self.dtype)
        return x, w

    def to_json(self) -> dict:
        return {
            "op": self.op,
            "x": list(self.x_shape),
            "w": self.w_shape and list(self.w_shape),
            "kwargs": _jsonable(self.kwargs),
            "dtype": self.dtype,
            "seed": self.seed,
        }

    @classmethod
    def from_json(cls, d: dict) -> Case:
        kw = {k: _tupled(v) for k, v in d["kwargs"].items()}
        w = None if d["w"] is None else tuple(d["w"])
        return cls(d["op"], tuple(d["x"]), w, kw, d["dtype"], d["seed"])


def _jsonable(v):
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    return [_jsonable(x) for x in v] if isinstance(v, (list, tuple)) else v


def _tupled(v):
    return tuple(_tupled(x) for x in v) if isinstance(v, list) else v


# --------------------------------------------------------------------------- sampling
def _pad_form(rng, words, hi):
    """One padding of any accepted form: a word, ``p``, ``(ph, pw)`` or ``((t, b), (l, r))``."""
    form = rng.integers(4)
    if form == 0:
        return str(rng.choice(words))
    if form == 1:
        return int(rng.integers(hi + 1))
    if form == 2:
        return tuple(int(v) for v in rng.integers(0, hi + 1, 2))
    return tuple(tuple(int(v) for v in rng.integers(0, hi + 1, 2)) for _ in range(2))


def _pair(rng, lo, hi):
    """An int or, one time in three, an ``(h, w)`` pair."""
    return (
        tuple(int(v) for v in rng.integers(lo, hi + 1, 2))
        if rng.integers(3) == 0
        else int(rng.integers(lo, hi + 1))
    )


def _layout(fmt, n, h, w, c):
    return (n, h, w, c) if fmt == "NHWC" else (n, c, h, w)


def _conv_case(op, rng, seed, *, h, w, k, stride, dilation, padding, groups=1, fmt="NHWC", mode="zeros"):
    cin, cout = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    kh, kw = (k, k) if isinstance(k, int) else k
    wshape = (kh, kw, cin // groups, cout) if fmt == "NHWC" else (cout, cin // groups, kh, kw)
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, data_format=fmt)
    if op == "conv2d" or mode != "zeros":
        kwargs["padding_mode"] = mode
    dtype = "float64" if rng.integers(10) == 0 else "float32"
    return Case(op, _layout(fmt, int(rng.integers(1, 3)), h, w, cin), wshape, kwargs, dtype, seed)


def _random_conv(op, rng, seed):
    mode = str(rng.choice(["zeros"] * 5 + ["reflect", "replicate", "circular"]))
    return _conv_case(
        op, rng, seed, h=int(rng.integers(1, 10)), w=int(rng.integers(1, 10)),
        k=(int(rng.integers(1, 6)), int(rng.integers(1, 6))), stride=_pair(rng, 1, 3),
        dilation=_pair(rng, 1, 3), padding=_pad_form(rng, ["valid", "same", "full"], 3),
        groups=int(rng.choice([1, 1, 2])), fmt=str(rng.choice(["NHWC", "NCHW"])), mode=mode,
    )  # fmt: skip


def _random_transpose(rng, seed):
    groups, fmt = int(rng.choice([1, 1, 2])), str(rng.choice(["NHWC", "NCHW"]))
    cin, cout_g = groups * int(rng.integers(1, 3)), int(rng.integers(1, 3))
    kh, kw = (int(v) for v in rng.integers(1, 5, 2))
    wshape = (kh, kw, cout_g, cin) if fmt == "NHWC" else (cin, cout_g, kh, kw)
    stride, dilation = _pair(rng, 1, 3), _pair(rng, 1, 2)
    op = None if rng.integers(2) else _pair(rng, 0, 2)
    kwargs = dict(stride=stride, padding=_pad_form(rng, ["valid", "same"], 2), output_padding=op,
                  dilation=dilation, groups=groups, data_format=fmt)  # fmt: skip
    x = _layout(fmt, int(rng.integers(1, 3)), int(rng.integers(1, 7)), int(rng.integers(1, 7)), cin)
    return Case("conv_transpose2d", x, wshape, kwargs, "float32", seed)


def _random_pool(op, rng, seed):
    fmt = str(rng.choice(["NHWC", "NCHW"]))
    kwargs = dict(pool_size=_pair(rng, 1, 4), strides=None if rng.integers(3) == 0 else _pair(rng, 1, 3),
                  padding=_pad_form(rng, ["valid", "same"], 2), ceil_mode=bool(rng.integers(4) == 0),
                  data_format=fmt)  # fmt: skip
    if op == "max_pool2d":
        kwargs["dilation"] = 1 if rng.integers(3) else _pair(rng, 1, 2)
    else:
        kwargs["count_include_pad"] = bool(rng.integers(2))
    x = _layout(fmt, int(rng.integers(1, 3)), int(rng.integers(1, 10)), int(rng.integers(1, 10)), 2)
    return Case(op, x, None, kwargs, "float32", seed)


def _grid(seed):
    """The seeded grid: every combination of a few telling values per parameter."""
    rng, cases = np.random.default_rng(seed), []
    for i, (n, k, s, d, p) in enumerate(np.ndindex(5, 4, 3, 2, 5)):
        nv, kv = (1, 2, 3, 4, 7)[n], (1, 2, 3, 5)[k]
        pad = ("valid", "same", "full", 1, ((0, 2), (1, 0)))[p]
        fmt = ("NHWC", "NCHW")[i % 2]
        cases.append(_conv_case("conv2d", rng, seed + i, h=nv, w=nv + i % 3, k=kv, stride=s + 1,
                                dilation=d + 1, padding=pad, fmt=fmt))  # fmt: skip
    for i, (n, k, s, p, o) in enumerate(np.ndindex(3, 3, 3, 4, 2)):
        fmt, cin = ("NHWC", "NCHW")[i % 2], 2
        kv = (1, 2, 3)[k]
        kw = dict(stride=s + 1, padding=("valid", "same", 0, 1)[p], output_padding=(None, 1)[o],
                  dilation=1, groups=1, data_format=fmt)  # fmt: skip
        wshape = (kv, kv, 3, cin) if fmt == "NHWC" else (cin, 3, kv, kv)
        x = _layout(fmt, 1, (1, 2, 4)[n], (1, 2, 4)[n] + 1, cin)
        cases.append(Case("conv_transpose2d", x, wshape, kw, "float32", seed + 10_000 + i))
    for op in ("max_pool2d", "avg_pool2d"):
        for i, (n, k, s, p, c) in enumerate(np.ndindex(4, 3, 3, 3, 2)):
            kw = dict(pool_size=k + 1, strides=(None, 1, 2)[s], padding=("valid", "same", 1)[p],
                      ceil_mode=bool(c), data_format=("NHWC", "NCHW")[i % 2])  # fmt: skip
            x = _layout(kw["data_format"], 1, (1, 2, 3, 5)[n], (1, 2, 3, 5)[n], 2)
            cases.append(Case(op, x, None, kw, "float32", seed + 20_000 + i))
    for i, (n, k, s, d, p) in enumerate(np.ndindex(3, 3, 2, 2, 3)):
        cases.append(_conv_case("conv2d_backward", rng, seed + 30_000 + i, h=(2, 3, 5)[n], w=(2, 3, 5)[n],
                                k=k + 1, stride=s + 1, dilation=d + 1, padding=("valid", "same", 1)[p],
                                fmt=("NHWC", "NCHW")[i % 2]))  # fmt: skip
    return cases


RANDOM_COUNTS = {"conv2d": 1800, "conv_transpose2d": 700, "max_pool2d": 500, "avg_pool2d": 500,
                 "conv2d_backward": 500}  # fmt: skip


def configurations(quick: bool = False, seed: int = 0, ops=OPS) -> list[Case]:
    """The seeded grid plus random whole configurations (a tenth of each with ``quick``).

    Examples
    --------
    >>> cases = configurations(quick=True)
    >>> len(cases) > 200, sorted({c.op for c in cases}) == sorted(OPS)
    (True, True)
    """
    grid = [c for c in _grid(seed) if c.op in ops]
    rng, cases = np.random.default_rng(seed), grid[::10] if quick else grid
    for op in ops:
        for i in range(RANDOM_COUNTS[op] // (15 if quick else 1)):
            s = seed + 100_000 * (1 + OPS.index(op)) + i
            if op in ("conv2d", "conv2d_backward"):
                cases.append(_random_conv(op, rng, s))
            elif op == "conv_transpose2d":
                cases.append(_random_transpose(rng, s))
            else:
                cases.append(_random_pool(op, rng, s))
    return cases
