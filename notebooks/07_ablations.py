# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 07 · Ablations: Table 3, the shuffle test of Fig. 5, Table 6
#
# **Paper (§4.2–4.3, Appendix A.3).** Table 3 removes one caption level at a time — C_anchor, C_holi, C_motion —
# from the SAD's decoding targets; Fig. 5 (subject 1) shuffles the frames of every reconstruction 100 times and
# counts how often a shuffle has a *lower* EPE than the original order (P; low P = the frame order carries the
# truth's motion), comparing the full model with "w/o C_motion" and "w/o MAD" by paired t-tests with Bonferroni
# correction, beside their EPE; Table 6 swaps SemMiner's multimodal model (VideoLlama, Qwen2.5-VL, Llava-Video).
#
# **Here.** Each ablation is re-rendered for `eval.ablation_subjects` (default: the first subject) from the same
# trained models (`semvideo.plan.ABLATION_VARIANTS`):
#
# * **w/o C_anchor / w/o C_holi** — that level's Ẑ is never decoded, and the render stage it conditions (T2I for
#   the anchor frame / T2V for the clip) runs on the unconditional embedding;
# * **w/o C_motion** — the MAD trained without its cross-attention to Ẑ(C_motion) (notebook 04);
# * **w/o MAD** — no blurry video: the anchor frame and the clip are generated from noise (strength 1).
#
# The twin has no second multimodal captioner, so Table 6 compares SemMiner's oracle captions with one short
# BLIP-style caption used for every level (the single-caption baseline of Table 1, rendered with the MAD that
# sees no motion caption); the real configs list multimodal model ids instead.

# %%
import sys

if "google.colab" in sys.modules:  # on Colab: install the companion
    import subprocess

    subprocess.run("pip install -q torch==2.13.0 'semvideo @ git+https://github.com/semvideo/semvideo-companion'",
                   shell=True, check=True)

# %% [markdown]
# The next cell is tagged `parameters`: papermill replaces these values when Snakemake runs the notebook.

# %% tags=["parameters"]
config_path = "default"  # a config file, or the name of a shipped one
out_dir = "results/twin"

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from semvideo.metrics import bootstrap_table, paired_ttests
from semvideo.metrics.evaluate import (
    HIGHER_IS_BETTER,
    METRICS,
    PAPER_TABLE3,
    PAPER_TABLE6,
    SHUFFLE_METHODS,
    TABLE3_METHODS,
    TABLE6_METHODS,
)
from semvideo.notebook import open_run
from semvideo.paths import RunPaths
from semvideo.plan import ablation_subjects
from semvideo.viz import plot_significance_table, save_figure, save_table

cfg = open_run(config_path, "evaluate")  # opened interactively: builds what this notebook reads, if missing
paths = RunPaths.from_config(cfg)
subjects = ablation_subjects(cfg)
scores = pd.concat([pd.read_csv(paths.metrics / f"{s}_scores.csv").assign(subject=s) for s in subjects],
                   ignore_index=True)
shuffle = pd.concat([pd.read_csv(paths.metrics / f"{s}_shuffle.csv").assign(subject=s) for s in subjects],
                    ignore_index=True)
print(f"ablation subjects: {subjects}; {scores['clip_id'].nunique()} test clips each")

# %% [markdown]
# ## Table 3: removing one caption level
# Means over the test clips of the ablation subjects, coloured by the bootstrap p-value against the full model;
# the paper's CC2017 rows follow for reference.

# %%
def table(methods, labels=None):
    frame = scores[scores["method"].isin(methods)]
    means, pvalues = bootstrap_table(frame, METRICS, HIGHER_IS_BETTER, cfg.eval.n_bootstrap,
                                     np.random.default_rng(cfg.seed), test=cfg.eval.bootstrap_test)
    means, pvalues = means.loc[list(methods)], pvalues.loc[list(methods)]
    if labels:
        means, pvalues = means.rename(index=labels), pvalues.rename(index=labels)
    return means, pvalues


means3, pvalues3 = table(TABLE3_METHODS)
paper3 = pd.DataFrame(PAPER_TABLE3, index=list(METRICS)).T.rename(index=lambda m: f"{m} (paper, CC2017, reported)")
save_table(pd.concat([means3, paper3]), cfg.figures_dir, "table3")
save_table(pvalues3, cfg.figures_dir, "table3_pvalues", float_format="%.4f")
save_figure(plot_significance_table(means3, pvalues3, title="Table 3 (twin): colour = bootstrap p vs SemVideo"),
            cfg.figures_dir, "table3")
