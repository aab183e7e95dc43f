"""Pipeline stages that the command line (``python -m semvideo <command>``) and the Snakemake rules call: each reads
the artefacts of earlier stages under ``results/<name>/``, runs the models of :mod:`semvideo.models`, and writes its
own artefacts atomically. Models stay free of pipeline file I/O."""
