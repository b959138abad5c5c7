"""Every number chapter 12's prose quotes from the stored benchmark runs, recomputed from them.

The chapter prints its tables from ``benchmarks/suite_cpu_*.json``; its sentences quote
numbers from the same files. Each phrase below is built from the JSON and must appear in
the chapter's markdown word for word, so a re-run benchmark whose prose was not updated
fails here. ``python tests/test_chapter12_numbers.py`` prints the phrases.
"""

from __future__ import annotations

import functools
import json
import statistics
from pathlib import Path

import pytest

from convlib.proof.bench_report import geomean

ROOT = Path(__file__).resolve().parents[1]


def _runs(tag: str = "", folder: str = "benchmarks"):
    one = json.loads((ROOT / f"{folder}/suite_cpu_1thread{tag}.json").read_text())
    two = json.loads((ROOT / f"{folder}/suite_cpu_2threads{tag}.json").read_text())
    return one, two


def _overall(run, field: str = "geomean_auto_over_peer") -> list:
    """``field`` of the overall summary of a run's one- and two-thread files."""
    return [d["summary"]["overall"]["all"][field] for d in run]


def _touched(r) -> bool:
    """Whether a record's layer is one that ca8e29a's two changes reach (at its thread count).

    64 channels and 8 MiB are the values of ``depthwise_jit.ROWS_MAX_CHANNELS`` and
    ``winograd.SPLIT_U_BYTES`` when those runs were taken: the stored runs, not today's constants.
    """
    rows = r["auto_engine"] == "depthwise_jit" and r["kernel"][:2] == [3, 3] and r["stride"] == 1
    a = {"winograd_f4": 6, "winograd_f2": 4}.get(r["auto_engine"])
    split_u = a is not None and r["threads"] > 1 and a * a * r["kernel"][2] * r["kernel"][3] * 4 >= 8 * 2**20
    return (rows and r["kernel"][3] <= 64) or split_u


def _second_facts() -> dict[str, str]:
    """The phrases on ``benchmarks/zen3/second/``: 20b68bf's engines and ca8e29a's, one machine."""
    was, now = _runs("_20b68bf", "benchmarks/zen3/second"), _runs("_ca8e29a", "benchmarks/zen3/second")
    mean = [_overall(run) for run in (was, now)]
    out = {
        "second_mean": (
            f"went from {mean[0][0]:.2f} to {mean[1][0]:.2f} at one thread and from {mean[0][1]:.2f} to "
            f"{mean[1][1]:.2f} at two"
        )
    }

    def dw32(doc):  # the two 32-channel depthwise layers (MobileNetV2, EfficientNet-B0) at batch 8
        return " and ".join(
            f"{r['auto_over_peer']:.2f}"
            for r in doc["records"]
            if r["layer"] == "dw 3x3 32" and r["batch"] == 8
        )

    dw = [[dw32(d) for d in run] for run in (was, now)]
    out["second_dw"] = (
        f"from {dw[0][0]} to {dw[1][0]} at one thread, and from {dw[0][1]} to {dw[1][1]} at two"
    )
    first = _overall(_runs("_20b68bf", "benchmarks/zen3"))
    out["second_machines"] = (
        f"gave {first[0]:.2f} and {mean[0][0]:.2f} overall at one thread on the two machines, but "
        f"{first[1]:.2f} and {mean[0][1]:.2f} at two"
    )
    spread = []
    for i in (0, 1):
        before = {(r["net"], r["layer"], r["batch"]): r["auto_over_peer"] for r in was[i]["records"]}
        moved = [r["auto_over_peer"] / before[(r["net"], r["layer"], r["batch"])] for r in now[i]["records"]
                 if not _touched(r)]  # fmt: skip
        spread.append((len(moved), min(moved), max(moved), geomean(moved)))
    (n1, lo1, hi1, g1), (n2, lo2, hi2, g2) = spread
    out["second_noise"] = (
        f"the {n1} records at one thread and {n2} at two whose layers neither change reaches: each moved "
        f"by a factor between {lo1:.2f} and {hi1:.2f} at one thread ({lo2:.2f} and {hi2:.2f} at two), "
        f"while their geometric means moved by {g1:.2f} and {g2:.2f}"
    )
    return out


