"""Every artefact path of a run, in one place, derived from the config (nothing else hard-codes a folder).

Layout under ``<paths.results>/<name>/``::

    raw/           the twin's generated dataset in CC2017 layout (real worlds read ``paths.data_root``)
    data/          preprocessed, memory-mappable arrays and the clip/voxel index
    captions/      SemMiner caption cache (JSONL)
    embeddings/    per-level text targets Z(C), aligned with the clip index
    sad/ mad/ priors/ judges/   trained models (``save_pretrained`` folders) and their outputs
    recon/         reconstructions of the test set
    metrics/       per-clip scores
    notebooks/     executed notebooks
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from semvideo.config import Config

__all__ = ["DATA_ENV", "RunPaths"]

#: Environment variable that points at real datasets when ``paths.data_root`` is not set.
DATA_ENV = "SEMVIDEO_DATA"


@dataclass(frozen=True)
class RunPaths:
    root: Path
    figures: Path
    data_root: Path

    @classmethod
    def from_config(cls, cfg: Config) -> RunPaths:
        root = cfg.results_dir
        if cfg.world == "twin":
            data_root = root / "raw"
        else:
            configured = cfg.paths.data_root or os.environ.get(DATA_ENV)
            if not configured:
                raise ValueError(
                    f"world '{cfg.world}' needs its dataset: set paths.data_root in the config "
                    f"or the {DATA_ENV} environment variable"
                )
            data_root = Path(configured).expanduser()
        return cls(root=root, figures=cfg.figures_dir, data_root=data_root)

    @property
    def raw(self) -> Path:
        """The twin's generated dataset (CC2017 layout)."""
        return self.root / "raw"

    @property
    def data(self) -> Path:
        """Preprocessed arrays + clip/voxel index."""
        return self.root / "data"

    @property
    def captions(self) -> Path:
        """SemMiner caption cache."""
        return self.root / "captions"

    @property
    def embeddings(self) -> Path:
        """Text targets Z(C) per level."""
        return self.root / "embeddings"

    @property
    def sad(self) -> Path:
        """SAD checkpoints and predictions."""
        return self.root / "sad"

    @property
    def mad(self) -> Path:
        """MAD checkpoints and motion latents."""
        return self.root / "mad"

    @property
    def priors(self) -> Path:
        """VAE / T2I / T2V priors."""
        return self.root / "priors"

    @property
    def judges(self) -> Path:
        """The twin's judge classifiers."""
        return self.root / "judges"

    @property
    def recon(self) -> Path:
        """Reconstructions of the test set."""
        return self.root / "recon"

    @property
    def metrics(self) -> Path:
        """Per-clip scores."""
        return self.root / "metrics"

    @property
    def notebooks(self) -> Path:
        """Executed notebooks."""
        return self.root / "notebooks"
