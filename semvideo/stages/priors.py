"""The ``train-priors`` stage: train (twin) or check (real) the render's priors, and measure what they do.

Caption following is measured, never assumed (DESIGN §4): :func:`evaluate_priors` has the run's twin judges
(trained on the training clips, ``train-judges``) read each scene-graph attribute on real test clips (the
ceiling), on their VAE reconstructions, and on T2I / T2V samples generated from the *true* test captions, with a
binomial test against the majority-class rate and the share of the real clips' accuracy each keeps; the T2V
samples' motion direction is read from their mean optical flow. A prior whose samples stay at chance is flagged
with a warning and ``follows_caption: false`` in ``priors/report.json``. Pre-trained twin priors ship with their
own measurement (``export_twin_priors``), which the stage copies instead of measuring again.
"""

from __future__ import annotations

import json
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from diffusers import AutoencoderKL, UNet2DConditionModel, UNetMotionModel

from semvideo.config import Config
from semvideo.data.prepared import PreparedData
from semvideo.data.synthetic.truth import scene_graphs, scene_labels
from semvideo.data.synthetic.world import time_reversed
from semvideo.device import training_kwargs
from semvideo.embed import load_embeddings, make_embedder
from semvideo.io import atomic_dir, atomic_path, write_json
from semvideo.metrics.following import following_table
from semvideo.metrics.judges import judge_labels, load_judges
from semvideo.metrics.pixel import psnr, ssim
from semvideo.models.cvr import SemVideoPipeline, clip_generators
from semvideo.models.priors import (
    T2V_WARM_START,
    build_t2i_unet,
    build_t2v_unet,
    build_vae,
    decode_latents,
    encode_frames,
    load_t2i,
    load_t2v,
    load_vae,
    make_scheduler,
    train_t2i,
    train_t2v,
    train_vae,
    unconditional_embedding,
    warm_start,
)
from semvideo.paths import RunPaths
from semvideo.plan import EVALUATION_FILES, EVALUATION_KEYS, shipped_evaluation
from semvideo.semminer.backends.oracle import OracleCaptioner
from semvideo.semminer.cache import CaptionCache
from semvideo.semminer.chain import ClipInput, run_chain

__all__ = [
    "FOLLOWING_TARGETS",
    "evaluate_priors",
    "export_twin_priors",
    "holistic_captions",
    "holistic_tokens",
    "read_samples",
    "reconstruction_quality",
    "run_priors",
    "sample_priors",
    "with_time_reversed_translations",
]


# ------------------------------------------------------------------------------------------- evaluation
def _save(model, folder: Path) -> None:
    """``save_pretrained`` (safetensors) into ``folder``, atomically."""
    with atomic_dir(folder) as tmp:
        model.save_pretrained(tmp)


#: Sources of the caption-following table (``priors/following.csv``), the real clips first (the reference)
REAL, VAE, T2I, T2V = ("test clips (ceiling)", "VAE reconstructions", "T2I samples (anchor captions)",
                       "T2V samples (holi captions)")
#: the share of the judges' real-clip accuracy each source must keep (DESIGN §4: samples 80 %, the VAE 90 %)
FOLLOWING_TARGETS = {VAE: 0.9, T2I: 0.8, T2V: 0.8}


def reconstruction_quality(truth: np.ndarray, recon: np.ndarray) -> dict[str, float]:
    """Mean SSIM and PSNR (the paper's conventions, :mod:`semvideo.metrics.pixel`) over uint8 clips (N, T, H, W, 3)."""

    return {"ssim": float(ssim(truth, recon).mean()), "psnr": float(psnr(truth, recon).mean())}


