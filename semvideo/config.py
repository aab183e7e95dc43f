"""One typed, validated configuration for every world (twin, CC2017, HCP).

A config is a YAML file in ``config/``; :func:`load_config` reads it into :class:`Config`. Unknown or
mistyped keys fail at the boundary with a one-line :class:`ConfigError` naming the key, the file and the
allowed values, so a typo never silently falls back to a default.

Each pipeline stage owns one section (``twin``, ``fmri``, ``semminer``, ``embed``, ``sad``, ``mad``,
``priors``, ``cvr``, ``eval``); defaults are the synthetic twin's CPU settings, and the real configs
override them with the paper's sizes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = ["LEVELS", "Config", "ConfigError", "check_model_sources", "load_config", "resolve_config_path",
           "shipped_configs"]

#: The installed package, and its copy of the repository's config/ (``semvideo/configs`` links there in a clone).
PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGE_CONFIGS = PACKAGE_DIR / "configs"

#: The three semantic levels decoded by SAD (paper §3.1): first-frame appearance, motion, whole clip.
LEVELS = ("anchor", "motion", "holi")


class ConfigError(ValueError):
    """A config file that cannot be used; the message is one line naming the file, the key and the fix."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PathsConfig(Section):
    results: str = "results"  #: artefacts go to ``<results>/<name>/``
    figures: str = "figures"  #: tables and figures of the paper
    data_root: str | None = None  #: real data root (CC2017/HCP layout); the twin writes its own


class TwinConfig(Section):
    """The synthetic CC2017 twin: a procedural video world and a brain simulator (DESIGN §3)."""

    frame_size: int = Field(64, ge=16)  #: rendered frames are square, pixels
    fps: int = Field(30, ge=1)
    segment_seconds: int = Field(480, ge=8)  #: CC2017 segments last 8 minutes
    n_train_segments: int = Field(18, ge=1)  # CC2017: 18 training segments
    n_test_segments: int = Field(1, ge=1)
    n_subjects: int = Field(3, ge=1)
    train_repeats: int = Field(2, ge=1)
    test_repeats: int = Field(10, ge=1)
    shot_clips: tuple[int, int] = (1, 3)  #: min/max clips per shot (abrupt cuts between shots)
    categories: list[str] = Field(
        default_factory=lambda: [
            "ball", "box", "star", "triangle", "ring", "cross",
            "diamond", "heart", "arrow", "moon", "hexagon", "bar",
        ],
        min_length=12,
    )
    colours: list[str] = Field(
        default_factory=lambda: ["red", "green", "blue", "yellow", "white", "purple", "orange", "cyan"]
    )
    backgrounds: list[str] = Field(default_factory=lambda: ["sky", "grass", "sand", "night"])
    motions: list[str] = Field(
        default_factory=lambda: [
            "left", "right", "up", "down", "approach", "recede", "rotate", "bounce", "static",
        ]
    )
    speeds: list[str] = Field(default_factory=lambda: ["slow", "fast"])
    tr: float = Field(2.0, gt=0)  #: seconds per volume (CC2017: 2 s)
    visual_fraction: float = Field(0.5, gt=0, le=1)  #: share of visual-ROI vertices simulated
    vertex_fraction: float = Field(0.05, ge=0, le=1)  #: share of the other cortical vertices (noise only)
    responsive_fraction: list[float] = Field(default_factory=lambda: [0.75, 0.85, 0.55])
    """per subject: share of visual vertices driven by the stimulus (so voxel counts differ by subject)"""
    noise_sd: float = Field(1.5, ge=0)  #: repeat-specific noise SD, in units of a driven vertex's signal SD
    drift_sd: float = Field(0.5, ge=0)  #: slow drift amplitude, same units
    run_offset_sd: float = Field(20.0, ge=0)  #: per-run baseline offset, scanner units (baselines ~500–1500)
    lag_seconds: float = Field(4.0, ge=0)  #: responses peak this long after a clip's onset
    #: MT/MST speed tuning: each motion vertex prefers one of these local image speeds (frame widths / s;
    #: octaves from 0.04 to 1.28 ≈ 0.5–25 °/s for a 12–20° frame, MT's range of preferred speeds) with a
    #: log-Gaussian tuning curve of SD ``speed_tuning_sigma`` (natural-log units; Nover et al. 2005)
    preferred_speeds: list[float] = Field(default_factory=lambda: [0.04, 0.08, 0.16, 0.32, 0.64, 1.28],
                                          min_length=1)
    speed_tuning_sigma: float = Field(1.2, gt=0)
    #: frame widths from the object's centre at which expansion and rotation are read as local image speed
    #: (≈ the world's object radius, 0.175–0.275)
    flow_radius: float = Field(0.2, gt=0)
    #: on-disk layout the twin is written in: cc2017 (segments × repeats, TR 2 s) or hcp (HCP 7T movie runs:
    #: one viewing, movie segments between rest blocks, TR 1 s; semvideo.data.hcp). With ``hcp``,
    #: ``segment_seconds`` is the length of one movie segment and the n_*_segments / *_repeats keys are unused.
    layout: Literal["cc2017", "hcp"] = "cc2017"
    movie_runs: int = Field(4, ge=1, le=4)  #: hcp layout: MOVIE1..MOVIE<k> runs
    segments_per_run: int = Field(4, ge=1)  #: hcp layout: movie segments per run
    rest_seconds: int = Field(20, ge=0)  #: hcp layout: rest before, between and after the movie segments

    @model_validator(mode="after")
    def _one_fraction_per_subject(self) -> TwinConfig:
        if len(self.responsive_fraction) < self.n_subjects:
            raise ValueError(f"responsive_fraction lists {len(self.responsive_fraction)} values for "
                             f"{self.n_subjects} subjects")
        return self


