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
# # 08 · Interpretability: which cortical regions does each SAD read?
#
# **Paper (§4.4, Fig. 6; appendix D.1, Figs. 12/13).** The importance of each voxel is read from the fitted
# weights of the SAD's subject-specific first layer, averaged per region and normalised to [0, 1]. The paper
# reports that the anchor SAD draws on a hierarchy of visual regions (with an emphasis on higher visual
# cortex), the motion SAD on the motion regions MT, MST and TPOJ (and, strikingly, V1), and the holistic SAD on
# both, in a balanced way; and that the pattern is similar across subjects.
#
# **Here.** For every subject and level we take the fine-tuned SAD (`sad/{level}_{subject}/`), compute each
# voxel's importance as its **mean absolute first-layer weight over the D_l hidden units** (absolute because a
# hidden unit's sign is arbitrary, a mean so that D_l does not matter; the inputs are z-scored, so weights are
# comparable across voxels), average the voxels of each Glasser ROI (both hemispheres pooled) and min–max
# normalise over ROIs. As in the paper, Fig. 6 shows subject 1 and Figs. 12/13 subjects 2 and 3, each with all
# three levels (`fig6_roi_importance_subject1`, …). On the twin, whose brain simulator knows which
# vertices encode what, the decoded importance is compared with the truth (`semvideo.interpret` documents
# which truth channel belongs to which level).

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
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display

from semvideo.config import LEVELS
from semvideo.interpret import (
    MOTION_ROIS,
    VENTRAL_ROIS,
    caption_family_weights,
    claim_checks,
    compare_with_truth,
    dorsal_vs_ventral,
    paper_figure_names,
    roi_importance_table,
    truth_roi_importance,
)
from semvideo.notebook import open_run
from semvideo.viz import plot_subject_figure, save_figure, save_table

cfg = open_run(config_path, "train-sad")  # opened interactively: builds what this notebook reads, if missing
twin = cfg.world == "twin"
decoded = roi_importance_table(cfg)  # the paper's measure: |W| of the fitted first layer
change = roi_importance_table(cfg, measure="change")  # |W − W₀|: what training moved
print(f"{len(cfg.subjects)} subjects × {len(LEVELS)} levels; ROIs with input voxels per subject: "
      f"{decoded.groupby('subject')['roi'].nunique().to_dict()}")

# %% [markdown]
# ## ROI importance per subject and level
# One row per subject, level and ROI: `importance` is the paper's measure (normalised within each subject ×
# level), `importance_change` the same computed from the weight change since initialisation, `n_voxels` the
# ROI's input voxels (small ROIs have noisier means).

# %%
table = decoded.merge(change[["subject", "level", "roi", "importance"]], on=["subject", "level", "roi"],
                      suffixes=("", "_change"))
table = table[["subject", "level", "roi", "importance", "importance_change", "n_voxels"]]
save_table(table.set_index(["subject", "level", "roi"]), cfg.figures_dir, "roi_importance")
table.pivot_table(index="roi", columns=["level", "subject"], values="importance").sort_values(
    ("motion", cfg.subjects[0]), ascending=False).round(2)

# %% [markdown]
# ## Figures 6, 12 and 13: ranked ROIs and the cortical maps
# Left: the most important ROIs of each level (bar = normalised importance). Right: the same numbers painted
# on each ROI's parcel on the fs_LR flat maps (grey: no input voxel in that region).

# %%
for subject, name in paper_figure_names(cfg.subjects).items():
    fig = plot_subject_figure(decoded, subject)
    save_figure(fig, cfg.figures_dir, name)
    plt.show()

# %% [markdown]
# ## Do the levels read different regions?
# Mean importance of the dorsal motion ROIs (MT, MST, TPOJ1–3) and of the ventral stream (V8, VVC, PIT, FFC,
# VMV1–3) per level; `p_motion_above_ventral` is the fraction of (motion ROI, ventral ROI) pairs in which the
# motion ROI is the more important one (0.5 = no preference), `mean_rank_*` the mean rank among all ROIs
# (1 = most important).

# %%
claims = pd.concat([dorsal_vs_ventral(decoded).assign(measure="weights"),
                    dorsal_vs_ventral(change).assign(measure="change")], ignore_index=True)
grid = sns.catplot(data=claims, x="level", y="motion_minus_ventral", hue="subject", col="measure", kind="bar",
                   order=list(LEVELS), height=3.2, aspect=1.2)
grid.set_axis_labels("SAD level", "motion ROIs − ventral ROIs\n(mean normalised importance)")
for ax in grid.axes.flat:
    ax.axhline(0, color="k", lw=0.8)
save_figure(grid.figure, cfg.figures_dir, "roi_importance_dorsal_ventral")
claims.set_index(["measure", "subject", "level"]).round(3)

# %% [markdown]
# ## The twin: decoded against true ROI importance
# The simulator's encoding maps give each input voxel a gain and a feature family (early: contrast/colour;
# motion: motion energy; object: category/colour). Which families a level's decoder *should* read depends on
# what its captions' embeddings carry, so it is measured, not assumed: the share of the training targets'
# variance that each scene attribute explains (η², `caption_attribute_shares`), summed per family over the
# attributes the family encodes (`caption_family_weights`; colour, encoded by two families, is split between
# them). The true importance of a ROI for a level is the mean over its voxels of gain × the family's weight,
# normalised like the decoded one. Spearman ρ compares the two rankings of the ROIs; the truth's own
# dorsal-vs-ventral numbers show what a perfect decoder would give.

