"""Group images of many sizes into a few canvas sizes that a network accepts, wasting least area.

Batching needs one size per batch; every image is padded (bottom/right, with zeros) up to its
bucket's canvas. A canvas must be a size the network accepts: a U-Net whose skips are concatenated
needs sizes that its poolings halve exactly, a network with a fixed ``Linear`` after ``Flatten``
accepts one size only. :func:`bucket_sizes` chooses at most ``max_buckets`` canvases from the
accepted sizes, assigns each image to the smallest canvas it fits in, and minimises the total
padded area. Which cells of the padded output are still exact is :func:`convlib.clean.clean_region`.

Canvas heights are the smallest accepted height at or above some image's height (likewise widths),
each axis probed with the other at the smallest accepted square that holds every image. When the
accepted heights do not depend on the width (every fully convolutional network), any optimal
canvas shrinks to one of these, so the candidates are their pairs that the network accepts; the
choice is exhaustive over them when that is small (:attr:`Buckets.exact`), else greedy then
improved by swaps.
"""

from __future__ import annotations

import itertools
import math
import types
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .graph.build import from_model
from .graph.shapes import run
from .padding import check_positive_int, normalize_pair

__all__ = ["Buckets", "bucket_sizes"]

EXHAUSTIVE_LIMIT = 50_000  # sets of canvases tried one by one before the search turns greedy


@dataclass(frozen=True)
class Buckets:
    """The chosen canvases and which one each image goes to.

    ``shapes`` are the canvases ``(H, W)``, smallest area first; ``assignment[i]`` is the bucket
    of the ``i``-th input size; ``true_area`` and ``padded_area`` sum the images' and their
    canvases' cells; ``exact`` says the search tried every set of canvases.
    """

    sizes: tuple[tuple[int, int], ...]
    shapes: tuple[tuple[int, int], ...]
    assignment: tuple[int, ...]
    true_area: int
    padded_area: int
    exact: bool

    @property
    def waste(self) -> float:
        """Fraction of the padded area that is padding, ``1 - true_area / padded_area``."""
        return 1 - self.true_area / self.padded_area

    def members(self, bucket: int) -> list[int]:
        """Indices of the input sizes that go to ``bucket``."""
        return [i for i, b in enumerate(self.assignment) if b == bucket]

    def table(self) -> str:
        """One line per bucket: the canvas, how many images, and the padding share."""
        lines = [f"{'bucket':>6}  {'canvas':>9}  {'images':>6}  {'padding':>7}"]
        for b, (h, w) in enumerate(self.shapes):
            got = self.members(b)
            real = sum(self.sizes[i][0] * self.sizes[i][1] for i in got)
            lines.append(f"{b:>6}  {f'{h}x{w}':>9}  {len(got):>6}  {1 - real / (h * w * len(got)):>7.1%}")
        lines.append(f"padding overall {self.waste:.1%} of {self.padded_area:,} cells")
        return "\n".join(lines)


