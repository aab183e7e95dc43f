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
# # 01 · Data and fMRI preprocessing
#
# **Paper (§4, "Datasets and Pre-processing").** CC2017: three subjects watch 8-minute movie segments (18 for
# training, shown twice; 5 for testing, shown ten times) at TR = 2 s. Each run is detrended and z-scored, the
# responses are shifted by a 4-s hemodynamic lag and paired with 2-second clips, repeats are averaged, and the
# visually responsive vertices are selected by their repeat reliability (Fisher z → one-sample t-test across
# segments, Bonferroni p < 0.05): 13,447 / 14,828 / 9,114 vertices for subjects 1–3.
#
# **Here.** The default world is the *synthetic twin*: a procedural video world and a brain simulator on real
# fs_LR grayordinates, written in the exact CC2017 file layout, so the same reader and preprocessing run on it.
# Because the twin knows which vertices respond to what, we can check the preprocessing against the truth.
#
# **HCP 7T** (`config/hcp.yaml`, and the twin written in the HCP layout, `config/hcp_twin.yaml`): four movie runs
# at TR = 1 s with 20-s rest blocks, seen once, 1-s clips split 9:1, and the vertices of 12 Glasser visual ROIs
# (the paper's 5,820) instead of a reliability selection. The HCP sections below replace the repeat-reliability ones.

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
from IPython.display import display

from semvideo.data.cc2017 import layout_for, load_run, run_path
from semvideo.data.hcp import uses_hcp_layout
from semvideo.data.prepared import PreparedData
from semvideo.data.preprocess import detrend_zscore, trim_run
from semvideo.notebook import open_run
from semvideo.paths import RunPaths
from semvideo.viz import frame_strip, plot_ceiling, plot_clip_timing, plot_on_surface, save_figure, save_table

cfg = open_run(config_path, "prepare")  # opened interactively: builds what this notebook reads, if missing
paths = RunPaths.from_config(cfg)
data = PreparedData.from_config(cfg)
twin = cfg.world == "twin"
hcp = uses_hcp_layout(cfg)  # HCP 7T layout: movie runs seen once, ROI vertices, a 9:1 split by clip
if hcp:
    from semvideo.data import hcp as hcp_data

    layout = hcp_data.hcp_layout(cfg)
    print(f"world {cfg.world} (HCP layout): {len(layout.segments)} movie segments in {len(layout.runs)} runs, "
          f"{len(data.clips)} clips, subjects {cfg.subjects}")
else:
    layout = layout_for(cfg)
    print(f"world {cfg.world}: {len(layout.segments)} segments, {len(data.clips)} clips, subjects {cfg.subjects}")

# %% [markdown]
# ## The stimulus world
# A few consecutive training clips (the 6 frames per clip the decoders see, 3 fps) with their scene graphs,
# the ground truth that later feeds the captioner and the judges. Shots last 1–3 clips and end in a cut.

# %%
clips = data.split_clips("train")
frames = data.frames("train")
if twin:
    from semvideo.data.synthetic.truth import scene_graphs

    graphs = scene_graphs(paths.raw)
fig, axes = plt.subplots(6, 1, figsize=(9, 9))
for ax, row in zip(axes, range(6)):
    clip_id = clips.loc[row, "clip_id"]
    label = clip_id
    if twin:
        g = graphs[clip_id]
        label += f"  ·  {g['colour']} {g['category']} on {g['background']}, {g['motion']} ({g['speed']}), shot {g['shot_id']}"
    frame_strip(ax, frames[row], label)
save_figure(fig, cfg.figures_dir, "twin_clips")

# %% [markdown]
# ## A BOLD trace beside the stimulus feature that drives it
# One reliable motion-selective vertex of subject 1 (twin only): its simulated drive (before the HRF) and its
# detrended, z-scored BOLD in both repeats of segment 1. The BOLD follows the drive about 4 s (2 TRs) later.
# (HCP layout: the strongest motion vertex in the ROIs, over the whole first run, seen once, rest included.)

