# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · SemMiner: hierarchical captions and their text targets
#
# **Paper (§3.1, Appendix A).** A multimodal model captions every clip through a two-stage prompt chain: a short
# core summary C_basic (≤ 20 words, the "rein"), then three decoupled descriptions written *given* C_basic — the
# first frame (C_anchor), the motion (C_motion) and the whole clip (C_holi). Table 4 reports their mean lengths
# (BLIP-2 10.6, anchor 32.8, motion 41.1, holi 52.8 tokens); Table 5 shows the three levels differ from each
# other (low BLEU/METEOR/ROUGE, CLIP-S 0.66–0.74).
#
# **Here.** On the twin the captioner is the `oracle` backend: it writes the captions from each clip's scene
# graph through the same chain (stage 2 reuses C_basic's subject). The targets Z(C) are MiniLM token embeddings
# (77 × 384) instead of CLIP ViT-L/14's (77 × 768).

# %%
import sys

if "google.colab" in sys.modules:  # on Colab: install the companion
    import subprocess

    subprocess.run("pip install -q torch==2.13.0 'semvideo @ git+https://github.com/semvideo/semvideo-companion'",
                   shell=True, check=True)

# %% [markdown]
# The next cell is tagged `parameters`: papermill replaces these values when Snakemake runs the notebook.

# %% tags=["parameters"]
config_path = "default"  # a config file, or the name of a shipped one
out_dir = "results/twin"

# %%
import numpy as np
import pandas as pd

from semvideo.data.prepared import PreparedData
from semvideo.embed import load_embeddings, make_embedder
from semvideo.notebook import open_run
from semvideo.semminer import CAPTION_LEVELS, load_captions
from semvideo.semminer.prompts import PROMPTS, prompt_hash
from semvideo.semminer.stats import similarity_table, token_table
from semvideo.viz import (
    CAPTION_NAMES,
    caption_examples_figure,
    caption_length_figure,
    save_figure,
    save_table,
)

cfg = open_run(config_path, "embed")  # opened interactively: builds what this notebook reads, if missing
data = PreparedData.from_config(cfg)
captions = load_captions(cfg)
embedder = make_embedder(cfg)
print(f"{len(captions)} clips captioned by the '{cfg.semminer.backend}' backend; targets from '{cfg.embed.backend}'")

# %% [markdown]
# ## The four prompts (Fig. 7, Appendix A.1)
# Stage 1 asks for the ≤ 20-word rein C_basic; each stage-2 prompt embeds that clip's C_basic. A prompt's hash is
# part of every caption-cache key, so editing a prompt re-captions only what it affects.

# %%
pd.DataFrame({"hash": {level: prompt_hash(level) for level in PROMPTS}, "prompt": PROMPTS})

# %% [markdown]
# ## Fig. 7-style examples
# First, middle and last of the frames of three test clips, with the single-caption baseline (BLIP-style) and
# SemMiner's four captions. The baseline names the object and the scene; only SemMiner's levels say where the
# object is, how it moves and how fast.

# %%
test = data.split_clips("test")
examples = np.linspace(0, len(test) - 1, 3).round().astype(int)
rows = captions.set_index("clip_id").loc[test["clip_id"].iloc[examples]].reset_index()
fig = caption_examples_figure(data.frames("test")[examples], rows)
save_figure(fig, cfg.figures_dir, "fig7_caption_examples")

# %% [markdown]
# ## Table 4 · caption length
# **Paper:** BLIP-2 captions average 10.6 tokens; SemMiner's C_anchor, C_motion and C_holi 32.8, 41.1 and 52.8.
# **Here:** mean tokens over every clip (train and test), counted with the text embedder's own tokenizer
# (all-MiniLM-L6-v2's WordPiece on the twin, CLIP's BPE on the real configs), special tokens excluded. The
# paper does not name its tokenizer, so only the ordering and rough size are comparable.

# %%
table4 = token_table(captions, embedder.count_tokens, embedder.name)
save_table(table4, cfg.figures_dir, "table4_caption_tokens", float_format="%.1f")
table4

# %%
tokens = captions.melt(id_vars="clip_id", value_vars=["blip", "anchor", "motion", "holi"], var_name="caption",
                       value_name="text").replace({"caption": CAPTION_NAMES})
tokens["tokens"] = embedder.count_tokens(tokens["text"].tolist())
save_figure(caption_length_figure(tokens, embedder.name), cfg.figures_dir, "caption_lengths")

# %% [markdown]
# ## Table 5 · how different are the three levels?
# **Paper:** low overlap between every pair (BLEU-1 0.17–0.27, CLIP-S 0.66–0.74), motion–holi the closest
# pair and anchor–motion the farthest: the levels are complementary views of the clip.
# **Here:** the same metrics over the test clips (BLEU via sacrebleu, METEOR 1.5 via pycocoevalcap, ROUGE via
# rouge-score, CLIP-S-style cosine of the embedder's sentence embeddings; details in `semvideo.semminer.stats`).
# The twin's captions are written from one scene graph with a small vocabulary, so they share more words than
# an MLLM's free text: expect higher BLEU/ROUGE than the paper, and read the ordering of the pairs.

# %%
test_captions = captions.set_index("clip_id").loc[test["clip_id"]]
table5 = similarity_table(test_captions, embedder.pooled)
save_table(table5, cfg.figures_dir, "table5_caption_similarity")
table5

# %% [markdown]
# ## Text targets Z(C)
# Each caption becomes a 77-token sequence of per-token embeddings, the targets that SAD decodes from fMRI
# (notebook 03); rows are aligned with `data/clips.csv` within each split. Rows after a caption's last token
# are zero for MiniLM (CLIP keeps its padding-token states, as SD 1.5 conditions on them).

# %%
targets = {level: load_embeddings(cfg, level, "test") for level in CAPTION_LEVELS}
used = {level: (np.abs(z).sum(-1) > 0).sum(1).mean() for level, z in targets.items()}
pd.DataFrame({"shape": {level: z.shape for level, z in targets.items()}, "mean non-zero token rows": used})
