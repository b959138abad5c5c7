"""``python -m convlib trace|sizes FILE.py:FUNCTION``: a model file the test writes, as a reader would."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import textwrap

import pytest
from models import UNet

from convlib.__main__ import main
from convlib.graph import input_sizes, trace

TORCH_FILE = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Conv2d(3, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ConvTranspose2d(4, 4, 2, stride=2)
        self.out = nn.Conv2d(8, 1, 1)

    def forward(self, x):
        skip = torch.relu(self.enc(x))
        return self.out(torch.cat([skip, self.up(self.pool(skip))], dim=1))


def build():
    return Net().eval()


def broken():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.LSTM(4, 4))
"""

KERAS_FILE = """
import keras
from keras import layers


def build():
    x = inp = keras.Input((None, None, 2))
    x = layers.Conv2D(4, 3, strides=2, padding="same")(x)
    x = layers.UpSampling2D(2)(x)
    return keras.Model(inp, layers.Concatenate(name="merge")([inp, x]))
"""


@pytest.fixture
def files(tmp_path):
    (tmp_path / "net.py").write_text(textwrap.dedent(TORCH_FILE))
    (tmp_path / "knet.py").write_text(KERAS_FILE)
    (tmp_path / "knet.txt").write_text(KERAS_FILE)
    return tmp_path


