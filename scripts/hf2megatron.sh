#!/usr/bin/env bash
# HF -> Megatron-Core conversion (the original's hf2megatron), for a Linux machine with a CUDA GPU.
#
#   scripts/hf2megatron.sh [MODEL] [OUTPUT_DIR] [DTYPE]
#
# MODEL       a Hugging Face model folder (e.g. runs/<run>/07_merge/merged) or a hub id;
#             default Qwen/Qwen2.5-VL-3B-Instruct (the original's choice)
# OUTPUT_DIR  where the Megatron-Core checkpoint goes; default output/<model name>-mcore
# DTYPE       bfloat16 (default, as in the original), float16 or float32
#
# Needs: megatron-core, mcore-bridge and transformer-engine[pytorch] installed next to ms-swift
# 4.6.0, and a GPU with memory for the model in bf16 (3B: >= 16 GB). The script checks first and
# stops with the list of what is missing. It runs, through vaselib:
#   swift export --model MODEL --to_mcore true --torch_dtype DTYPE --output_dir OUTPUT_DIR \
#       --test_convert_precision true
# GPU choice: CUDA_VISIBLE_DEVICES=1 scripts/hf2megatron.sh ...; model cache: HF_HOME / MODELSCOPE_CACHE.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python )}"
MODEL="${1:-Qwen/Qwen2.5-VL-3B-Instruct}"
OUT="${2:-output/$(basename "$MODEL")-mcore}"
DTYPE="${3:-bfloat16}"
"$PYTHON" -m vaselib.vlm.megatron --check
exec "$PYTHON" -m vaselib.vlm.megatron --model "$MODEL" --output_dir "$OUT" --torch_dtype "$DTYPE"