class FmriConfig(Section):
    """Preprocessing of the BOLD runs and their alignment with 2-second clips (paper §4, DESIGN §3)."""

    tr: float = Field(2.0, gt=0)  #: seconds
    lag_seconds: float = Field(4.0, ge=0)  #: hemodynamic lag applied when pairing clips with volumes
    clip_seconds: float = Field(2.0, gt=0)
    frames_per_clip: int = Field(6, ge=2)  #: the decoders see n = 6 frames per clip (3 fps)
    frame_size: int = Field(64, ge=8)  #: model resolution, pixels
    detrend_order: int = Field(4, ge=0)
    n_cortex: int = Field(59412, ge=1)  #: cortical grayordinates are the first 59,412 of 91,282
    exclude_runs: list[str] = Field(default_factory=list)  #: e.g. "subject3/test2/9"
    voxel_alpha: float = Field(0.05, gt=0, lt=1)  #: Bonferroni-corrected threshold for voxel selection
    max_voxels: int | None = None  #: keep at most this many (most reliable) voxels; None keeps all
    # --- HCP 7T layout only (world hcp, or the twin with twin.layout hcp; semvideo.data.hcp) ---
    #: Glasser ROIs (both hemispheres) whose vertices are decoded; no reliability selection (one viewing)
    rois: list[str] = Field(default_factory=lambda: ["V1", "V2", "V3", "V4", "V3A", "V3B", "LO1", "LO2", "MT",
                                                      "MST", "TPOJ1", "TPOJ2"], min_length=1)
    test_fraction: float = Field(0.1, gt=0, lt=1)  #: share of clips held out (the paper's 9:1 split by clip)
    split_seed: int = 0  #: seed of the clip permutation behind the train/test split
    #: the 83-s test-retest montage closing every HCP run: each = all four copies are clips; once = only
    #: MOVIE1's copy; drop = none (a random split by clip would otherwise see the same footage in train and test)
    retest_clips: Literal["each", "once", "drop"] = "once"
    #: movie-segment onset table (CSV: run, movie_file, segment, start_s, stop_s, retest); None = the table
    #: shipped in semvideo/data/hcp_movie_segments.csv
    segment_table: str | None = None


