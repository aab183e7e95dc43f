"""The ``render`` stage: render the test set for every method (Table 1's for every subject, the ablations and the
oracle ladder for the ablation subjects) with the CVR pipeline → ``recon/[<variant>/]{subject}.npz``.

The pipeline, its settings and the render variants (what feeds each method) are :mod:`semvideo.models.cvr`; this
module makes the (method, subject) renders a config asks for (:func:`semvideo.plan.render_jobs`), finds and
checks their inputs in the run folder (``mad/``, ``sad/pred/``, ``embeddings/``) and writes ``recon/``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from semvideo.config import Config
from semvideo.data.prepared import PreparedData
from semvideo.device import peak_memory, resolve_device, resolve_dtype
from semvideo.io import atomic_path, write_json
from semvideo.models import priors as priors_lib
from semvideo.models.cvr import SemVideoPipeline, clip_generators, load_pipeline, render_kwargs
from semvideo.paths import RunPaths
from semvideo.plan import TRUTH, RenderVariant, recon_path, render_jobs, render_variant, true_source
from semvideo.workers import map_jobs

__all__ = ["render_method", "run_render"]


def run_render(cfg: Config) -> None:
    """Render the test set for every method of :func:`render_jobs` → ``recon/[<variant>/]{subject}.npz``.

    Each file holds uint8 ``frames``, ``blurry``, ``anchor`` and ``clip_id``. Inputs: MAD's
    ``mad/pred/{subject}{suffix}_latents.npy`` (N, n, C, h, w) and SAD's ``sad/pred/{subject}_{level}_refined.npy``
    (N, 77, D); the oracle variants also read the truth, ``mad/latents_test.npy`` (E(V), cached by train-mad) and
    ``embeddings/{level}_test.npy``. Also writes ``recon/timing.json`` (seconds per clip per method and subject).
    """
    device = resolve_device(cfg)  # a config that names a missing GPU stops here, in one line
    paths = RunPaths.from_config(cfg)
    clip_ids = PreparedData.from_config(cfg).split_clips("test")["clip_id"].to_numpy().astype(str)
    for method, subject in render_jobs(cfg):  # every input present and aligned before the first render
        _render_inputs(paths, subject, len(clip_ids), render_variant(method))
    # the renders from noise (strength 1, every denoising step) first, so that the workers finish together
    jobs = sorted(render_jobs(cfg), key=lambda job: render_variant(job[0]).mad is not None)
    usage = {"dtype": str(resolve_dtype(cfg)), "workers": min(cfg.workers, len(jobs))}
    with peak_memory(device, usage):
        seconds = map_jobs(cfg, _timed_render, [(cfg, *job) for job in jobs], setup=load_pipeline, setup_args=(cfg,))
    timing = {}
    for (method, subject), spent in zip(jobs, seconds):
        timing.setdefault(method, {})[subject] = spent / len(clip_ids)
    write_json(paths.recon / "timing.json", {"seconds_per_clip": timing, "kwargs": render_kwargs(cfg),
                                             "device": usage})


def _timed_render(pipe: SemVideoPipeline, job: tuple[Config, str, str]) -> float:
    """Seconds that :func:`render_method` took for one (config, method, subject) job (a :func:`map_jobs` job)."""
    cfg, method, subject = job
    start = time.perf_counter()
    render_method(cfg, pipe, method, subject)
    return time.perf_counter() - start


def render_method(cfg: Config, pipe: SemVideoPipeline, method: str, subject: str, target: Path | None = None) -> Path:
    """Render one method of :mod:`semvideo.plan` (e.g. ``"SemVideo"``, ``"w/o C_anchor"``, an oracle row) on one
    subject's test clips with ``pipe`` → ``target`` (default: its place in the run, :func:`recon_path`), written
    atomically; returns ``target``. The inputs are read from the run folder as :func:`run_render` reads them."""
    target = recon_path(cfg, method, subject) if target is None else Path(target)
    clip_ids = PreparedData.from_config(cfg).split_clips("test")["clip_id"].to_numpy().astype(str)
    _render_variant(cfg, pipe, RunPaths.from_config(cfg), subject, render_variant(method), clip_ids, target)
    return target


def _render_variant(cfg: Config, pipe: SemVideoPipeline, paths, subject: str, variant: RenderVariant,
                    clip_ids: np.ndarray, target: Path) -> None:
    latents, anchor, holi = _render_inputs(paths, subject, len(clip_ids), variant)
    negative = priors_lib.unconditional_embedding(cfg, anchor.shape[-1] if anchor is not None else
                                                  _text_dim(paths, subject))
    kwargs = render_kwargs(cfg) | {"noise_correlation": variant.noise_correlation}  # None: the T2V's own
    if latents is None:  # w/o MAD, oracle (b): nothing to start from, both stages generate from noise
        kwargs.update(anchor_strength=1.0, video_strength=1.0)
    parts = []
    for first in tqdm(range(0, len(clip_ids), cfg.cvr.batch_size), desc=f"render {variant.folder or 'SemVideo'} "
                                                                          f"{subject}"):
        rows = slice(first, min(first + cfg.cvr.batch_size, len(clip_ids)))
        n = rows.stop - rows.start
        text = lambda z, n=n, rows=rows: negative.expand(n, *negative.shape) if z is None else torch.from_numpy(
            np.ascontiguousarray(z[rows]))
        motion = (torch.zeros(n, *_latent_shape(paths, subject)) if latents is None else
                  torch.from_numpy(np.ascontiguousarray(latents[rows])))
        parts.append(pipe(motion, text(anchor), text(holi), negative_prompt_embeds=negative,
                          generator=clip_generators(cfg.seed, range(rows.start, rows.stop)), **kwargs))
    with atomic_path(target) as tmp:
        np.savez(tmp, clip_id=clip_ids, **{k: np.concatenate([getattr(p, k) for p in parts])
                                           for k in ("frames", "blurry", "anchor")})


def _text_dim(paths, subject: str) -> int:
    return np.load(paths.sad / "pred" / f"{subject}_anchor_refined.npy", mmap_mode="r").shape[-1]


def _latent_shape(paths, subject: str) -> tuple[int, ...]:
    return np.load(paths.mad / "pred" / f"{subject}_latents.npy", mmap_mode="r").shape[1:]


def _render_inputs(paths, subject: str, n_test: int, variant: RenderVariant):
    """(motion latents, embedding for T2I, embedding for T2V) of one subject and variant, memory-mapped and checked
    against the test set; an entry is None where the variant removes it."""
    files = [_latent_file(paths, subject, variant.mad)] + [
        _embedding_file(paths, subject, level) for level in (variant.anchor_level, variant.holi_level)]
    arrays = []
    for path, stage in files:
        if path is None:
            arrays.append(None)
            continue
        if not path.exists():
            raise FileNotFoundError(f"{path}: missing; run `python -m semvideo {stage} --config ...` first")
        arrays.append(np.load(path, mmap_mode="r"))
        if len(arrays[-1]) != n_test:
            raise ValueError(f"{path}: {len(arrays[-1])} rows but data/clips.csv has {n_test} test clips; "
                             "rerun the stage that wrote it")
    return tuple(arrays)


def _latent_file(paths, subject: str, mad: str | None):
    """(file, stage that writes it) of a variant's motion latents: MAD's ê, or E(V) of the true test frames."""
    if mad is None:
        return None, None
    return (paths.mad / "latents_test.npy" if mad == TRUTH else
            paths.mad / "pred" / f"{subject}{mad}_latents.npy"), "train-mad"


def _embedding_file(paths, subject: str, level: str | None):
    """(file, stage that writes it) of a variant's text condition: SAD's Ẑ, or the true captions' Z(C)."""
    if level is None:
        return None, None
    if true_source(level):
        return paths.embeddings / f"{true_source(level)}_test.npy", "embed"
    return paths.sad / "pred" / f"{subject}_{level}_refined.npy", "train-sad"
