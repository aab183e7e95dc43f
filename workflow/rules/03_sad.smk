# 03 · SAD: train the Semantic Alignment Decoders (pre-train on all subjects, fine-tune per subject), predict
# Ẑ(C_L) for the test clips, and the notebook with loss curves, retrieval and similarity heatmaps.
#
# Checkpoints (sad/ckpt/) are not declared outputs: Snakemake would delete them before a rerun, and they are
# what lets a killed training resume.

SAD_LEVELS = ("anchor", "motion", "holi", *CFG.sad.baseline_levels)  # baseline levels: single-caption baseline


rule train_sad:
    input:
        data=rules.prepare.output,
        embeddings=[f"{RESULTS}/embeddings/{level}_{split}.npy" for level in SAD_LEVELS for split in ("train", "test")],
        lib=library("stages/sad.py", "models/sad.py", "train.py", "retrieval.py"),
        cfg=CONFIG_PATH,
    output:
        done=f"{RESULTS}/sad/pred/done.json",
        pred=[f"{RESULTS}/sad/pred/{subject}_{level}_{kind}.npy"
              for subject in CFG.subjects for level in SAD_LEVELS for kind in ("mlp", "refined")],
    benchmark:
        f"{RESULTS}/benchmarks/train_sad.tsv"
    log:
        f"{RESULTS}/logs/train_sad.log",
    priority: STAGE_PRIORITY
    shell:
        "python -m semvideo train-sad --config {CONFIG_PATH} > {log} 2>&1"


rule nb_03_sad:
    input:
        nb="notebooks/03_sad.py",
        done=rules.train_sad.output.done,
        # "what the decoded captions carry": the true training embeddings and the twin's scene graphs
        embeddings=[f"{RESULTS}/embeddings/{level}_{split}.npy" for level in SAD_LEVELS for split in ("train", "test")],
        raw=rules.generate_twin.output if CFG.world == "twin" else [],
        lib=library("stages/sad.py", "models/sad.py", "retrieval.py", "viz.py"),
        cfg=CONFIG_PATH,
    output:
        nb=f"{RESULTS}/notebooks/03_sad.ipynb",
        figures=[f"{FIGURES}/{name}" for name in (
            "sad_loss_curves.png", "sad_retrieval.png", "sad_similarity.png", "sad_retrieval.csv",
            "sad_retrieval.md", *(["sad_caption_content.csv", "sad_caption_content.md"] if CFG.world == "twin" else []))],
    benchmark:
        f"{RESULTS}/benchmarks/nb_03_sad.tsv"
    log:
        f"{RESULTS}/logs/03_sad.log",
    shell:
        PAPERMILL


ALL_OUTPUTS += rules.nb_03_sad.output.figures