#: the transformers captioners (semvideo.semminer.backends): hf = any image-text model shown frames as images;
#: qwen2.5-vl = Qwen2.5-VL given the clip as a video through its own processor (needs the [gpu] extra's
#: torchvision); llava = a LLaVA model shown frames as images
ModelCaptioner = Literal["hf", "qwen2.5-vl", "llava"]


class CaptionerSpec(Section):
    """One captioner of Table 6's comparison (real data): a label, a backend and its model."""

    label: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")  #: Table 6's row name; the run is ``<name>-<label>``
    backend: ModelCaptioner = "hf"
    model_id: str


class SemMinerConfig(Section):
    """Multi-level captions through the two-stage prompt chain (paper §3.1, Appendix A)."""

    #: oracle = the twin's scene graphs; blip = one short caption for all (twin); or a transformers captioner
    backend: Literal["oracle", "blip"] | ModelCaptioner = "oracle"
    model_id: str | None = None  #: hub id or local path of the model; None = Qwen/Qwen2.5-VL-7B-Instruct
    #: BLIP-2 (Blip2ForConditionalGeneration) id / path for the single-caption baseline on real data; None asks
    #: the chain's model the short ``blip`` prompt about the first frame
    baseline_model_id: str | None = None
    #: Table 6 on real data: each captioner runs the whole pipeline as its own run (semminer.backends.table6_runs)
    captioners: list[CaptionerSpec] = Field(default_factory=list)
    max_basic_words: int = Field(20, ge=1)  #: C_basic is truncated to this many words (the paper's 20)
    n_frames: int = Field(4, ge=1)  #: frames sampled per clip (first and last included) for ``hf``
    batch_size: int = Field(8, ge=1)  #: clips per generate call
    max_new_tokens: int = Field(96, ge=1)  #: generation budget per caption for ``hf``
    #: the captioner's precision; None = the top-level dtype (Qwen2.5-VL ships bfloat16 weights: fp16 overflows)
    dtype: Literal["float32", "float16", "bfloat16"] | None = None

class EmbedConfig(Section):
    """Text targets Z(C): per-token caption embeddings, max_tokens × D (paper §3.2)."""

    backend: Literal["minilm", "clip"] = "minilm"  #: minilm = offline MiniLM (D 384); clip = CLIP text (D 768)
    model_id: str | None = None  #: CLIP text encoder id for ``clip``, e.g. openai/clip-vit-large-patch14
    max_tokens: int = Field(77, ge=2)  #: captions are padded / truncated to this many tokens (CLIP's 77)
    batch_size: int = Field(64, ge=1)  #: captions per encoder call

class SadConfig(Section):
    """Semantic Alignment Decoder, one per level (paper §3.2, appendix C.1); twin sizes by default."""

    hidden_dim: int = Field(128, ge=8)  #: D_l (4096 in the paper)
    dropout: float = Field(0.15, ge=0, lt=1)  #: dropout after each hidden MLP layer
    prior_layers: int = Field(1, ge=1)  #: Refineformer layers (4 in the paper)
    prior_heads: int = Field(2, ge=1)  #: attention heads (8 in the paper)
    prior_head_dim: int = Field(16, ge=8)  #: width per head (64 in the paper)
    prior_timesteps: int = Field(100, ge=1)  #: T, diffusion steps of the Refineformer's training
    prior_sample_steps: int = Field(20, ge=1)  #: DDIM steps of the refining sampler at inference
    #: section4 = λ_SoftCLIP 0.1, λ_refine 0.5 (§4, default); appendix_c = λ_SoftCLIP 0.5, λ_refine 0.1
    loss_weights: Literal["section4", "appendix_c"] = "section4"
    temperature: float = Field(0.05, gt=0)  #: τ of SoftCLIP (eq. 5), on L2-normalised flattened embeddings
    mixco_alpha: float = Field(0.15, gt=0)  #: MixCo mixing weights ~ Beta(α, α) (eq. 14)
    lr: float = Field(1e-3, gt=0)  #: peak LR of the cosine schedule (1e-4 in the paper)
    pretrain_epochs: int = Field(2, ge=0)  #: epochs over all subjects' clips together
    finetune_epochs: int = Field(1, ge=0)  #: epochs per subject, starting from the pre-trained weights
    batch_size: int = Field(128, ge=1)  #: 96 in the paper
    #: also train single-subject SADs (no pre-training, pretrain+finetune epochs) at these levels, for notebook 03
    single_subject_levels: list[Literal["anchor", "motion", "holi"]] = Field(default_factory=lambda: ["anchor"])
    #: caption levels decoded only for baselines: "blip" feeds the single-caption baseline of Tables 1 and 6
    baseline_levels: list[Literal["blip"]] = Field(default_factory=lambda: ["blip"])


