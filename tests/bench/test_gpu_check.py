"""bench/gpu_check.py: its CPU dry run writes one record per variant and the targets table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


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


def _gpu_check_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "bench" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compile_and_liger_are_judged_by_their_per_step_losses():
    check = _gpu_check_module()
    plain = {"status": "success", "tokens_per_s": 1.0, "log_history": [{"loss": 2.0}, {"loss": 1.0}, {"eval_loss": 1.5}]}
    results = {"label-paddingfree": plain,
               "label-paddingfree-compile": {"status": "success", "tokens_per_s": 1.0,
                                             "log_history": [{"loss": 2.0}, {"loss": 1.001}]},
               "label-paddingfree-liger": {"status": "success", "tokens_per_s": 1.0,
                                           "log_history": [{"loss": 2.1}, {"loss": 1.0}]}}
    assert check.loss_difference(results, "label-paddingfree-compile") == pytest.approx(0.001)
    assert check.loss_difference(results, "label-paddingfree-liger") == pytest.approx(0.05)
    assert check.loss_difference({"label-paddingfree": plain}, "label-paddingfree-liger") is None
    rows = {line.split("  ")[0]: line for line in check.table(results, cuda=True).splitlines()}
    assert rows["compile: per-step loss, largest relative difference"].endswith(" met")
    assert rows["liger: per-step loss, largest relative difference"].endswith("NOT met")
    assert all(line.endswith("not measured here") for line in check.table(results, cuda=False).splitlines()[1:])
