"""What a run makes, without loading torch: the rendered methods and what feeds each (the render variants), which
(method, subject) renders and files a config asks for, the MAD variants, the subjects of the ablations and of
the metric conventions, and whether the priors stage measures its priors. The Snakefile and the notebooks read
these; the stages that make the files are :mod:`semvideo.stages`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from semvideo.config import Config

__all__ = ["ABLATION_VARIANTS", "EVALUATION_FILES", "EVALUATION_KEYS", "MAD_VARIANTS", "ORACLE_LADDER",
           "ORACLE_VARIANTS", "RENDER_VARIANTS", "SAMPLER_VARIANTS", "TRUTH", "VAE_ROUND_TRIP", "RenderVariant",
           "ablation_subjects", "convention_subjects", "evaluates_priors", "recon_path", "render_jobs", "render_variant",
           "shipped_evaluation", "true_level", "true_source"]

#: The trained variants: the full MAD and the "w/o C_motion" ablation (``use_semantic=False``: no cross-attention
#: to Ẑ(C_motion)), named ``wo_motion`` in code, file names and the render's variants and "w/o C_motion" in tables;
#: the value is the file-name suffix of its artefacts under ``mad/``.
MAD_VARIANTS = {"full": "", "wo_motion": "_wo_motion"}


#: ``RenderVariant.mad`` for the true video's latents E(V) (``mad/latents_test.npy``) as the blurry input
TRUTH = "truth"
_TRUE_PREFIX = "true:"


def true_level(level: str) -> str:
    """The ``RenderVariant`` level name of a caption level's *true* embedding: ``"true:anchor"`` →
    ``embeddings/anchor_test.npy`` (Z(C) of the true captions) instead of SAD's decoded Ẑ."""
    return f"{_TRUE_PREFIX}{level}"


def true_source(level: str) -> str | None:
    """The caption level whose true embedding a ``RenderVariant`` level names (``"true:anchor"`` → ``"anchor"``, the
    inverse of :func:`true_level`), or None for a level decoded by SAD."""
    return level.removeprefix(_TRUE_PREFIX) if level.startswith(_TRUE_PREFIX) else None


@dataclass(frozen=True)
class RenderVariant:
    """What feeds the render of one method: a motion-latent source and the embeddings that condition each stage.

    ``mad``: suffix of MAD's prediction files (``""`` full, ``"_wo_motion"`` without C_motion), :data:`TRUTH` for
    the true video's latents E(V) (the oracle ladder), or None for no motion latents (both stages then generate
    from noise, strength 1). ``anchor_level`` / ``holi_level``: the SAD level whose Ẑ conditions the T2I / T2V
    stage, ``true_level(level)`` (``"true:anchor"``) for that level's true caption embedding, or None for the
    unconditional embedding (the level removed). ``noise_correlation``: the correlation between frames of the
    T2V stage's noise, None for the T2V's own (the paper's independent noise). ``folder``: where its
    reconstructions go under ``recon/`` ("" = ``recon/`` itself).
    """

    folder: str
    mad: str | None = ""
    anchor_level: str | None = "anchor"
    holi_level: str | None = "holi"
    noise_correlation: float | None = None

    @property
    def uses_truth(self) -> bool:
        """Whether any input is the truth rather than decoded from fMRI (an oracle)."""
        levels = (self.anchor_level or "", self.holi_level or "")
        return self.mad == TRUTH or any(true_source(level) for level in levels)


#: Table 1's render-based rows (every subject) and Table 3 / Fig. 5's ablations (``eval.ablation_subjects``).
#: A removed caption level is removed from the SAD's targets (its Ẑ is never decoded) and from the stage of
#: the render it conditions (that stage runs on the unconditional embedding); w/o C_motion is the MAD trained
#: without its cross-attention to Ẑ(C_motion); w/o MAD drops the blurry video (T2I and T2V from noise).
#: The single-caption baseline (NeuroClips / Mind-Animator family) conditions both stages on one short
#: BLIP-style caption decoded by its own SAD, with the MAD that sees no motion caption.
RENDER_VARIANTS = {
    "SemVideo": RenderVariant(""),
    "Single caption (BLIP-style)": RenderVariant("single_caption", mad="_wo_motion", anchor_level="blip",
                                                 holi_level="blip"),
}
ABLATION_VARIANTS = {
    "w/o C_anchor": RenderVariant("wo_anchor", anchor_level=None),
    "w/o C_holi": RenderVariant("wo_holi", holi_level=None),
    "w/o C_motion": RenderVariant("wo_motion", mad="_wo_motion"),
    "w/o MAD": RenderVariant("wo_mad", mad=None),
}
_TRUE_CAPTIONS = {"anchor_level": true_level("anchor"), "holi_level": true_level("holi")}
#: The oracle ladder's renders (DESIGN §5; rows b–e, ablation subjects): the truth replaces one decoded input at
#: a time. Rows (b) and (c) read no fMRI; they are rendered once per ablation subject all the same (the same
#: clip seeds, so the same frames), which keeps every method's layout ``recon/<folder>/{subject}.npz``. Row (a),
#: the VAE round trip of the true clip, is not a render (:data:`VAE_ROUND_TRIP`);
#: row (f) is SemVideo.
ORACLE_VARIANTS = {
    "Oracle (b): true captions alone": RenderVariant("oracle_captions", mad=None, **_TRUE_CAPTIONS),
    "Oracle (c): true captions + true latents": RenderVariant("oracle_captions_latents", mad=TRUTH,
                                                              **_TRUE_CAPTIONS),
    "Oracle (d): true captions + MAD's ê": RenderVariant("oracle_captions_mad", mad="", **_TRUE_CAPTIONS),
    "Oracle (e): decoded captions + true latents": RenderVariant("oracle_latents", mad=TRUTH),
}