class MadConfig(Section):
    """Motion Adaptation Decoder (paper §3.2 eqs. 8–13, appendix C.1; semvideo.models.mad)."""

    proj_channels: int = Field(32, ge=1)  #: c in n × c×h×w (64 in the paper)
    proj_size: int = Field(4, ge=1)  #: h = w of the projected grid (7 in the paper); latent size / 2^k
    hidden_dim: int = Field(256, ge=8)  #: width of the projection's linear layer (256 in the paper)
    mlp_dim: int = Field(512, ge=8)  #: hidden width of the projection MLP (6×4096 in the paper)
    block_channels: list[int] = Field(default_factory=lambda: [32, 16, 8], min_length=1)  #: 3 AttnUpDecoderBlock2D
    head_dim: int = Field(8, ge=1)  #: attention head width (fusion and decoder)
    norm_groups: int = Field(8, ge=1)  #: GroupNorm groups; must divide every block channel count
    dropout: float = Field(0.1, ge=0, lt=1)  #: dropout in the projection MLP
    lr: float = Field(2e-3, gt=0)  #: OneCycle peak LR; the paper's 3e-4 over 100 epochs, higher for 8 CPU epochs
    epochs: int = Field(8, ge=0)  #: the paper trains 100 epochs; 8 on the twin (~1.5 min per model on 2 cores)
    batch_size: int = Field(64, ge=1)  #: clips per step (the paper's 20)
    contrastive_weight: float = Field(0.1, ge=0)  #: weight of eq. 13's contrastive terms relative to L1
    temperature: float = Field(0.1, gt=0)  #: τ of eq. 13
    #: sim() of eq. 13 on frames minus their clip's mean frame (see mad.bidirectional_frame_contrastive); on the
    #: default twin it fits the training frames' order but lowers test SSIM and raises EPE (issue notes), so off
    contrastive_centred: bool = False
    semantic_source: Literal["true", "predicted"] = "true"  #: Z(C_motion) used while training
    #: ê's frames kept to a polynomial of degree < rank in frame time (mad.temporal_basis_projection); None = n,
    #: the paper's MAD. Rank 2 measured better on the default twin but still short of the mean frame's EPE (notes)
    temporal_rank: int | None = Field(None, ge=1)
    #: also write the flow readout baseline (semvideo.models.flow): MAD's clip-mean latent moved along the stimulus
    #: flow decoded from BOLD, a Table 1 row of its own; ê (render, Table 1's MAD row) is always MAD's own
    flow_readout: bool = True
    flow_block: int = Field(4, ge=1)  #: the readout decodes flow averaged over flow_block × flow_block pixels


