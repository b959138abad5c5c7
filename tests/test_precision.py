"""float32 error of every engine and of both frameworks against a float64 reference.

``err = |y32 - y64| / (|x| * |w|)`` per output, ``K = k*k*C`` terms per output, ``eps`` the
float32 unit roundoff (2**-23 here, numpy's ``finfo.eps``).
"""

import numpy as np
import pytest

from convlib.engines import ENGINES
from convlib.proof.verify import precision_study

EPS = float(np.finfo(np.float32).eps)
DIRECT = ("naive", "im2col", "shifted", "TensorFlow", "PyTorch")


@pytest.fixture(scope="module")
def rows():
    """The study's rows: every engine, TensorFlow and PyTorch on the same float32 data (run once)."""
    return precision_study()


def test_every_engine_is_measured(rows):
    measured = {n for r in rows for n in r["errors"]}
    assert set(ENGINES) | {"TensorFlow", "PyTorch"} <= measured


@pytest.mark.parametrize("name", [n for n in DIRECT if n in ENGINES or n in ("TensorFlow", "PyTorch")])
def test_direct_sums_within_dot_product_bound(rows, name):
    # A K-term dot product summed in float32, after rounding x and w to float32, is off by at most
    # about (K + 2) * eps times the sum of |terms| (Higham's gamma_K, plus the two input roundings).
    for r in rows:
        assert r["errors"][name] <= (r["terms"] + 2) * EPS, (name, r)


@pytest.mark.parametrize("name,factor", [("winograd_f2", 4), ("winograd_f4", 16)])
def test_winograd_within_transform_bound(rows, name, factor):
    # Winograd adds the rounding of its input/output transforms; their entries are at most 1 for
    # F(2,3) and up to 8 (points +-2, +-1/2) for F(4,3), so the direct bound grows by that factor.
    if name not in ENGINES:
        pytest.fail(f"engine {name} is not in convlib.engines.ENGINES")
    for r in rows:
        if name in r["errors"]:
            assert r["errors"][name] <= factor * (r["terms"] + 2) * EPS, (name, r)


def test_fft_within_normwise_bound(rows):
    # An FFT's error is spread over the whole map: bounded relative to the largest |x|*|w| by
    # about log2(N) * eps per transform, three transforms, N = 12*12 cells here.
    if "fft" not in ENGINES:
        pytest.fail("engine fft is not in convlib.engines.ENGINES")
    bound = 3 * np.log2(12 * 12) * EPS * 4
    for r in rows:
        assert r["normwise"]["fft"] <= bound, r


def test_convlib_direct_engines_no_worse_than_frameworks(rows):
    # On the same data, im2col's float32 error stays within 2x the better framework's, plus one eps.
    for r in rows:
        best = min(r["errors"]["TensorFlow"], r["errors"]["PyTorch"])
        assert r["errors"]["im2col"] <= 2 * best + EPS, r
