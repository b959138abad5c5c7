"""One configuration as a PyTorch or TensorFlow call: the callable and its source text.

Each ``express_*`` function takes a framework name (``"pytorch"`` or ``"tensorflow"``) and a
configuration whose pads are already resolved (by :mod:`convlib.shapes`), and returns an
:class:`Expression`: ``call`` runs it on that framework's layout (NCHW / OIHW for PyTorch,
NHWC / HWIO for TensorFlow, NumPy arrays or tensors), ``source`` is the same call as text.
A configuration the framework has no call for raises :class:`Inexpressible` with the reason,
decided from the configuration alone, before any framework is imported.

Examples
--------
>>> e = express_conv2d("pytorch", stride=2, padding="same", pads=((0, 1), (1, 1)))
>>> e.source
'F.conv2d(F.pad(x, (1, 1, 0, 1)), w, stride=(2, 2), padding=0)'
>>> try:
...     express_pool2d("tensorflow", "max", pool_size=2, ceil_mode=True)
... except Inexpressible as exc:
...     print(exc.reason)
tf.nn pooling has no ceil_mode (pad the bottom/right by hand)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..padding import normalize_padding, normalize_padding_mode, normalize_pair

__all__ = [
    "FRAMEWORKS",
    "Expression",
    "Inexpressible",
    "express_conv2d",
    "express_conv_transpose2d",
    "express_pool2d",
    "tf_pad_mode",
]

FRAMEWORKS = {"pytorch": "PyTorch", "torch": "PyTorch", "tensorflow": "TensorFlow", "tf": "TensorFlow"}


class Inexpressible(ValueError):
    """The framework has no call for this configuration; ``reason`` says why."""

    def __init__(self, framework: str, reason: str):
        self.framework, self.reason = framework, reason
        super().__init__(f"{framework} cannot express this: {reason}")


@dataclass(frozen=True)
class Expression:
    """A configuration expressed in one framework: ``call`` runs it, ``source`` shows it."""

    framework: str
    call: Callable
    source: str

    def __call__(self, *args, **kwargs):
        return self.call(*args, **kwargs)


def _name(framework: str) -> str:
    try:
        return FRAMEWORKS[str(framework).lower()]
    except KeyError:
        raise ValueError(f"framework must be 'pytorch' or 'tensorflow', got {framework!r}") from None


def _torch():
    import torch

    return torch


def _tf():
    import tensorflow as tf

    return tf


def _as_torch(torch, a):
    if a is None or isinstance(a, torch.Tensor):
        return a
    # A C-ordered copy with canonical strides: np.ascontiguousarray keeps odd strides on size-1
    # axes, and PyTorch 2.13's CPU conv2d returns zeros for some such tensors.
    return torch.from_numpy(np.array(a, order="C", copy=True))


def _pads(pads) -> tuple[int, int, int, int]:
    (t, b), (left, r) = pads if pads is not None else ((0, 0), (0, 0))
    return int(t), int(b), int(left), int(r)


def _torch_pad_src(pads, arg: str = "x", extra: str = "") -> str:
    t, b, left, r = _pads(pads)
    return f"F.pad({arg}, ({left}, {r}, {t}, {b}){extra})"


def _tf_pads_src(pads) -> str:
    t, b, left, r = _pads(pads)
    return f"[[0, 0], [{t}, {b}], [{left}, {r}], [0, 0]]"


def _word(padding) -> str | None:
    p = normalize_padding(padding)
    return p if isinstance(p, str) else None


def tf_pad_mode(tf, x, pads, mode: str):
    """Pad NHWC ``x`` by ``pads`` in ``mode``: ``tf.pad`` (reflect) or a ``tf.gather`` of clipped
    (replicate) or wrapped (circular) indices, since TensorFlow has no such padding modes."""
    t, bt, lf, r = _pads(pads)
    if mode == "reflect":
        return tf.pad(x, [[0, 0], [t, bt], [lf, r], [0, 0]], mode="REFLECT")
    h, w = x.shape[1], x.shape[2]
    rows, cols = np.arange(-t, h + bt), np.arange(-lf, w + r)
    if mode == "replicate":
        rows, cols = np.clip(rows, 0, h - 1), np.clip(cols, 0, w - 1)
    else:  # circular
        rows, cols = rows % h, cols % w
    return tf.gather(tf.gather(x, rows, axis=1), cols, axis=2)


def _unbatched(tf, fn):
    """Run ``fn`` on a 4-D NHWC tensor; a 3-D (unbatched) input gets and loses a batch axis."""

    def call(x, *args, **kwargs):
        xt = tf.constant(x) if isinstance(x, np.ndarray) else x
        if len(xt.shape) == 3:
            return fn(xt[None], *args, **kwargs)[0]
        return fn(xt, *args, **kwargs)

    return call


# --------------------------------------------------------------------------- conv2d
def express_conv2d(
    framework, *, stride=1, padding="valid", dilation=1, groups=1, pads=None, padding_mode="zeros"
) -> Expression:
    """conv2d with resolved ``pads`` ``((top, bottom), (left, right))``.

    PyTorch: symmetric zero pads go to ``padding=(ph, pw)``; anything else (TF's "same" with
    an odd total, asymmetric numbers, non-zero modes) is ``F.pad`` then ``padding=0``.
    TensorFlow: the words are ``"VALID"``/``"SAME"``, numbers the explicit
    ``[[0, 0], [t, b], [l, r], [0, 0]]``; non-zero modes pad first (:func:`tf_pad_mode`).

    Examples
    --------
    >>> express_conv2d("tensorflow", padding=(1, 2), pads=((1, 1), (2, 2)), dilation=2).source
    'tf.nn.conv2d(x, w, strides=(1, 1), padding=[[0, 0], [1, 1], [2, 2], [0, 0]], dilations=(2, 2))'
    >>> express_conv2d("pytorch", padding=2, pads=((2, 2), (2, 2)), padding_mode="reflect", groups=2).source
    "F.conv2d(F.pad(x, (2, 2, 2, 2), mode='reflect'), w, stride=(1, 1), padding=0, groups=2)"
    """
    name = _name(framework)
    s, d = normalize_pair(stride, "stride"), normalize_pair(dilation, "dilation")
    mode = normalize_padding_mode(padding_mode)
    t, b, left, r = _pads(pads)
    dil = f", dilation={d}" if d != (1, 1) else ""
    grp = f", groups={groups}" if groups != 1 else ""
    if name == "PyTorch":
        native = mode == "zeros" and t == b and left == r
        torch_mode = "constant" if mode == "zeros" else mode
        p = (t, left) if native else 0
        extra = "" if mode == "zeros" else f", mode={mode!r}"
        x_src = "x" if native else _torch_pad_src(pads, extra=extra)

        def call(x, w, bias=None):
            torch = _torch()
            F = torch.nn.functional
            xt = _as_torch(torch, x)
            if not native:
                xt = F.pad(xt, (left, r, t, b), mode=torch_mode)
            wt, bt = _as_torch(torch, w), _as_torch(torch, bias)
            return F.conv2d(xt, wt, bt, stride=s, padding=p, dilation=d, groups=groups)

        return Expression(name, call, f"F.conv2d({x_src}, w, stride={s}, padding={p}{dil}{grp})")

    word = _word(padding)
    if mode == "reflect":
        x_src, tf_pad = f'tf.pad(x, {_tf_pads_src(pads)}, mode="REFLECT")', '"VALID"'
    elif mode != "zeros":
        x_src, tf_pad = "tf.gather(tf.gather(x, rows, axis=1), cols, axis=2)", '"VALID"'
    elif word in ("valid", "same"):
        tf_pad = f'"{word.upper()}"'
        x_src = "x"
    else:
        x_src, tf_pad = "x", _tf_pads_src(pads)
    explicit = [[0, 0], [t, b], [left, r], [0, 0]]
    tf_padding = tf_pad.strip('"') if tf_pad.startswith('"') else explicit

    def tf_call(xt, w, bias=None):
        tf = _tf()
        if mode != "zeros":
            xt = tf_pad_mode(tf, xt, pads, mode)
        y = tf.nn.conv2d(xt, tf.constant(w), strides=s, padding=tf_padding, dilations=d)
        return y if bias is None else tf.nn.bias_add(y, tf.constant(bias))

    src = f"tf.nn.conv2d({x_src}, w, strides={s}, padding={tf_pad}" + (f", dilations={d})" if dil else ")")
    if mode in ("replicate", "circular"):
        src += f"  # {mode}: rows, cols = the padded indices, clipped or wrapped into the input"
    return Expression(name, lambda x, w, bias=None: _unbatched(_tf(), tf_call)(x, w, bias), src)


# --------------------------------------------------------------------------- pooling
def express_pool2d(
    framework,
    kind,
    *,
    pool_size,
    strides=None,
    padding="valid",
    pads=None,
    dilation=1,
    ceil_mode=False,
    count_include_pad=True,
) -> Expression:
    """Max or average pooling (``kind`` ``"max"``/``"avg"``) with resolved ``pads``.

    PyTorch takes symmetric pads of at most half the window natively (TF's "same" average is
    then ``count_include_pad=False``); other pads are ``F.pad`` first (``-inf`` for max) and an
    average that leaves the padding out of the count is a sum over the real-cell count, the
    average of ``x`` over the average of a padded ones mask. TensorFlow takes the words
    natively, numbers as ``tf.pad`` then ``"VALID"``, and dilation through ``tf.nn.pool``.

    Raises
    ------
    Inexpressible
        PyTorch: ``ceil_mode`` with pads its ``padding=`` cannot take. TensorFlow: ``ceil_mode``;
        dilation with a stride > 1; an average leaving explicit pads out of the count.

    Examples
    --------
    >>> e = express_pool2d("pytorch", "avg", pool_size=3, strides=2, padding="same", pads=((0, 1), (1, 1)))
    >>> print(*e.source.split(" / "), sep=" /\\n")
    F.avg_pool2d(F.pad(x, (1, 1, 0, 1)), (3, 3), stride=(2, 2)) /
    F.avg_pool2d(F.pad(torch.ones_like(x), (1, 1, 0, 1)), (3, 3), stride=(2, 2))
    >>> e = express_pool2d("tensorflow", "max", pool_size=3, strides=1, padding="same", dilation=2,
    ...                    pads=((2, 2), (2, 2)))
    >>> print(*e.source.split("), (3"), sep="),\\n(3")
    tf.nn.pool(tf.pad(x, [[0, 0], [2, 2], [2, 2], [0, 0]], constant_values=float("-inf")),
    (3, 3), "MAX", strides=(1, 1), padding="VALID", dilations=(2, 2))
    """
    name = _name(framework)
    if kind not in ("max", "avg"):
        raise ValueError(f"kind must be 'max' or 'avg', got {kind!r}")
    k = normalize_pair(pool_size, "pool_size")
    s = k if strides is None else normalize_pair(strides, "strides")
    d = normalize_pair(dilation, "dilation")
    if kind == "avg" and d != (1, 1):
        raise ValueError("average pooling has no dilation")
    word = _word(padding)
    t, b, left, r = _pads(pads)
    fill = -np.inf if kind == "max" else 0.0
    dil = f", dilation={d}" if d != (1, 1) else ""
    if name == "PyTorch":
        return _torch_pool(
            kind, k, s, d, word, (t, b, left, r), pads, fill, dil, ceil_mode, count_include_pad
        )
    if ceil_mode:
        raise Inexpressible(name, "tf.nn pooling has no ceil_mode (pad the bottom/right by hand)")
    value = ', constant_values=float("-inf")' if kind == "max" else ""
    padded = any((t, b, left, r))
    if d != (1, 1):
        if s != (1, 1):
            raise Inexpressible(name, "tf.nn.pool allows dilations only with strides 1")
        x_src = f"tf.pad(x, {_tf_pads_src(pads)}{value})" if padded else "x"
        src = f'tf.nn.pool({x_src}, {k}, "{kind.upper()}", strides=(1, 1), padding="VALID", dilations={d})'

        def run(x):
            tf = _tf()
            xp = tf.pad(x, [[0, 0], [t, b], [left, r], [0, 0]], constant_values=fill) if padded else x
            return tf.nn.pool(xp, k, kind.upper(), strides=(1, 1), padding="VALID", dilations=d)

    elif word in ("valid", "same"):
        src = f'tf.nn.{kind}_pool2d(x, ksize={k}, strides={s}, padding="{word.upper()}")'

        def run(x):
            tf = _tf()
            return getattr(tf.nn, f"{kind}_pool2d")(x, k, s, word.upper())

    else:
        if kind == "avg" and not count_include_pad and padded:
            raise Inexpressible(name, "tf.nn.avg_pool2d cannot leave explicit zero padding out of the count")
        x_src = f"tf.pad(x, {_tf_pads_src(pads)}{value})"
        src = f'tf.nn.{kind}_pool2d({x_src}, ksize={k}, strides={s}, padding="VALID")'

        def run(x):
            tf = _tf()
            xp = tf.pad(x, [[0, 0], [t, b], [left, r], [0, 0]], constant_values=fill)
            return getattr(tf.nn, f"{kind}_pool2d")(xp, k, s, "VALID")

    def call(x):
        tf = _tf()
        return run(tf.constant(x) if isinstance(x, np.ndarray) else x)

    return Expression(name, call, src)


def _torch_pool(kind, k, s, d, word, tblr, pads, fill, dil, ceil_mode, count_include_pad) -> Expression:
    t, b, left, r = tblr
    fn = f"F.{kind}_pool2d"
    exclude = kind == "avg" and (word == "same" or not count_include_pad)
    native = t == b <= k[0] // 2 and left == r <= k[1] // 2
    ceil = ", ceil_mode=True" if ceil_mode else ""
    if native:
        p = (t, left)
        src = f"{fn}(x, {k}, stride={s}, padding={p}{dil}{ceil}" + (
            ", count_include_pad=False)" if exclude else ")"
        )

        def call(x):
            torch = _torch()
            F, xt = torch.nn.functional, _as_torch(torch, x)
            if kind == "max":
                return F.max_pool2d(xt, k, s, p, dilation=d, ceil_mode=ceil_mode)
            return F.avg_pool2d(xt, k, s, p, ceil_mode=ceil_mode, count_include_pad=not exclude)

        return Expression("PyTorch", call, src)
    if ceil_mode:
        raise Inexpressible("PyTorch", "ceil_mode with pads PyTorch's padding= cannot express")
    if kind == "max":
        minus_inf = ', value=float("-inf")'
        src = f"{fn}({_torch_pad_src(pads, extra=minus_inf)}, {k}, stride={s}{dil})"
    elif exclude:
        ones = _torch_pad_src(pads, arg="torch.ones_like(x)")
        src = f"{fn}({_torch_pad_src(pads)}, {k}, stride={s}) / {fn}({ones}, {k}, stride={s})"
    else:
        src = f"{fn}({_torch_pad_src(pads)}, {k}, stride={s})"

    def padded_call(x):
        torch = _torch()
        F, xt = torch.nn.functional, _as_torch(torch, x)
        xp = F.pad(xt, (left, r, t, b), value=fill)
        if kind == "max":
            return F.max_pool2d(xp, k, s, dilation=d)
        y = F.avg_pool2d(xp, k, s)
        if exclude:  # TF's rule: divide by the real cells only
            y = y / F.avg_pool2d(F.pad(torch.ones_like(xt[..., :1, :, :]), (left, r, t, b)), k, s)
        return y

    return Expression("PyTorch", padded_call, src)


# --------------------------------------------------------------------------- transposed
def express_conv_transpose2d(
    framework, *, stride=1, padding=0, dilation=1, groups=1, crops=None, output_padding=(0, 0), out_hw=None
) -> Expression:
    """Transposed convolution with resolved ``crops`` ``((top, bottom), (left, right))`` and
    ``output_padding``; ``out_hw``, when known, fixes TensorFlow's ``output_shape`` and the text.

    PyTorch: symmetric crops go to ``padding=``; otherwise ``padding=0`` and the result is
    cropped. TensorFlow: ``tf.nn.conv2d_transpose`` (the words as ``"VALID"``/``"SAME"``,
    numbers explicit). Every configuration has a call; whether the framework's kernel runs it
    (TF's CPU kernels refuse dilation > 1 with explicit pads, for one) is the call's own answer.
    TensorFlow's ``call`` takes ``output_shape=`` (NHWC); it defaults to ``out_hw``.

    Examples
    --------
    >>> express_conv_transpose2d("pytorch", stride=2, padding=((0, 1), (1, 1)), crops=((0, 1), (1, 1)),
    ...                          output_padding=(0, 0), out_hw=(7, 8)).source
    'F.conv_transpose2d(x, w, stride=(2, 2), padding=0, output_padding=(0, 0))[:, :, 0:7, 1:9]'
    """
    name = _name(framework)
    s, d = normalize_pair(stride, "stride"), normalize_pair(dilation, "dilation")
    op = normalize_pair(output_padding, "output_padding", allow_zero=True)
    t, b, left, r = _pads(crops)
    dil = f", dilation={d}" if d != (1, 1) else ""
    grp = f", groups={groups}" if groups != 1 else ""
    if name == "PyTorch":
        native = t == b and left == r
        if native:
            src = f"F.conv_transpose2d(x, w, stride={s}, padding={(t, left)}, output_padding={op}{dil}{grp})"
        else:
            crop = (
                f"[:, :, {t}:{t + out_hw[0]}, {left}:{left + out_hw[1]}]"
                if out_hw
                else f"[:, :, {t}:-{b} or None, {left}:-{r} or None]"
            )
            src = f"F.conv_transpose2d(x, w, stride={s}, padding=0, output_padding={op}{dil}{grp}){crop}"

        def call(x, w, bias=None, output_shape=None):
            torch = _torch()
            F = torch.nn.functional
            xt, wt, bt = _as_torch(torch, x), _as_torch(torch, w), _as_torch(torch, bias)
            p = (t, left) if native else 0
            y = F.conv_transpose2d(
                xt, wt, bt, stride=s, padding=p, output_padding=op, dilation=d, groups=groups
            )
            if native:
                return y
            return y[..., t : y.shape[-2] - b, left : y.shape[-1] - r]

        return Expression(name, call, src)

    word = _word(padding)
    shape = f"(N, {out_hw[0]}, {out_hw[1]}, C_out)" if out_hw else "output_shape"
    pad = f'"{word.upper()}"' if word in ("valid", "same") else _tf_pads_src(crops)
    tf_pad = word.upper() if word in ("valid", "same") else [[0, 0], [t, b], [left, r], [0, 0]]
    dil = f", dilations={d}" if d != (1, 1) else ""
    src = f"tf.nn.conv2d_transpose(x, w, output_shape={shape}, strides={s}, padding={pad}{dil})"

    def op_call(tf, x, w, output_shape):
        return tf.nn.conv2d_transpose(x, w, output_shape, strides=s, padding=tf_pad, dilations=d)

    def tf_call(x, w, bias=None, output_shape=None):
        tf = _tf()
        xt = tf.constant(x) if isinstance(x, np.ndarray) else x
        wt = tf.constant(w) if isinstance(w, np.ndarray) else w
        if output_shape is None:
            if out_hw is None:
                raise ValueError("TensorFlow's conv2d_transpose needs output_shape (or out_hw)")
            output_shape = (xt.shape[0], *out_hw, wt.shape[2] * groups)
        y = op_call(tf, xt, wt, tuple(int(v) for v in output_shape))
        return y if bias is None else y + tf.constant(bias)

    return Expression(name, tf_call, src)