def sample_priors(cfg: Config, vae: AutoencoderKL, t2i: UNet2DConditionModel, t2v: UNetMotionModel,
                  k: int) -> dict[str, np.ndarray]:
    """The first ``k`` test clips and what the priors make of them: ``clip_id``, ``truth`` (k, n, H, W, 3), ``vae``
    reconstructions, ``t2i`` (k, H, W, 3) sampled from Z(C_anchor) and ``t2v`` (k, n, H, W, 3) from Z(C_holi) of
    the *true* captions (from noise: strength 1, no blurry input), all uint8."""

    data = PreparedData.from_config(cfg)
    truth = np.asarray(data.frames("test")[:k])
    pipe = SemVideoPipeline(vae=vae, unet=t2i, motion_unet=t2v, scheduler=make_scheduler())
    pipe.set_progress_bar_config(disable=True)
    steps = {"num_inference_steps": cfg.cvr.num_inference_steps, "guidance_scale": cfg.cvr.guidance_scale}
    anchor, holi = (torch.from_numpy(np.asarray(load_embeddings(cfg, lvl, "test")[:k])) for lvl in ("anchor", "holi"))
    uncond = unconditional_embedding(cfg, anchor.shape[-1])
    zeros = torch.zeros(k, truth.shape[1], *encode_frames(vae, truth[:1, 0]).shape[1:])
    t2i_latents = pipe.img2img(zeros[:, 0], anchor, uncond.expand_as(anchor), 1.0,
                               generator=clip_generators(cfg.seed, range(k)), **steps)
    t2v_latents = pipe.vid2vid(zeros, holi, uncond.expand_as(holi), 1.0,
                               generator=clip_generators(cfg.seed, range(k)), **steps)
    return {"clip_id": data.split_clips("test")["clip_id"].to_numpy()[:k].astype(str), "truth": truth,
            "vae": decode_latents(vae, encode_frames(vae, truth)), "t2i": decode_latents(vae, t2i_latents),
            "t2v": decode_latents(vae, t2v_latents)}


def evaluate_priors(cfg: Config, vae: AutoencoderKL, t2i: UNet2DConditionModel,
                    t2v: UNetMotionModel) -> tuple[dict, pd.DataFrame, dict]:
    """VAE reconstruction and caption following on the first ``priors.probe_clips`` test clips: the samples of
    :func:`sample_priors`, read by :func:`read_samples`. Returns (report, following table, samples)."""

    k = min(cfg.priors.probe_clips, len(PreparedData.from_config(cfg).split_clips("test")))
    samples = sample_priors(cfg, vae, t2i, t2v, k)
    return (*read_samples(cfg, samples), samples)


def read_samples(cfg: Config, samples: dict[str, np.ndarray]) -> tuple[dict, pd.DataFrame]:
    """What the run's twin judges (``train-judges``) and the clips' mean optical flow read on the priors' samples
    (:func:`sample_priors`; :func:`semvideo.metrics.following.following_table`).

    Returns (report, following table). The report holds the VAE's SSIM/PSNR, ``probe_clips``, ``follows_caption``
    (the image judge reads each attribute on the samples above chance at p < 0.01; T2V also the flow's motion
    direction) and ``meets_target`` (the samples keep ≥ 80 % and the VAE's reconstructions ≥ 90 % of the image
    judge's accuracy on the real clips, per attribute).
    """

    graphs = scene_graphs(RunPaths.from_config(cfg).raw)
    judges = load_judges(cfg)
    runners = {"image": judges.image, "video": judges.video}
    labels = {kind: judge_labels(graphs, samples["clip_id"], list(j.model.config.head_names),
                                 [list(v) for v in j.model.config.class_names]) for kind, j in runners.items()}
    motions = scene_labels(graphs, samples["clip_id"], ["motion"])["motion"]  # what each holistic caption names
    sources = {REAL: samples["truth"], VAE: samples["vae"], T2I: samples["t2i"], T2V: samples["t2v"]}
    table = following_table(sources, runners, labels, motions, FOLLOWING_TARGETS)
    report = {"vae_test": reconstruction_quality(samples["truth"], samples["vae"]), "probe_clips": len(samples["clip_id"]),
              "follows_caption": _follows(table), "meets_target": _meets(table),
              "sampling": {"num_inference_steps": cfg.cvr.num_inference_steps,
                           "guidance_scale": cfg.cvr.guidance_scale}}
    return report, table


