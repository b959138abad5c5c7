"""ONNX attributes of a convolution, transposed convolution or pooling layer, in pure Python.

A layer described in Keras's convention (``padding="valid"``/``"same"``, TensorFlow's split with
the odd cell at the bottom/right, Keras ``output_padding``, "same" average pooling that leaves the
padding out of the mean) or in PyTorch's (numbers, ``padding_mode``, ``ceil_mode``,
``count_include_pad``) becomes the attributes of one ONNX node, ``Conv``, ``ConvTranspose``,
``MaxPool`` or ``AveragePool``, plus the ``Pad`` node that must precede it when the padded cells
are not zeros. Every pad comes from :mod:`convlib.shapes.geometry`; nothing imports ``onnx``.

ONNX orders pads ``[top, left, bottom, right]`` (all beginnings, then all ends) and, unlike
``F.pad``, starts from the first spatial axis.

Examples
--------
>>> a = onnx_attrs("conv", (10, 11), 3, stride=2, padding="same")
>>> a.op_type, a.attributes["pads"]
('Conv', [0, 1, 1, 1])
>>> onnx_attrs("conv", (10, 11), 3, stride=2, padding="same", auto_pad=True).attributes["auto_pad"]
'SAME_UPPER'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..padding import normalize_padding, normalize_padding_mode, normalize_pair
from ..shapes.geometry import (
    conv_axes,
    pool_axes,
    same_padding,
    transpose_axes,
)

__all__ = ["KINDS", "AUTO_PADS", "OnnxAttrs", "onnx_attrs", "auto_pad_pads"]

KINDS = {"conv": "Conv", "conv_transpose": "ConvTranspose", "max_pool": "MaxPool", "avg_pool": "AveragePool"}
AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")
_ONNX_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@dataclass(frozen=True)
class OnnxAttrs:
    """One ONNX node's ``op_type`` and ``attributes``, and the ``Pad`` node it needs first.

    ``pad`` is ``None`` or ``(mode, pads)`` with ONNX's ``Pad`` mode (``"reflect"``, ``"edge"``,
    ``"wrap"``) and the per-axis ``((top, bottom), (left, right))`` cells.
    ``output_hw`` is the output size of the input size the attributes were computed for.
    """

    op_type: str
    attributes: dict = field(default_factory=dict)
    pad: tuple | None = None
    output_hw: tuple[int, int] | None = None

    def lines(self) -> list[str]:
        """The node as short text lines, ``Pad`` first when there is one."""
        out = []
        if self.pad is not None:
            (t, b), (left, r) = self.pad[1]
            out.append(f"Pad(mode={self.pad[0]!r}, pads=[0, 0, {t}, {left}, 0, 0, {b}, {r}])")
        body = ", ".join(f"{k}={v!r}" for k, v in self.attributes.items())
        return out + [f"{self.op_type}({body})"]


def _onnx_pads(pads) -> list[int]:
    (t, b), (left, r) = pads
    return [int(t), int(left), int(b), int(r)]


def auto_pad_pads(auto_pad: str, hw, kernel, *, stride=1, dilation=1) -> tuple[tuple[int, int], ...]:
    """The per-axis ``(before, after)`` cells an ONNX ``Conv`` or pool's ``auto_pad`` means.

    ``SAME_UPPER`` is TensorFlow's ``"same"`` (odd cell at the end), ``SAME_LOWER`` its mirror
    (odd cell at the beginning), ``VALID`` and ``NOTSET`` (without ``pads``) pad nothing.

    Examples
    --------
    >>> auto_pad_pads("SAME_LOWER", (9, 8), 4, stride=2)
    ((2, 1), (1, 1))
    """
    if auto_pad not in AUTO_PADS:
        raise ValueError(f"auto_pad must be one of {list(AUTO_PADS)}, got {auto_pad!r}")
    k, s, d = (
        normalize_pair(kernel, "kernel"),
        normalize_pair(stride, "stride"),
        normalize_pair(dilation, "dilation"),
    )
    if auto_pad in ("VALID", "NOTSET"):
        return (0, 0), (0, 0)
    upper = tuple(same_padding(hw[i], k[i], stride=s[i], dilation=d[i]) for i in range(2))
    return upper if auto_pad == "SAME_UPPER" else tuple((a, b) for b, a in upper)


def _check_convention(convention: str) -> str:
    if convention not in ("keras", "torch"):
        raise ValueError(f"convention must be 'keras' or 'torch', got {convention!r}")
    return convention


def _check_keras_padding(padding) -> str:
    word = normalize_padding(padding)
    if word not in ("valid", "same"):
        raise ValueError(f"Keras padding must be 'valid' or 'same', got {padding!r}")
    return word


def onnx_attrs(
    kind: str,
    input_hw,
    kernel,
    *,
    stride=None,
    padding="valid",
    dilation=1,
    groups: int = 1,
    output_padding=None,
    ceil_mode: bool = False,
    count_include_pad: bool | None = None,
    padding_mode: str = "zeros",
    convention: str = "keras",
    auto_pad: bool = False,
) -> OnnxAttrs:
    """ONNX attributes for one layer given in Keras's or PyTorch's convention.

    Parameters
    ----------
    kind : {"conv", "conv_transpose", "max_pool", "avg_pool"}
        ``Conv``, ``ConvTranspose``, ``MaxPool`` or ``AveragePool``; depthwise is ``"conv"``
        with ``groups`` equal to the input channels.
    input_hw : (int, int)
        Input height and width: "same" pads depend on them when the stride is above 1.
    kernel, stride, dilation : int or (int, int)
        ``stride=None`` is 1 for convolutions and the pool size for pooling (both frameworks'
        defaults).
    padding
        ``convention="keras"``: ``"valid"`` or ``"same"``. ``"torch"``: ``p``, ``(ph, pw)``,
        ``"valid"``, or ``"same"`` (stride 1 only, as ``nn.Conv2d``).
    output_padding : int or (int, int), optional
        Transposed convolution only, with the convention's meaning (Keras: ``None`` is its
        default size ``n*s``/``n*s + max(k - s, 0)``).
    ceil_mode, count_include_pad : bool
        Pooling, PyTorch's meaning (``count_include_pad`` defaults to ``True`` for "torch"; a
        Keras "same" average always leaves the padding out).
    padding_mode : {"zeros", "reflect", "replicate", "circular"}
        PyTorch convolution: a mode other than zeros becomes a ``Pad`` node before the ``Conv``.
    convention : {"keras", "torch"}
    auto_pad : bool
        Use ONNX's ``auto_pad="SAME_UPPER"`` (with ``output_shape`` for ``ConvTranspose``) or
        ``"VALID"`` instead of explicit ``pads`` where the word means exactly TensorFlow's, and
        ONNX Runtime reads it so (not with a dilated "same").

    Returns
    -------
    OnnxAttrs

    Raises
    ------
    ValueError
        An unknown kind or convention, a padding the convention has no meaning for, PyTorch's
        "same" with a stride, ``ceil_mode`` in Keras's convention, or any size
        :mod:`convlib.shapes.geometry` refuses.

    Shape
    -----
    ``Conv``: ``H_out = floor((H + pads[0] + pads[2] - d*(k-1) - 1) / s) + 1``;
    ``ConvTranspose``: ``H_out = s*(H-1) + output_padding + d*(k-1) + 1 - pads[0] - pads[2]``.

    Examples
    --------
    >>> onnx_attrs("avg_pool", (7, 7), 2, padding="same").attributes
    {'kernel_shape': [2, 2], 'strides': [2, 2], 'pads': [0, 0, 1, 1], 'count_include_pad': 0}
    >>> onnx_attrs("conv_transpose", (4, 4), 3, stride=2, padding="same").attributes["pads"]
    [0, 0, 1, 1]
    >>> onnx_attrs("conv", (6, 6), 3, padding=1, padding_mode="reflect", convention="torch").lines()
    ["Pad(mode='reflect', pads=[0, 0, 1, 1, 0, 0, 1, 1])", 'Conv(kernel_shape=[3, 3], pads=[0, 0, 0, 0])']
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}")
    convention = _check_convention(convention)
    hw = normalize_pair(input_hw, "input_hw")
    k = normalize_pair(kernel, "kernel")
    if stride is None and kind in ("conv", "conv_transpose"):
        stride = 1
    if kind == "conv":
        return _conv(hw, k, stride, padding, dilation, groups, padding_mode, convention, auto_pad)
    if kind == "conv_transpose":
        return _transpose(hw, k, stride, padding, dilation, groups, output_padding, convention, auto_pad)
    return _pool(kind, hw, k, stride, padding, dilation, ceil_mode, count_include_pad, convention, auto_pad)