#: Our own render row, not the paper's method (ablation subjects; Fig. 5 and the scores): SemVideo with the T2V
#: stage's noise shared between frames (PYoCo's mixed noise, correlation 0.9; :func:`semvideo.models.priors.frame_noise`).
#: The twin T2V's samples flicker from independent noise (benchmarks/t2v_coherence.py: frames change 7.4 uint8
#: levels from one to the next, real clips 2.6, samples from noise correlated 0.9 2.4), which adds motion of its own
#: to MAD's; this row measures how much of SemVideo's motion error that is. Same inputs and seeds as SemVideo.
SAMPLER_VARIANTS = {
    "SemVideo, frame-correlated noise (ours)": RenderVariant("frame_correlated_noise", noise_correlation=0.9),
}

#: Row (a) of the oracle ladder: the VAE decoding of the true clip's latents E(V), scored by the ``evaluate`` stage.
VAE_ROUND_TRIP = "Oracle (a): VAE round trip"
#: The oracle ladder's rows in order, (a) the ceiling to (f) everything decoded.
ORACLE_LADDER = (VAE_ROUND_TRIP, *ORACLE_VARIANTS, "SemVideo")


def render_variant(method: str) -> RenderVariant:
    """The :class:`RenderVariant` of a rendered method (Table 1, ablations, the oracle ladder or our sampler row)."""
    variants = {**RENDER_VARIANTS, **ABLATION_VARIANTS, **ORACLE_VARIANTS, **SAMPLER_VARIANTS}
    if method not in variants:
        raise KeyError(f"'{method}' is not a rendered method; known: {sorted(variants)}")
    return variants[method]


def ablation_subjects(cfg: Config) -> list[str]:
    """Subjects of the ablations (Table 3, Fig. 5) and the oracle ladder: ``eval.ablation_subjects``, else the
    first subject (the paper's Fig. 5 shows subject 1); an empty list renders none."""
    return cfg.subjects[:1] if cfg.eval.ablation_subjects is None else list(cfg.eval.ablation_subjects)


def render_jobs(cfg: Config) -> list[tuple[str, str]]:
    """Every (method, subject) the render stage produces, in order: Table 1's for every subject, then the
    ablations, the oracle ladder and our sampler row for the ablation subjects."""
    jobs = [(method, s) for method in RENDER_VARIANTS for s in cfg.subjects]
    return jobs + [(method, s) for method in (*ABLATION_VARIANTS, *ORACLE_VARIANTS, *SAMPLER_VARIANTS)
                   for s in ablation_subjects(cfg)]


def recon_path(cfg: Config, method: str, subject: str):
    """``recon/[<variant folder>/]{subject}.npz`` of one method (no dataset needed: Snakemake calls it)."""
    return cfg.results_dir / "recon" / render_variant(method).folder / f"{subject}.npz"


def convention_subjects(cfg: Config) -> list[str]:
    """Subjects scored under every convention (``eval.convention_subjects``, else the first subject; an empty
    list scores none)."""
    subjects = cfg.subjects[:1] if cfg.eval.convention_subjects is None else list(cfg.eval.convention_subjects)
    unknown = sorted(set(subjects) - set(cfg.subjects))
    if unknown:
        raise ValueError(f"eval.convention_subjects names {unknown}, which are not in subjects {cfg.subjects}")
    return subjects


#: What :func:`semvideo.stages.priors.evaluate_priors` writes beside ``report.json`` (and what a shipped prior
#: folder carries).
EVALUATION_FILES = ("following.csv", "samples.npz")
#: The keys of ``report.json`` that :func:`semvideo.stages.priors.evaluate_priors` measures (a shipped report must
#: hold the first four; ``sampling`` — the DDIM steps and guidance the samples were drawn with — came later).
EVALUATION_KEYS = ("vae_test", "probe_clips", "follows_caption", "meets_target", "sampling")


def evaluates_priors(cfg: Config) -> bool:
    """Does ``train-priors`` measure the priors itself (twin priors without a shipped evaluation)? Then it reads
    them with the run's judges, so the workflow trains those first."""
    sources = {"vae": cfg.priors.vae, "t2i": cfg.priors.t2i, "t2v": cfg.priors.motion_adapter}
    return cfg.world == "twin" and shipped_evaluation(sources) is None


def shipped_evaluation(sources: dict) -> tuple[Path, dict] | None:
    """(folder, measured keys of its report) when all three priors are configured from one folder whose
    pre-training report holds their evaluation (``export_twin_priors`` ships it), else None."""
    folders = {Path(source).parent for source in sources.values() if source}
    if len(folders) != 1 or not all(sources.values()):
        return None
    folder = folders.pop()
    report_file = folder / "report.json"
    if not report_file.exists() or not all((folder / name).exists() for name in EVALUATION_FILES):
        return None
    shipped = json.loads(report_file.read_text())
    if not all(key in shipped for key in EVALUATION_KEYS[:4]):
        return None
    return folder, {key: shipped[key] for key in EVALUATION_KEYS if key in shipped}
