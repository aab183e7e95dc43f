"""The ``prepare`` stage: a dataset on disk (real or twin) → ``results/<name>/data/``, one folder written atomically.

CC2017-layout worlds go through :func:`semvideo.data.preprocess.prepare_cc2017` (repeat averaging, reliability
selection), HCP-layout worlds (``world: hcp`` or ``twin.layout: hcp``) through
:func:`semvideo.data.hcp.prepare_hcp`; both write the files :mod:`semvideo.data.prepared` reads.
"""

from __future__ import annotations

from semvideo.config import Config
from semvideo.data.hcp import prepare_hcp, uses_hcp_layout
from semvideo.data.preprocess import prepare_cc2017
from semvideo.io import atomic_dir
from semvideo.paths import RunPaths

__all__ = ["prepare_dataset"]


def prepare_dataset(cfg: Config) -> None:
    """Preprocess every subject and the stimuli; write ``results/<name>/data/`` atomically as one folder."""
    paths = RunPaths.from_config(cfg)
    prepare = prepare_hcp if uses_hcp_layout(cfg) else prepare_cc2017
    with atomic_dir(paths.data) as out:
        prepare(cfg, out, paths.data_root)
