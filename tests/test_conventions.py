"""Named metric conventions reproduce the reference papers' own evaluation code (issue 22).

The reference values in tests/data/conventions/reference_outputs.json were computed by running the
references' functions (Mind-Animator, MinD-Video, NEURONS at the commits recorded in the file) on the inputs
in inputs.npz; regenerate both with ``python scripts/reference_conventions.py``.
"""

import json
from math import comb
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from semvideo.metrics import pixel, semantic, stats, temporal
from semvideo.metrics.conventions import (
    CONVENTIONS,
    REFERENCES,
    clip_pcc_adjacent,
    clip_pcc_all_pairs,
    comparability_table,
    convention_scores,
    get_convention,
    n_way_reference,
)

DATA = Path(__file__).parent / "data" / "conventions"
REF = json.loads((DATA / "reference_outputs.json").read_text())
INPUTS = dict(np.load(DATA / "inputs.npz"))
TRUTH, RECON = INPUTS["truth"], INPUTS["recon"]
TOL = 1e-9


def close(ours, reference, tol=TOL):
    """Equal within tol, NaN where the reference is NaN, inf where it is inf."""
    ours, reference = np.asarray(ours, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    assert ours.shape == reference.shape
    assert np.array_equal(np.isnan(ours), np.isnan(reference))
    assert np.array_equal(np.isinf(ours), np.isinf(reference))
    finite = np.isfinite(reference)
    deviation = np.abs(ours[finite] - reference[finite]).max(initial=0.0)
    assert deviation <= tol, deviation
    return deviation


def test_references_recorded_with_their_commits():
    for source in REF["sources"].values():
        assert len(source["commit"]) == 40
        assert source["commit"] in " ".join(REFERENCES.values())
    assert set(CONVENTIONS) >= {"semvideo", "mindanimator", "mindvideo", "neurons"}


@pytest.mark.parametrize("metric", ["SSIM", "PSNR", "Hue-pcc"])
def test_mindanimator_pixel_metrics(metric):
    conv = get_convention("mindanimator")
    close(conv.metric(metric)(TRUTH, RECON), REF["mindanimator"][metric])


def test_mindanimator_hue_differs_from_ours_by_the_channel_order():
    grey = REF["kinds"].index("grey") * REF["n_per_kind"]
    assert np.isnan(REF["mindanimator"]["Hue-pcc"][grey])  # the reference's 0/0
    assert pixel.hue_pcc(TRUTH[grey:grey + 1], RECON[grey:grey + 1])[0] == 1.0  # ours: equal grey frames
    close(get_convention("mindanimator").hue_pcc(TRUTH[..., ::-1].copy(), RECON[..., ::-1].copy())[:grey],
          pixel.hue_pcc(TRUTH, RECON)[:grey])


def test_mindanimator_clip_pcc_aggregation_and_gate():
    ours = get_convention("mindanimator").clip_pcc(INPUTS["embeddings"], INPUTS["vifi"], 0.6)
    close(ours, REF["mindanimator"]["CLIP-pcc"])
    assert ours[1] == 0.0  # VIFI exactly 0.6 is zeroed by "<= bar" …
    assert clip_pcc_adjacent(INPUTS["embeddings"], INPUTS["vifi"], 0.6)[1] != 0.0  # … and kept by ours


def test_mindanimator_epe_at_512():
    close(get_convention("mindanimator").epe(TRUTH, RECON), REF["mindanimator"]["EPE"], tol=1e-5)


def test_mindvideo_ssim_per_clip_and_set():
    frames = np.asarray(REF["mindvideo"]["SSIM_frames"])
    ours = get_convention("mindvideo").ssim(TRUTH, RECON)
    close(ours, frames.mean(axis=1))
    close(ours.mean(), REF["mindvideo"]["SSIM_set"])  # per-position means, then their mean
    close(ours, pixel.ssim(TRUTH, RECON), tol=0)  # MinD-Video's SSIM is ours


def test_neurons_ssim_psnr_and_clip_pcc():
    conv = get_convention("neurons")
    ssim, psnr = conv.ssim(TRUTH, RECON), conv.psnr(TRUTH, RECON)
    close(ssim, np.mean(REF["neurons"]["SSIM_frames"], axis=1))
    close(ssim.mean(), REF["neurons"]["SSIM_set"])
    with np.errstate(invalid="ignore"):
        close(psnr, np.mean(REF["neurons"]["PSNR_frames"], axis=1))
    assert psnr.mean() == REF["neurons"]["PSNR_set"] == np.inf  # identical frames: skimage's +inf
    close(conv.clip_pcc(INPUTS["embeddings"], INPUTS["vifi"], 0.6), REF["neurons"]["CLIP-pcc"])


def test_neurons_clip_pcc_is_all_pairs():
    e = np.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]])  # cosines: 0 (1-2), 1 (1-3), 0 (2-3)
    assert clip_pcc_all_pairs(e)[0] == pytest.approx(1 / 3)
    assert temporal.adjacent_cosine(e)[0] == 0.0


