"""Without numba every public operation still runs, and gives the naive loop's answer.

numba is the optional ``convlib[fast]`` extra: in a process where ``import numba`` fails, the
fast room falls back to its NumPy engines. The subprocess below blocks the import
(``sys.modules["numba"] = None``) before convlib is imported, calls each operation, compares
it with a numba-free reference and prints one line per operation.
"""

import subprocess
import sys

SCRIPT = r"""
import sys
sys.modules["numba"] = None  # "import numba" now raises ImportError
import numpy as np
import convlib
from convlib import fast
from convlib.engines import naive

def close(y, ref):
    return np.abs(y - ref).max() <= 1e-10 * max(1.0, np.abs(ref).max())

rng = np.random.default_rng(0)
x = rng.standard_normal((2, 9, 8, 4))
dense, grouped, dw = (rng.standard_normal(s) for s in ((3, 3, 4, 6), (3, 3, 2, 6), (3, 3, 1, 8)))
assert not fast.has_numba()
for name, w, g in (("dense", dense, 1), ("groups=2", grouped, 2), ("depthwise", dw, 4)):
    ref = naive.conv(x, w, stride=(1, 1), dilation=(1, 1), groups=g, pads=((1, 1), (1, 1)))
    assert close(convlib.conv2d(x, w, padding=1, groups=g), ref), name  # auto
    assert close(convlib.conv2d(x, w, padding=1, groups=g, algorithm="im2col"), ref), name
    print("conv2d", name, "ok")
for name in ("depthwise_jit", "grouped_jit", "planes_jit"):  # the compiled engines, by name
    ref = naive.conv(x, dw, stride=(1, 1), dilation=(1, 1), groups=4, pads=((1, 1), (1, 1)))
    got = fast.ENGINES[name](x, dw, stride=(1, 1), dilation=(1, 1), groups=4, pads=((1, 1), (1, 1)))
    assert close(got, ref), name
    print(name, "falls back ok")
# conv_transpose2d, grouped: the adjoint of the grouped conv2d, <conv(x), y> == <x, convT(y)>.
y = rng.standard_normal((2, 5, 4, 6))
xt = convlib.conv_transpose2d(y, grouped, stride=2, padding=1, groups=2, output_padding=(0, 1))
assert xt.shape == (2, 9, 8, 4), xt.shape
fwd = convlib.conv2d(x, grouped, stride=2, padding=1, groups=2, algorithm="naive")
assert abs(np.vdot(fwd, y) - np.vdot(x, xt)) <= 1e-10 * max(1.0, abs(np.vdot(fwd, y)))
print("conv_transpose2d groups=2 ok")
xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=-np.inf)  # max pooling pads -inf
mx = convlib.max_pool2d(x, 3, 2, padding=1)
want = np.array([[xp[:, i:i + 3, j:j + 3].max(axis=(1, 2)) for j in range(0, 7, 2)] for i in range(0, 9, 2)])
assert close(mx, want.transpose(2, 0, 1, 3))
av = convlib.avg_pool2d(x, 2)
assert close(av, x[:, :8].reshape(2, 4, 2, 4, 2, 4).mean(axis=(2, 4)))
print("pools ok")
# conv2d_backward: the gradients of sum(conv2d * g), checked by one finite difference each.
gy = rng.standard_normal((2, 9, 8, 6))
gx, gw, gb = convlib.conv2d_backward(x, grouped, gy, padding=1, groups=2)
one = dict(stride=(1, 1), dilation=(1, 1), groups=2, pads=((1, 1), (1, 1)))
loss = lambda xx, ww: np.vdot(naive.conv(xx, ww, **one), gy)
e = np.zeros_like(x); e[1, 4, 3, 2] = 1e-6
assert abs((loss(x + e, grouped) - loss(x - e, grouped)) / 2e-6 - gx[1, 4, 3, 2]) <= 1e-6
e = np.zeros_like(grouped); e[2, 0, 1, 5] = 1e-6
assert abs((loss(x, grouped + e) - loss(x, grouped - e)) / 2e-6 - gw[2, 0, 1, 5]) <= 1e-6
assert close(gb, gy.sum(axis=(0, 1, 2)))
print("conv2d_backward ok")
assert "numba" not in {m.split(".")[0] for m, v in sys.modules.items() if v is not None}
"""


def test_every_operation_runs_without_numba():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for line in ("conv2d dense ok", "conv2d groups=2 ok", "conv2d depthwise ok", "planes_jit falls back ok",
                 "conv_transpose2d groups=2 ok", "pools ok", "conv2d_backward ok"):  # fmt: skip
        assert line in done.stdout, done.stdout