pd.concat([means3, paper3])

# %% [markdown]
# Which metrics each removal hurts on the twin (p < 0.05 and worse than the full model), against the paper's
# reading (C_motion → pixel and ST levels, C_anchor → semantic level, C_holi → all):

# %%
sign = pd.Series({m: 1 if HIGHER_IS_BETTER[m] else -1 for m in METRICS})
worse = (means3.sub(means3.loc["SemVideo"]) * sign < 0) & (pvalues3 < 0.05)
{variant: [m for m in METRICS if worse.loc[variant, m]] or "none" for variant in TABLE3_METHODS[1:]}

# %% [markdown]
# ## Fig. 5: the shuffle test and EPE
# Left: P per clip (fraction of 100 frame shuffles with a lower EPE than the original order; a frame-static
# video scores 0.5). Right: EPE of the same reconstructions. The table tests every pair of the paper's variants
# and SemVideo against our own row, **SemVideo, frame-correlated noise (ours)** — not the paper's method: the same
# inputs and seeds, with the T2V stage's noise shared between frames (correlation 0.9,
# `semvideo.plan.SAMPLER_VARIANTS`), because the twin's T2V flickers from independent noise and so adds motion
# of its own to MAD's (paired t-tests over clips, Bonferroni). This is our per-clip mid-p protocol
# (`stats.SHUFFLE_PROTOCOLS["per_clip"]`), not the reference protocol of Mind-Animator's shuffle script (`"testset"`:
# 5 × 100 permutations, each applied to every clip, test-set mean EPE, ties counted as shuffles that win, so a
# frame-static video scores 1; one P per repeat).

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
order = list(SHUFFLE_METHODS)
sns.barplot(shuffle, x="method", y="P", order=order, errorbar="se", ax=axes[0], color="#9cc3e6")
axes[0].axhline(0.5, ls="--", c="grey", lw=1)
axes[0].set(title="shuffle test (lower = order matters)", xlabel="", ylabel="P")
sns.barplot(shuffle, x="method", y="EPE", order=order, errorbar="se", ax=axes[1], color="#f4b6c2")
axes[1].set(title="EPE (lower = better motion)", xlabel="", ylabel="EPE (pixels)")
for ax in axes:
    ax.tick_params(axis="x", rotation=20)
fig.tight_layout()
save_figure(fig, cfg.figures_dir, "fig5_shuffle_test")
# the paper's three comparisons are one Bonferroni family per metric; our row's comparison is its own
per_method = {metric: {m: g.sort_values(["subject", "clip_id"])[metric].to_numpy() for m, g in shuffle.groupby("method")}
              for metric in ("P", "EPE")}
ours = SHUFFLE_METHODS[-1]  # SemVideo, frame-correlated noise (ours)
families = [[("SemVideo", "w/o C_motion"), ("SemVideo", "w/o MAD"), ("w/o C_motion", "w/o MAD")], [("SemVideo", ours)]]
tests = pd.concat([paired_ttests(per_method[metric], pairs).assign(metric=metric)
                   for pairs in families for metric in ("P", "EPE")], ignore_index=True)
save_table(tests, cfg.figures_dir, "fig5_paired_ttests", float_format="%.4g")
tests

# %% [markdown]
# ## Table 6: the captioner
# SemMiner's captions against one BLIP-style caption for every level, with the bootstrap colouring; the paper's
# rows compare three multimodal models on CC2017.

# %%
means6, pvalues6 = table(list(TABLE6_METHODS), TABLE6_METHODS)
paper6 = pd.DataFrame(PAPER_TABLE6, index=list(METRICS)).T.rename(index=lambda m: f"{m} (paper, CC2017, reported)")
save_table(pd.concat([means6, paper6]), cfg.figures_dir, "table6")
save_table(pvalues6, cfg.figures_dir, "table6_pvalues", float_format="%.4f")
save_figure(plot_significance_table(means6, pvalues6, title="Table 6 (twin): colour = bootstrap p vs SemMiner"),
            cfg.figures_dir, "table6")
pd.concat([means6, paper6])

# %% [markdown]
# ## Reading the results
# The statements below are computed from the tables above, not written in advance.