class PriorsConfig(Section):
    """Where the render's pretrained components come from: hub ids (real) or in-project twin priors."""

    vae: str | None = None  #: hub id / path of an AutoencoderKL (subfolder vae tried); None trains the twin's own
    t2i: str | None = None  #: hub id / path of a UNet2DConditionModel (SD 1.5 for the real configs)
    motion_adapter: str | None = None  #: AnimateDiff motion adapter id / path (or a saved UNetMotionModel)
    sparsectrl: str | None = None  #: SparseCtrl RGB controlnet id / path; None = keyframe latent injection only
    latent_channels: int = Field(4, ge=1)
    vae_downsample: int = Field(4, ge=1)  #: frame_size / latent size (a power of two)
    vae_width: int = Field(16, ge=8)  #: twin VAE channels of its first block (0.24 M parameters at 16)
    unet_width: int = Field(32, ge=8)  #: twin T2I/T2V channels of the first block (second block: twice that)
    vae_epochs: int = Field(10, ge=0)  #: passes over every training frame
    t2i_epochs: int = Field(20, ge=0)  #: passes over the training clips' first frames (anchor captions)
    t2v_epochs: int = Field(5, ge=0)  #: passes over the training clips (holistic captions)
    caption_dropout: float = Field(0.1, ge=0, lt=1)  #: share of captions replaced by the unconditional one
    #: T2V training counts the frame-varying part of its denoising error 1 + this many times (0: the plain
    #: objective, as AnimateDiff trains; semvideo.models.priors.denoising_loss)
    t2v_temporal_weight: float = Field(0.0, ge=0)
    #: T2V training noise whose frames share this much variance (PYoCo's mixed noise; 0: independent per frame, as
    #: AnimateDiff trains); saved in the T2V's config, so the render samples it the same way
    t2v_noise_correlation: float = Field(0.0, ge=0, lt=1)
    #: T2V training also sees every translating training clip played backwards, captioned as the world's clip of
    #: the opposite direction it then is (twin only: the scene graph names it; semvideo.data.synthetic.world.
    #: time_reversed), so that the same frames in the two orders come with captions that differ in direction alone
    t2v_time_reversal: bool = False
    batch_size: int = Field(64, ge=1)  #: frames (VAE, T2I) or clips / 4 (T2V) per step
    lr: float = Field(1e-3, gt=0)  #: peak AdamW LR (cosine schedule)
    probe_clips: int = Field(48, ge=1)  #: test clips sampled to measure caption following
    #: VAE training on random square crops of this side (pixels; the VAE is convolutional, so a 32-px crop
    #: costs a quarter of a 64-px frame per sample); None trains on whole frames
    vae_crop: int | None = Field(None, ge=8, multiple_of=8)
    vae_batch_size: int | None = Field(None, ge=1)  #: frames per VAE step; None = batch_size
    #: VAE training decodes a posterior sample (True) or the posterior mean that every later stage encodes to
    #: (False; benchmarks/vae_fidelity.py measures both)
    vae_sample_posterior: bool = True
    #: a folder of earlier twin priors ({vae,t2i,t2v}/) that training starts from instead of random weights, so a
    #: one-off pre-training continues across sessions; new layers (e.g. the pooled-caption projection) start at
    #: zero, so step 0 reproduces the earlier prior; what a T2V takes from it: ``t2v_warm_start``
    init_from: str | None = None
    #: what a T2V takes from ``init_from``: its motion modules only, the spatial weights coming from the T2I
    #: (AnimateDiff's recipe), or every weight ("whole"), to continue training an earlier T2V as it was
    t2v_warm_start: Literal["motion_modules", "whole"] = "motion_modules"
    pooled_condition: bool = True  #: twin UNets also take the pooled caption in their time embedding

class CvrConfig(Section):
    """Conditional Video Render (paper §3.2, Fig. 3): sampling of the T2I and T2V stages."""

    #: the sampler: DDIM, or DPM-Solver++ (2M), a second-order multistep solver of the same probability-flow ODE
    #: that needs fewer steps for the same error (the paper names none); both on the T2I's noise schedule
    scheduler: Literal["ddim", "dpmsolver++"] = "ddim"
    num_inference_steps: int = Field(20, ge=1)  #: sampler steps of a full schedule (strength runs a share)
    #: classifier-free guidance; <= 1 switches it off. 7.5 is diffusers' default for SD 1.5 and AnimateDiff (the real
    #: configs); on the twin priors it also gives the most caption following (benchmarks/prior_guidance.py)
    guidance_scale: float = Field(7.5, ge=0)
    anchor_strength: float = Field(0.6, ge=0, le=1)  #: img2img strength from the blurry first frame
    video_strength: float = Field(0.7, ge=0, le=1)  #: video-to-video strength from the blurry sequence
    keyframe_injection: bool = True  #: replace frame 1 of the video latent by the (noised) anchor latent
    controlnet_scale: float = Field(1.0, ge=0)  #: SparseCtrl residual scale (when priors.sparsectrl is set)
    batch_size: int = Field(16, ge=1)  #: clips per pipeline call