# %%
if twin and not hcp:
    from semvideo.data.synthetic.truth import driving_signal, truth_vertices

    subject = cfg.subjects[0]
    voxels = data.voxels(subject)
    truth = truth_vertices(paths.raw, subject).merge(voxels[["grayordinate", "mean_r"]], on="grayordinate")
    best = truth[truth["family"] == "motion"].sort_values("mean_r").iloc[-1]
    drive = driving_signal(paths.raw, subject, "seg1")[best["grayordinate"]].to_numpy()
    fig, ax = plt.subplots(figsize=(9, 3))
    seconds = np.arange(layout.n_trs) * layout.tr
    ax.plot(seconds, (drive - drive.mean()) / drive.std(), color="k", lw=2, label="stimulus drive (motion energy)")
    for rep in (1, 2):
        run, columns, _ = load_run(run_path(paths.raw, subject, "seg1", rep), layout)
        series = trim_run(detrend_zscore(run), layout.n_trs)[:, np.searchsorted(columns, best["grayordinate"])]
        ax.plot(seconds, series, alpha=0.7, label=f"BOLD, repeat {rep}")
    ax.set(xlabel="time from segment onset (s)", ylabel="z", title=f"{subject}, vertex {best['grayordinate']} "
           f"({best['label']}, reliability r = {best['mean_r']:.2f})", xlim=(0, min(200, seconds[-1])))
    ax.legend(loc="upper right", fontsize=8)
    save_figure(fig, cfg.figures_dir, "bold_vs_feature")

# %%
if twin and hcp:
    from semvideo.data.synthetic.truth import driving_signal, truth_vertices

    subject, run = cfg.subjects[0], layout.runs[0]
    truth = truth_vertices(paths.raw, subject)
    truth = truth[truth["grayordinate"].isin(data.selected_voxels(subject)["grayordinate"])]
    best = truth[truth["family"] == "motion"].sort_values("gain").iloc[-1]  # no repeats: the strongest gain
    drive = driving_signal(paths.raw, subject, run)[best["grayordinate"]].to_numpy()
    bold, columns, _ = hcp_data.load_run(hcp_data.run_path(paths.raw, subject, run), layout.n_volumes.get(run),
                                         layout.tr)
    series = detrend_zscore(bold)[:, np.searchsorted(columns, best["grayordinate"])]
    fig, ax = plt.subplots(figsize=(9, 3))
    ax.plot(np.arange(len(drive)) * layout.tr, (drive - drive.mean()) / drive.std(), color="k", lw=2,
            label="stimulus drive (motion energy)")
    ax.plot(np.arange(len(series)) * layout.tr, series, alpha=0.7, label="BOLD (one viewing)")
    for seg in layout.segments[layout.segments["run"] == run].itertuples():
        ax.axvspan(seg.start_s, seg.stop_s, color="0.9", zorder=0)
    ax.set(xlabel="time from run onset (s); grey = movie", ylabel="z",
           title=f"{subject} {run}, vertex {best['grayordinate']} ({best['label']})")
    ax.legend(loc="upper right", fontsize=8)
    save_figure(fig, cfg.figures_dir, "bold_vs_feature")

# %% [markdown]
# ## Repeat reliability and voxel selection (CC2017 layout)
# The mean correlation between the two training repeats, per vertex; selected vertices in colour.

# %%
if not hcp:
    reliability = pd.concat([data.voxels(s).assign(subject=s) for s in cfg.subjects], ignore_index=True)
    grid = sns.displot(reliability, x="mean_r", hue="selected", col="subject", bins=40, height=2.8,
                       facet_kws={"sharey": False})
    grid.set_axis_labels("repeat correlation r", "vertices")
    save_figure(grid.figure, cfg.figures_dir, "reliability")

# %% [markdown]
# ## ROI vertices, clip timing and the split (HCP layout)
# HCP shows each movie once, so there is no repeat reliability to select on: the vertices are those of the 12
# Glasser ROIs of both hemispheres (the paper's 5,820 on the real data), minus NaN / constant columns. Then the
# timing of the 1-s clips inside each run's movie segments (rest excluded) and the seeded 9:1 split by clip.

# %%
if hcp:
    roi_counts = hcp_data.roi_vertex_counts({s: data.voxels(s) for s in cfg.subjects}, cfg.fmri.rois)
    save_table(roi_counts, cfg.figures_dir, "roi_vertex_counts")
    ax = roi_counts.drop(index="total").plot.bar(figsize=(8, 3), width=0.8)
    ax.set(ylabel="vertices", title="vertices per Glasser ROI (both hemispheres) and subject")
    save_figure(ax.figure, cfg.figures_dir, "roi_vertex_counts")
    display(roi_counts)