@pytest.mark.parametrize("key", ["nway", "nway_mindvideo", "nway_neurons"])
def test_n_way_reproduces_reference_draws_with_a_random_state(key):
    ref = REF[key]
    truth, recon = np.asarray(ref["truth"], dtype=np.float32), np.asarray(ref["recon"], dtype=np.float32)
    for run in ref["runs"]:
        ours = n_way_reference(truth, recon, run["n_way"], run["n_trials"], np.random.RandomState(run["seed"]))
        np.testing.assert_array_equal(ours, run["accuracy"])


def _exact_success(truth_row, recon_row, n_way, n_truth=3):
    """P(success) of one trial: all n−1 distractors strictly below the best truth class."""
    top = np.argsort(truth_row, kind="stable")[-n_truth:]
    others = np.delete(recon_row, top)
    lower = int((others < recon_row[top].max()).sum())
    return comb(lower, n_way - 1) / comb(len(others), n_way - 1)


def test_n_way_seeded_draws_match_the_reference_distribution():
    """Ours (Generator, vectorised) and the reference's draw (RandomState) give the same distribution."""
    ref = REF["nway"]
    truth, recon = np.asarray(ref["truth"], dtype=np.float64), np.asarray(ref["recon"], dtype=np.float64)
    n_seeds, n_trials = 300, 100
    for n_way in (2, 5):
        exact = np.array([_exact_success(t, r, n_way) for t, r in zip(truth, recon)])
        ours = np.stack([semantic.n_way_top1(truth, recon, n_way, n_trials, np.random.default_rng(s))
                         for s in range(n_seeds)])
        theirs = np.stack([n_way_reference(truth, recon, n_way, n_trials, np.random.RandomState(s))
                           for s in range(n_seeds)])
        se = np.sqrt(exact * (1 - exact) / (n_seeds * n_trials)) + 1e-12
        for draws in (ours, theirs):
            assert np.all(np.abs(draws.mean(axis=0) - exact) <= 5 * se)  # the same mean …
            var = exact * (1 - exact) / n_trials  # … and binomial spread over seeds
            assert np.all(np.abs(draws.var(axis=0) - var) <= 0.35 * var + 1e-12)


def test_shuffle_testset_reproduces_mindanimator():
    truth = INPUTS["shuffle_truth"]
    for name, recon in (("identical", truth), ("noisy", INPUTS["shuffle_noisy"]),
                        ("static", np.repeat(truth[:, :1], 8, axis=1))):
        ref = REF["shuffle"][name]
        p = stats.shuffle_test_testset(truth, recon, 100, np.random.RandomState(ref["seed"]))
        np.testing.assert_array_equal(np.round(p * 100).astype(int), ref["P_counts"])
    assert stats.SHUFFLE_PROTOCOLS["per_clip"] is stats.shuffle_test