def _verdicts(table: pd.DataFrame, column: str, sources: dict[str, str]) -> dict:
    """{prior: {attribute: bool}} of ``column`` from the image judge's rows and the flow's motion direction."""
    read = table[table["judge"].isin(["image", "flow"])]
    return {prior: {r.attribute: bool(getattr(r, column)) for r in read[read["source"] == source].itertuples()}
            for source, prior in sources.items()}


def _meets(table: pd.DataFrame) -> dict:
    """{vae/t2i/t2v: {attribute: bool}}: does the source keep its target share of the real clips' accuracy?"""
    return _verdicts(table, "meets", {VAE: "vae", T2I: "t2i", T2V: "t2v"})


def _follows(table: pd.DataFrame) -> dict:
    """{prior: {attribute: bool}} for the T2I and T2V samples; warns loudly about every ignored attribute."""
    out = _verdicts(table, "follows", {T2I: "t2i", T2V: "t2v"})
    for prior, verdicts in out.items():
        ignored = [a for a, ok in verdicts.items() if not ok]
        if ignored:
            warnings.warn(f"the twin {prior.upper()} prior ignores its caption for {', '.join(ignored)} (judge "
                          "accuracy not above chance, p >= 0.01); train it longer (priors.*_epochs) or on a GPU",
                          stacklevel=2)
    return out


# -------------------------------------------------------------------------------------------- the stage
def run_priors(cfg: Config) -> None:
    """Train (twin) or check (real) the render's priors → ``priors/{vae,t2i,t2v}/`` and ``priors/report.json``.

    Twin components not named in ``cfg.priors`` are trained on the training clips only, resuming from
    ``priors/.ckpt/<name>/`` after a kill; the report holds sizes, training times, the VAE's test SSIM/PSNR and
    the caption-following verdicts (the table: ``priors/following.csv``), and ``priors/samples.npz`` holds the
    samples they were read on.
    """
    paths = RunPaths.from_config(cfg)
    sources = {"vae": cfg.priors.vae, "t2i": cfg.priors.t2i, "t2v": cfg.priors.motion_adapter}
    if cfg.world != "twin":
        write_json(paths.priors / "report.json", {"sources": sources, "sparsectrl": cfg.priors.sparsectrl})
        return
    shipped = shipped_evaluation(sources)
    if shipped is None:
        load_judges(cfg)  # the measurement after training reads with them: fail now, not after hours of training
    report = {"sources": sources, "init_from": cfg.priors.init_from, "seconds": {}, "parameters": {}}
    vae, t2i, t2v = _twin_priors(cfg, paths.priors, report)
    report["pretraining"] = _pretraining_reports(sources)
    if shipped is not None:  # pre-trained priors come with their own measurement: reuse it, don't re-probe
        folder, evaluation = shipped
        report.update(evaluation, evaluated_by=str(folder / "report.json"))
        for name in EVALUATION_FILES:
            with atomic_path(paths.priors / name) as tmp:
                shutil.copyfile(folder / name, tmp)
        write_json(paths.priors / "report.json", report)
        return
    evaluation, table, samples = evaluate_priors(cfg, vae, t2i, t2v)
    report.update(evaluation)
    with atomic_path(paths.priors / "following.csv") as tmp:
        table.to_csv(tmp, index=False)
    with atomic_path(paths.priors / "samples.npz") as tmp:
        np.savez_compressed(tmp, **samples)
    write_json(paths.priors / "report.json", report)