class EvalConfig(Section):
    """Metrics, statistics and judge classifiers (paper §4, Appendix B; semvideo.metrics)."""

    n_trials: int = Field(100, ge=1)  #: N-way trials per sample
    n_ways: list[int] = Field(default_factory=lambda: [2, 50])
    n_bootstrap: int = Field(100, ge=1)
    n_permutations: int = Field(100, ge=1)  #: shuffle test
    #: random re-pairings of reconstructions with truths: the chance distribution of the N-way columns
    #: (metrics.stats.pairing_null; each draw is a mean over cached scores, so thousands cost seconds)
    n_pairings: int = Field(2000, ge=1)
    vifi_threshold: float = 0.6  #: CLIP-pcc is set to 0 below this VIFI-score
    #: subjects of Table 3, Fig. 5's ablations and the oracle ladder; None = the first subject (the paper's Fig. 5 is
    #: subject 1); [] = none (a run that builds no ablation notebook, e.g. config/hcp_twin.yaml)
    ablation_subjects: list[str] | None = None
    bootstrap_test: Literal["fraction", "normal"] = "fraction"  #: p-value of stats.bootstrap_pvalues
    #: how Table 1's metrics are computed (semvideo.metrics.conventions): ours, or as a paper's code does
    convention: Literal["semvideo", "mindanimator", "mindvideo", "neurons"] = "semvideo"
    #: subjects whose Table 1 rows are also scored under every convention (notebook 06's comparability table;
    #: Mind-Animator's 512-px EPE costs ~2.5 s per clip); None = the first subject; [] = none
    convention_subjects: list[str] | None = None
    convention_clips: int | None = Field(None, ge=1)  #: score only the first n test clips there; None = all
    judge_epochs: int = Field(10, ge=0)  #: twin judges' epochs (image judge: one random frame per clip each)
    video_judge_epochs: int | None = Field(None, ge=0)  #: the video judge's epochs; None = judge_epochs
    #: frames the twin video judge's per-frame appearance stream sees (0: early fusion alone; ≤ frames_per_clip)
    video_judge_appearance_frames: int = Field(0, ge=0)
    judge_size: int = Field(64, ge=8, multiple_of=8)  #: twin judges' input side, pixels
    judge_channels: list[int] = Field(default_factory=lambda: [16, 32, 64], min_length=3, max_length=3)
    judge_batch_size: int = Field(128, ge=1)  #: twin judges' training batch
    judge_lr: float = Field(3e-3, gt=0)  #: twin judges' peak learning rate (OneCycle)
    #: attribute-preserving shifts, zooms (+ turns and mirrors for the image judge) while training the judges
    judge_augmentation: bool = True
    #: share of each training batch with swapped colours, on which only colour-free heads learn (judges.py)
    judge_colour_swap: float = Field(0.5, ge=0, le=1)
    #: twin image judge classes: product of these scene-graph attributes (12 × 8 × 4 = 384)
    image_judge_attributes: list[str] = Field(default_factory=lambda: ["category", "colour", "background"],
                                              min_length=1)
    #: twin video judge classes (12 × 9 = 108)
    video_judge_attributes: list[str] = Field(default_factory=lambda: ["category", "motion"], min_length=1)
    #: twin judges (``image/``, ``video/``) pre-trained on another sample of the twin world, loaded instead of
    #: training them on this run's clips (semvideo/assets/twin_judges, made with config/twin_priors.yaml); None
    #: trains this run's own
    twin_judges: str | None = None
    image_judge: str | None = None  #: ImageNet ViT id (real); None uses the twin's judge
    video_judge: str | None = None  #: VideoMAE K400 id (real)
    clip_model: str | None = None  #: CLIP id for CLIP-pcc (real)