def _undilated(d, word: str) -> bool:
    """Whether ``auto_pad`` may stand for the pads: ONNX Runtime 1.31 refuses SAME_* with dilation in
    Conv and ignores the dilation in MaxPool's SAME_* pads (convlib.proof.onnxrt.KNOWN_DEFECTS), so a
    dilated "same" gets explicit pads, which every runtime reads alike."""
    return d == (1, 1) or word == "valid"


def _common(k, s, d, groups=1) -> dict:
    attrs = {"kernel_shape": list(k)}
    if s != (1, 1):
        attrs["strides"] = list(s)
    if d != (1, 1):
        attrs["dilations"] = list(d)
    if groups != 1:
        attrs["group"] = int(groups)
    return attrs


def _conv(hw, k, stride, padding, dilation, groups, padding_mode, convention, auto_pad) -> OnnxAttrs:
    s, d = normalize_pair(stride, "stride"), normalize_pair(dilation, "dilation")
    mode = normalize_padding_mode(padding_mode)
    word = normalize_padding(padding)
    if convention == "keras":
        word = _check_keras_padding(padding)
        if mode != "zeros":
            raise ValueError("Keras's Conv2D has no padding_mode; pass convention='torch'")
    elif word == "same" and s != (1, 1):
        raise ValueError(f"PyTorch's padding='same' needs stride 1 (nn.Conv2d refuses it), got stride {s}")
    elif word == "full":
        raise ValueError("padding='full' is neither a Keras nor a PyTorch padding")
    axes = conv_axes(hw, k, stride=s, padding=word, dilation=d)
    pads = tuple(a.pads for a in axes)
    attrs = _common(k, s, d, groups)
    out = (axes[0].out, axes[1].out)
    if mode != "zeros":
        attrs["pads"] = [0, 0, 0, 0]
        return OnnxAttrs("Conv", attrs, (_ONNX_PAD_MODES[mode], pads), out)
    if auto_pad and word in ("same", "valid") and _undilated(d, word):
        attrs["auto_pad"] = "SAME_UPPER" if word == "same" else "VALID"
    else:
        attrs["pads"] = _onnx_pads(pads)
    return OnnxAttrs("Conv", attrs, None, out)


