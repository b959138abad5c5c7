"""Convolution engines: different algorithms for the same valid, already-padded conv.

Every engine has the signature ``engine(xp, w, *, stride, dilation, groups) -> y`` with
``xp`` the padded input ``(N, Hp, Wp, C)``, ``w`` an HWIO kernel ``(kh, kw, C/groups, O)``
and ``y`` the output ``(N, H_out, W_out, O)``, all in one floating dtype. Padding, layouts,
dtypes and bias are handled once, in :mod:`convlib.conv`.
"""

from __future__ import annotations

from . import im2col, naive

__all__ = ["ENGINES", "select_engine"]

ENGINES = {
    "naive": naive.conv,
    "im2col": im2col.conv,
}


def select_engine(algorithm: str, xp_shape, w_shape, *, stride, dilation, groups):
    """Return the engine function for ``algorithm`` (``"auto"`` picks one by shape)."""
    if not isinstance(algorithm, str) or (algorithm != "auto" and algorithm not in ENGINES):
        raise ValueError(f"algorithm must be 'auto' or one of {sorted(ENGINES)}, got {algorithm!r}")
    if algorithm == "auto":
        return ENGINES["im2col"]
    return ENGINES[algorithm]
