"""Pipeline stages that the command line (``python -m semvideo <command>``) and the Snakemake rules call: each reads
the artefacts of earlier stages under ``results/<name>/``, runs the models of :mod:`semvideo.models` (or the judges
and metrics of :mod:`semvideo.metrics`), and writes its own artefacts atomically. Models stay free of pipeline file
I/O: a model module holds modules (``nn.Module``), losses and train / predict functions on arrays and tensors; the stage
module beside it reads run folders, fingerprints inputs, decides what to (re)train or render and writes results.

One module per stage (command → stage module, model side):

* ``train-sad`` → :mod:`semvideo.stages.sad` (:mod:`semvideo.models.sad`), also the readers of its results;
* ``train-priors`` → :mod:`semvideo.stages.priors` (:mod:`semvideo.models.priors`);
* ``train-mad`` → :mod:`semvideo.stages.mad` (:mod:`semvideo.models.mad`, :mod:`semvideo.models.flow`);
* ``render`` → :mod:`semvideo.stages.render` (:mod:`semvideo.models.cvr`);
* ``train-judges`` → :mod:`semvideo.stages.judges` (:mod:`semvideo.metrics.judges`);
* ``evaluate`` → :mod:`semvideo.stages.evaluate` (:mod:`semvideo.metrics`, :mod:`semvideo.models.baselines`).
"""
