#!/usr/bin/env bash
# The checks that need a GPU, in one run of under 10 minutes (numbers in OUT/gpu_check.json):
#
#   scripts/gpu_check.sh [--out DIR] [--images N] [--vases N] [--gpus N] [--no-ray] [--dry-run]
#
# 1. stage 03 with open_clip ViT-B-32 (random weights, pretrained: null) on N generated photos
#    (default 3000), in mixed precision (float16 autocast) and in float32: images/s, the largest
#    score difference, the same decisions?; a new threshold from the cache (must encode nothing);
#    with Ray installed, engine: ray with one GPU per actor;
# 2. stages 05 (SFT, LoRA) and 06 (GRPO) for a few steps on the tiny offline Qwen2.5-VL in
#    bfloat16, with nproc_per_node = the GPUs present (ms-swift's torchrun launcher when > 1).
#
# Without a CUDA GPU it stops at once (exit 2) and says so; --dry-run builds the inputs and the
# validated parameters only, and needs no GPU. Exit 0 only when every step passed.
# DIR defaults to runs/gpu-check; GPU choice: CUDA_VISIBLE_DEVICES=0,1 scripts/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python )}"
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}" TRANSFORMERS_OFFLINE="${TRANSFORMERS_OFFLINE:-1}"
exec timeout --signal=TERM --kill-after=20 "${GPU_CHECK_TIMEOUT:-570}" \
    "$PYTHON" scripts/gpu_check.py "$@"
