"""Caption cache: one JSON line per (clip, level), keyed by (clip id, level, backend, model id, prompt hash).

Appends are flushed and fsynced per batch, so a killed run resumes where it stopped. A last line cut short by
a kill (no trailing newline) is dropped with a warning; any other unreadable line stops the run with its line
number, because silently skipping it would hide a corrupt cache.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

from semvideo.io import InputError, write_text

__all__ = ["CaptionCache"]

Key = tuple[str, str, str, str, str]


class CaptionCache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.entries: dict[Key, str] = {}
        if self.path.exists():
            self._load()

    @staticmethod
    def key(clip_id: str, level: str, backend: str, model_id: str, prompt: str) -> Key:
        return (clip_id, level, backend, model_id, prompt)

    def _load(self) -> None:
        text = self.path.read_text()
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        elif lines:  # the last write was interrupted mid-line: drop it and resume
            warnings.warn(f"{self.path}: dropping an incomplete last line (an interrupted write)", stacklevel=3)
            write_text(self.path, "".join(line + "\n" for line in lines[:-1]))
            lines.pop()
        for number, line in enumerate(lines, start=1):
            try:
                row = json.loads(line)
                self.entries[self.key(row["clip_id"], row["level"], row["backend"], row["model_id"],
                                      row["prompt_hash"])] = row["caption"]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise InputError(f"{self.path}:{number}: corrupt caption-cache line; delete that line (or the "
                                 "file) and rerun to regenerate it") from None

    def get(self, key: Key) -> str | None:
        return self.entries.get(key)

    def add(self, items: list[tuple[Key, str]]) -> None:
        """Append captions and make them durable before returning."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as handle:
            for key, caption in items:
                clip_id, level, backend, model_id, prompt = key
                handle.write(json.dumps({"clip_id": clip_id, "level": level, "backend": backend,
                                         "model_id": model_id, "prompt_hash": prompt, "caption": caption}) + "\n")
                self.entries[key] = caption
            handle.flush()
            os.fsync(handle.fileno())
