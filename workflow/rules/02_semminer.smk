# 02 · SemMiner: caption every clip through the two-stage chain, embed the captions as text targets Z(C), and
# the notebook with the Fig. 7-style examples and Tables 4–5.
#
# The caption cache (captions/captions.jsonl) is deliberately not a declared output: Snakemake deletes declared
# outputs before it reruns a job, and the cache is what lets a rerun (or a killed run) skip finished captions.

EMBED_LEVELS = ("basic", "anchor", "motion", "holi", "blip")


rule caption:
    input:
        data=rules.prepare.output,
        lib=library("semminer"),
        cfg=CONFIG_PATH,
    output:
        f"{RESULTS}/captions/captions.csv",
    benchmark:
        f"{RESULTS}/benchmarks/caption.tsv"
    log:
        f"{RESULTS}/logs/caption.log",
    priority: STAGE_PRIORITY
    shell:
        "python -m semvideo caption --config {CONFIG_PATH} > {log} 2>&1"


rule embed:
    input:
        captions=rules.caption.output,
        data=rules.prepare.output,
        lib=library("embed.py"),
        cfg=CONFIG_PATH,
    output:
        [f"{RESULTS}/embeddings/{level}_{split}.npy" for level in EMBED_LEVELS for split in ("train", "test")],
    benchmark:
        f"{RESULTS}/benchmarks/embed.tsv"
    log:
        f"{RESULTS}/logs/embed.log",
    priority: STAGE_PRIORITY
    shell:
        "python -m semvideo embed --config {CONFIG_PATH} > {log} 2>&1"


rule nb_02_semminer:
    input:
        nb="notebooks/02_semminer.py",
        captions=rules.caption.output,
        embeddings=rules.embed.output,
        lib=library("semminer", "embed.py", "viz.py"),
        cfg=CONFIG_PATH,
    output:
        nb=f"{RESULTS}/notebooks/02_semminer.ipynb",
        figures=[f"{FIGURES}/{name}" for name in (
            "fig7_caption_examples.png", "caption_lengths.png", "table4_caption_tokens.csv", "table4_caption_tokens.md",
            "table5_caption_similarity.csv", "table5_caption_similarity.md")],
    benchmark:
        f"{RESULTS}/benchmarks/nb_02_semminer.tsv"
    log:
        f"{RESULTS}/logs/02_semminer.log",
    shell:
        PAPERMILL


ALL_OUTPUTS += rules.nb_02_semminer.output.figures
