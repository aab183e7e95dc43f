"""The Snakefile and the notebooks' first cells import no torch: every `snakemake` call parses the workflow, and
torch + diffusers cost 4–6 s of each (measured: `snakemake -n` of the smoke config 9.2 s → 2.5 s)."""

import subprocess
import sys


def test_what_the_workflow_and_notebooks_read_loads_no_torch():
    modules = ["semvideo.plan", "semvideo.config", "semvideo.data.hcp", "semvideo.interpret", "semvideo.viz",
               "semvideo.notebook", "semvideo.claims", "semvideo.metrics.evaluate", "semvideo.embed"]
    code = (f"import sys; import {', '.join(modules)}; "
            "heavy = sorted({'torch', 'diffusers', 'transformers'} & set(sys.modules)); print(heavy); "
            "sys.exit(1 if heavy else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, f"importing them loaded {done.stdout.strip()} {done.stderr[-500:]}"
