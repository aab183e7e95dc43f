"""The claims table on small hand-made run outputs with known verdicts: a claim that holds, one that does not,
one whose artefact is missing, and the ROI, ceiling, shuffle and oracle-ladder rules."""

import numpy as np
import pandas as pd
import pytest

from semvideo.claims import HOLDS, NOT_HOLD, UNTESTABLE, compare_rows, paper_claims

SEMANTIC = ["2-way-I", "2-way-V", "50-way-I", "50-way-V", "VIFI"]
OTHER = ["SSIM", "PSNR", "Hue-pcc", "CLIP-pcc", "EPE"]


def write_table(figures, name, means: dict, pvalues: dict):
    cols = SEMANTIC + OTHER
    pd.DataFrame(means, index=cols).T.rename_axis("method").to_csv(figures / f"{name}.csv")
    pd.DataFrame(pvalues, index=cols).T.rename_axis("method").to_csv(figures / f"{name}_pvalues.csv")


@pytest.fixture
def run(tmp_path):
    figures = tmp_path / "figures"
    figures.mkdir()
    good, bad = [0.8] * 9 + [1.0], [0.5] * 9 + [2.0]  # EPE last: lower is better
    # Table 1: SemVideo beats the single caption everywhere (p = 0), but not the blurry video (p = 0.4)
    write_table(figures, "table1", {"SemVideo": good, "Single caption (BLIP-style)": bad, "MAD blurry video": bad},
                {"SemVideo": [np.nan] * 10, "Single caption (BLIP-style)": [0.0] * 10, "MAD blurry video": [0.4] * 10})
    # Table 3: w/o C_motion is *better* on EPE (the claim fails on one metric)
    write_table(figures, "table3", {"SemVideo": good, "w/o C_anchor": bad, "w/o C_holi": bad,
                                    "w/o C_motion": [0.5] * 9 + [0.5]},
                {"SemVideo": [np.nan] * 10, "w/o C_anchor": [0.0] * 10, "w/o C_holi": [0.01] * 10,
                 "w/o C_motion": [0.0] * 9 + [1.0]})
    pd.DataFrame([
        {"a": "SemVideo", "b": "w/o C_motion", "mean_a": 0.3, "mean_b": 0.5, "t": -5, "p": 1e-4, "p_bonferroni": 3e-4,
         "significant": True, "metric": "P"},
        {"a": "SemVideo", "b": "w/o MAD", "mean_a": 0.3, "mean_b": 0.5, "t": -5, "p": 1e-4, "p_bonferroni": 3e-4,
         "significant": True, "metric": "P"},
        {"a": "SemVideo", "b": "w/o MAD", "mean_a": 1.0, "mean_b": 1.1, "t": -1, "p": 0.1, "p_bonferroni": 0.3,
         "significant": False, "metric": "EPE"},
    ]).to_csv(figures / "fig5_paired_ttests.csv")
    # ROI importance: motion ROIs above ventral in subject1, below in subject2
    rois = {"MT": (1.0, 0.0), "MST": (0.9, 0.1), "FFC": (0.2, 0.8), "VVC": (0.1, 1.0)}
    pd.DataFrame([{"subject": s, "level": "motion", "roi": roi, "importance": v[i]}
                  for i, s in enumerate(("subject1", "subject2")) for roi, v in rois.items()]).to_csv(
        figures / "roi_importance.csv", index=False)
    # information ceiling: colour encoded in the ventral group, decodable in both subjects
    pd.DataFrame([{"subject": s, "roi_group": "ventral/lateral occipital", "attribute": "colour", "accuracy": 0.9,
                   "chance": 0.2, "p": 1e-6, "encoded": True} for s in ("subject1", "subject2")]).to_csv(
        figures / "information_ceiling.csv", index=False)
    return figures  # no table6: its claim's artefact is missing


def verdicts(figures, **kw):
    return paper_claims(figures, **kw).set_index("claim")


def test_known_verdicts(run):
    table = verdicts(run)
    assert table.loc["hierarchical captions beat a single caption on semantic metrics", "verdict"] == HOLDS
    assert table.loc["the render adds semantics over the blurry video", "verdict"] == NOT_HOLD
    assert table.loc["C_anchor matters for the semantic level", "verdict"] == HOLDS
    assert table.loc["C_holi matters at every level", "verdict"] == HOLDS
    motion = table.loc["C_motion helps motion (EPE, CLIP-pcc)"]
    assert motion["verdict"] == NOT_HOLD and "EPE" in motion["why"] and "CLIP-pcc" not in motion["why"]
    assert table.loc["C_motion makes the frame order matter", "verdict"] == HOLDS
    assert table.loc["MAD carries the motion", "verdict"] == NOT_HOLD  # EPE not significant
    assert table.loc["motion decoding draws on MT/MST/TPOJ rather than the ventral stream", "verdict"] == NOT_HOLD
    ceiling = table.loc["the fMRI carries each caption-named attribute where the brain encodes it (the method's "
                        "premise)"]
    assert ceiling["verdict"] == HOLDS
    missing = table.loc["SemMiner's captions beat a single-caption captioner"]
    assert missing["verdict"] == UNTESTABLE and "artefact missing" in missing["why"] and "table6" in missing["why"]
    assert table.loc["SemMiner is robust to the choice of multimodal model", "verdict"] == UNTESTABLE
    assert set(table["verdict"]) <= {HOLDS, NOT_HOLD, UNTESTABLE} and table["measurement"].str.len().gt(0).all()


def test_every_artefact_missing_means_untestable(tmp_path):
    table = paper_claims(tmp_path, results=tmp_path, subjects=["subject1"])
    tested = table[table["claim"] != "SemMiner is robust to the choice of multimodal model"]
    assert (tested["verdict"] == UNTESTABLE).all() and tested["why"].str.contains("artefact missing").all()


