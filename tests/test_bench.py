"""The benchmark's --quick smoke mode: it runs and writes the documented JSON (no timed assertions)."""

import json

import numpy as np

from convlib.proof import bench
from convlib.proof.crosscheck import tolerance


def test_quick_writes_json(tmp_path, tf, torch, capsys):
    out = tmp_path / "quick.json"
    assert bench.main(["--quick", "--repeats", "1", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "threads: " in text and "geomean auto/faster-peer" in text
    doc = json.loads(out.read_text())
    assert set(doc) == {"meta", "records", "summary"}
    assert doc["meta"]["threads"] >= 1 and doc["meta"]["quick"] is True
    assert [r["layer"] for r in doc["records"]] == [layer[0] for layer in bench.QUICK_LAYERS]
    for r in doc["records"]:
        engines = ["auto", *bench.engines_for(r["kernel"][0], r["stride"])]
        assert set(r["time_s"]) == {*engines, *bench.PEERS, "gemm"}
        assert all(t > 0 for t in r["time_s"].values())
        assert r["auto_engine"] in engines and r["faster_peer"] in bench.PEERS
        # Every contender's float32 output agrees with the float64 reference (TF's conv tolerance).
        assert max(r["max_rel_err_vs_float64"].values()) <= tolerance(np.float32)
        assert max(r["peak_extra_mib"].values()) <= 64
    s = doc["summary"]["1"]
    assert s["layers"] == len(bench.QUICK_LAYERS) and s["geomean_auto_over_peer"] > 0


def test_layer_table_is_resnet50():
    strided = [layer for layer in bench.RESNET50_LAYERS if layer[5] == 2]
    assert bench.RESNET50_LAYERS[0] == ("stem 7x7/2", 224, 3, 64, 7, 2, 3)
    assert len(strided) == 7  # stem, three strided 3x3, three strided 1x1 projections
    assert {layer[4] for layer in bench.RESNET50_LAYERS} == {1, 3, 7}
