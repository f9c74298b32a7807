"""bench/gpu_check.py: its CPU dry run writes one record per variant and the targets table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_dry_run(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, "bench/gpu_check.py", "--dry-run", "--results-dir", str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (folder,) = tmp_path.glob("*/gpu-check-cpu")
    records = {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}
    assert {"label-paddingfree", "full-padded-gc", "eval-score", "eval-generate"} <= records.keys()
    assert all(r["result"]["status"] == "success" for r in records.values()), records
    assert records["label-paddingfree"]["result"]["padding_fraction"] == 0
    assert "not measured here" in done.stdout and "score-mode examples/s" in done.stdout
