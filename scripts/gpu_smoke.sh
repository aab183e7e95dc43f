#!/usr/bin/env bash
# GPU smoke check (issue 19): the real configs' code paths on tiny random-config models of the real architectures
# (SD-style UNet with 768-d cross-attention, AnimateDiff motion adapter, SparseCtrl, CLIP text encoder, a tiny
# LLaVA captioner, ViT / VideoMAE / CLIP judges), on a tiny twin in the CC2017 layout, every stage on the GPU.
# Prints one line per stage (device, seconds, peak CUDA memory) and fails naming any compute stage that did not
# allocate CUDA memory. The test suite runs the same module on the CPU (tests/test_gpu_smoke.py).
#
#   bash scripts/gpu_smoke.sh [device] [work folder]      # defaults: cuda, a new temporary folder
set -euo pipefail
cd "$(dirname "$0")/.."
device="${1:-cuda}"
out="${2:-$(mktemp -d -t semvideo-gpu-smoke.XXXXXX)}"
python="${PYTHON:-.venv/bin/python}"
[ -x "$python" ] || python=python
echo "gpu smoke: device $device, working folder $out" >&2
"$python" -m semvideo.gpu_smoke --device "$device" --out "$out"
echo "per-stage record: $out/results/gpu_smoke/gpu_smoke.json" >&2
