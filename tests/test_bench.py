"""The benchmark: its suite, its --quick smoke mode and JSON, its summaries (no timed assertions)."""

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from convlib import conv2d
from convlib.fast import supports
from convlib.proof import bench
from convlib.proof.bench_report import format_summary, format_table, geomean, summarize
from convlib.proof.bench_suite import NETWORKS, QUICK, SUITE
from convlib.proof.crosscheck import tolerance


def test_quick_writes_json(tmp_path, tf, torch, capsys):
    out = tmp_path / "quick.json"
    assert bench.main(["--quick", "--repeats", "1", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "threads: 1" in text and "geometric mean of t(auto)/t(faster peer)" in text
    doc = json.loads(out.read_text())
    assert set(doc) == {"meta", "records", "summary"}
    meta = doc["meta"]
    assert meta["threads"] == 1 and meta["quick"] is True
    assert len(meta["loadavg_at_start"]) == 3 and len(meta["loadavg_at_end"]) == 3
    assert [r["layer"] for r in doc["records"]] == [c.name for c in QUICK]
    for r, layer in zip(doc["records"], QUICK):
        assert set(r["time_s"]) == {"auto", *bench.PEERS, "gemm", "stream"}
        assert all(t > 0 for t in r["time_s"].values())
        assert r["faster_peer"] in bench.PEERS and r["bound"] in ("compute", "memory")
        assert supports(
            r["auto_engine"], r["kernel"], stride=(r["stride"],) * 2, dilation=(r["dilation"],) * 2
        )
        assert r["output"] == [1, *layer.out_hw, layer.cout]
        # Every contender's float32 output agrees with the float64 reference.
        assert max(r["max_rel_err_vs_float64"].values()) <= tolerance(np.float32), r["max_rel_err_vs_float64"]
        assert math.isclose(r["auto_over_peer"], r["time_s"]["auto"] / r["time_s"][r["faster_peer"]])
    assert doc["records"][2]["auto_engine"] == "depthwise_jit" and doc["records"][2]["bound"] == "memory"
    s = doc["summary"]["overall"]["all"]
    assert s["layers"] == len(QUICK) and s["geomean_auto_over_peer"] > 0


def test_suite_covers_the_seven_networks():
    assert NETWORKS == ["ResNet-50", "VGG-16", "MobileNetV2", "EfficientNet-B0", "ResNeXt-50", "DeepLabv3",
                        "Inception-v3"]  # fmt: skip
    kinds = {
        "depthwise": [c for c in SUITE if c.depthwise],
        "grouped": [c for c in SUITE if 1 < c.groups < c.cin],
        "dilated": [c for c in SUITE if c.dilation > 1],
        "asymmetric": [c for c in SUITE if c.kernel[0] != c.kernel[1]],
        "strided": [c for c in SUITE if c.stride == 2],
    }
    assert {k: len(v) >= 3 for k, v in kinds.items()} == dict.fromkeys(kinds, True), kinds
    assert {c.net for c in kinds["depthwise"]} == {"MobileNetV2", "EfficientNet-B0"}
    assert {c.kernel for c in kinds["asymmetric"]} == {(1, 7), (7, 1), (1, 3), (3, 1)}


@pytest.mark.parametrize("layer", SUITE[::7] + QUICK, ids=lambda c: f"{c.net}:{c.name}")
def test_layer_sizes_are_conv2d_sizes(layer):
    # The suite's output sizes (from the one geometry) are what conv2d produces, on a thin copy.
    x = np.zeros((1, layer.size, layer.size, layer.groups), np.float32)
    w = np.zeros((*layer.kernel, 1, layer.groups), np.float32)
    y = conv2d(x, w, stride=layer.stride, padding=layer.pad, dilation=layer.dilation, groups=layer.groups)
    assert y.shape[1:3] == layer.out_hw


def _record(net, name, batch, ratio, bound="compute", vs_limit=0.9):
    return {"net": net, "layer": name, "batch": batch, "auto_engine": "im2col", "faster_peer": "tf",
            "time_s": {"auto": 2e-3 * ratio, "tf": 2e-3}, "auto_over_peer": ratio,
            "auto_over_peer_min": ratio,
            "bound": bound, "auto_vs_limit": vs_limit}  # fmt: skip


def test_summary_geomeans_worst_layer_and_roofline_counts():
    recs = [
        _record("A", "a1", 1, 0.5),
        _record("A", "a2", 1, 2.0, "memory", 0.3),
        _record("B", "b1", 1, 4.0, vs_limit=0.8),
        _record("A", "a1", 8, 1.0),
    ]
    s = summarize(recs)
    assert s["nets"]["A"]["1"]["geomean_auto_over_peer"] == pytest.approx(1.0)
    assert s["overall"]["1"]["geomean_auto_over_peer"] == pytest.approx(geomean([0.5, 2.0, 4.0]))
    assert s["overall"]["all"]["worst_layer"] == "B b1 (N=1)" and s["overall"]["all"]["layers_over_2x"] == 1
    assert (s["overall"]["all"]["compute_bound"], s["overall"]["all"]["compute_at_085_limit"]) == (3, 2)
    text = format_summary(s)
    assert "worst layer: B b1 (N=1), 4.00x; 1 of 4 over 2x" in text
    assert max(len(line) for line in text.splitlines()) <= 74


def test_table_headers_name_each_ratio_and_fit_74_columns():
    table = format_table([_record("A", "a very long layer name that is cut", 8, 1.25)])
    head, row = table.splitlines()
    assert "t(a)/t(p)" in head and "GF/s/limit" in head  # a time ratio and a throughput ratio
    assert max(len(head), len(row)) <= 74 and "1.25" in row


def test_gpu_script_refuses_without_cuda(tmp_path, torch, capsys):
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "cuda_vs_cudnn.py"
    spec = importlib.util.spec_from_file_location("cuda_vs_cudnn", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "cuda.json"
    rc = script.main(["--batch", "1", "--net", "no such network", "--json", str(out)])
    if torch.cuda.is_available():  # an empty suite still writes the documented JSON
        assert rc == 0 and json.loads(out.read_text())["meta"]["tf32"] is False
    else:
        assert rc == 2 and not out.exists()
        assert "refusing: no CUDA device" in capsys.readouterr().out