def test_trace_a_torch_model_file(files, capsys):
    assert main(["trace", f"{files / 'net.py'}:build", "--input", "3x8x10"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["layer", "kind", "output", "params", "rf", "jump", "start", "left"]
    rows = [
        ["input", "input", "3x8x10"], ["enc", "Conv2d", "4x8x10"], ["relu", "relu", "4x8x10"],
        ["pool", "MaxPool2d", "4x4x5"], ["up", "ConvTranspose2d", "4x8x10"], ["cat", "cat", "8x8x10"],
    ]  # fmt: skip
    assert [line.split()[:3] for line in lines[2:8]] == rows
    foot = lines.index("input 3x8x10, total params 189")
    # the legend under the table explains every column and the "≤" the transposed conv brings
    legend = " ".join(lines[foot + 1 :])
    assert lines[6].split()[4].startswith("≤") and "≤n: at most n" in legend
    for column in lines[0].split()[4:]:
        assert f"{column}: " in legend, column
    assert max(map(len, lines)) <= 74
    # a size the model refuses: the rows up to the refusing layer, then the refusal on stderr
    with pytest.raises(SystemExit) as stop:
        main(["trace", f"{files / 'net.py'}:build", "--input", "3x9x10"])
    out, err = capsys.readouterr()
    assert stop.value.code == 2
    assert [line.split()[:3] for line in out.splitlines()[2:7]] == [
        ["input", "input", "3x9x10"], ["enc", "Conv2d", "4x9x10"], ["relu", "relu", "4x9x10"],
        ["pool", "MaxPool2d", "4x4x5"], ["up", "ConvTranspose2d", "4x8x10"],
    ]  # fmt: skip
    assert "input 3x9x10, total params 180" in out.splitlines()
    assert err.splitlines() == [
        "python -m convlib: error: layer cat (cat) on input (4, 9, 10) and (4, 8, 10): the inputs have "
        "sizes 9x10 and 8x10; concatenating channels needs equal sizes"
    ]


def test_trace_json_and_sizes_of_a_torch_model_file(files, capsys):
    assert main(["trace", f"{files / 'net.py'}:build", "--input", "3x16x16", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["output_shape"] == [1, 16, 16] and res["layers"][5]["inputs"] == ["relu", "up"]
    assert main(["sizes", f"{files / 'net.py'}:build", "--range", "5:20"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "8 of 16 sizes in 5..20 accepted (3 channels, input n x n)",
        "accepted  6, 8, 10, 12, 14, 16, 18, 20",
        "rule      n >= 2 and n = 0 (mod 2)  (every n up to 256 checked)",
        "  residue: cat (cat)  (refuses the other remainders mod 2)",
        "refused by cat (cat): 5, 7, 9, 11, 13, 15, 17, 19",
    ]
    assert main(["sizes", f"{files / 'net.py'}:build", "--range", "5:20", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["accepted"] == list(range(6, 21, 2)) and res["refused"]["7"]["layer"] == "cat"


def test_sizes_of_a_keras_model_file(files, capsys):
    assert main(["sizes", f"{files / 'knet.py'}:build", "--range", "4:12", "--channels", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "accepted  4, 6, 8, 10, 12"
    assert out[-1] == "refused by merge (Concatenate): 5, 7, 9, 11"
    assert main(["trace", f"{files / 'knet.py'}:build", "--input", "2x6x8"]) == 0
    rows = [line.split()[:3] for line in capsys.readouterr().out.splitlines()]
    assert rows[rows.index(["input", "2x6x8,", "total"]) - 1] == ["merge", "Concatenate", "6x6x8"]


def test_builtin_networks_keep_working(capsys):
    assert main(["sizes", "vgg16", "--range", "222:226"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "3 of 5 sizes in 222..226 accepted (3 channels, input n x n)",
        "accepted  224..226",
        "rule      only n in 224..255  (every n up to 353 checked)",  # the scan reaches 4 periods past
        "  size: classifier.0 (Dense)  (refuses every other size)",
        "refused by classifier.0 (Dense): 222..223",
    ]


ERRORS = [
    ("trace {d}/net.py:missing --input 3x8x8", r"net.py defines no function 'missing'\n"),
    ("trace {d}/net.py:buld --input 3x8x8", r"net.py defines no function 'buld'; did you mean 'build'\?"),
    ("sizes {d}/net.py:Broken --range 1:3", r"no function 'Broken'; did you mean 'broken'\?"),
    ("trace {d}/nothere.py:build --input 3x8x8", r"model file '.*nothere.py': no such file"),
    ("trace {d}/knet.txt:build --input 3x8x8", r"model file '.*knet.txt' is not a .py file"),
    # a module torch.fx has no rule for is run on meta tensors: PyTorch's own refusal, named
    ("trace {d}/net.py:broken --input 3x8x8", r"layer 1 \(LSTM.forward\) .*Expected input to be 2D or 3D"),
    ("sizes {d}/net.py:build --range 9", r"--range must be LO:HI with two positive integers, got '9'"),
    ("sizes {d}/net.py:build --range 9:3", r"the range must have lo <= hi, got lo=9, hi=3"),
    ("sizes alexnet --range 1:3", r"invalid choice: 'alexnet'"),
]


@pytest.mark.parametrize("argv, message", ERRORS)
def test_errors_exit_2_with_one_line(files, argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv.format(d=files).split())
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and re.search(message, err), err


def test_the_module_runs_as_a_program(files):
    done = subprocess.run(
        [sys.executable, "-m", "convlib", "sizes", f"{files / 'net.py'}:build", "--range", "2:4"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert done.stdout.splitlines()[1] == "accepted  2, 4"


def test_cli_and_api_agree():
    model = UNet(depth=2, width=2)
    assert input_sizes(model, 8, 24) == [8, 12, 16, 20, 24] and trace(model, (3, 12, 12)).output_shape == (
        2,
        12,
        12,
    )


BLOCKS = """
from torch import nn


class Up(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2)
        self.conv = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x, skip):
        return self.conv(self.up(x)) + skip
"""

SIBLING = """
import torch
from torch import nn
from blocks import Up  # the module beside this file


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.down = nn.Conv2d(4, 4, 3, stride=2, padding=1)
        self.decoder = nn.ModuleDict({"up3": Up()})

    def forward(self, x):
        skip = self.stem(x)
        return torch.relu(self.decoder["up3"](self.down(skip), skip))


def build():
    return Net().eval()
"""


def test_a_model_importing_its_sibling_runs_from_anywhere(tmp_path, capsys):
    """The file's folder is on sys.path while it is read (and only then); calls inside a submodule's
    forward are named by its module path."""
    models = tmp_path / "models"
    models.mkdir()
    (models / "blocks.py").write_text(BLOCKS)
    (models / "unet.py").write_text(SIBLING)
    assert str(models) not in sys.path
    assert main(["trace", f"{models / 'unet.py'}:build", "--input", "3x8x8"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in lines[2 : lines.index("input 3x8x8, total params 408")]]
    assert names == ["input", "stem", "down", "decoder.up3.up", "decoder.up3.conv", "decoder.up3.add", "relu"]
    assert str(models) not in sys.path
    done = subprocess.run(
        [sys.executable, "-m", "convlib", "sizes", "models/unet.py:build", "--range", "1:9"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # n = 1: the 1x1 skip broadcasts onto the 2x2 upsampled map, and PyTorch runs it
    assert done.stdout.splitlines()[1] == "accepted  1..2, 4, 6, 8"
    import torch

    sys.path.insert(0, str(models))
    try:
        net = importlib.import_module("unet").build()
    finally:
        sys.path.remove(str(models))
        sys.modules.pop("unet", None), sys.modules.pop("blocks", None)
    for n in range(1, 10):
        try:
            net(torch.zeros(1, 3, n, n))
            assert n in (1, 2, 4, 6, 8), n
        except RuntimeError:
            assert n not in (1, 2, 4, 6, 8), n


def test_fpn_sizes_one_and_two_as_pytorch_says(tmp_path, capsys):
    """Nearest upsampling of a 1x1 map meets a 1x1 lateral at n = 1 (broadcast, PyTorch runs it);
    at n = 2 a 2x2 lateral meets an 8x8 map (PyTorch refuses). The CLI's answer is PyTorch's."""
    import torch
    from models import FPN

    def runs(n):
        try:
            with torch.no_grad():
                FPN()(torch.zeros(1, 3, n, n))
        except RuntimeError:
            return False
        return True

    (tmp_path / "fpn.py").write_text("from models import FPN\n\n\ndef build():\n    return FPN().eval()\n")
    assert main(["sizes", f"{tmp_path / 'fpn.py'}:build", "--range", "1:17", "--json"]) == 0
    accepted = json.loads(capsys.readouterr().out)["accepted"]
    assert accepted == [n for n in range(1, 18) if runs(n)] == [1, 8, 16]
