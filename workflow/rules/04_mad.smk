# 04 · MAD: train the Motion Adaptation Decoder (and its "w/o C_motion" variant) per subject, predict the test
# set's motion latents ê and decode them to blurry videos (with mad.flow_readout also the flow readout baseline:
# the clip-mean latent moved along the BOLD-decoded stimulus flow); the notebook shows losses, λ and blurry-video
# quality.
#
# Checkpoints and loss logs (mad/ckpt/) are deliberately not declared outputs: Snakemake deletes declared
# outputs before it reruns a job, and the checkpoints are what lets a killed run resume.

from semvideo.plan import MAD_VARIANTS

MAD_SUFFIXES = tuple(MAD_VARIANTS.values())  # file suffixes of the full MAD and the "w/o C_motion" ablation
FLOW_READOUT_FILES = [f"{RESULTS}/mad/pred/{s}_flow_readout{kind}" for s in CFG.subjects
                      for kind in ("_latents.npy", "_blurry.npy", ".csv")] if CFG.mad.flow_readout else []


rule train_mad:
    input:
        data=rules.prepare.output,
        motion=f"{RESULTS}/embeddings/motion_train.npy",
        sad=[f"{RESULTS}/sad/pred/{s}_motion_refined.npy" for s in CFG.subjects],
        vae=[] if CFG.priors.vae else f"{RESULTS}/priors/vae",
        lib=library("stages/mad.py", "models/mad.py", "models/flow.py", "models/priors.py", "train.py"),
        cfg=CONFIG_PATH,
    output:
        pred=[f"{RESULTS}/mad/pred/{s}{v}_{kind}.npy" for s in CFG.subjects for v in MAD_SUFFIXES
              for kind in ("latents", "blurry")],
        losses=[f"{RESULTS}/mad/pred/{s}{v}_losses.csv" for s in CFG.subjects for v in MAD_SUFFIXES],
        flow_readout=FLOW_READOUT_FILES,
        targets=[f"{RESULTS}/mad/latents_{split}.npy" for split in ("train", "test")],  # E(V), read by later rules
        summary=f"{RESULTS}/mad/pred/done.json",
    benchmark:
        f"{RESULTS}/benchmarks/train_mad.tsv"
    log:
        f"{RESULTS}/logs/train_mad.log",
    priority: STAGE_PRIORITY
    shell:
        "python -m semvideo train-mad --config {CONFIG_PATH} > {log} 2>&1"


rule nb_04_mad:
    input:
        nb="notebooks/04_mad.py",
        pred=rules.train_mad.output.pred,
        losses=rules.train_mad.output.losses,
        flow_readout=rules.train_mad.output.flow_readout,
        targets=rules.train_mad.output.targets,
        summary=rules.train_mad.output.summary,
        lib=library("models/mad.py", "models/flow.py", "metrics", "viz.py"),
        cfg=CONFIG_PATH,
    output:
        nb=f"{RESULTS}/notebooks/04_mad.ipynb",
        scores=f"{RESULTS}/metrics/mad_blurry.csv",  # per-clip SSIM / EPE of the blurry videos and baselines
        figures=[f"{FIGURES}/{name}" for name in (
            "mad_loss_curves.png", "mad_lambdas.csv", "mad_lambdas.md", "mad_blurry_examples.png",
            "mad_blurry_quality.png", "mad_blurry_quality.csv", "mad_blurry_quality.md", "mad_blurry_verdict.csv",
            "mad_blurry_verdict.md")],
    benchmark:
        f"{RESULTS}/benchmarks/nb_04_mad.tsv"
    log:
        f"{RESULTS}/logs/04_mad.log",
    shell:
        PAPERMILL


ALL_OUTPUTS += rules.nb_04_mad.output.figures
