# 06 · evaluation: train the twin's judges, score every method on every test clip, and Table 1 (Table 2 for a run
# in the HCP 7T layout).

from semvideo.data.hcp import uses_hcp_layout
from semvideo.plan import ablation_subjects, convention_subjects

TWIN_JUDGES = CFG.world == "twin" and not CFG.eval.image_judge  # the twin trains its own judges


rule train_judges:
    input:
        data=rules.prepare.output,
        # pre-trained twin judges (eval.twin_judges): the rule reruns when they change
        pretrained=[f"{CFG.eval.twin_judges}/{kind}/{name}" for kind in ("image", "video")
                    for name in ("config.json", "diffusion_pytorch_model.safetensors")] if CFG.eval.twin_judges else [],
        lib=library("stages/judges.py", "metrics/judges.py", "train.py"),
        cfg=CONFIG_PATH,
    output:
        summary=f"{RESULTS}/judges/summary.json",
        # twin judges' accuracy per attribute on the training and test clips (notebook 06's "judges that can judge")
        accuracy=[f"{RESULTS}/judges/accuracy.csv"] if TWIN_JUDGES else [],
    benchmark:
        f"{RESULTS}/benchmarks/train_judges.tsv"
    log:
        f"{RESULTS}/logs/train_judges.log",
    priority: STAGE_PRIORITY
    shell:
        "python -m semvideo train-judges --config {CONFIG_PATH} > {log} 2>&1"


rule evaluate:
    input:
        judges=rules.train_judges.output.summary,  # the judges' models; not their accuracy report
        recon=rules.render.output,
        flow_readout=rules.train_mad.output.flow_readout,  # the flow readout baseline's row (mad.flow_readout)
        lib=library("stages/evaluate.py", "stages/render.py", "stages/mad.py", "metrics", "models/baselines.py",
                    "models/cvr.py", "models/flow.py", "models/priors.py"),
        cfg=CONFIG_PATH,
    output:
        scores=[f"{RESULTS}/metrics/{s}_scores.csv" for s in CFG.subjects],
        shuffle=[f"{RESULTS}/metrics/{s}_shuffle.csv" for s in ablation_subjects(CFG)],
        # Table 1's methods under every metric convention (notebook 06's comparability table)
        conventions=[f"{RESULTS}/metrics/{s}_conventions.csv" for s in convention_subjects(CFG)],
        # every reconstruction's expected N-way accuracy against every truth clip (notebook 06's re-pairing chance)
        pairings=[f"{RESULTS}/metrics/{s}_pairings.npz" for s in CFG.subjects],
    benchmark:
        f"{RESULTS}/benchmarks/evaluate.tsv"
    log:
        f"{RESULTS}/logs/evaluate.log",
    priority: STAGE_PRIORITY
    shell:
        "python -m semvideo evaluate --config {CONFIG_PATH} > {log} 2>&1"


rule nb_06_metrics:
    input:
        nb="notebooks/06_metrics.py",
        scores=rules.evaluate.output.scores,
        conventions=rules.evaluate.output.conventions,
        pairings=rules.evaluate.output.pairings,
        judges=rules.train_judges.output.accuracy,
        lib=library("stages/evaluate.py", "metrics", "viz.py"),
        cfg=CONFIG_PATH,
    output:
        nb=f"{RESULTS}/notebooks/06_metrics.ipynb",
        figures=[f"{FIGURES}/{table}{name}" for table in ["table2" if uses_hcp_layout(CFG) else "table1"]
                 for name in (".csv", ".md", ".png", "_pvalues.csv", "_per_subject.csv", "_distributions.png",
                             "_chance.csv", "_chance.md")]
        + ([f"{FIGURES}/table1_conventions{ext}" for ext in (".csv", ".md")] if convention_subjects(CFG) else [])
        # the twin's judges against the 0.9 bar (real worlds use pretrained judges: no table)
        + ([f"{FIGURES}/judge_accuracy{ext}" for ext in (".csv", ".md")] if TWIN_JUDGES else []),
    benchmark:
        f"{RESULTS}/benchmarks/nb_06_metrics.tsv"
    log:
        f"{RESULTS}/logs/06_metrics.log",
    shell:
        PAPERMILL


ALL_OUTPUTS += rules.nb_06_metrics.output.figures
