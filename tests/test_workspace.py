"""The workspace profile behind the algorithms chapter's memory figure."""

import numpy as np

from convlib.fast import ENGINES
from convlib.proof.workspace import WORKSPACE_LIMIT_MIB, patch_matrix_mib, plot_workspace, workspace_profile


def test_patch_matrix_size_is_the_im2col_shape():
    # 1 x (8 * 9 outputs) rows x (3 * 3 * 5 taps) columns of float32.
    assert patch_matrix_mib(1, 10, 11, 5, 3) == 8 * 9 * 45 * 4 / 2**20
    assert patch_matrix_mib(2, 10, 11, 5, 3, itemsize=8) == 4 * patch_matrix_mib(1, 10, 11, 5, 3)


def test_profile_measures_every_fast_engine_within_the_promise():
    rows = workspace_profile(sizes=(20, 60), channels=4, out_channels=3)
    assert [r["size"] for r in rows] == [20, 60]
    assert set(rows[0]["engines"]) == set(ENGINES)  # 3x3: Winograd included, depthwise too
    for r in rows:
        assert all(0 <= mib <= WORKSPACE_LIMIT_MIB for mib in r["engines"].values()), r
    # Small inputs need some workspace: tracemalloc does see the engines' allocations.
    assert rows[1]["engines"]["im2col"] > 0 and rows[1]["engines"]["winograd_f4"] > 0
    assert rows[1]["patch_matrix_mib"] > rows[0]["patch_matrix_mib"]
    assert rows[1]["padded_copy_mib"] == 62 * 62 * 4 * 4 / 2**20  # "same" pads one cell each side


def test_profile_leaves_out_winograd_for_other_kernels():
    rows = workspace_profile(sizes=(20,), channels=2, out_channels=2, k=5)
    assert not any(name.startswith("winograd") for name in rows[0]["engines"])


def test_plot_has_one_line_per_engine_plus_matrix_and_limit():
    rows = workspace_profile(sizes=(20, 40), channels=2, out_channels=2)
    ax = plot_workspace(rows).axes[0]
    assert len(ax.lines) == len(rows[0]["engines"]) + 3  # + patch matrix, padded copy, the limit
    assert np.allclose(ax.lines[0].get_ydata(), [r["patch_matrix_mib"] for r in rows])