class Config(Section):
    """The whole run. ``name`` picks the artefact folder ``<paths.results>/<name>/``."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    world: Literal["twin", "cc2017", "hcp"] = "twin"
    seed: int = 0
    device: str = "cpu"
    dtype: Literal["float32", "float16", "bfloat16"] = "float32"
    #: torch intra-op threads of every compute stage; None keeps the scheduler's (Snakemake sets OMP_NUM_THREADS
    #: to a job's threads, 1 unless the rule asks for more)
    torch_threads: int | None = Field(None, ge=1)
    #: CPU processes that a stage's independent jobs (renders, SAD and MAD trainings, subjects' evaluations, the twin's
    #: segments) are spread over, the stage's threads divided among them (semvideo.workers); on a GPU jobs run in the
    #: stage's own process
    workers: int = Field(1, ge=1)
    subjects: list[str] = Field(default_factory=lambda: ["subject1", "subject2", "subject3"], min_length=1)
    paths: PathsConfig = PathsConfig()
    twin: TwinConfig = TwinConfig()
    fmri: FmriConfig = FmriConfig()
    semminer: SemMinerConfig = SemMinerConfig()
    embed: EmbedConfig = EmbedConfig()
    sad: SadConfig = SadConfig()
    mad: MadConfig = MadConfig()
    priors: PriorsConfig = PriorsConfig()
    cvr: CvrConfig = CvrConfig()
    eval: EvalConfig = EvalConfig()

    @model_validator(mode="after")
    def _twin_is_consistent(self) -> Config:
        hcp = self.world == "hcp" or (self.world == "twin" and self.twin.layout == "hcp")
        if hcp and not all(s.isdigit() for s in self.subjects):
            raise ValueError(f"the HCP layout names subjects by their HCP ids (e.g. 100610), got {self.subjects}")
        if hcp and self.fmri.clip_seconds < self.fmri.tr:
            raise ValueError(f"fmri.clip_seconds ({self.fmri.clip_seconds} s) is shorter than one TR "
                             f"({self.fmri.tr} s)")
        if self.world == "hcp" and self.fmri.tr != 1.0:
            raise ValueError(f"fmri.tr is {self.fmri.tr} s but HCP 7T movie runs have TR = 1 s")
        if self.eval.video_judge_appearance_frames > self.fmri.frames_per_clip:
            raise ValueError(f"eval.video_judge_appearance_frames ({self.eval.video_judge_appearance_frames}) "
                             f"exceeds fmri.frames_per_clip ({self.fmri.frames_per_clip})")
        unknown = sorted(set(self.eval.ablation_subjects or []) - set(self.subjects))
        if unknown:
            raise ValueError(f"eval.ablation_subjects names {unknown}, which are not in subjects {self.subjects}")
        if self.world != "twin":
            return self
        if len(self.subjects) != self.twin.n_subjects:
            raise ValueError(
                f"subjects lists {len(self.subjects)} names but twin.n_subjects is {self.twin.n_subjects}"
            )
        if self.fmri.tr != self.twin.tr:
            raise ValueError(f"fmri.tr ({self.fmri.tr} s) must equal twin.tr ({self.twin.tr} s)")
        return self

    @property
    def results_dir(self) -> Path:
        """``<paths.results>/<name>``: every artefact of this run lives below it."""
        return Path(self.paths.results) / self.name

    @property
    def figures_dir(self) -> Path:
        return Path(self.paths.figures)


def load_config(path: str | Path, **overrides: Any) -> Config:
    """Read and validate a YAML config; ``overrides`` replace top-level keys (e.g. ``paths=...``).

    ``path`` is a file, or the name of a shipped config (``"default"``, ``"smoke"``, ``"cc2017"`` …): then
    ``config/<name>.yaml`` of the working directory, else the copy inside the installed package, so a notebook
    runs outside a clone. Asset paths of the package (``semvideo/assets/…``) that the working directory lacks
    resolve to the installed package's.

    Raises
    ------
    ConfigError
        One line: the file, the offending key, and what is allowed there.
    """
    path = resolve_config_path(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({_one_line(str(err))})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level, got {type(raw).__name__}")
    _check_keys_are_text(path, raw)
    raw.update(overrides)
    _resolve_package_assets(raw)
    try:
        return Config.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_describe(path, err)) from None


def resolve_config_path(path: str | Path) -> Path:
    """The config file that ``path`` names: a file as given, or a shipped config by name (see :func:`load_config`)."""
    path = Path(path)
    if path.exists():
        return path
    if not path.suffix and len(path.parts) == 1:  # a name
        for candidate in (Path("config") / f"{path}.yaml", PACKAGE_CONFIGS / f"{path}.yaml"):
            if candidate.exists():
                return candidate
    raise ConfigError(f"{path}: config file not found; pass a YAML file or one of the shipped names "
                      f"{shipped_configs()}")


def shipped_configs() -> list[str]:
    """Names of the configs shipped with the package (``config/`` of the repository)."""
    return sorted(p.stem for p in PACKAGE_CONFIGS.glob("*.yaml"))


def _resolve_package_assets(raw: dict) -> None:
    """Point ``semvideo/…`` model sources the working directory lacks at the installed package's files."""
    for section, names in {**MODEL_SOURCES, "priors": (*MODEL_SOURCES["priors"], "init_from")}.items():
        values = raw.get(section)
        for name in names if isinstance(values, dict) else ():
            value = values.get(name)
            if isinstance(value, str) and value.startswith("semvideo/") and not Path(value).exists():
                installed = PACKAGE_DIR.parent / value
                if installed.exists():
                    values[name] = str(installed)