# %%
full, wo_motion, wo_mad, correlated = (shuffle[shuffle["method"] == m]["P"].mean() for m in SHUFFLE_METHODS)
epe = shuffle.groupby("method")["EPE"].mean()
claims = {
    "full model's frame order beats chance (mean P < 0.5)": full < 0.5,
    "C_motion lowers P (full < w/o C_motion)": full < wo_motion,
    "MAD lowers P (full < w/o MAD)": full < wo_mad,
    "removing C_motion worsens EPE": means3.loc["w/o C_motion", "EPE"] > means3.loc["SemVideo", "EPE"],
    "removing C_anchor worsens 2-way-I": means3.loc["w/o C_anchor", "2-way-I"] < means3.loc["SemVideo", "2-way-I"],
    "removing C_holi worsens 2-way-V": means3.loc["w/o C_holi", "2-way-V"] < means3.loc["SemVideo", "2-way-V"],
    "(ours) frame-correlated noise lowers SemVideo's EPE": epe[ours] < epe["SemVideo"],
}
print(f"mean P: full {full:.3f}, w/o C_motion {wo_motion:.3f}, w/o MAD {wo_mad:.3f}, "
      f"frame-correlated noise (ours) {correlated:.3f}; mean EPE: full {epe['SemVideo']:.3f}, "
      f"frame-correlated noise (ours) {epe[ours]:.3f}")
pd.Series(claims, name="holds on this run").to_frame()

# %% [markdown]
# ## The oracle ladder: which stage loses what
# The truth replaces one decoded input at a time (DESIGN §5; `semvideo.plan.ORACLE_LADDER`), on the same test
# clips of the ablation subjects: **(a)** the VAE round trip of the true clip (the ceiling: no render, the true
# latents E(V) decoded); **(b)** the render from the true caption embeddings alone (no blurry input, strength 1);
# **(c)** true captions + the true latents as the blurry input; **(d)** true captions + MAD's ê; **(e)** SAD's
# decoded captions + the true latents; **(f)** SemVideo, everything decoded; then Table 1's baselines. Rows (b) and
# (c) read no fMRI (rendered per ablation subject with the same clip seeds, so they repeat across subjects). Cells:
# mean ± s.e. over clips; ▲/▼ = better/worse than SemVideo; colour = **two-sided** bootstrap p against SemVideo
# (`semvideo.metrics.ladder`: an oracle can beat SemVideo or lose to it; with the fraction test the finest
# resolvable p is 2/B).

# %%
from IPython.display import Markdown, display

from semvideo.metrics.evaluate import FLOW_READOUT, TABLE1_METHODS
from semvideo.metrics.ladder import describe_ladder, ladder_cells, ladder_steps, ladder_table
from semvideo.plan import ORACLE_LADDER

# the baselines beside the ladder: Table 1's, and the flow readout baseline where mad.flow_readout scored it
ladder_rows = [*ORACLE_LADDER, *TABLE1_METHODS[1:], *[m for m in [FLOW_READOUT] if m in set(scores["method"])]]
lmeans, lses, lpvalues = ladder_table(scores, ladder_rows, METRICS, HIGHER_IS_BETTER, cfg.eval.n_bootstrap,
                                      np.random.default_rng(cfg.seed), test=cfg.eval.bootstrap_test)
ladder = pd.concat({"mean": lmeans, "s.e.": lses, "p": lpvalues}, axis=1).swaplevel(axis=1)[list(METRICS)]
ladder.columns = [f"{metric} {stat}" if stat != "mean" else metric for metric, stat in ladder.columns]
save_table(ladder, cfg.figures_dir, "oracle_ladder", float_format="%.4g")
save_figure(plot_significance_table(ladder_cells(lmeans, lses, HIGHER_IS_BETTER), lpvalues, fmt="{}",
                                    title="Oracle ladder (twin): colour = two-sided bootstrap p vs SemVideo; "
                                          "▲/▼ better/worse than SemVideo"), cfg.figures_dir, "oracle_ladder")
ladder_cells(lmeans, lses, HIGHER_IS_BETTER)

# %% [markdown]
# What each step costs: the loss from one row to the next in units of each metric's per-clip SD, averaged over the
# semantic (N-way, VIFI), pixel (SSIM, PSNR, Hue-pcc) and motion (CLIP-pcc, EPE) metrics (positive = the second row
# is worse). The prose below is computed from these tables.

# %%
steps = ladder_steps(lmeans, scores, list(ORACLE_LADDER), HIGHER_IS_BETTER)
display(steps.round(3))
display(Markdown(describe_ladder(lmeans, lpvalues, steps, HIGHER_IS_BETTER)))
