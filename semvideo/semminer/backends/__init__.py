"""SemMiner backends behind the :class:`~semvideo.semminer.chain.Captioner` interface.

``oracle`` (the twin: scene graph → captions), ``blip`` (the single short-caption baseline) and ``hf`` (any
transformers image-text model, Qwen2.5-VL by default; imported only when used).
"""

from semvideo.semminer.backends.blip import BlipStyleCaptioner
from semvideo.semminer.backends.oracle import OracleCaptioner

__all__ = ["BlipStyleCaptioner", "OracleCaptioner"]