def test_shuffle_protocols_differ_on_ties():
    truth = INPUTS["shuffle_truth"][:1]
    static = np.repeat(truth[:, :1], 8, axis=1)
    assert stats.shuffle_test(truth, static, 20, np.random.default_rng(0))[0] == 0.5  # mid-p
    assert np.all(stats.shuffle_test_testset(truth, static, 20, np.random.default_rng(0), n_repeats=2) == 1.0)


def test_semvideo_convention_is_todays_metrics():
    conv = get_convention("semvideo")
    assert (conv.ssim, conv.psnr, conv.hue_pcc, conv.n_way) == (pixel.ssim, pixel.psnr, pixel.hue_pcc,
                                                                 semantic.n_way_top1)
    np.testing.assert_array_equal(conv.epe(TRUTH[:4], RECON[:4]), temporal.epe(TRUTH[:4], RECON[:4]))
    emb, vifi = INPUTS["embeddings"], INPUTS["vifi"]
    np.testing.assert_array_equal(conv.clip_pcc(emb, vifi, 0.6),
                                  temporal.clip_pcc(np.zeros((4, emb.shape[1], 1, 1, 3), np.uint8),
                                                    lambda f: emb.reshape(-1, emb.shape[-1]), vifi, 0.6))
    with pytest.raises(ValueError, match="eval.convention"):
        get_convention("mindeye")


def test_convention_scores_and_comparability_table():
    truth, recon = TRUTH[:4], RECON[:4]
    rng = np.random.default_rng(0)
    table = rng.normal(size=(256, 5))

    def embed(frames):  # a fixed linear embedder of downsampled frames
        return np.stack([table[int(f.mean()) % 256] for f in frames])

    vifi = {"A": np.full(4, 0.7), "B": np.full(4, 0.7)}
    long = convention_scores(truth, {"A": recon, "B": truth}, embed, vifi, ["semvideo", "mindvideo", "neurons"])
    assert len(long) == 3 * 2 * 4
    sem = long[(long["convention"] == "semvideo") & (long["method"] == "A")]
    np.testing.assert_array_equal(sem["EPE"], temporal.epe(truth, recon))
    np.testing.assert_array_equal(sem["SSIM"], pixel.ssim(truth, recon))
    assert long.loc[long["convention"] == "mindvideo", "EPE"].isna().all()
    scores = pd.DataFrame({"method": ["A"] * 4 + ["B"] * 4, "clip_id": list(range(4)) * 2,
                           "2-way-I": [1.0] * 4 + [0.5] * 4, "VIFI": [0.7] * 8})
    comp = comparability_table(long, scores)
    assert list(comp.index) == [(m, c) for m in "AB" for c in ("semvideo", "mindvideo", "neurons")]
    assert comp.loc[("B", "neurons"), "2-way-I"] == 0.5
    assert comp.loc[("A", "semvideo"), "SSIM"] == pytest.approx(pixel.ssim(truth, recon).mean())


def test_significance_colours_respect_the_bootstrap_resolution():
    p = pd.DataFrame({"SSIM": [np.nan, 0.0, 0.005, 0.02]}, index=["SemVideo", "a", "b", "c"])
    blue, pink, yellow = (b[2] for b in stats.SIGNIFICANCE_BINS[:3])
    assert list(stats.significance_colours(p)["SSIM"])[1:] == [blue, pink, yellow]  # unrestricted
    p.attrs["resolution"] = stats.pvalue_resolution("fraction", 100)
    assert list(stats.significance_colours(p)["SSIM"])[1:] == [pink, pink, yellow]  # 0 of 100: p < 0.01 only
    assert stats.significance_bin(0.0, stats.pvalue_resolution("fraction", 10_000)) == 0
    assert stats.pvalue_resolution("normal", 100) is None
    assert stats.significance_labels(0.01)[0] == "p < 0.0001: unresolvable with 100 sets (smallest p 0.01)"
    assert stats.significance_labels(0.01)[1:] == [label for _, label, _ in stats.SIGNIFICANCE_BINS[1:]]


