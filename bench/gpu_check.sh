#!/usr/bin/env bash
# The GPU check, sized for one H100 in about 8 minutes: Qwen2-1.5B-architecture training
# throughput and memory, evaluation speed, then the tiny grid on the GPU.
#   bash bench/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PWD}"
timeout 360 python bench/gpu_check.py
# The tiny grid, on CUDA (the cpu backend recipe runs wherever torch puts it).
timeout 180 python -m pytest bench -q -k "cpu and not smoke" -p no:cacheprovider --results-dir results || true
