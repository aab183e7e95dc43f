"""SemMiner backends: ``oracle`` (the twin's scene graphs), ``blip`` (single short caption), ``hf`` (an MLLM)."""

from semvideo.semminer.backends.oracle import BlipStyleCaptioner, OracleCaptioner

__all__ = ["OracleCaptioner", "BlipStyleCaptioner"]