def _transpose(hw, k, stride, padding, dilation, groups, output_padding, convention, auto_pad) -> OnnxAttrs:
    s, d = normalize_pair(stride, "stride"), normalize_pair(dilation, "dilation")
    if convention == "keras":
        padding = _check_keras_padding(padding)
    elif isinstance(normalize_padding(padding), str):
        raise ValueError(f"nn.ConvTranspose2d takes numbers for padding, got {padding!r}")
    elif output_padding is None:
        output_padding = 0
    axes = transpose_axes(hw, k, stride=s, padding=padding, output_padding=output_padding, dilation=d)
    attrs = _common(k, s, d, groups)
    out = (axes[0].n, axes[1].n)
    # ONNX's SAME_UPPER with output_shape = n*s crops total//2 first: TensorFlow's split exactly,
    # but only when no output_padding is needed (a kernel smaller than the stride needs one).
    exact_word = padding == "same" and _undilated(d, padding)
    exact_word = exact_word and all(a.left == 0 and a.n == a.out * a.stride for a in axes)
    if auto_pad and exact_word:
        attrs["auto_pad"] = "SAME_UPPER"
        attrs["output_shape"] = list(out)
        return OnnxAttrs("ConvTranspose", attrs, None, out)
    attrs["pads"] = _onnx_pads(tuple(a.pads for a in axes))
    if any(a.left for a in axes):
        attrs["output_padding"] = [a.left for a in axes]
    return OnnxAttrs("ConvTranspose", attrs, None, out)


def _pool(
    kind, hw, k, stride, padding, dilation, ceil_mode, count_include_pad, convention, auto_pad
) -> OnnxAttrs:
    s = k if stride is None else normalize_pair(stride, "stride")
    d = normalize_pair(dilation, "dilation")
    word = normalize_padding(padding)
    if kind == "avg_pool" and d != (1, 1):
        raise ValueError(f"average pooling has no dilation, got dilation {d}")
    if convention == "keras":
        word = _check_keras_padding(padding)
        if ceil_mode:
            raise ValueError("Keras pooling has no ceil_mode; pass convention='torch'")
        if count_include_pad:
            raise ValueError("Keras average pooling never counts padding; count_include_pad must be False")
        include = False
    else:
        if word == "same":
            raise ValueError("PyTorch pooling takes numbers for padding, not 'same'")
        include = True if count_include_pad is None else bool(count_include_pad)
    axes = pool_axes(hw, k, s, word, dilation=d, ceil_mode=ceil_mode)
    attrs = _common(k, s, d)
    attrs["strides"] = list(s)  # pooling's stride defaults to 1 in ONNX, to the pool size in both frameworks
    if auto_pad and word in ("same", "valid") and _undilated(d, word):
        attrs["auto_pad"] = "SAME_UPPER" if word == "same" else "VALID"
    else:
        attrs["pads"] = _onnx_pads(tuple(a.pads for a in axes))
    if ceil_mode:
        attrs["ceil_mode"] = 1
    if kind == "avg_pool":
        # ONNX's default is 0 (leave padding out), PyTorch's True: always write it.
        attrs["count_include_pad"] = int(include)
    return OnnxAttrs(KINDS[kind], attrs, None, (axes[0].out, axes[1].out))
