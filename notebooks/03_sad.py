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
# # 03 · SAD: decoding the caption embeddings Ẑ(C_L) from fMRI
#
# **Paper (§3.2, Appendix C.1).** The Semantic Alignment Decoder maps a subject's voxels through a
# subject-specific linear layer into a shared space (D_l = 4096), a shared 4-layer GELU MLP predicts the 77 × 768
# CLIP text tokens of a caption level L ∈ {anchor, motion, holi}, and a Refineformer — a causal transformer
# trained as a diffusion prior — turns that prediction into the final Ẑ(C_L). Training minimises
# MSE (eq. 4) + λ_SoftCLIP·SoftCLIP (eq. 5) + λ_refine·refine (eq. 6) = eq. 7, with MixCo (eq. 14), first on all
# subjects, then per subject. The paper reports no retrieval numbers for SAD; its decoded embeddings drive the
# reconstructions of Tables 1–3.
#
# **Here.** The twin's targets are MiniLM token embeddings (77 × 384) and the SAD is scaled down (sizes below).
# We measure what the paper leaves implicit: whether the predictions identify their clip among all test clips
# (top-1 / top-5 retrieval by cosine similarity, against chance), for the MLP output and the refined output,
# and for pre-training + fine-tuning against single-subject training.

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
import seaborn as sns
from IPython.display import display

from semvideo.io import read_json
from semvideo.models.sad import LOSS_WEIGHTS, SemanticAlignmentDecoder
from semvideo.notebook import open_run
from semvideo.paths import RunPaths
from semvideo.retrieval import similarity_matrix
from semvideo.stages.sad import caption_content_table, loss_logs, retrieval_table
from semvideo.viz import save_figure, save_table

cfg = open_run(config_path, "train-sad")  # opened interactively: builds what this notebook reads, if missing
paths = RunPaths.from_config(cfg)
done = read_json(paths.sad / "pred" / "done.json")
print(f"SAD training took {done['seconds']} s, peak memory {done['peak_rss_mb']} MB; "
      f"loss weights '{cfg.sad.loss_weights}' (λ_SoftCLIP, λ_refine) = {LOSS_WEIGHTS[cfg.sad.loss_weights]}")

# %% [markdown]
# ## The model (Appendix C.1.1)
# One SAD per level. The fine-tuned model of one subject holds every subject's input layer (only its own is
# used); the parameter counts below are this run's.

# %%
model = SemanticAlignmentDecoder.from_pretrained(paths.sad / f"anchor_{cfg.subjects[0]}")
parts = {"subject projectors": model.projector, "shared MLP": model.mlp, "Refineformer": model.refiner}
{name: f"{sum(p.numel() for p in part.parameters()) / 1e6:.2f} M" for name, part in parts.items()} | {
    "D_l": model.config.hidden_dim, "targets": f"{model.config.n_tokens} × {model.config.embed_dim}",
    "Refineformer size": f"{model.config.prior_layers} layers × {model.config.prior_heads} heads × "
                    f"{model.config.prior_head_dim}, T = {model.config.prior_timesteps}"}

# %% [markdown]
# ## Training (eq. 7): loss curves
# Each panel is one loss term per optimiser step (a rolling mean over 10 steps); one line per trained model:
# the pre-training on all subjects, each subject's fine-tune, and the single-subject baselines.

# %%
logs = loss_logs(cfg)
long = logs.melt(id_vars=["model", "step"], value_vars=["loss", "mse", "softclip", "refine"], var_name="term")
long["value"] = long.groupby(["model", "term"])["value"].transform(lambda v: v.rolling(10, min_periods=1).mean())
long["level"] = long["model"].str.split("/").str[0]
grid = sns.relplot(data=long, x="step", y="value", hue="model", row="level", col="term", kind="line",
                   height=2.2, aspect=1.3, facet_kws={"sharey": False}, legend="brief")
grid.set(yscale="log")
save_figure(grid.figure, cfg.figures_dir, "sad_loss_curves")

# %% [markdown]
# ## Test retrieval: does Ẑ(C_L) identify its clip?
# For each test clip, the prediction is compared with the true embeddings of all test clips (cosine of the
# flattened 77 × D tokens); top-k = the right clip is among the k most similar. Chance is k / N.

