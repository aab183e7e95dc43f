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
# # 09 · Does the method work? The paper's claims, tested on this run
#
# **Paper.** SemVideo's claims about its own method: hierarchical captions beat a single caption (Table 1), each
# caption level matters where the paper says it does (Table 3), the motion captions and MAD make the frame order
# matter (Fig. 5), SemMiner's captions beat a single-caption captioner (Table 6), and the motion SAD reads the
# motion regions (§4.4). Beside them, two of the twin's own: its premise (what the simulator encodes is decodable
# from where it encodes it, notebook 01's information ceiling) and the oracle ladder (notebook 07).
#
# **Here.** Every earlier notebook makes one of the paper's tables or figures; this one reads them all and gives
# each claim a verdict by a stated rule. It only reads files: the tables of notebooks 01, 06, 07 and 08
# (`figures/`) and the evaluation's per-clip scores (`metrics/`). Opened interactively, run those notebooks
# first; a table that is missing makes its claims **cannot be tested** rather than stopping the notebook.

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
from IPython.display import Markdown, display

from semvideo.claims import paper_claims
from semvideo.notebook import open_run
from semvideo.plan import ablation_subjects
from semvideo.viz import save_table

cfg = open_run(config_path, "evaluate")  # opened interactively: builds the stages whose outputs this reads

# %% [markdown]
# ## The claims and their verdicts
# The companion's answer, one row per claim the paper makes about its method (`semvideo.claims.paper_claims`):
# where the paper makes it, the measurement on this run that tests it, the numbers, and the verdict by an explicit
# rule — a comparison of two rows of a table **holds** when the claimed winner is better on *every* metric the
# claim names at one-sided bootstrap p < 0.05 (the tables' own colours); "the reconstructions carry their clip"
# needs SemVideo's N-way columns above the re-pairing chance of its own reconstructions (notebook 06's
# `table1_chance`, permutation p < 0.05) and its VIFI above the chance row; Fig. 5's claims need a Bonferroni
# p < 0.05 paired t-test in the claimed direction for each quantity; §4.4's needs the motion ROIs above the
# ventral ones in every subject; the premise needs every encoded attribute decodable where it is encoded
# (p < 0.01, every subject). A missing artefact, or an ingredient the twin lacks, gives **cannot be tested on the
# twin** and says which. The tables come from notebooks 01, 06, 07 and 08 of this run.

# %%
claims_table = paper_claims(cfg.figures_dir, cfg.results_dir, ablation_subjects(cfg), cfg.eval.n_bootstrap, cfg.seed,
                            cfg.eval.bootstrap_test)
save_table(claims_table.set_index("claim"), cfg.figures_dir, "claims")
counts = claims_table["verdict"].value_counts()
display(Markdown(f"On **{cfg.name}**, of {len(claims_table)} claims: "
                 + ", ".join(f"{n} {verdict}" for verdict, n in counts.items()) + ". Holding: "
                 + ("; ".join(claims_table.loc[claims_table["verdict"] == "holds", "claim"]) or "none") + "."))
claims_table[["claim", "paper", "verdict", "why"]]
