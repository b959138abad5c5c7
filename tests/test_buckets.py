"""bucket_sizes: canvases the network really accepts (run in PyTorch), least padded area (brute force)."""

from __future__ import annotations

import itertools

import models
import numpy as np
import pytest

from convlib.buckets import bucket_sizes


def _brute_force(sizes, accepts, k, hi):
    """The least padded area over every set of k accepted canvases up to hi x hi."""
    canvases = [(h, w) for h in range(1, hi + 1) for w in range(1, hi + 1) if accepts(h, w)]
    useful = [c for c in canvases if any(c[0] >= h and c[1] >= w for h, w in sizes)]
    best = np.inf
    for combo in itertools.combinations(useful, k):
        fits = [[c[0] * c[1] for c in combo if c[0] >= h and c[1] >= w] for h, w in sizes]
        if all(fits):
            best = min(best, sum(min(f) for f in fits))
    return best


@pytest.mark.parametrize("k", [1, 2, 3])
def test_least_padded_area_against_brute_force(k):
    rng = np.random.default_rng(k)
    sizes = [tuple(int(v) for v in rng.integers(5, 22, 2)) for _ in range(7)]

    def accepts(h, w):
        return h % 4 == 0 and w % 4 == 0 and h >= 8

    b = bucket_sizes(sizes, accepts, max_buckets=k, search=8)
    assert b.exact and b.padded_area == _brute_force(sizes, accepts, k, 24)
    for (h, w), bucket in zip(sizes, b.assignment, strict=True):
        assert b.shapes[bucket][0] >= h and b.shapes[bucket][1] >= w
    assert b.true_area == sum(h * w for h, w in sizes)
    assert b.waste == pytest.approx(1 - b.true_area / b.padded_area)


def test_unet_buckets_run_in_torch(torch):
    module, c = models.UNet(), 3  # three 2x2 poolings and concatenated skips: multiples of 8 only
    sizes = [(45, 61), (47, 60), (64, 64), (30, 90), (33, 88), (100, 20)]
    b = bucket_sizes(sizes, module, max_buckets=3)
    assert all(h % 8 == 0 and w % 8 == 0 for h, w in b.shapes)
    with torch.no_grad():
        for h, w in b.shapes:
            assert module.eval()(torch.zeros(1, c, h, w)).shape[-2:] == (h, w)
        with pytest.raises(RuntimeError, match="Sizes of tensors must match"):
            module(torch.zeros(1, c, 45, 61))  # what the buckets avoid
    assert b.table().splitlines()[-1].startswith(f"padding overall {b.waste:.1%}")
    assert sorted(i for bucket in range(len(b.shapes)) for i in b.members(bucket)) == list(range(len(sizes)))


def test_a_fixed_classifier_takes_few_sizes(torch):
    net = models.flatten_head()  # Linear built for 32x32: two stride-2 convs give 8x8 from 29 to 32
    sizes = [(20, 30), (32, 32), (31, 17)]
    assert bucket_sizes(sizes, net, max_buckets=1).shapes == ((32, 32),)
    b = bucket_sizes(sizes, net, max_buckets=3)
    assert b.shapes == ((29, 30), (31, 29), (32, 32)) and b.assignment == (0, 2, 1)
    with torch.no_grad():
        for h, w in b.shapes:
            assert net(torch.zeros(1, 3, h, w)).shape == (1, 10)
        with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied"):
            net(torch.zeros(1, 3, 28, 32))
    with pytest.raises(ValueError, match="accepts no square size from 40x40 to 48x48"):
        bucket_sizes([(40, 40)], net, search=8)


def test_bad_arguments():
    with pytest.raises(ValueError, match="sizes must hold at least one"):
        bucket_sizes([], lambda h, w: True)
    with pytest.raises(ValueError, match="max_buckets must be a positive integer, got 0"):
        bucket_sizes([(4, 4)], lambda h, w: True, max_buckets=0)
    with pytest.raises(ValueError, match=r"sizes\[1\]\[1\] \(width\) must be a positive integer"):
        bucket_sizes([(4, 4), (4, -1)], lambda h, w: True)
    with pytest.raises(ValueError, match="accepts no width from 13 to 15"):
        bucket_sizes([(16, 13)], lambda h, w: w % 16 == 0 or h == w, search=2)
