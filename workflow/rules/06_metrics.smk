# 06 · evaluation: train the twin's judges, score every method on every test clip, and Table 1.

from semvideo.models.cvr import ablation_subjects


rule train_judges:
    input:
        data=rules.prepare.output,
        lib=library("metrics/judges.py"),
        cfg=CONFIG_PATH,
    output:
        f"{RESULTS}/judges/summary.json",
    log:
        f"{RESULTS}/logs/train_judges.log",
    shell:
        "python -m semvideo train-judges --config {CONFIG_PATH} > {log} 2>&1"


rule evaluate:
    input:
        judges=rules.train_judges.output,
        recon=rules.render.output,
        lib=library("metrics"),
        cfg=CONFIG_PATH,
    output:
        scores=[f"{RESULTS}/metrics/{s}_scores.csv" for s in CFG.subjects],
        shuffle=[f"{RESULTS}/metrics/{s}_shuffle.csv" for s in ablation_subjects(CFG)],
    log:
        f"{RESULTS}/logs/evaluate.log",
    shell:
        "python -m semvideo evaluate --config {CONFIG_PATH} > {log} 2>&1"


rule nb_06_metrics:
    input:
        nb="notebooks/06_metrics.py",
        scores=rules.evaluate.output.scores,
        lib=library("metrics", "viz.py"),
        cfg=CONFIG_PATH,
    output:
        nb=f"{RESULTS}/notebooks/06_metrics.ipynb",
        figures=[f"{FIGURES}/{name}" for name in (
            "table1.csv", "table1.md", "table1.png", "table1_pvalues.csv", "table1_per_subject.csv",
            "table1_distributions.png")],
    log:
        f"{RESULTS}/logs/06_metrics.log",
    shell:
        PAPERMILL


ALL_OUTPUTS += rules.nb_06_metrics.output.figures