def test_compare_rows_needs_every_metric_and_the_right_direction():
    means = pd.DataFrame({"EPE": [1.0, 2.0], "PSNR": [10.0, 9.0]}, index=["A", "B"])
    p = pd.DataFrame({"EPE": [np.nan, 0.01], "PSNR": [np.nan, 0.2]}, index=["A", "B"])
    assert compare_rows(means, p, "A", "B", ["EPE"])[1] == HOLDS
    numbers, verdict, why = compare_rows(means, p, "A", "B", ["EPE", "PSNR"])
    assert verdict == NOT_HOLD and "PSNR" in why and "1 of 2" in why and "EPE 1.000 vs 2.000" in numbers
    assert compare_rows(means, p, "A", "C", ["EPE"])[1] == UNTESTABLE
    # p = 0.01 from 10 bootstrap sets only says p < 0.1: not testable at 0.05
    verdict, why = compare_rows(means, p, "A", "B", ["EPE"], resolution=0.1)[1:]
    assert verdict == UNTESTABLE and "resolves p only down to 0.1" in why


def test_too_few_bootstrap_sets_make_table_claims_untestable(run):
    table = paper_claims(run, n_bootstrap=10).set_index("claim")
    assert table.loc["hierarchical captions beat a single caption on semantic metrics", "verdict"] == UNTESTABLE
    assert table.loc["C_motion makes the frame order matter", "verdict"] == HOLDS  # t-tests: no bootstrap


def test_ladder_claim_from_per_clip_scores(tmp_path):
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    n = 30
    rng = np.random.default_rng(0)
    rows = {"Oracle (b): true captions alone": 0.9, "Ridge latent decoder": 0.5, "Single caption (BLIP-style)": 0.88}
    pd.concat([pd.DataFrame({"method": m, "clip_id": range(n), "2-way-V": v + rng.normal(0, 0.01, n),
                             "50-way-I": v + rng.normal(0, 0.01, n)}) for m, v in rows.items()]).to_csv(
        metrics / "subject1_scores.csv", index=False)
    table = paper_claims(tmp_path, results=tmp_path, subjects=["subject1"]).set_index("claim")
    row = table.loc["the render's semantics come from its captions"]
    assert row["verdict"] == HOLDS and "Ridge latent decoder" in row["numbers"]
    coarse = paper_claims(tmp_path, results=tmp_path, subjects=["subject1"], n_bootstrap=10).set_index("claim")
    why = coarse.loc["the render's semantics come from its captions", "why"]
    assert coarse.loc["the render's semantics come from its captions", "verdict"] == UNTESTABLE
    assert why.count("resolves p only down to 0.1") == 1  # said once, not once per baseline


@pytest.mark.parametrize("truth_fraction, expected", [(1.0, NOT_HOLD), (0.0, UNTESTABLE)])
def test_roi_claim_reads_the_twins_truth(run, truth_fraction, expected):
    """§4.4 on the twin: when the simulator's own truth puts the motion ROIs above the ventral ones, the decoder's
    failure in subject2 is a failure; when the truth itself does not (motion captions that name the object), the
    twin cannot test the claim, and the row says why and gives the truth's fraction."""
    pd.DataFrame([{"measure": m, "subject": s, "level": "motion", "spearman_rho": 0.9,
                   "p_motion_above_ventral_truth": truth_fraction}
                  for m in ("weights", "change") for s in ("subject1", "subject2")]).to_csv(
        run / "roi_importance_vs_truth.csv", index=False)
    row = verdicts(run).loc["motion decoding draws on MT/MST/TPOJ rather than the ventral stream"]
    assert row["verdict"] == expected
    assert f"the truth's own fraction: {truth_fraction:.2f}, {truth_fraction:.2f}" in row["numbers"]
    assert "0.90, 0.90" in row["numbers"]
    assert ("motion captions name the object" in row["why"]) == (expected == UNTESTABLE)


def test_carry_claim_reads_each_methods_own_chance(run):
    claim = "the reconstructions carry their clip (above chance)"
    assert verdicts(run).loc[claim, "verdict"] == UNTESTABLE  # no table1_chance yet
    means = pd.read_csv(run / "table1.csv", index_col=0)
    pvalues = pd.read_csv(run / "table1_pvalues.csv", index_col=0)
    means.loc["SemVideo of another clip (chance)"], pvalues.loc["SemVideo of another clip (chance)"] = 0.1, 0.0
    means.to_csv(run / "table1.csv")
    pvalues.to_csv(run / "table1_pvalues.csv")
    n_way = ["2-way-I", "2-way-V", "50-way-I", "50-way-V"]
    chance = pd.DataFrame({"method": "SemVideo", "metric": n_way, "subjects": 3, "matched": [0.9, 0.7, 0.3, 0.2],
                           "null_mean": [0.7, 0.72, 0.1, 0.1], "null_sd": 0.01, "p_above": [0.001, 0.9, 0.001, 0.001],
                           "p_below": [1.0, 0.1, 1.0, 1.0]})
    chance.to_csv(run / "table1_chance.csv", index=False)
    row = verdicts(run).loc[claim]
    assert row["verdict"] == NOT_HOLD and "on 2-way-V (4 of 5" in row["why"]
    assert "2-way-V 0.700 vs chance 0.720 ± 0.010 (p 0.9)" in row["numbers"] and "VIFI 0.800 vs 0.100" in row["numbers"]
    chance.assign(p_above=0.001).to_csv(run / "table1_chance.csv", index=False)
    assert verdicts(run).loc[claim, "verdict"] == HOLDS