def _zen3_facts(zen5_old_mean: float) -> dict[str, str]:
    """The phrases of the section on the second machine (``benchmarks/zen3/``, before and after)."""
    old, now = _runs("_5818a91", "benchmarks/zen3"), _runs("_20b68bf", "benchmarks/zen3")
    mean = [_overall(run) for run in (old, now)]
    over = [_overall(run, "layers_over_2x") for run in (old, now)]
    nets = [
        {k: v["all"]["geomean_auto_over_peer"] for k, v in run[0]["summary"]["nets"].items()}
        for run in (old, now)
    ]
    gain = max(nets[0], key=lambda k: nets[0][k] / nets[1][k])
    out = {
        "zen3_mean": (
            f"from {mean[0][0]:.2f} to {mean[1][0]:.2f} at one thread and from {mean[0][1]:.2f} to "
            f"{mean[1][1]:.2f} at two, and the records over 2 from {over[0][0]} to {over[1][0]} and "
            f"from {over[0][1]} to {over[1][1]}"
        ),
        "zen3_gain": f"{gain}, whose depthwise layers are small and many, gained most "
        f"({nets[0][gain]:.2f} to {nets[1][gain]:.2f} at one thread)",
        "zen3_vgg": f"({nets[0]['VGG-16']:.2f} and {nets[1]['VGG-16']:.2f})",
        "zen3_machine": f"gave {zen5_old_mean:.2f} overall at one thread on the Zen 5 machine of the tables "
        f"above and {mean[0][0]:.2f} here",
    }
    one_over = [r for r in now[0]["records"] if r["auto_over_peer"] > 2]
    two_over = [r for r in now[1]["records"] if r["auto_over_peer"] > 2]
    assert one_over and all(r["input"][3] == 3 for r in one_over), "the one-thread records over 2 changed"
    cg = sorted({r["kernel"][2] for r in two_over if r["input"][3] != 3})
    assert all(r["input"][3] == 3 or r["groups"] > 1 for r in two_over), (
        "the two-thread records over 2 changed"
    )
    out["zen3_over"] = (
        "at one thread every record over 2 is a 3-channel stem (their bound is in the list above), at "
        f"two threads the stems and ResNeXt-50's two widest grouped layers, {cg[0]} and {cg[-1]} "
        "channels per group"
    )
    return out


def _gains(r1, r2, engine_prefix: str = "", contender: str = "auto") -> list[tuple[dict, float]]:
    """``(two-thread record, one-thread / two-thread time)`` of ``contender`` on the records ``auto``
    ran by an engine starting with ``engine_prefix`` (every record for ``""``)."""
    by = {(r["net"], r["layer"], r["batch"]): r for r in r1}
    return [
        (r, by[(r["net"], r["layer"], r["batch"])]["time_s"][contender] / r["time_s"][contender])
        for r in r2
        if r["auto_engine"].startswith(engine_prefix)
    ]


def _label(r) -> str:
    return f"{r['net']} {r['layer']} (N={r['batch']})"


def _range(records) -> str:
    ratios = [r["auto_over_peer"] for r in records]
    return f"{min(ratios):.2f} to {max(ratios):.2f}"


ENGINES_QUOTED = ("im2col", "winograd_f4", "taps", "planes_jit", "depthwise_jit")


