#!/usr/bin/env bash
# Create .venv with CPU torch and the semvideo package (+ dev tools). Idempotent; ~3 minutes on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
# CPU torch must come first: a bare `torch` requirement would pull a multi-GB CUDA build.
python -m pip install --quiet torch==2.13.0
python -m pip install --quiet -c scripts/constraints.txt -e ".[dev]"
