"""SemMiner backends behind the :class:`~semvideo.semminer.chain.Captioner` interface.

``oracle`` (the twin: scene graph → captions), ``blip`` (the twin's single short-caption baseline), and the
transformers captioners, imported only when used: ``hf`` (any image-text model), ``llava`` (LLaVA, frames as
images), ``qwen2.5-vl`` (the clip as a video) and, for the single-caption baseline on real data, BLIP-2.
:func:`table6_runs` turns ``semminer.captioners`` into one run per captioner (Table 6 on real data).
"""

from __future__ import annotations

from semvideo.config import Config
from semvideo.semminer.backends.blip import BlipStyleCaptioner
from semvideo.semminer.backends.oracle import OracleCaptioner
from semvideo.semminer.chain import ClipInput

__all__ = ["BaselineRouter", "BlipStyleCaptioner", "OracleCaptioner", "model_captioner", "table6_runs"]


def model_captioner(cfg: Config, backend: str | None = None, model_id: str | None = None):
    """The transformers captioner of ``backend`` (default ``semminer.backend``) on ``cfg.device`` in
    ``semminer.dtype`` (else ``dtype``); wrapped in :class:`BaselineRouter` when ``semminer.baseline_model_id``
    names a BLIP-2 model for the ``blip`` level."""
    # deferred: the real captioners load transformers' multimodal classes (only the real path needs them), and
    # hf.py imports this package back
    from semvideo.device import resolve_device
    from semvideo.semminer.backends.hf import DEFAULT_MODEL, HFCaptioner, LlavaCaptioner

    sm = cfg.semminer
    backend = backend or sm.backend
    device, dtype = str(resolve_device(cfg)), sm.dtype or cfg.dtype
    args = (model_id or sm.model_id or DEFAULT_MODEL, sm.n_frames, sm.max_new_tokens, device, dtype)
    if backend == "qwen2.5-vl":
        from semvideo.semminer.backends.qwen import QwenVideoCaptioner

        captioner = QwenVideoCaptioner(*args, fps=cfg.fmri.frames_per_clip / cfg.fmri.clip_seconds)
    elif backend == "llava":
        captioner = LlavaCaptioner(*args)
    elif backend == "hf":
        captioner = HFCaptioner(*args)
    else:
        raise ValueError(f"semminer.backend '{backend}' is not a transformers captioner; use hf, llava or "
                         "qwen2.5-vl")
    if sm.baseline_model_id is None:
        return captioner
    from semvideo.semminer.backends.blip2 import Blip2Captioner

    return BaselineRouter(captioner, Blip2Captioner(sm.baseline_model_id, device=device, dtype=dtype))


class BaselineRouter:
    """SemMiner's chain levels to ``chain``, the single-caption ``blip`` level to ``baseline`` (BLIP-2).

    Its ``name`` and ``model_id`` name both models, so cached captions of another pairing are never reused.
    """

    def __init__(self, chain, baseline):
        self.chain, self.baseline = chain, baseline
        self.name = f"{chain.name}+{baseline.name}"
        self.model_id = f"{chain.model_id}|{baseline.model_id}"

    def generate(self, level: str, prompts: list[str], clips: list[ClipInput],
                 basics: list[str | None]) -> list[str]:
        return (self.baseline if level == "blip" else self.chain).generate(level, prompts, clips, basics)


def table6_runs(cfg: Config) -> dict[str, Config]:
    """Table 6 on real data: {label: the run's config} for every entry of ``semminer.captioners``.

    Each run is the configured pipeline with only SemMiner's captioner swapped, under its own name
    ``<name>-<label>`` (its own ``results/`` folder), so the rows differ in the captioner alone. Empty when no
    captioners are configured (the twin's Table 6 keeps oracle vs BLIP-style).
    """
    runs = {}
    for spec in cfg.semminer.captioners:
        semminer = cfg.semminer.model_copy(update={"backend": spec.backend, "model_id": spec.model_id,
                                                   "captioners": []})
        runs[spec.label] = cfg.model_copy(update={"name": f"{cfg.name}-{spec.label}", "semminer": semminer})
    return runs