def test_bootstrap_table_records_its_resolution():
    scores = pd.DataFrame({"method": ["SemVideo"] * 5 + ["x"] * 5, "subject": "s", "clip_id": list(range(5)) * 2,
                           "SSIM": [0.9, 0.8, 0.85, 0.95, 0.9, 0.1, 0.2, 0.15, 0.1, 0.2]})
    _, p = stats.bootstrap_table(scores, ["SSIM"], {"SSIM": True}, 100, np.random.default_rng(0))
    assert p.attrs["resolution"] == 0.01 and p.loc["x", "SSIM"] == 0.0
    assert stats.significance_colours(p.reindex(["SemVideo", "x"])).loc["x", "SSIM"] == stats.SIGNIFICANCE_BINS[1][2]


def test_evaluation_uses_the_configured_convention():
    from types import SimpleNamespace

    from semvideo.config import EvalConfig
    from semvideo.metrics.evaluate import clip_scores
    from tests.test_evaluate import ColourJudge

    judge = ColourJudge()
    judges = SimpleNamespace(image=judge, video=judge, vifi=judge, clip=judge)
    truth, recon = TRUTH[4:8], RECON[4:8]  # shifted and hue-rotated clips (512-px EPE: keep it small)
    run = {name: clip_scores(truth, recon, judges, EvalConfig(n_trials=10, convention=name),
                             np.random.default_rng(0)) for name in ("semvideo", "mindanimator", "mindvideo", "neurons")}
    ma, ne, mv, ours = run["mindanimator"], run["neurons"], run["mindvideo"], run["semvideo"]
    np.testing.assert_array_equal(ma["EPE"], get_convention("mindanimator").epe(truth, recon))
    np.testing.assert_array_equal(ma["Hue-pcc"], get_convention("mindanimator").hue_pcc(truth, recon))
    np.testing.assert_array_equal(ne["SSIM"], get_convention("neurons").ssim(truth, recon))
    for metric in ("PSNR", "Hue-pcc", "CLIP-pcc", "EPE"):  # MinD-Video's code lacks them: ours
        np.testing.assert_array_equal(mv[metric], ours[metric])
    np.testing.assert_array_equal(ours["SSIM"], mv["SSIM"])
    np.testing.assert_array_equal(ours["VIFI"], ma["VIFI"])


def test_comparability_table_averages_shared_columns_over_the_scored_clips():
    long = pd.DataFrame({"convention": "semvideo", "method": "A", "clip_id": ["c0", "c1"],
                         **{m: [1.0, 2.0] for m in ("SSIM", "PSNR", "Hue-pcc", "CLIP-pcc", "EPE")}})
    scores = pd.DataFrame({"method": "A", "clip_id": ["c0", "c1", "c2"], "VIFI": [0.5, 0.7, 100.0]})
    table = comparability_table(long, scores)
    assert table.loc[("A", "semvideo"), "VIFI"] == pytest.approx(0.6)
    assert table.loc[("A", "semvideo"), "EPE"] == 1.5


def test_write_conventions_keeps_the_first_clips(tmp_path):
    from semvideo.metrics.evaluate import TABLE1_METHODS
    from semvideo.stages.evaluate import write_conventions
    from tests.test_evaluate import ColourJudge

    truth = TRUTH[2:5]
    methods = {m: RECON[2:5] for m in TABLE1_METHODS} | {"w/o MAD": truth}
    scores = pd.DataFrame({"method": np.repeat(list(methods), 3), "VIFI": 0.7})
    write_conventions(tmp_path / "c.csv", truth, methods, scores, ["a", "b", "c"], ColourJudge().features, 0.6,
                      n_clips=2)
    table = pd.read_csv(tmp_path / "c.csv")
    assert list(table.columns[:3]) == ["convention", "method", "clip_id"]
    assert len(table) == len(CONVENTIONS) * len(TABLE1_METHODS) * 2 and set(table["clip_id"]) == {"a", "b"}
    sem = table[(table["convention"] == "semvideo") & (table["method"] == TABLE1_METHODS[0])]
    np.testing.assert_allclose(sem["EPE"], temporal.epe(truth[:2], RECON[2:4]), rtol=1e-12)
