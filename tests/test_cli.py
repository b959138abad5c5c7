"""``python -m convlib``: the printed sizes and framework calls, run through the frameworks."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from convlib.__main__ import main
from convlib.graph import trace
from convlib.proof.frameworks import load_tf, load_torch
from convlib.zoo import resnet18, resnet50

torch = load_torch()
F = torch.nn.functional


def run_json(argv, capsys) -> dict:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_same_padding_text(capsys):
    assert main("shape --input 10x11 --kernel 3 --stride 2 --padding same".split()) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["output", "5x6"]
    assert lines[2] == "pads        top 0, bottom 1, left 1, right 1"
    # TF puts the odd cell bottom/right: PyTorch needs an explicit F.pad, then padding=0.
    assert "F.pad(x, (1, 1, 0, 1))" in lines[3] and "padding=0" in lines[3]
    assert 'padding="SAME"' in lines[4]


CASES = [
    "--input 10x11 --kernel 3 --stride 2 --padding same",
    "--input 10x11 --kernel 3 --stride 1 --padding same --dilation 2",
    "--input 9x14 --kernel 2x3 --stride 3x1 --padding 1x2",
    "--input 9x14 --kernel 3 --padding 0,2,1,0",
    "--input 7x5 --kernel 3 --padding full --dilation 2x1",
    "--input 8 --kernel 4 --stride 2 --padding valid",
    "--input 7x8 --kernel 3 --stride 2 --padding 1 --transpose --output-padding 1x0",
    "--input 4x5 --kernel 3 --stride 2 --padding same --transpose",
    "--input 4x5 --kernel 1 --stride 2 --padding valid --transpose",
    "--input 5x6 --kernel 3 --stride 2 --padding 1 --dilation 2 --transpose --output-padding 1",
    "--input 6x7 --kernel 3 --stride 2 --padding 1 --pool max --ceil-mode",
    "--input 10x11 --kernel 2 --padding same --pool max",
    "--input 10x11 --kernel 3 --stride 2 --padding same --pool avg",
    "--input 9x9 --kernel 3 --stride 1 --padding 1 --pool avg",
    "--input 9x12 --kernel 2 --stride 2 --padding 1 --dilation 2 --pool max",
]


def shape_of(args: str, res: dict, framework: str) -> tuple[int, int]:
    """Run the printed call on random data; return the result's spatial size."""
    (h, w), (kh, kw) = res["input"], res["kernel"]
    if framework == "pytorch":
        x = torch.randn(1, 2, h, w)
        # OIHW for conv2d; (C_in, C_out, kh, kw) for conv_transpose2d: both (2, 2, kh, kw).
        scope = {"F": F, "torch": torch, "x": x, "w": torch.randn(2, 2, kh, kw)}
        return tuple(eval(res["pytorch"], scope).shape[2:])
    tf = load_tf()
    scope = {"tf": tf, "x": tf.random.normal((1, h, w, 2)), "w": tf.random.normal((kh, kw, 2, 2))}
    scope.update(N=1, C_out=2)
    return tuple(eval(res["tensorflow"].split("  #")[0], scope).shape[1:3])


@pytest.mark.parametrize("args", CASES)
def test_printed_pytorch_call_gives_printed_size(args, capsys):
    res = run_json(["shape", *args.split()], capsys)
    assert shape_of(args, res, "pytorch") == tuple(res["output"])


@pytest.mark.parametrize(
    "args", [c for c in CASES if not any(s in c for s in ("ceil", "2 --pool", "2 --transpose"))]
)
def test_printed_tensorflow_call_gives_printed_size(args, capsys):
    res = run_json(["shape", *args.split()], capsys)
    assert shape_of(args, res, "tensorflow") == tuple(res["output"])


def test_json_fields(capsys):
    res = run_json("shape --input 4 --kernel 3 --stride 2 --padding same --transpose".split(), capsys)
    assert res["op"] == "conv_transpose2d" and res["output"] == [8, 8]
    assert res["pads"] == {"top": 0, "bottom": 1, "left": 0, "right": 1}
    assert res["output_padding"] == [0, 0]


@pytest.mark.parametrize("net, fn", [("resnet50", resnet50), ("resnet18", resnet18)])
def test_trace_command(net, fn, capsys):
    assert main(["trace", net, "--input", "3x200x300"]) == 0
    t = trace(fn(), (3, 200, 300))
    assert capsys.readouterr().out.rstrip("\n") == t.table(compact=True, legend=True)
    assert t.table(compact=True, legend=True).startswith(t.table(compact=True) + "\nrf: receptive field")
    res = run_json(["trace", net, "--input", "3x224x224"], capsys)
    assert res["network"] == net and res["total_params"] == trace(fn(), (3, 224, 224)).total_params


