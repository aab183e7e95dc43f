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
# # Harness check
# A tiny notebook that the harness test executes through Snakemake + papermill: it reads its parameters,
# loads the config and writes one table where a real notebook would write its artefacts.
#
# The next cell is tagged `parameters`; papermill replaces its values.

# %% tags=["parameters"]
config_path = "config/smoke.yaml"
out_dir = "results/smoke"

# %%
import pandas as pd

from semvideo.config import load_config
from semvideo.viz import interactive_session, save_table

cfg = load_config(config_path)
table = pd.DataFrame({"name": [cfg.name], "world": [cfg.world], "out_dir": [out_dir],
                      "interactive": [interactive_session()]}).set_index("name")
save_table(table, cfg.figures_dir, "harness_check")
table