# %%
if twin:
    family_weights = caption_family_weights(cfg)
    save_table(family_weights.set_index("level"), cfg.figures_dir, "caption_family_weights")
    display(family_weights.set_index("level"))
    m = family_weights.set_index("level").loc["motion"]
    than = lambda a, b: "more than" if a > 1.25 * b else "less than" if a < 0.8 * b else "about as much as"
    display(Markdown(
        f"The motion captions' embeddings vary with the object (η² category {m['category']:.2f} + colour "
        f"{m['colour']:.2f}) {than(m['category'] + m['colour'], m['motion'])} with the motion type "
        f"({m['motion']:.2f}), so a decoder that reads them perfectly draws on the object family (weight "
        f"{m['weight_object']:.2f}) {than(m['weight_object'], m['weight_motion'])} on the motion family "
        f"({m['weight_motion']:.2f})."))

# %%
if twin:
    truth = truth_roi_importance(cfg, family_weights=family_weights)
    scores = pd.concat([compare_with_truth(decoded, truth).assign(measure="weights"),
                        compare_with_truth(change, truth).assign(measure="change")], ignore_index=True)
    truth_claims = dorsal_vs_ventral(truth)[["subject", "level", "p_motion_above_ventral", "motion_minus_ventral"]]
    vs_truth = scores.merge(claims, on=["subject", "level", "measure"], suffixes=("", "_claims")).merge(
        truth_claims, on=["subject", "level"], suffixes=("", "_truth"))
    vs_truth = vs_truth[["measure", "subject", "level", "n_rois", "spearman_rho", "p_value", "mean_rank_motion",
                         "mean_rank_ventral", "p_motion_above_ventral", "p_motion_above_ventral_truth",
                         "motion_minus_ventral", "motion_minus_ventral_truth"]]
    save_table(vs_truth.set_index(["measure", "subject", "level"]), cfg.figures_dir, "roi_importance_vs_truth")
    display(vs_truth.set_index(["measure", "subject", "level"]).round(3))
else:
    truth, scores = None, None
    print(f"world '{cfg.world}' has no ground truth: the comparison is the twin's")

# %%
if twin:
    both = decoded.merge(truth, on=["subject", "level", "roi"], suffixes=("", "_true"))
    grid = sns.relplot(data=both, x="importance_true", y="importance", hue="roi", col="level", row="subject",
                       col_order=list(LEVELS), height=2.6, legend=False)
    grid.set_axis_labels("true ROI importance", "decoded (|W|)")
    grid.set_titles("{row_name} · {col_name}")
    for (subject, level), ax in grid.axes_dict.items():
        for _, r in both[(both["subject"] == subject) & (both["level"] == level)].iterrows():
            if r["roi"] in MOTION_ROIS + VENTRAL_ROIS:
                ax.annotate(r["roi"], (r["importance_true"], r["importance"]), fontsize=6)
    save_figure(grid.figure, cfg.figures_dir, "roi_importance_vs_truth")

# %% [markdown]
# ## Does the paper's interpretation hold here?
# Every number below is computed in this notebook; the sentences are assembled from them. A statement
# "holds" only if every subject meets it (the paper describes a pattern shared across subjects); `weights`
# is the paper's measure, `change` the weight change since initialisation.

# %%
checks = {measure: claim_checks(claims[claims["measure"] == measure],
                                None if scores is None else scores[scores["measure"] == measure])
          for measure in ("weights", "change")}
display(pd.concat(checks, names=["measure"]).round(3))


def verdict(measure: str) -> str:
    c = checks[measure]
    listed = {ok: "; ".join(f"{r.check} = {r.value:.3f} ({r.n_agree} subjects {r.criterion})"
                            for r in c[c["holds"] == ok].itertuples()) or "none" for ok in (True, False)}
    return f"**{measure}** — holds in every subject: {listed[True]}. Not in every subject: {listed[False]}."


motion_rows = claims[(claims["measure"] == "weights") & (claims["level"] == "motion")]
text = [(f"On **{cfg.name}** ({cfg.world}, {len(cfg.subjects)} subjects), with the paper's measure, a motion ROI "
         f"outranks a ventral ROI in the motion SAD in "
         f"{motion_rows['p_motion_above_ventral'].mean():.0%} of pairs (50 % = no preference; per subject "
         f"{', '.join(f'{v:.2f}' for v in motion_rows['p_motion_above_ventral'])}); the motion ROIs' mean rank "
         f"is {motion_rows['mean_rank_motion'].mean():.1f} against {motion_rows['mean_rank_ventral'].mean():.1f} "
         f"for the ventral ROIs (out of {motion_rows['n_rois'].mean():.0f}).")]
if scores is not None:
    s = scores[scores["measure"] == "weights"].groupby("level")["spearman_rho"].mean()
    text.append("Mean Spearman ρ with the twin's true ROI importance: "
                + ", ".join(f"{level} {s.get(level, float('nan')):.2f}" for level in LEVELS) + ".")
paper = checks["weights"]["holds"]
status = "holds" if paper.all() else "holds in part" if paper.any() else "does not hold"
text.append(f"With the paper's measure, its interpretation **{status}** on this run: {int(paper.sum())} of "
            f"{len(paper)} checks hold in every subject.")
text += [verdict("weights"), verdict("change")]
display(Markdown("\n\n".join(text)))

# %% [markdown]
# ## Reading the results
# The first-layer weights are a linear read-out: a voxel can get a large weight because it carries the
# level's signal, or because the decoder uses it to cancel noise shared with other voxels, so importance is
# not encoding. Two more cautions: a short training run moves the weights little from their random start,
# so the paper's |W| then mostly shows that start (compare the `change` rows), and ROIs with few voxels have
# noisy means. The twin's truth table is what tells these cases apart; on real data, only the consistency
# across subjects does.