def export_twin_priors(source: Path, dest: Path, note: str | None = None) -> list[str]:
    """Ship the priors a ``train-priors`` run trained (``priors/`` of config/twin_priors.yaml) where configs load
    them, with the run's measurement; returns the names of the priors exported.

    Only the priors the run trained are exported (those it loaded from ``priors.vae`` / ``priors.t2i`` are not in
    its folder), so one prior can be continued while the others stay as shipped. The T2I and T2V UNets are stored
    in float16 (half the bytes; ``from_pretrained`` loads them back into float32 parameters), the VAE as it is,
    each folder written atomically; ``following.csv`` is copied and the samples cut to :data:`SHIPPED_SAMPLES`
    clips. An existing ``report.json`` in ``dest`` keeps its history: it takes the run's measured keys
    (:data:`semvideo.plan.EVALUATION_KEYS`), parameter counts and training seconds (added to the shipped ones when
    the run continued them, ``priors.init_from`` = ``dest``), and ``note`` is appended to its note.
    """
    source, dest = Path(source), Path(dest)
    trained = [name for name in ("vae", "t2i", "t2v") if (source / name / "config.json").exists()]
    if not trained:
        raise FileNotFoundError(f"{source} holds no trained prior (vae/, t2i/ or t2v/): run train-priors with "
                                "config/twin_priors.yaml first, and pass its results/<name>/priors folder")
    for name, cls in (("t2i", UNet2DConditionModel), ("t2v", UNetMotionModel)):
        if name in trained:
            _save(cls.from_pretrained(source / name).half(), dest / name)
    if "vae" in trained:
        with atomic_dir(dest / "vae") as tmp:
            shutil.copytree(source / "vae", tmp, dirs_exist_ok=True)
    with atomic_path(dest / "following.csv") as tmp:
        shutil.copyfile(source / "following.csv", tmp)
    with np.load(source / "samples.npz") as samples:
        _ship_samples(samples, dest)
    run = json.loads((source / "report.json").read_text())
    shipped = dest / "report.json"
    report = _merged_report(json.loads(shipped.read_text()), run, trained, dest) if shipped.exists() else run
    if note:
        report["note"] = f"{report['note']} {note}" if report.get("note") else note
    write_json(shipped, report)
    return trained


def _merged_report(shipped: dict, run: dict, trained: list[str], dest: Path) -> dict:
    """The shipped ``report.json`` updated by a run that trained ``trained``: measured keys and parameter counts
    replaced, training seconds summed over the rounds that continued the shipped priors (else replaced)."""
    continued = run.get("init_from") is not None and Path(run["init_from"]).resolve() == dest.resolve()
    seconds = dict(shipped.get("seconds", {}))
    for name in trained:
        earlier = seconds.get(name, 0.0) if continued else 0.0
        seconds[name] = round(earlier + run["seconds"][name], 1)
    return shipped | {key: run[key] for key in EVALUATION_KEYS if key in run} | {
        "seconds": seconds, "parameters": shipped.get("parameters", {}) | run.get("parameters", {})}


#: Sample clips of each kind (truth, VAE, T2I, T2V) shipped with the priors for notebook 05's figure.
SHIPPED_SAMPLES = 8


def _ship_samples(samples, folder: Path) -> None:
    """The first :data:`SHIPPED_SAMPLES` clips of each kind of ``samples`` → ``folder/samples.npz``, atomically."""
    with atomic_path(folder / "samples.npz") as tmp:
        np.savez_compressed(tmp, **{k: v[:SHIPPED_SAMPLES] for k, v in samples.items()})


def loading_priors_from(cfg: Config, folder: str | Path) -> Config:
    """``cfg`` with its VAE, T2I and T2V loaded from one folder of priors (``vae/``, ``t2i/``, ``t2v/``)."""
    folder = Path(folder)
    return cfg.model_copy(update={"priors": cfg.priors.model_copy(update={
        "vae": str(folder / "vae"), "t2i": str(folder / "t2i"), "motion_adapter": str(folder / "t2v")})})


