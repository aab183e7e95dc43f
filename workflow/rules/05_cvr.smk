# 05 · CVR: the render's priors (twin: trained once on the training clips; real: SD 1.5 + AnimateDiff from the
# hub), the render of the whole test set per subject, and the notebook with Figs. 1/4/9/11 (Fig. 10 for a run in
# the HCP 7T layout) and the viewer.
#
# train_priors is the expensive one-off target (DESIGN §4): its outputs are small safetensors folders that every
# later rule reuses; it only reruns when its inputs change. Its checkpoints (priors/.ckpt/) are deliberately not
# declared outputs, so a killed run resumes instead of starting over.

from semvideo.plan import evaluates_priors

TWIN_PRIORS = {name: directory(f"{RESULTS}/priors/{name}") for name, source in
               (("vae", CFG.priors.vae), ("t2i", CFG.priors.t2i), ("t2v", CFG.priors.motion_adapter))
               if CFG.world == "twin" and source is None}
PRIOR_REPORTS = [f"{RESULTS}/priors/{name}" for name in ("following.csv", "samples.npz")] if CFG.world == "twin" else []
# priors measured here (not shipped with their evaluation) are read by this run's judges
PRIOR_JUDGES = [f"{RESULTS}/judges/summary.json"] if evaluates_priors(CFG) else []


rule train_priors:
    input:
        data=rules.prepare.output,
        embeddings=[f"{RESULTS}/embeddings/{level}_{split}.npy" for level in ("anchor", "holi")
                    for split in ("train", "test")],
        judges=PRIOR_JUDGES,
        lib=library("stages/priors.py", "models/priors.py", "models/cvr.py", "train.py", "metrics/following.py"),
        cfg=CONFIG_PATH,
    output:
        **TWIN_PRIORS,
        report=f"{RESULTS}/priors/report.json",
        evaluation=PRIOR_REPORTS,
    benchmark:
        f"{RESULTS}/benchmarks/train_priors.tsv"
    log:
        f"{RESULTS}/logs/train_priors.log",
    priority: STAGE_PRIORITY
    shell:
        "python -m semvideo train-priors --config {CONFIG_PATH} > {log} 2>&1"


from semvideo.data.hcp import uses_hcp_layout
from semvideo.plan import recon_path, render_jobs

RECON = {job: str(recon_path(CFG, *job)) for job in render_jobs(CFG)}  # (method, subject) → recon/…/{subject}.npz


rule render:
    input:
        priors=rules.train_priors.output.report,
        mad=[f"{RESULTS}/mad/pred/{s}{v}_latents.npy" for s in CFG.subjects for v in MAD_SUFFIXES],
        sad=[f"{RESULTS}/sad/pred/{s}_{level}_refined.npy" for s in CFG.subjects
             for level in ("anchor", "holi", *CFG.sad.baseline_levels)],
        # the oracle ladder's true captions and true latents E(V) (cvr.ORACLE_VARIANTS)
        truth=[f"{RESULTS}/embeddings/{level}_test.npy" for level in ("anchor", "holi")],
        truth_latents=f"{RESULTS}/mad/latents_test.npy",
        lib=library("stages/render.py", "models/cvr.py", "models/priors.py"),
        cfg=CONFIG_PATH,
    output:
        recon=[RECON[("SemVideo", s)] for s in CFG.subjects],
        variants=[path for (method, _), path in RECON.items() if method != "SemVideo"],
        timing=f"{RESULTS}/recon/timing.json",
    benchmark:
        f"{RESULTS}/benchmarks/render.tsv"
    log:
        f"{RESULTS}/logs/render.log",
    priority: STAGE_PRIORITY
    shell:
        "python -m semvideo render --config {CONFIG_PATH} > {log} 2>&1"


rule nb_05_cvr:
    input:
        nb="notebooks/05_cvr.py",
        recon=rules.render.output.recon,
        timing=rules.render.output.timing,
        priors=rules.train_priors.output.report,
        lib=library("models/cvr.py", "models/priors.py", "metrics/pixel.py", "viz.py"),
        cfg=CONFIG_PATH,
    output:
        nb=f"{RESULTS}/notebooks/05_cvr.ipynb",
        figures=[f"{FIGURES}/{name}.{ext}" for name in (
            ("fig10_reconstructions_hcp",) if uses_hcp_layout(CFG) else
            ("fig1_reconstruction", "fig4_reconstructions", "fig9_reconstructions_subjects", "fig11_failure_cases"))
            for ext in ("png", "pdf")] + [f"{FIGURES}/cvr_render_time.{ext}" for ext in ("csv", "md")] + [
            f"{FIGURES}/cvr_strip_{s}.gif" for s in CFG.subjects] + ([
            f"{FIGURES}/{name}.{ext}" for name, exts in (("priors_summary", ("csv", "md")),
                                                         ("priors_caption_following", ("csv", "md")),
                                                         ("priors_samples", ("png", "pdf"))) for ext in exts]
            if CFG.world == "twin" else []),
    benchmark:
        f"{RESULTS}/benchmarks/nb_05_cvr.tsv"
    log:
        f"{RESULTS}/logs/05_cvr.log",
    shell:
        PAPERMILL


ALL_OUTPUTS += rules.nb_05_cvr.output.figures