# %%
table = retrieval_table(cfg)
save_table(table.set_index(["level", "subject", "training", "output"]), cfg.figures_dir, "sad_retrieval")
table.pivot_table(index=["level", "training", "output"], columns="subject", values=["top1", "top5"]).round(3)

# %%
grid = sns.catplot(data=table, x="level", y="top1", hue="output", col="subject", row="training", kind="bar",
                   height=2.6, aspect=1.2)
for ax in grid.axes.flat:
    ax.axhline(table["chance1"].iloc[0], color="k", ls="--", lw=1, label="chance")
grid.set_axis_labels("caption level", "top-1 retrieval")
grid.set_titles("{row_name} · {col_name}")
save_figure(grid.figure, cfg.figures_dir, "sad_retrieval")

# %% [markdown]
# ## What the decoded captions carry
# Retrieval asks whether Ẑ(C_L) singles out its clip; a caption level's job is to *name* things: the anchor level
# the object's category and colour and the background, the motion level the motion and its speed, the holistic
# level all of them. Each attribute is read back from the decoded test embeddings by the nearest centroid (cosine,
# around the mean) of the *true* training embeddings of each value (`semvideo.retrieval.centroid_readout`; cosine
# because an MSE-trained decoder shrinks its predictions towards the mean). "true captions" is the same read-out
# of the true test embeddings, what a perfect decoder would give; chance is the test split's majority value;
# notebook 01's information ceiling says what the BOLD itself carries.

# %%
content = caption_content_table(cfg)
if len(content):
    save_table(content.set_index(["level", "attribute", "source"]), cfg.figures_dir, "sad_caption_content")
    decoded = content[content["source"].str.endswith("refined")]
    verdict = decoded.groupby(["level", "attribute"], sort=False).agg(
        accuracy=("accuracy", "mean"), chance=("chance", "first"), above=("p", lambda p: int((p < 0.01).sum())))
    carried = [f"{lv} {attr}" for (lv, attr), r in verdict.iterrows() if r.above == len(cfg.subjects)]
    lost = [f"{lv} {attr} ({r.accuracy:.2f}, chance {r.chance:.2f})" for (lv, attr), r in verdict.iterrows()
            if r.above == 0]
    print(f"The refined Ẑ(C_L) name, above chance (binomial p < 0.01) in every subject: "
          f"{', '.join(carried) or 'nothing'}; in no subject: {', '.join(lost) or 'nothing'}.")
    display(content.pivot_table(index=["level", "attribute"], columns="source", values="accuracy", sort=False)
            .round(2))

# %% [markdown]
# ## Cosine similarity of predictions and truth
# Rows: the first 40 test clips' predictions Ẑ(C_anchor) of the first subject; columns: the true Z(C_anchor).
# A bright diagonal means each prediction is closest to its own clip; bright blocks are clips of one shot
# (similar captions).

# %%
true = np.load(paths.embeddings / "anchor_test.npy")[:40]
fig, axes = plt.subplots(1, 3, figsize=(13, 4))
kinds = [("mlp", "MLP output"), ("refined", "refined (Refineformer)")]
for ax, (kind, title) in zip(axes, kinds):
    pred = np.load(paths.sad / "pred" / f"{cfg.subjects[0]}_anchor_{kind}.npy")[:40]
    image = ax.imshow(similarity_matrix(pred, true), cmap="magma")
    ax.set(title=title, xlabel="true clip", ylabel="predicted clip")
    fig.colorbar(image, ax=ax, shrink=0.8)
image = axes[2].imshow(similarity_matrix(true, true), cmap="magma")
axes[2].set(title="truth vs truth", xlabel="true clip", ylabel="true clip")
fig.colorbar(image, ax=axes[2], shrink=0.8)
save_figure(fig, cfg.figures_dir, "sad_similarity")

# %% [markdown]
# ## Reading the results
# `done.json` holds the same retrieval numbers as computed during training; the table above recomputes them
# from the saved predictions. On the twin, the pre-trained + fine-tuned anchor decoder is expected to identify
# the right clip far above chance for every subject; the single-subject rows show what pre-training adds.
