"""The reconstruction grid puts every clip's four rows in the paper's layout, with the right pixels in each cell."""

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd

from semvideo.viz import RECONSTRUCTION_ROWS, reconstruction_grid, save_table


def _clip(seed: int, n: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    video = lambda: rng.integers(0, 256, (n, 8, 8, 3), dtype=np.uint8)
    return {"truth": video(), "blurry": video(), "anchor": video()[0], "final": video()}


def test_grid_places_each_row_and_the_anchor_under_frame_one():
    blocks = [("subject1 · clip 0", _clip(0)), ("subject2 · clip 5", _clip(1))]
    fig = reconstruction_grid(blocks, frame_seconds=1 / 3)
    axes = np.array(fig.axes).reshape(len(RECONSTRUCTION_ROWS) * len(blocks), 3)
    for b, (label, rows) in enumerate(blocks):
        assert axes[4 * b, 0].get_title(loc="left") == label
        for r, name in enumerate(RECONSTRUCTION_ROWS):
            line = axes[4 * b + r]
            assert line[0].get_ylabel() == name
            if name == "anchor":
                np.testing.assert_array_equal(line[0].images[0].get_array(), rows["anchor"])
                assert not line[1].images and not line[2].images, "the anchor stands under frame 1 only"
            else:
                for col in range(3):
                    np.testing.assert_array_equal(line[col].images[0].get_array(), rows[name][col])
    assert [ax.get_xlabel() for ax in axes[-1]] == ["0.00 s", "0.33 s", "0.67 s"]


def test_save_table_writes_nested_rows_as_markdown_columns(tmp_path):
    table = pd.DataFrame({"SSIM gain": [0.25, -0.5]},
                         index=pd.MultiIndex.from_tuples([("s1", "MAD"), ("s1", "readout")], names=["subject", "method"]))
    csv, md = save_table(table, tmp_path, "verdict")
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in md.read_text().splitlines()]
    assert cells[0] == ["subject", "method", "SSIM gain"] and cells[2] == ["s1", "MAD", "0.250"]
    assert pd.read_csv(csv, index_col=[0, 1]).loc[("s1", "readout"), "SSIM gain"] == -0.5


def test_save_table_joins_nested_column_labels(tmp_path):
    table = pd.DataFrame([["yes", "no"]], index=["colour"],
                         columns=pd.MultiIndex.from_tuples([("follows", "t2i"), ("meets", "t2i")]))
    header = save_table(table, tmp_path, "verdicts")[1].read_text().splitlines()[0]
    assert [c.strip() for c in header.strip("|").split("|")] == ["", "follows / t2i", "meets / t2i"]
