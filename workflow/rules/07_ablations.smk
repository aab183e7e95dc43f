# 07 · ablations: Table 3 (caption levels removed), Fig. 5 (shuffle test and EPE), Table 6 (captioner), the oracle
# ladder (truth for one decoded input at a time). The ablation and oracle renders and their scores come from the
# `render` and `evaluate` rules (eval.ablation_subjects).


rule nb_07_ablations:
    input:
        nb="notebooks/07_ablations.py",
        scores=rules.evaluate.output.scores,
        shuffle=rules.evaluate.output.shuffle,
        lib=library("stages/render.py", "metrics", "models/cvr.py", "viz.py"),
        cfg=CONFIG_PATH,
    output:
        nb=f"{RESULTS}/notebooks/07_ablations.ipynb",
        figures=[f"{FIGURES}/{name}" for name in (
            "table3.csv", "table3.md", "table3.png", "table3_pvalues.csv", "fig5_shuffle_test.png",
            "fig5_shuffle_test.pdf", "fig5_paired_ttests.csv", "table6.csv", "table6.md", "table6.png",
            "table6_pvalues.csv", "oracle_ladder.csv", "oracle_ladder.md", "oracle_ladder.png", "oracle_ladder.pdf")],
    benchmark:
        f"{RESULTS}/benchmarks/nb_07_ablations.tsv"
    log:
        f"{RESULTS}/logs/07_ablations.log",
    shell:
        PAPERMILL


ALL_OUTPUTS += rules.nb_07_ablations.output.figures