def bucket_sizes(sizes, network, *, max_buckets: int = 3, channels: int = 3, search: int = 64) -> Buckets:
    """Choose at most ``max_buckets`` canvas sizes the network accepts, minimising padded area.

    Parameters
    ----------
    sizes : sequence of (int, int)
        The images' ``(height, width)``.
    network : convlib spec, Graph, torch.nn.Module, Keras model, or function
        Read by :func:`convlib.graph.from_model`, whose size interpreter decides what it accepts;
        a plain function ``accepts(h, w) -> bool`` is used as it is.
    max_buckets : int
        Most canvas sizes to use.
    channels : int
        Input channels for the size check.
    search : int
        How far above an image's height (width) to look for an accepted one.

    Returns
    -------
    Buckets

    Raises
    ------
    ValueError
        No sizes, a non-positive size or count, or an image with no accepted canvas within
        ``search`` cells of it (the size and the network's refusal are named).

    Examples
    --------
    >>> def multiple_of_8(h, w):  # what a U-Net with three 2x2 poolings and concatenated skips takes
    ...     return h % 8 == 0 and w % 8 == 0
    >>> b = bucket_sizes([(30, 40), (31, 40), (62, 20), (64, 18)], multiple_of_8, max_buckets=2)
    >>> b.shapes, b.assignment
    (((32, 40), (64, 24)), (0, 0, 1, 1))
    >>> round(b.waste, 3)
    0.142
    """
    sizes = tuple(normalize_pair(s, f"sizes[{i}]") for i, s in enumerate(sizes))
    if not sizes:
        raise ValueError("sizes must hold at least one (height, width)")
    max_buckets = check_positive_int(max_buckets, "max_buckets")
    accepts = _acceptor(network, check_positive_int(channels, "channels"))
    ref = _square(accepts, max(max(s) for s in sizes), search)
    up_h = {h: _round_up(lambda n: accepts(n, ref), h, search, "height") for h in {s[0] for s in sizes}}
    up_w = {w: _round_up(lambda n: accepts(ref, n), w, search, "width") for w in {s[1] for s in sizes}}
    candidates = [
        (h, w) for h in sorted(set(up_h.values())) for w in sorted(set(up_w.values())) if accepts(h, w)
    ]
    counts = Counter(sizes)
    kinds = list(counts)
    area = np.array([[h * w if h >= a and w >= b else np.inf for h, w in candidates] for a, b in kinds])
    weight = np.array([counts[k] for k in kinds], dtype=float)
    if np.isinf(area.min(axis=1)).any():
        bad = kinds[int(np.argmax(np.isinf(area.min(axis=1))))]
        raise ValueError(f"no canvas the network accepts holds the size {bad[0]}x{bad[1]}")
    choice, exact = _choose(area, weight, min(max_buckets, len(candidates)))
    best = [choice[int(np.argmin(area[i, list(choice)]))] for i in range(len(kinds))]  # each size's canvas
    used = sorted(set(best), key=lambda j: (math.prod(candidates[j]), candidates[j]))
    shapes = tuple(candidates[j] for j in used)
    pick = {k: used.index(best[i]) for i, k in enumerate(kinds)}
    assignment = tuple(pick[s] for s in sizes)
    padded = sum(math.prod(shapes[b]) for b in assignment)
    return Buckets(sizes, shapes, assignment, sum(h * w for h, w in sizes), padded, exact)


def _acceptor(network, channels: int):
    if isinstance(network, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
        return network
    graph = from_model(network)
    cache: dict[tuple[int, int], bool] = {}

    def accepts(h: int, w: int) -> bool:
        if (h, w) not in cache:
            try:
                run(graph, (channels, h, w))
                cache[h, w] = True
            except ValueError:
                cache[h, w] = False
        return cache[h, w]

    return accepts


def _square(accepts, n: int, search: int) -> int:
    """The smallest accepted square side at or above ``n``: the other axis while one is probed."""
    for side in range(n, n + search + 1):
        if accepts(side, side):
            return side
    raise ValueError(f"the network accepts no square size from {n}x{n} to {n + search}x{n + search}")


def _round_up(accepts, n: int, search: int, axis: str) -> int:
    for m in range(n, n + search + 1):
        if accepts(m):
            return m
    raise ValueError(f"the network accepts no {axis} from {n} to {n + search} (search={search})")


def _choose(area: np.ndarray, weight: np.ndarray, k: int) -> tuple[tuple[int, ...], bool]:
    """The ``k`` candidate columns with the least weighted sum of each row's smallest area."""
    n = area.shape[1]
    if math.comb(n, k) <= EXHAUSTIVE_LIMIT:
        best, cost = None, np.inf
        for combo in itertools.combinations(range(n), k):
            c = float(weight @ area[:, list(combo)].min(axis=1))
            if c < cost:
                best, cost = combo, c
        return best, True

    def cost(cols) -> float:
        return float(weight @ area[:, cols].min(axis=1))

    chosen: list[int] = []
    for _ in range(k):  # add the canvas that lowers the cost most, k times
        chosen.append(min((j for j in range(n) if j not in chosen), key=lambda j: cost(chosen + [j])))
    improved = True
    while improved:  # then swap one canvas for another while that helps (a local optimum, not a proof)
        improved = False
        for i, j in itertools.product(range(k), range(n)):
            trial = chosen[:i] + [j] + chosen[i + 1 :]
            if j not in chosen and cost(trial) < cost(chosen):
                chosen, improved = trial, True
    return tuple(chosen), False
