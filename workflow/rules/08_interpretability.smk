# 08 · interpretability: ROI importance from the fine-tuned SADs' first layers (paper Figs. 6/12/13) and, on the
# twin, its comparison with the simulator's ground-truth encoding maps. It needs only the trained SADs, so under
# `--cores 2` it runs beside the render.

from semvideo.config import LEVELS
from semvideo.interpret import paper_figure_names


rule nb_08_interpretability:
    input:
        nb="notebooks/08_interpretability.py",
        done=rules.train_sad.output.done,
        data=rules.prepare.output,
        truth=rules.generate_twin.output if CFG.world == "twin" else [],
        # the twin's ROI truth weighs the vertex families by what the training captions' embeddings carry
        embeddings=[f"{RESULTS}/embeddings/{level}_train.npy" for level in LEVELS] if CFG.world == "twin" else [],
        lib=library("interpret.py", "models/sad.py", "viz.py", "data/atlas.py", "data/prepared.py",
                    "data/cifti.py", "data/synthetic/truth.py", "data/synthetic/brain.py", "embed.py"),
        cfg=CONFIG_PATH,
    output:
        nb=f"{RESULTS}/notebooks/08_interpretability.ipynb",
        figures=[f"{FIGURES}/{name}" for name in [
            f"{stem}.{ext}" for stem in paper_figure_names(CFG.subjects).values() for ext in ("png", "pdf")] + [
            "roi_importance.csv", "roi_importance.md", "roi_importance_dorsal_ventral.png",
        ] + ([
            "roi_importance_vs_truth.csv", "roi_importance_vs_truth.md", "roi_importance_vs_truth.png",
            "caption_family_weights.csv", "caption_family_weights.md",
        ] if CFG.world == "twin" else [])],
        table=f"{RESULTS}/interpret/roi_importance.csv",
    benchmark:
        f"{RESULTS}/benchmarks/nb_08_interpretability.tsv"
    log:
        f"{RESULTS}/logs/08_interpretability.log",
    shell:
        PAPERMILL


ALL_OUTPUTS += rules.nb_08_interpretability.output.figures
