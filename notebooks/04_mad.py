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
# # 04 · Motion Adaptation Decoder (MAD)
#
# **Paper (§3.2 "MAD", eqs. 8–13, Appendix C.1).** A subject-specific projection (a linear layer and an MLP)
# maps the fMRI response X to n = 6 embeddings of 64×7×7; a motion embedder and a tripartite attention fusion —
# spatial self-attention within each frame, temporal self-attention across frames and cross-attention to the
# decoded motion caption Ẑ(C_motion) — are combined as ê = λ_spat·e_spat + λ_temp·e_temp + e_cross with learnable
# λ, and a light UNet-like decoder (UNetMidBlock2D + 3 AttnUpDecoderBlock2D) brings them to the VAE latent size
# (4×28×28). Training matches E(V), the VAE latents of the true frames, with L1 plus a bidirectional frame-level
# contrastive term (eq. 13), AdamW + OneCycle (max LR 3e-4). At inference the VAE decodes ê into a *blurry
# motion video* that the render (notebook 05) starts from. Figure 5 credits MAD and C_motion with the decoded
# motion.
#
# **Here.** The same architecture, scaled to the twin's 4×16×16 latents (``cfg.mad``), is trained per subject on
# the training clips, together with its "w/o C_motion" variant (no cross-attention), which the ablations of
# notebook 07 reuse. We show the loss curves and the learned λ, blurry videos beside the truth, and per-clip SSIM
# and EPE of the blurry video against the truth — compared with a *mean-frame* baseline (the average training
# frame shown for every frame: a video with no content and no motion) and with the VAE's own reconstruction of
# the true frames (the ceiling any latent decoder can reach).

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
from scipy.stats import ttest_rel

from semvideo.data.prepared import PreparedData
from semvideo.io import atomic_path, read_json
from semvideo.metrics.evaluate import FLOW_READOUT
from semvideo.metrics.pixel import mean_frame, ssim
from semvideo.metrics.temporal import epe
from semvideo.models.priors import decode_latents, load_vae
from semvideo.notebook import open_run
from semvideo.paths import RunPaths
from semvideo.plan import MAD_VARIANTS
from semvideo.viz import frame_strip, save_figure, save_table

cfg = open_run(config_path, "train-mad")  # opened interactively: builds what this notebook reads, if missing
paths = RunPaths.from_config(cfg)
data = PreparedData.from_config(cfg)
summary = read_json(paths.mad / "pred" / "done.json")
truth = np.asarray(data.frames("test"))  # uint8 (N_test, n, H, W, 3)
clip_ids = data.split_clips("test")["clip_id"]
print(f"{len(truth)} test clips × {truth.shape[1]} frames at {truth.shape[2]} px; latent {summary['latent_shape']}")
pd.DataFrame({(s, v): r for s, runs in summary["subjects"].items() for v, r in runs.items()}).T

# %% [markdown]
# ## Training: loss curves (eq. 13)
# L1 between ê and E(V), and the bidirectional frame contrastive term (−log-probability that a predicted frame
# picks its own true frame among the clip's n frames and vice versa; chance is log n), per epoch.

# %%
curves = pd.concat([pd.read_csv(paths.mad / "pred" / f"{s}{suffix}_losses.csv").assign(subject=s, variant=v)
                    for s in cfg.subjects for v, suffix in MAD_VARIANTS.items()])
per_epoch = curves.groupby(["subject", "variant", "epoch"])[["l1", "contrastive"]].mean().reset_index()
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for ax, term in zip(axes, ("l1", "contrastive")):
    sns.lineplot(per_epoch, x="epoch", y=term, hue="subject", style="variant", ax=ax)
axes[1].axhline(np.log(cfg.fmri.frames_per_clip), color="0.5", lw=0.8, ls=":", label="chance (log n)")
axes[1].legend(fontsize=7)
fig.suptitle("MAD training loss (eq. 13)")
save_figure(fig, cfg.figures_dir, "mad_loss_curves")

# %% [markdown]
# ## The learned fusion weights λ (eq. 12)
# The paper does not fix λ_spat and λ_temp: they are trained (Appendix C.1). Both start at 1.

# %%
lambdas = pd.DataFrame([{"subject": s, "variant": v, "lambda_spat": r["lambda_spat"], "lambda_temp": r["lambda_temp"]}
                        for s, runs in summary["subjects"].items() for v, r in runs.items()]).set_index(["subject", "variant"])
save_table(lambdas, cfg.figures_dir, "mad_lambdas")
lambdas

# %% [markdown]
# ## A baseline of ours: the flow readout
# MAD's ê (eq. 12) is the paper's blurry video and what the render and Tables 1/3 use. On the twin its
# frame-to-frame changes need not follow the true motion, and a video that moves wrongly scores a *worse* EPE than
# a still (a still's EPE is the truth's mean flow magnitude). The **flow readout baseline** (``mad.flow_readout``,
# ``semvideo.models.flow``; an addition of ours, not the paper's method) reads the motion where the BOLD holds
# it: a ridge regression from BOLD to the stimulus' own Farneback flow (4×4-pixel blocks, one field per frame
# pair), with vectors shorter than a threshold set to zero, since EPE rewards no motion wherever the decoder is
# unsure. Ridge α and threshold are chosen on a held-out tenth of the *training* clips; the baseline is the full
# MAD's clip-mean latent moved along the decoded flow. It is shown beside MAD, never in its place.

