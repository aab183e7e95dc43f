"""Run one pipeline stage in this process and print its wall time and peak RSS as one JSON line.

Used by ``benchmarks/run.py``, which starts a fresh process per stage so each peak RSS is the stage's own.
"""

from __future__ import annotations

import json
import resource
import sys
import time

from semvideo.__main__ import main


def measure(command: str, config: str) -> dict:
    start = time.perf_counter()
    status = main([command, "--config", config])
    wall = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    return {"stage": command, "config": config, "status": status, "wall_s": round(wall, 3),
            "peak_rss_mib": round(peak_mib, 1)}


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], sys.argv[2])))
