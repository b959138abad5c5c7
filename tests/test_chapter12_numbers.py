"""Chapter 12's glued numbers against the stored runs they come from.

The chapter's prose quotes numbers only through myst-nb ``glue``; the values stored in the
executed notebook are what the HTML shows. A benchmark re-run without re-executing the
chapter, or a sentence gluing a name no cell computes, fails here, without a kernel.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from convlib import fast
from convlib.engines import taps

ROOT = Path(__file__).resolve().parents[1]
NB = json.loads((ROOT / "chapters/12_algorithms.ipynb").read_text())
RUNS = {
    th: json.loads((ROOT / f"benchmarks/suite_cpu_{th}.json").read_text()) for th in ("1thread", "2threads")
}


def _glued() -> dict[str, str]:
    out = {}
    for cell in NB["cells"]:
        for o in cell.get("outputs", []):
            name = o.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                out[name] = o["data"]["application/papermill.record/text/plain"]
    return out


GLUED = _glued()


def _flop_per_byte(r) -> float:
    kh, kw, cin, _ = r["kernel"]
    (n, h, w, c), (_, ho, wo, o) = r["input"], r["output"]
    return 2 * n * ho * wo * o * kh * kw * cin / (4 * (n * h * w * c + n * ho * wo * o))


def _expected() -> dict[str, float]:
    s1, s2 = (RUNS[th]["summary"] for th in ("1thread", "2threads"))
    one = RUNS["1thread"]["records"]
    dw = [r for r in one if r["auto_engine"] == "depthwise_jit"]
    want = {
        "overall_1": round(s1["overall"]["all"]["geomean_auto_over_peer"], 2),
        "overall_2": round(s2["overall"]["all"]["geomean_auto_over_peer"], 2),
        "over2_1": s1["overall"]["all"]["layers_over_2x"],
        "vgg_1": round(s1["nets"]["VGG-16"]["all"]["geomean_auto_over_peer"], 2),
        "effnet_1": round(s1["nets"]["EfficientNet-B0"]["all"]["geomean_auto_over_peer"], 2),
        "dw_fpb": round(max(map(_flop_per_byte, dw)), 2),
        "dense_fpb": round(_flop_per_byte(next(r for r in one if r["layer"] == "res2 3x3 64")), 1),
        "dw_lo": round(min(r["auto_over_peer"] for r in dw), 2),
        "dw_hi": round(max(r["auto_over_peer"] for r in dw), 2),
        "dw_stream": round(max(r["auto_vs_limit"] for r in dw), 2),
        "f4_min": fast.WINOGRAD_F4_MIN_TILES,
        "f2_min": fast.WINOGRAD_F2_MIN_TILES,
        "taps_min_ch": fast.TAPS_MIN_CHANNELS,
        "max_phases": fast.WINOGRAD_MAX_PHASES,
        "effnet_layers": len({r["layer"] for r in one if r["net"] == "EfficientNet-B0"}),
        # DeepLabv3's layer4: dilation 4 on a 28x28 map, batch 8: 16 phases of 7x7 outputs.
        "l4_phases": 4 * 4,
        "l4_t2": 8 * (-(-7 // 2)) ** 2,
    }
    for n in (14, 28, 56):
        for d in (2, 6, 12):
            u = taps.useful_fraction(
                (1, n, n, 1), (3, 3, 1, 1), stride=(1, 1), dilation=(d, d), pads=((d, d),) * 2
            )
            want[f"useful_{n}_{d}"] = round(100 * u, 1)
    return want


def test_layer4_stays_off_winograd_only_for_its_phases(monkeypatch):
    # The chapter's reason for layer4 (16 phases of 7x7 at batch 8): with the phase limit raised,
    # auto would take Winograd F(2x2) for it; at the shipped limit it takes taps.
    args = ((8, 36, 36, 512), (3, 3, 512, 512))
    kw = dict(stride=(1, 1), dilation=(4, 4), groups=1, pads=((4, 4), (4, 4)))
    assert fast.choose_algorithm(*args, **kw) == "taps"
    monkeypatch.setattr(fast, "WINOGRAD_MAX_PHASES", 16)
    assert fast.choose_algorithm(*args, **kw) == "winograd_f2"


@pytest.mark.parametrize("name, value", sorted(_expected().items()))
def test_glued_value_is_the_recomputed_one(name, value):
    assert name in GLUED, f"chapter 12 glues no {name!r}: re-execute it"
    assert GLUED[name] == repr(value), f"{name}: notebook {GLUED[name]}, stored run gives {value!r}"


def test_every_glue_reference_has_a_value():
    text = "".join("".join(c["source"]) for c in NB["cells"] if c["cell_type"] == "markdown")
    used = {m.split(":")[0] for m in re.findall(r"\{glue:text\}`([^`]+)`", text)}
    assert used, "chapter 12 quotes no glued number"
    assert not used - GLUED.keys(), f"glued in prose but computed nowhere: {sorted(used - GLUED.keys())}"


def test_prose_types_no_stored_ratio():
    # A ratio from the stored runs typed into prose instead of glued, e.g. "1.19 overall".
    text = "".join("".join(c["source"]) for c in NB["cells"] if c["cell_type"] == "markdown")
    typed = {v for k, v in GLUED.items() if "." in v and k not in ("ws_ratio",)} & set(
        re.findall(r"\d+\.\d+", text)
    )
    assert not typed, f"numbers typed by hand in chapter 12's prose: {sorted(typed)}"