# %%
readouts = summary.get("flow_readout", {})  # subject → chosen alpha (per training clip) and threshold
choice = pd.DataFrame({s: {**r, **pd.read_csv(paths.mad / "pred" / f"{s}_flow_readout.csv")
                           .query("alpha == @r['alpha'] and threshold == @r['threshold']")
                           [["held_out_epe", "zero_flow_epe"]].iloc[0].to_dict()}
                       for s, r in readouts.items()}).T
choice  # alpha per training clip; EPE (pixels) on the held-out training clips, and that of predicting no motion

# %% [markdown]
# ## Blurry motion videos beside the truth
# Rows: truth, MAD, MAD w/o C_motion, (with ``mad.flow_readout``) the flow readout baseline, the VAE's
# reconstruction of the true frames (ceiling) and the mean-frame baseline, for a few test clips of the first subject.

# %%
vae = load_vae(cfg)
ceiling = decode_latents(vae, np.load(paths.mad / "latents_test.npy"))  # VAE round trip of the true frames
baseline_frame = mean_frame(data.frames("train"))
baseline = np.broadcast_to(baseline_frame, truth.shape)
blurry = {s: {v: np.load(paths.mad / "pred" / f"{s}{suffix}_blurry.npy") for v, suffix in MAD_VARIANTS.items()}
          for s in cfg.subjects}
readout_blurry = {s: np.load(paths.mad / "pred" / f"{s}_flow_readout_blurry.npy") for s in readouts}

subject = cfg.subjects[0]
examples = np.linspace(0, len(truth) - 1, 4).astype(int)
rows = {"truth": truth, "MAD": blurry[subject]["full"], "MAD w/o C_motion": blurry[subject]["wo_motion"],
        **({FLOW_READOUT: readout_blurry[subject]} if subject in readout_blurry else {}),
        "VAE ceiling": ceiling, "mean frame": baseline}
fig, axes = plt.subplots(len(rows), len(examples), figsize=(3.2 * len(examples), 1.0 * len(rows)))
for col, i in enumerate(examples):
    for row, (name, video) in enumerate(rows.items()):
        frame_strip(axes[row, col], video[i], title=f"{name} · {clip_ids[i]}" if row == 0 else name)
fig.suptitle(f"{subject}: blurry motion videos (6 frames per clip)")
save_figure(fig, cfg.figures_dir, "mad_blurry_examples")

# %% [markdown]
# ## Blurry-video quality: per-clip SSIM and EPE
# SSIM (RGB, data range 255) and EPE (Farneback flow of truth vs reconstruction, pixels at the twin's frame size)
# per test clip (``semvideo.metrics``). The per-clip scores are kept in ``metrics/mad_blurry.csv`` for later
# notebooks. Higher SSIM and lower EPE are better.

# %%
methods = {s: {"MAD": blurry[s]["full"], "MAD w/o C_motion": blurry[s]["wo_motion"],
               **({FLOW_READOUT: readout_blurry[s]} if s in readout_blurry else {}),
               "VAE ceiling": ceiling, "mean frame": baseline} for s in cfg.subjects}
scores = pd.concat([pd.DataFrame({"subject": s, "method": m, "clip_id": clip_ids, "ssim": ssim(truth, video),
                                  "epe": epe(truth, video)})
                    for s in cfg.subjects for m, video in methods[s].items()], ignore_index=True)
with atomic_path(paths.metrics / "mad_blurry.csv") as tmp:
    scores.to_csv(tmp, index=False)

quality = scores.groupby(["subject", "method"])[["ssim", "epe"]].agg(["mean", "sem"])
quality.columns = [f"{metric}_{stat}" for metric, stat in quality.columns]
save_table(quality, cfg.figures_dir, "mad_blurry_quality")

fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
for ax, metric in zip(axes, ("ssim", "epe")):
    sns.barplot(scores, x="subject", y=metric, hue="method", errorbar="se", ax=ax)
    ax.set_ylabel({"ssim": "SSIM ↑", "epe": "EPE (pixels) ↓"}[metric])
axes[0].legend(fontsize=7)
axes[1].get_legend().remove()
save_figure(fig, cfg.figures_dir, "mad_blurry_quality")
quality

# %% [markdown]
# **Check.** MAD's blurry videos should beat the mean-frame baseline on both metrics for every subject (and so
# should the flow readout baseline, shown on its own rows). The margins can be small, so the paired t-test over
# test clips (two-sided) is shown beside each verdict.

# %%
def paired(subject, metric, method):
    table = scores[scores["subject"] == subject].pivot(index="clip_id", columns="method", values=metric)
    return table[method].mean() - table["mean frame"].mean(), ttest_rel(table[method], table["mean frame"]).pvalue


def verdict_row(subject, method):
    (ssim_gain, ssim_p), (epe_change, epe_p) = paired(subject, "ssim", method), paired(subject, "epe", method)
    return {"SSIM > mean frame": yes_no[ssim_gain > 0], "SSIM gain": ssim_gain, "SSIM p": ssim_p,
            "EPE < mean frame": yes_no[epe_change < 0], "EPE change (pixels)": epe_change, "EPE p": epe_p}


yes_no = {True: "yes", False: "no"}
verdict = pd.DataFrame({(s, m): verdict_row(s, m) for s in cfg.subjects
                        for m in ("MAD", FLOW_READOUT) if m in methods[s]}).T.rename_axis(["subject", "method"])
save_table(verdict, cfg.figures_dir, "mad_blurry_verdict")
verdict
