"""The oracle ladder's table, steps and prose on hand-made per-clip scores with known answers."""

import numpy as np
import pandas as pd
import pytest

from semvideo.metrics.ladder import describe_ladder, ladder_cells, ladder_steps, ladder_table

METRICS = ("2-way-I", "EPE")
HIGHER = {"2-way-I": True, "EPE": False}
ROWS = ("A", "B", "C", "D", "E", "SemVideo")  # the ladder's letters a..f


def scores(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.01, n)
    base = {"2-way-I": 0.6 + noise, "EPE": 2.0 + noise}
    shifts = {"A": (0.3, -1.0), "B": (0.1, 0.5), "C": (0.2, -0.5), "D": (0.2, 0.0), "E": (0.0, -0.5),
              "SemVideo": (0.0, 0.0)}
    return pd.concat([pd.DataFrame({"method": m, "subject": "s1", "clip_id": np.arange(n),
                                    "2-way-I": base["2-way-I"] + di, "EPE": base["EPE"] + de})
                      for m, (di, de) in shifts.items()], ignore_index=True)


def test_table_gives_means_ses_and_two_sided_p():
    table = scores()
    means, ses, p = ladder_table(table, ROWS, METRICS, HIGHER, 100, np.random.default_rng(1))
    assert list(means.index) == list(ROWS)
    assert means.loc["A", "2-way-I"] == pytest.approx(table.loc[table["method"] == "A", "2-way-I"].mean())
    clips = table.loc[table["method"] == "A", "EPE"]
    assert ses.loc["A", "EPE"] == pytest.approx(clips.std(ddof=1) / np.sqrt(len(clips)))
    assert p.loc["A", "2-way-I"] == 0 and p.loc["A", "EPE"] == 0  # better than SemVideo: significant too
    assert p.loc["B", "EPE"] == 0  # worse
    assert p.loc["E", "2-way-I"] == 1 and p.loc["D", "EPE"] == 1  # identical scores
    assert np.isnan(p.loc["SemVideo"]).all() and p.attrs["resolution"] == pytest.approx(0.02)
    cells = ladder_cells(means, ses, HIGHER)
    assert cells.loc["A", "EPE"].endswith("▲") and cells.loc["B", "EPE"].endswith("▼")
    assert "±" in cells.loc["SemVideo", "EPE"] and not cells.loc["SemVideo", "EPE"].endswith(("▲", "▼"))


def test_missing_row_is_a_clear_error():
    with pytest.raises(ValueError, match="no scores for"):
        ladder_table(scores(), (*ROWS, "Z"), METRICS, HIGHER, 10, np.random.default_rng(0))


def test_steps_and_prose_name_the_largest_loss():
    table = scores()
    means, _, p = ladder_table(table, ROWS, METRICS, HIGHER, 100, np.random.default_rng(1))
    groups = {"semantic": ("2-way-I",), "motion": ("EPE",)}
    steps = ladder_steps(means, table, ROWS, HIGHER, groups=groups).set_index("step")
    sd = table[table["method"].isin(ROWS)]["2-way-I"].std(ddof=1)
    assert steps.loc["a → c", "semantic"] == pytest.approx(0.1 / sd)  # a - c on 2-way-I
    assert steps.loc["c → b", "motion"] == pytest.approx(1.0 / table["EPE"].std(ddof=1))  # b's EPE 1.0 worse
    text = describe_ladder(means, p, steps.reset_index(), HIGHER)
    assert "**semantic**" in text and "E: better than SemVideo" in text
    assert "stage that loses most is step a → c" in text  # a → c loses 0.1 on 2-way-I; c → b is no stage
    assert "Step c → b, dropping the blurry input" in text
    means10, _, p10 = ladder_table(table, ROWS, METRICS, HIGHER, 10, np.random.default_rng(1))
    coarse = describe_ladder(means10, p10, steps.reset_index(), HIGHER)  # 2/B = 0.2: nothing resolvable
    assert "resolves p only down to 0.2" in coarse and "better than SemVideo at" not in coarse