# %%
if hcp:
    segments = hcp_data.segment_summary(data.clips)
    save_table(segments, cfg.figures_dir, "hcp_segments")
    fig = plot_clip_timing(data.clips, {run: n * layout.tr for run, n in layout.n_volumes.items()})
    save_figure(fig, cfg.figures_dir, "hcp_clip_timing")
    display(segments)

# %% [markdown]
# ## Voxel counts
# The paper's counts are for the real 91,282-grayordinate data; the twin simulates only the visual ROIs (and a
# sample of the rest), so its counts are smaller by design. On the twin we also score the selection against the
# simulator's truth: precision = selected vertices that are truly stimulus-driven; recall = driven vertices found.
# (HCP layout: "selected" = usable ROI vertices; the paper reports 5,820 for every HCP subject.)

# %%
PAPER_COUNTS = {"subject1": 13447, "subject2": 14828, "subject3": 9114}
paper_column, paper_counts = ("paper (HCP)", {s: 5820 for s in cfg.subjects}) if hcp else ("paper (CC2017)",
                                                                                             PAPER_COUNTS)
rows = []
for subject in cfg.subjects:
    voxels = data.voxels(subject)
    row = {"subject": subject, "vertices in files": len(voxels), "selected": int(voxels["selected"].sum()),
           paper_column: paper_counts.get(subject)}
    if twin:
        from semvideo.data.synthetic.truth import selection_scores

        row |= selection_scores(voxels, truth_vertices(paths.raw, subject))
    rows.append(row)
counts = pd.DataFrame(rows).set_index("subject").convert_dtypes()
save_table(counts, cfg.figures_dir, "voxel_counts")
counts

# %% [markdown]
# ## Selected vertices on the cortical surface
# Subject 1's selected vertices on the fs_LR flat maps (occipital cortex in the middle), coloured by reliability
# (HCP layout: by ROI, as there is no reliability).

# %%
subject = cfg.subjects[0]
voxels = data.selected_voxels(subject)
if hcp:
    roi_index = voxels["label"].str.split("_", n=1).str[-1].map({r: i for i, r in enumerate(cfg.fmri.rois)})
    fig = plot_on_surface(voxels["grayordinate"], roi_index.to_numpy(float), f"{subject}: ROI vertices (by ROI)",
                          cmap="tab20", vmin=0, vmax=19)
else:
    fig = plot_on_surface(voxels["grayordinate"], voxels["mean_r"], f"{subject}: selected vertices (repeat r)",
                          cmap="hot", vmin=0, vmax=float(voxels["mean_r"].max()))
save_figure(fig, cfg.figures_dir, "selected_vertices_surface")

# %% [markdown]
# ## What the fMRI carries: the information ceiling
# Before any decoder is trained: how much of each scene attribute that a caption level names (category, colour,
# background, motion — the scene graph's motion type and direction —, speed) can a linear classifier read from
# a subject's *test* BOLD? A ridge classifier is fitted on the training clips only (its penalty chosen by
# cross-validation over whole training segments) on each ROI group's selected vertices: early visual (V1–V4),
# the motion complex (MT, MST, FST, V4t, TPOJ1–3), ventral/lateral occipital (LO1–3, PIT, FFC, VVC, VMV1–3,
# PH, V8) and all selected vertices. Chance is the majority-class rate of the test labels; p is one-sided
# binomial. This is the ceiling every decoder works under. On the twin the simulator says where it put each
# attribute (framed cells), and the twin is judged by one criterion: what it encodes is decodable from where
# it encodes it (p < 0.01, every subject). A linear readout gives a lower bound on the information: "all
# selected" can fall below the group that carries an attribute, as one penalty for every vertex lets the
# uninformative ones add noise. The speed of a motion is carried by the motion vertices' speed tuning
# (`twin.preferred_speeds`); a static object's speed label names nothing the brain could see.

# %%
if twin:
    from semvideo.metrics.ceiling import describe_ceiling, information_ceiling

    ceiling = information_ceiling(data, graphs, cfg.subjects)
    save_table(ceiling.set_index("subject"), cfg.figures_dir, "information_ceiling", float_format="%.4g")
    save_figure(plot_ceiling(ceiling), cfg.figures_dir, "information_ceiling")
    print(describe_ceiling(ceiling))
    display(ceiling.pivot_table(index=["roi_group", "attribute"], columns="subject", values="accuracy").round(3))
