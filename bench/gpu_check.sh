#!/usr/bin/env bash
# The GPU check of issue 11, sized for one H100/H200 in under 8 minutes: Qwen2-1.5B-architecture
# training variants (loss, batching, checkpointing, compile, TRL beside) and evaluation speed,
# recorded under results/<commit>/gpu-check-<device>/ with a table against the targets.
#   bash bench/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
timeout 470 python bench/gpu_check.py "$@"
