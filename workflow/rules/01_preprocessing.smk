# 01 · data: generate the twin (twin world only), preprocess the runs, and the notebook that shows them.

from semvideo.data.hcp import uses_hcp_layout

if CFG.world == "twin":

    rule generate_twin:
        input:
            lib=library("data"),
            cfg=CONFIG_PATH,
        output:
            directory(f"{RESULTS}/raw"),
        benchmark:
            f"{RESULTS}/benchmarks/generate_twin.tsv"
        log:
            f"{RESULTS}/logs/generate_twin.log",
        priority: STAGE_PRIORITY
        shell:
            "python -m semvideo generate-twin --config {CONFIG_PATH} > {log} 2>&1"


rule prepare:
    input:
        raw=rules.generate_twin.output if CFG.world == "twin" else [],
        lib=library("data"),
        cfg=CONFIG_PATH,
    output:
        directory(f"{RESULTS}/data"),
    benchmark:
        f"{RESULTS}/benchmarks/prepare.tsv"
    log:
        f"{RESULTS}/logs/prepare.log",
    priority: STAGE_PRIORITY
    shell:
        "python -m semvideo prepare --config {CONFIG_PATH} > {log} 2>&1"


rule nb_01_preprocessing:
    input:
        nb="notebooks/01_preprocessing.py",
        data=rules.prepare.output,
        lib=library("data", "viz.py", "metrics/ceiling.py"),
        cfg=CONFIG_PATH,
    output:
        nb=f"{RESULTS}/notebooks/01_preprocessing.ipynb",
        figures=[f"{FIGURES}/{name}" for name in (
            ["twin_clips.png", "bold_vs_feature.png", "information_ceiling.csv", "information_ceiling.md",
             "information_ceiling.png", "information_ceiling.pdf"] if CFG.world == "twin" else []) + (
            ["roi_vertex_counts.png", "roi_vertex_counts.csv", "hcp_clip_timing.png", "hcp_segments.csv"]
            if uses_hcp_layout(CFG) else ["reliability.png"]) + [
            "voxel_counts.csv", "selected_vertices_surface.png"]],
    benchmark:
        f"{RESULTS}/benchmarks/nb_01_preprocessing.tsv"
    log:
        f"{RESULTS}/logs/01_preprocessing.log",
    shell:
        PAPERMILL


ALL_OUTPUTS += rules.nb_01_preprocessing.output.figures