def remeasure_shipped_priors(cfg: Config, folder: str | Path) -> dict:
    """Measure the priors shipped in ``folder`` again with ``cfg``'s render settings (DDIM steps, guidance) and
    judges, and rewrite the folder's measurement: ``following.csv``, ``samples.npz`` (:data:`SHIPPED_SAMPLES`
    clips) and the measured keys of ``report.json`` (:data:`semvideo.plan.EVALUATION_KEYS`). ``cfg`` is the priors'
    own world (config/twin_priors.yaml) after its ``train-judges``. For when a render setting that the shipped
    measurement depends on changes. Returns the new report."""
    folder, cfg = Path(folder), loading_priors_from(cfg, folder)
    evaluation, table, samples = evaluate_priors(cfg, load_vae(cfg), load_t2i(cfg), load_t2v(cfg))
    report = json.loads((folder / "report.json").read_text()) | evaluation
    with atomic_path(folder / "following.csv") as tmp:
        table.to_csv(tmp, index=False)
    _ship_samples(samples, folder)
    write_json(folder / "report.json", report)
    return report


def _pretraining_reports(sources: dict) -> dict:
    """The ``report.json`` saved beside each configured prior folder by its one-off pre-training run (e.g.
    ``semvideo/assets/twin_priors/report.json`` from ``config/twin_priors.yaml``), so that a run that loads
    pre-trained priors still reports how they were made and how well they follow captions."""
    folders = {Path(source).parent for source in sources.values() if source}
    return {str(f / "report.json"): json.loads((f / "report.json").read_text())
            for f in sorted(folders) if (f / "report.json").exists()}


def _count(report: dict, name: str, model: torch.nn.Module) -> torch.nn.Module:
    """Record the model's parameter count in ``report["parameters"][name]``; return the model."""
    report["parameters"][name] = sum(q.numel() for q in model.parameters())
    return model