#: The model sources (hub id or local folder) of each config section.
MODEL_SOURCES = {"semminer": ("model_id", "baseline_model_id"), "embed": ("model_id",),
                 "priors": ("vae", "t2i", "motion_adapter", "sparsectrl"),
                 "eval": ("twin_judges", "image_judge", "video_judge", "clip_model")}


def check_model_sources(cfg: Config, sections: tuple[str, ...] | list[str], path: str | Path = "config") -> None:
    """Fail in one line when a model source of ``sections`` names a local folder that does not exist.

    A source is a hub id ("org/name") or a local folder; a value that can only be a local path (absolute,
    ``~``, ``./``, ``../`` or more than one ``/``) must exist. The stages call this before they start, so a typo
    fails at once rather than deep inside ``from_pretrained``; it is not part of :func:`load_config` because a
    rule may produce the folder later in the same workflow.
    """
    for section in sections:
        for name in MODEL_SOURCES[section]:
            value = getattr(getattr(cfg, section), name)
            if value is None:
                continue
            local = value.startswith(("/", "~", "./", "../")) or value.count("/") > 1
            if local and not Path(value).expanduser().exists():
                raise ConfigError(f"{path}: {section}.{name} = {value}: no such file or folder; point it at a saved "
                                  "model folder (save_pretrained) or a hub id, or set it to null to use the "
                                  "twin's own")


def _describe(path: Path, err: ValidationError) -> str:
    """Turn pydantic's first error into one actionable line."""
    first = err.errors()[0]
    loc = tuple(str(part) for part in first["loc"])
    key = ".".join(loc) or "<top level>"
    if first["type"] == "extra_forbidden":
        allowed = ", ".join(_fields_at(loc[:-1]))
        return f"{path}: unknown key '{key}'; allowed keys here: {allowed}"
    return f"{path}: key '{key}': {_one_line(first['msg'])} (got {first.get('input')!r})"


def _check_keys_are_text(path: Path, mapping: dict, prefix: str = "") -> None:
    for key, value in mapping.items():
        if not isinstance(key, str):
            where = f" under '{prefix}'" if prefix else ""
            raise ConfigError(f"{path}: key {key!r}{where} is not text (YAML reads yes/no/on/off/true/false "
                              "and numbers as values); quote it or fix its spelling")
        if isinstance(value, dict):
            _check_keys_are_text(path, value, f"{prefix}.{key}" if prefix else key)


def _fields_at(loc: tuple[str, ...]) -> list[str]:
    model: type[BaseModel] = Config
    for part in loc:
        annotation = model.model_fields[part].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            break
        model = annotation
    return sorted(model.model_fields)


def _one_line(text: str) -> str:
    return " ".join(text.split())
