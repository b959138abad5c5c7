"""The two porting shifts on an image: ``padding=k//2`` against TensorFlow's "same" with a stride,
and PyTorch's ``ConvTranspose2d(padding=1, output_padding=1)`` against Keras's "same".

Both panels of a pair are convolutions of the same image with the same kernel; only the pads
differ, and the pads come from :mod:`convlib.shapes.geometry`. The difference panel shows where
the two answers disagree: everywhere an edge is, because one answer is the other moved by a cell.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..conv import conv2d
from ..shapes import span
from ..shapes.geometry import conv_axes, transpose_axes
from ..transpose import conv_transpose2d

__all__ = ["sample_image", "port_shift_images", "draw_port_shift"]


def sample_image(n: int = 16) -> np.ndarray:
    """A deterministic ``n x n`` test picture: a disc, a bar and a corner mark, in ``[0, 1]``.

    Examples
    --------
    >>> sample_image(16).shape, float(sample_image(16).max())
    ((16, 16), 1.0)
    """
    if n < 8:
        raise ValueError(f"sample_image needs n >= 8 to hold its shapes, got n={n}")
    r, c = np.mgrid[0:n, 0:n]
    img = ((r - 0.45 * n) ** 2 + (c - 0.55 * n) ** 2 <= (0.25 * n) ** 2).astype(np.float32)
    img[n - 3 : n - 1, 1 : n // 2] = 1.0  # a bar near the bottom edge
    img[1:3, 1:3] = 1.0  # a corner mark: where the image starts
    return img


def port_shift_images(img: np.ndarray, k: int = 3, stride: int = 2) -> dict[str, np.ndarray]:
    """The four results the figure shows, with a ``k x k`` blur kernel, and their pads.

    Returns
    -------
    dict
        ``"tf_same"`` / ``"torch_k2"``: the forward convolutions with TensorFlow's "same" and
        ``padding=k//2``; ``"keras_t"`` / ``"torch_t"``: Keras ``Conv2DTranspose(padding="same")``
        and PyTorch ``ConvTranspose2d(padding=k//2, output_padding=stride-1)``.

    Examples
    --------
    >>> out = port_shift_images(sample_image(16))
    >>> out["tf_same"].shape == out["torch_k2"].shape, out["keras_t"].shape == out["torch_t"].shape
    (True, True)
    """
    n = img.shape[0]
    tap = np.array([math.comb(k - 1, i) for i in range(k)], np.float64)  # binomial blur: 1 2 1 for k=3
    kernel = np.outer(tap, tap) / tap.sum() ** 2
    x = img.astype(np.float64)[None, :, :, None]
    w = kernel[:, :, None, None]
    out = {
        "tf_same": conv2d(x, w, stride=stride, padding="same")[0, :, :, 0],
        "torch_k2": conv2d(x, w, stride=stride, padding=k // 2)[0, :, :, 0],
    }
    small = out["tf_same"][None, :, :, None]
    up = w * stride**2  # a transposed blur of the same weight keeps the brightness
    out["keras_t"] = conv_transpose2d(small, up, stride=stride, padding="same")[0, :, :, 0]
    out["torch_t"] = conv_transpose2d(small, up, stride=stride, padding=k // 2, output_padding=stride - 1)[
        0, :, :, 0
    ]
    out["pads"] = {
        "tf_same": conv_axes((n, n), (k, k), stride=stride, padding="same")[0].pads,
        "torch_k2": conv_axes((n, n), (k, k), stride=stride, padding=k // 2)[0].pads,
        "keras_t": _crops(transpose_axes(small.shape[1:3], (k, k), stride=stride, padding="same")[0]),
        "torch_t": _crops(
            transpose_axes(
                small.shape[1:3], (k, k), stride=stride, padding=k // 2, output_padding=stride - 1
            )[0]
        ),
    }
    return out


def _crops(axis) -> tuple[int, int]:
    """What a transposed convolution cuts from each end of its full output ``span(out, stride, k)``."""
    return axis.before, span(axis.out, axis.stride, axis.k) - axis.before - axis.n


def draw_port_shift(img: np.ndarray | None = None, k: int = 3, stride: int = 2) -> Figure:
    """Two rows of three panels: the forward pair and its difference, the transposed pair and its.

    Titles give each side's pads, read from :mod:`convlib.shapes.geometry`.

    Examples
    --------
    >>> fig = draw_port_shift()
    >>> [ax.get_title().split("\\n")[0] for ax in fig.axes[:3]]
    ['TF "same", s=2', 'PyTorch padding=1', 'difference']
    """
    img = sample_image() if img is None else np.asarray(img)
    out = port_shift_images(img, k, stride)
    pads = out["pads"]
    fig = Figure(figsize=(7.2, 5.2))
    FigureCanvasAgg(fig)
    rows = [
        ("tf_same", f'TF "same", s={stride}', "torch_k2", f"PyTorch padding={k // 2}"),
        ("keras_t", 'Keras "same" (transposed)', "torch_t", f"PyTorch p={k // 2}, op={stride - 1}"),
    ]
    for r, (a, a_title, b, b_title) in enumerate(rows):
        diff = out[a] - out[b]
        lim = max(float(np.abs(diff).max()), 1e-12)
        crop = "pads" if r == 0 else "crops"
        panels = [
            (out[a], f"{a_title}\n{crop} {pads[a]}", "gray", (0, 1)),
            (out[b], f"{b_title}\n{crop} {pads[b]}", "gray", (0, 1)),
            (diff, f"difference\nmax |diff| {lim:.2f}", "coolwarm", (-lim, lim)),
        ]
        for c, (data, title, cmap, (lo, hi)) in enumerate(panels):
            ax = fig.add_subplot(2, 3, 3 * r + c + 1)
            ax.imshow(data, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
            ax.set_title(title, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            h, w = data.shape
            ax.set_xlabel(f"{h}x{w}", fontsize=8)
    fig.tight_layout()
    return fig