@functools.cache
def facts() -> dict[str, str]:
    """Name -> the phrase the chapter must contain (computed once; the tests only read it)."""
    one, two = _runs()
    r1, r2 = one["records"], two["records"]
    s1, s2 = one["summary"]["overall"], two["summary"]["overall"]
    nets = {k: v["all"]["geomean_auto_over_peer"] for k, v in one["summary"]["nets"].items()}
    best, worst = min(nets, key=nets.get), max(nets, key=nets.get)
    out = {
        "mean1": f"over all {s1['all']['layers']} records is {s1['all']['geomean_auto_over_peer']:.2f}",
        "mean1_batches": (
            f"({s1['1']['geomean_auto_over_peer']:.2f} at batch 1, "
            f"{s1['8']['geomean_auto_over_peer']:.2f} at batch 8)"
        ),
        "mean2": f"at two threads it is {s2['all']['geomean_auto_over_peer']:.2f}",
        "over2": (
            f"{s1['all']['layers_over_2x']} of {s1['all']['layers']} records at one thread and "
            f"{s2['all']['layers_over_2x']} of {s2['all']['layers']} at two are over 2"
        ),
        "worst1": f"the worst being {s1['all']['worst_layer']} at {s1['all']['worst_auto_over_peer']:.2f}",
        "best_net": f"{best} does best ({nets[best]:.2f} at one thread)",
        "worst_net": f"{worst} is the furthest ({nets[worst]:.2f})",
    }
    dense = [r for r in r1 if r["auto_engine"] == "im2col" and r["groups"] == 1 and r["input"][3] > 3]
    lim = [r["auto_vs_limit"] for r in dense]
    ratio = geomean([r["auto_over_peer"] for r in dense])
    out["im2col_bound"] = f"reach a median {statistics.median(lim):.2f} of the GEMM roofline (above)"
    out["im2col"] = (
        f"On the {len(dense)} records of dense layers (one group, more than 3 input channels) run by "
        f"im2col, convlib reaches a median {statistics.median(lim):.2f} of the GEMM roofline, at least "
        f"0.85 on {sum(v >= 0.85 for v in lim)} of them, and {ratio:.2f} times the faster peer's time"
    )
    wino = [
        r
        for r in r1
        if r["kernel"][:2] == [3, 3] and (r["stride"], r["dilation"], r["groups"]) == (1, 1, 1)
        and r["kernel"][2] >= 64
    ]  # fmt: skip
    wins = [r for r in wino if r["auto_over_peer"] < 1]
    top = min(wino, key=lambda r: r["auto_over_peer"])
    out["winograd"] = (
        f"{len(wins)} of these {len(wino)} records beat the faster framework outright, the best being "
        f"{_label(top)} at {top['auto_over_peer']:.2f}"
    )
    dil = sorted((r for r in r1 if r["dilation"] > 1), key=lambda r: (r["batch"], r["layer"]))
    out["dilated"] = "; ".join(
        f"{r['layer']} (N={r['batch']}): {r['auto_engine']}, {r['auto_over_peer']:.2f}" for r in dil
    )
    grouped = [r for r in r1 if r["groups"] > 1 and r["kernel"][2] > 1]
    out["grouped"] = f"Grouped layers (ResNeXt-50): {_range(grouped)} times the faster peer at one thread"
    planes = [r for r in grouped if r["auto_engine"] == "planes_jit"]
    out["planes_jit"] = (
        f"`planes_jit` runs the {len(planes)} records of the first two stages at {_range(planes)}"
    )
    dw = [r for r in r1 if r["kernel"][2] == 1 and r["groups"] > 1]
    dw3 = [r for r in dw if r["kernel"][:2] == [3, 3]]
    dw5 = [r for r in dw if r["kernel"][:2] == [5, 5]]
    out["depthwise"] = (
        f"Depthwise layers: {_range(dw)} times the faster peer, at most "
        f"{max(r['auto_vs_limit'] for r in dw):.2f} of the stream limit"
    )
    out["depthwise_kinds"] = f"run at {_range(dw3)} times; the $5\\times5$ ones at {_range(dw5)}"
    stems = [r for r in r1 if r["input"][3] == 3]
    out["stems"] = f"Inputs with 3 channels (the stems): {_range(stems)} times"
    g = {e: geomean([x for _, x in _gains(r1, r2, e)]) for e in ENGINES_QUOTED}
    g["torch_cl"] = geomean([x for _, x in _gains(r1, r2, contender="torch_cl")])
    out["threads"] = (
        f"im2col gained {g['im2col']:.2f} times over its one-thread time, Winograd $F(4\\times4)$ "
        f"{g['winograd_f4']:.2f}, `taps` {g['taps']:.2f}, `planes_jit` {g['planes_jit']:.2f} and "
        f"`depthwise_jit` {g['depthwise_jit']:.2f}, "
        f"against {g['torch_cl']:.2f} for PyTorch channels_last"
    )
    wide = [r for r in grouped if r["auto_engine"] == "im2col"]
    out["wide_groups"] = f"16 and 32 wide, at {_range(wide)}"
    pj = {n: sorted(g for r, g in _gains(r1, r2, "planes_jit") if r["batch"] == n) for n in (1, 8)}
    out["planes_threads"] = (
        f"`planes_jit` gains {pj[1][0]:.2f} to {pj[1][-1]:.2f} at batch 1 and "
        f"{pj[8][0]:.2f} to {pj[8][-1]:.2f} at batch 8"
    )
    wins = sorted(_gains(r1, r2, "winograd"), key=lambda t: t[1])
    lost = [(r, g) for r, g in wins if g < 1]
    if lost:  # "It still loses at two threads on: <layer> (N=<batch>) at <gain>, ..."
        out["winograd_threads_now"] = ", ".join(f"{_label(r)} at {g:.2f}" for r, g in lost)
    else:
        r, g = wins[0]
        out["winograd_threads_now"] = (
            f"none of the {len(wins)} Winograd records is slower at two threads than at one "
            f"(the smallest gain {g:.2f}, {_label(r)})"
        )
    p1, p2 = _runs("_63c675d")
    old = [r for r in p1["records"] if r["net"] == "ResNeXt-50" and r["kernel"][2] <= 8]
    out["previous_grouped"] = f"those six records took `grouped_jit` and im2col {_range(old)} times"
    was = p1["summary"]["nets"]["ResNeXt-50"]["all"]["geomean_auto_over_peer"]
    out["previous_resnext"] = f"ResNeXt-50 from {was:.2f} to {nets['ResNeXt-50']:.2f} at one thread"
    eff = [d["summary"]["nets"]["EfficientNet-B0"]["all"]["geomean_auto_over_peer"] for d in (p1, one)]
    out["previous_effnet"] = f"moved from {eff[0]:.2f} to {eff[1]:.2f} at one thread"
    wg = _gains(p1["records"], p2["records"], "winograd")
    slow = sorted(g for _, g in wg if g < 1)
    out["previous_winograd"] = (
        f"{len(slow)} of the {len(wg)} Winograd records ran at {slow[0]:.2f} to {slow[-1]:.2f} of their "
        "one-thread speed"
    )
    out.update(_zen3_facts(s1["all"]["geomean_auto_over_peer"]))
    out.update(_second_facts())
    m2 = two["meta"]
    out["load2"] = (
        f"started at a 1-minute load average of {m2['loadavg_at_start'][0]:.2f} and ended at "
        f"{m2['loadavg_at_end'][0]:.2f}"
    )
    return out


def _chapter_markdown() -> str:
    nb = json.loads((ROOT / "chapters/12_algorithms.ipynb").read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    return " ".join(text.split())  # line breaks in the prose are spaces


@pytest.mark.parametrize("name", sorted(facts()))
def test_chapter12_quotes_the_stored_runs(name):
    phrase = facts()[name]
    assert " ".join(phrase.split()) in _chapter_markdown(), f"chapter 12 should say: {phrase}"


if __name__ == "__main__":
    for key, phrase in facts().items():
        print(f"{key}: {phrase}\n")
