# 09 · the paper's claims tested on this run (figures/claims.csv/.md): a notebook that only reads the tables of
# notebooks 01, 06, 07 and 08 and the evaluation's per-clip scores. It ends the workflow, so that notebook 08 (the
# ROI figures, which need only the SADs) runs as soon as the SADs are trained instead of waiting for the render.


rule nb_09_claims:
    input:
        nb="notebooks/09_claims.py",
        tables=[*rules.nb_01_preprocessing.output.figures, *rules.nb_06_metrics.output.figures,
                *rules.nb_07_ablations.output.figures, *rules.nb_08_interpretability.output.figures],
        scores=rules.evaluate.output.scores,  # the oracle ladder's per-clip scores
        lib=library("claims.py", "interpret.py", "plan.py", "metrics", "viz.py"),
        cfg=CONFIG_PATH,
    output:
        nb=f"{RESULTS}/notebooks/09_claims.ipynb",
        figures=[f"{FIGURES}/claims.{ext}" for ext in ("csv", "md")],
    benchmark:
        f"{RESULTS}/benchmarks/nb_09_claims.tsv"
    log:
        f"{RESULTS}/logs/09_claims.log",
    shell:
        PAPERMILL


ALL_OUTPUTS += rules.nb_09_claims.output.figures