BAD = [
    ("shape --input 10x11 --kernel 3 --stride 0", r"--stride must be a positive integer, got 0"),
    (
        "shape --input 10xa --kernel 3",
        r"--input must be 1 or 2 integers joined by 'x' \(e.g. 10x11\), got '10xa'",
    ),
    ("shape --input 10 --kernel 12", r"kernel height 12 .* larger than the padded input height 10"),
    ("shape --input 10 --kernel 3 --padding half", r"padding must be one of \['valid', 'same', 'full'\]"),
    ("shape --input 10 --kernel 3 --padding 1,2,3", r"--padding must be 1 or 2 or 4 integers"),
    ("shape --input 10 --kernel 2 --pool avg --dilation 2", r"--dilation applies to max pooling only"),
    (
        "shape --input 10 --kernel 2 --pool max --padding same --ceil-mode",
        r"ceil_mode=True cannot be combined",
    ),
    ("shape --input 10 --kernel 3 --pool max --padding 2", r"pool padding \(2, 2\) must be at most half"),
    ("shape --input 10 --kernel 3 --ceil-mode", r"--ceil-mode needs --pool"),
    ("shape --input 10 --kernel 3 --output-padding 1", r"--output-padding needs --transpose"),
    (
        "shape --input 7 --kernel 3 --stride 2 --transpose --output-padding 2",
        r"output_padding must be smaller",
    ),
    ("shape --input 7 --kernel 3 --transpose --padding full", r"padding='full' has no transposed"),
    ("shape --input 7 --kernel 3 --transpose --pool max", r"--transpose and --pool cannot be combined"),
    ("shape --input 7 --kernel 3 --pool min", r"argument --pool: invalid choice: 'min'"),
    ("shape --kernel 3", r"the following arguments are required: --input"),
    ("trace vgg16 --input 3x200x300", r"expected 25088 input features but the flattened input has 27648"),
    ("trace resnet50 --input 3x224", r"--input must be 3 integers joined by 'x'"),
    ("trace alexnet --input 3x224x224", r"invalid choice: 'alexnet'"),
]


@pytest.mark.parametrize("argv, match", BAD)
def test_bad_arguments_exit_2_with_one_line(argv, match, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv.split())
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert re.match(r"python -m convlib( shape| trace)?: error: ", err), err
    assert re.search(match, err), err


def test_subprocess_exit_status():
    cmd = [sys.executable, "-m", "convlib", "shape", "--input", "10x11", "--kernel", "3", "--stride", "-1"]
    bad = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stdout == ""
    message = "--stride must be a positive integer, got -1 (non-positive --stride is not supported)"
    assert bad.stderr.splitlines() == [f"python -m convlib: error: {message}"]
    good = subprocess.run([*cmd[:-1], "2", "--padding", "same"], capture_output=True, text=True, timeout=120)
    assert good.returncode == 0 and good.stderr == ""
    assert good.stdout.splitlines()[1].split() == ["output", "5x6"]


@pytest.mark.parametrize("args", CASES)
def test_printed_keras_layer_gives_printed_size(args, capsys):
    # The Keras line is code: evaluated with convlib's two helper layers in scope, it must build a
    # layer whose output on the printed input size has the printed output size.
    from convlib.bridges.torch_to_keras import LAYER_SOURCE

    res = run_json(["shape", *args.split()], capsys)
    keras = load_tf().keras
    scope = {"keras": keras, "layers": keras.layers, "C_out": 2}
    exec(LAYER_SOURCE, scope)
    layer = eval(res["keras"].split("  #")[0], scope)
    h, w = res["input"]
    assert tuple(layer(np.zeros((1, h, w, 2), np.float32)).shape[1:3]) == tuple(res["output"])
    assert res["onnx"] and all(line.split("(")[0].isidentifier() for line in res["onnx"])


def test_help_names_the_program_and_every_command(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0 and out.startswith("usage: python -m convlib ")
    for command in ("shape", "trace", "sizes"):
        assert re.search(rf"^    {command} +\S", out, re.M), out  # listed with what it does
        assert f"python -m convlib {command} " in out  # and an example
    assert "FILE.py:FUNCTION" in out and max(map(len, out.splitlines())) <= 80


def test_console_script_says_convlib():
    script = Path(sys.executable).with_name("convlib")
    if not script.exists():
        pytest.skip("convlib is not installed as a console script in this environment")
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("usage: convlib "), done.stdout
    bad = subprocess.run(
        [str(script), "trace", "alexnet", "--input", "3x8x8"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and bad.stderr.startswith("convlib: error: argument network"), bad.stderr


def test_version(capsys):
    from convlib._version import __version__

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"convlib {__version__}"