def _twin_priors(cfg: Config, folder: Path, report: dict):
    """Train (or resume) each twin prior not configured in ``cfg.priors``; load the configured ones."""

    p, ckpt, on_device = cfg.priors, folder / ".ckpt", training_kwargs(cfg)  # device + mixed precision for fit
    if p.vae and p.t2i and p.motion_adapter:  # all pre-trained: nothing to train, no frames to read
        return tuple(_count(report, name, load(cfg)) for name, load in
                     (("vae", load_vae), ("t2i", load_t2i), ("t2v", load_t2v)))
    frames = np.asarray(PreparedData.from_config(cfg).frames("train"))  # (N, n, H, W, 3)

    def timed(name, train):
        start = time.perf_counter()
        model = train()
        report["seconds"][name] = round(time.perf_counter() - start, 1)
        return counted(name, model)

    counted = lambda name, model: _count(report, name, model)

    def vae_fn():
        torch.manual_seed(cfg.seed)  # the initial weights, so that a run is repeatable from its seed
        vae = build_vae(frames.shape[-2], p.latent_channels, p.vae_downsample, p.vae_width)
        warm_start(vae, p.init_from, "vae")
        train_vae(vae, frames.reshape(-1, *frames.shape[-3:]), ckpt / "vae", p.vae_epochs,
                  p.vae_batch_size or p.batch_size, p.lr, cfg.seed, p.vae_crop, p.vae_sample_posterior, **on_device)
        _save(vae, folder / "vae")
        return vae

    vae = counted("vae", load_vae(cfg)) if p.vae else timed("vae", vae_fn)
    latents = encode_frames(vae, frames)  # (N, n, C, h, w)
    anchor, holi = (load_embeddings(cfg, level, "train") for level in ("anchor", "holi"))
    uncond = unconditional_embedding(cfg, anchor.shape[-1])

    def t2i_fn():
        torch.manual_seed(cfg.seed)
        unet = build_t2i_unet(latents.shape[-1], latents.shape[2], anchor.shape[-1], p.unet_width,
                              pooled_condition=p.pooled_condition)
        warm_start(unet, p.init_from, "t2i")
        train_t2i(unet, latents[:, 0], anchor, uncond, ckpt / "t2i", p.t2i_epochs, p.batch_size, p.lr, cfg.seed,
                  p.caption_dropout, **on_device)
        _save(unet, folder / "t2i")
        return unet

    t2i = counted("t2i", load_t2i(cfg)) if p.t2i else timed("t2i", t2i_fn)

    def t2v_fn():
        torch.manual_seed(cfg.seed)
        unet = build_t2v_unet(t2i, max_frames=max(16, latents.shape[1]))
        warm_start(unet, p.init_from, "t2v", only=T2V_WARM_START[p.t2v_warm_start])
        clips, captions = latents, holi
        if p.t2v_time_reversal:
            clips, captions = with_time_reversed_translations(
                _train_graphs(cfg), latents, holi, holistic_tokens(cfg, ckpt / "reversed_captions.jsonl"),
                cfg.fmri.clip_seconds)
        train_t2v(unet, clips, captions, uncond, ckpt / "t2v", p.t2v_epochs, max(1, p.batch_size // 4), p.lr,
                  cfg.seed, p.caption_dropout, p.t2v_temporal_weight, p.t2v_noise_correlation, **on_device)
        _save(unet, folder / "t2v")
        return unet

    t2v = counted("t2v", load_t2v(cfg)) if p.motion_adapter else timed("t2v", t2v_fn)
    return vae, t2i, t2v


def with_time_reversed_translations(graphs: list[dict], latents: torch.Tensor, embeds: np.ndarray,
                                    caption_tokens, clip_seconds: float) -> tuple[torch.Tensor, np.ndarray]:
    """The T2V's training clips plus every translating one played backwards (``priors.t2v_time_reversal``).

    graphs: the scene graphs of the clips, in the order of ``latents`` (N, n, C, h, w) and ``embeds`` (N, 77, D);
    ``caption_tokens(graphs) -> (M, 77, D)`` embeds the holistic captions of scene graphs (:func:`holistic_tokens`).
    A clip played backwards is the world's clip of :func:`~semvideo.data.synthetic.world.time_reversed`, so it gets
    that clip's caption: the frames of both orders come with captions that differ in the direction of motion (and
    where it starts and ends), which is what the T2V's loss could not tell apart (benchmarks/t2v_caption_use.py:
    frames reversed under the same caption cost it nothing). Returns (N + M, ...) latents and embeddings, originals
    first.
    """
    pairs = [(row, rev) for row, graph in enumerate(graphs) if (rev := time_reversed(graph, clip_seconds))]
    if not pairs:
        return latents, embeds
    rows, reversed_graphs = zip(*pairs)
    return (torch.cat([latents, latents[list(rows)].flip(1)]),
            np.concatenate([embeds, caption_tokens(list(reversed_graphs))]))


def _train_graphs(cfg: Config) -> list[dict]:
    """Scene graphs of the training clips, in the order of their frames and embeddings."""
    graphs = scene_graphs(RunPaths.from_config(cfg).raw)
    return [graphs[clip_id] for clip_id in PreparedData.from_config(cfg).split_clips("train")["clip_id"]]


def holistic_tokens(cfg: Config, cache: Path):
    """graphs -> (M, 77, D): their holistic captions (:func:`holistic_captions`), embedded as the embed stage
    embeds captions."""
    return lambda graphs: make_embedder(cfg).tokens(holistic_captions(graphs, cache, cfg.semminer.max_basic_words))


def holistic_captions(graphs: list[dict], cache: Path, max_basic_words: int = 20) -> list[str]:
    """The holistic captions the twin's SemMiner chain (scene-graph captioner) writes for ``graphs``, cached in
    the caption file ``cache``."""
    chain = run_chain(OracleCaptioner(), [ClipInput(g["clip_id"], g) for g in graphs], CaptionCache(cache),
                      max_basic_words)
    return [chain[g["clip_id"]]["holi"] for g in graphs]
