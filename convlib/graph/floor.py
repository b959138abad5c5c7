"""The size of a layer as a formula in the input size ``n``: ``m * floor((n + b) / c) + e``.

Windows map a size ``x`` to ``floor((x + a) / s) + 1`` (``"same"``: ``ceil(x / s)``), the ways
back up to ``x*s + a``, and nested floors collapse,
``floor((floor(y/c) + e)/s) = floor((y + e*c)/(c*s))``, so every layer of a network built from
them has a size of this one form. :class:`Floor` is that form with the arithmetic the layers
need; an operation that leaves the form (the difference of two sizes that both depend on ``n``
in different ways, a product of two such sizes) raises ``_Opaque``, and the caller shows ``?``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Floor"]


@dataclass(frozen=True)
class Floor:
    """``m * floor((n + b) / c) + e``; ``m = 0`` is the constant ``e``.

    Examples
    --------
    >>> x = Floor.identity()
    >>> y = ((x - 3) // 2 + 1).ceil_div(2)
    >>> y, y(65)
    (Floor(m=1, b=1, c=4, e=0), 16)
    >>> str(y), str(y * 2 + 1), str(x.ceil_div(8))
    ('floor((n + 1)/4)', '2*floor((n + 1)/4) + 1', 'ceil(n/8)')
    """

    m: int
    b: int = 0
    c: int = 1
    e: int = 0

    @staticmethod
    def identity() -> Floor:
        return Floor(1)

    def __call__(self, n: int) -> int:
        return self.m * ((n + self.b) // self.c) + self.e

    def __add__(self, k):
        if isinstance(k, Floor):
            if k.m == 0:
                return self + k.e
            if self.m == 0:
                return k + self.e
            raise ValueError("a sum of two sizes that both depend on n")
        return Floor(self.m, self.b, self.c, self.e + k)

    __radd__ = __add__

    def __sub__(self, k):
        if isinstance(k, Floor):
            if (k.m, k.b, k.c) == (self.m, self.b, self.c):
                return Floor(0, 0, 1, self.e - k.e)
            return self + (-k.e) if k.m == 0 else _opaque()
        return self + (-k)

    def __rsub__(self, k):
        return (self * -1) + k if self.m == 0 else _opaque()

    def __mul__(self, k):
        if isinstance(k, Floor):
            if k.m:
                return _opaque()
            k = k.e
        return Floor(self.m * k, self.b, self.c, self.e * k) if k else Floor(0, 0, 1, 0)

    __rmul__ = __mul__

    def __floordiv__(self, s):
        if isinstance(s, Floor):
            if s.m:
                return _opaque()
            s = s.e
        if self.m == 0:
            return Floor(0, 0, 1, self.e // s)
        if self.m % s == 0:
            return Floor(self.m // s, self.b, self.c, self.e // s)
        g = math.gcd(self.m, s)
        if self.m // g != 1:
            return _opaque()
        # floor((g*F + e)/(g*s')) = floor((F + floor(e/g))/s') = floor((n + b + floor(e/g)*c)/(c*s'))
        return Floor(1, self.b + (self.e // g) * self.c, self.c * (s // g), 0)

    def __neg__(self):
        return self * -1

    def ceil_div(self, s: int) -> Floor:
        return (self + (s - 1)) // s

    def __str__(self) -> str:
        if self.m == 0:
            return str(self.e)
        if self.c == 1:
            return _affine(self.m, "n", self.m * self.b + self.e)
        if self.b % self.c == 0:  # floor((n + q*c)/c) = floor(n/c) + q
            core, extra = f"floor(n/{self.c})", self.m * (self.b // self.c) + self.e
        elif (self.b + 1) % self.c == 0:  # floor((n + c - 1 + q*c)/c) = ceil(n/c) + q
            core, extra = f"ceil(n/{self.c})", self.m * ((self.b + 1) // self.c - 1) + self.e
        else:
            sign = "+" if self.b > 0 else "-"
            core, extra = f"floor((n {sign} {abs(self.b)})/{self.c})", self.e
        return _affine(self.m, core, extra)


def _affine(m: int, core: str, e: int) -> str:
    head = core if m == 1 else f"{m}*{core}"
    return head if e == 0 else f"{head} {'+' if e > 0 else '-'} {abs(e)}"


class _Opaque(Exception):
    pass


def _opaque():
    raise _Opaque
