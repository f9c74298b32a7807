"""Liger's fused RMSNorm/SwiGLU/RoPE kernels (`fraudft train --liger`): refused where they can't run,
and, run by Triton's CPU interpreter (tests/engine/triton_interpreter.py), the same training as without."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file

from fraudft.core.errors import UsageError
from fraudft.data.records import write_jsonl
from fraudft.synthetic import SynthConfig, generate
from fraudft.engine.train import check_liger

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ROOT = Path(__file__).resolve().parents[2]
FLAGS = ["--model", "tiny", "--max-steps", "2", "--batch-size", "2", "--grad-accum", "1", "--lr", "3e-3",
         "--lora-dropout", "0", "--eval-steps", "2", "--patience", "0", "--no-gradient-checkpointing", "--quiet",
         "--max-length", "64",
         # TrainConfig's own defaults (padding-free rows, best-model reload), which this test was written
         # for; --model tiny would otherwise take the cpu-tiny recipe's
         "--batching", "padding_free", "--train-arg", "load_best_model_at_end=true"]
TINY = SimpleNamespace(config=SimpleNamespace(model_type="qwen2"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is there: Liger can run")
def test_liger_on_cpu_stops_with_a_usage_error(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(UsageError, match="liger: .*CUDA"):
        check_liger(TINY)


def test_liger_without_its_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    monkeypatch.setitem(sys.modules, "liger_kernel.transformers.monkey_patch", None)  # import fails
    with pytest.raises(UsageError, match=r"pip install 'fraudft\[liger\]'"):
        check_liger(TINY)


def test_liger_refuses_a_model_type_it_has_no_kernels_for(monkeypatch):
    pytest.importorskip("liger_kernel")
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    check_liger(TINY)
    with pytest.raises(UsageError, match="no kernels for model type 'not_a_model'"):
        check_liger(SimpleNamespace(config=SimpleNamespace(model_type="not_a_model")))


def _train(command: list[str], data: Path, out: Path, *flags: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, *command, "train", *FLAGS, *flags, "--train", str(data / "train.jsonl"),
                           "--eval", str(data / "eval.jsonl"), "--out", str(out)],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    return done


def test_liger_kernels_train_like_the_transformers_modules(tmp_path):
    pytest.importorskip("liger_kernel")
    write_jsonl(generate(SynthConfig(n=8, seed=0)), tmp_path / "train.jsonl")
    write_jsonl(generate(SynthConfig(n=2, seed=1)), tmp_path / "eval.jsonl")
    _train(["-m", "fraudft.cli"], tmp_path, tmp_path / "plain")
    liger = _train(["tests/engine/triton_interpreter.py"], tmp_path, tmp_path / "liger", "--liger")

    launches = liger.stderr.split("triton interpreter launches: ")[-1]
    for kernel in ("_rms_norm_forward_kernel", "_rms_norm_backward_kernel", "_swiglu_forward_kernel",
                   "_swiglu_backward_kernel", "_triton_rope"):
        assert f"'{kernel}'" in launches, launches  # Liger's kernels ran, in training and backward
    plain, fused = (json.loads((tmp_path / name / "run.json").read_text()) for name in ("plain", "liger"))
    assert fused["run_info"]["config"]["train_config"]["liger"] is True
    assert any(note.startswith("liger: rope, rms_norm, swiglu") for note in fused["train_info"]["notes"])
    history = {name: [(entry["step"], entry.get("loss", entry.get("eval_loss")))
                      for entry in record["train_info"]["log_history"] if "loss" in entry or "eval_loss" in entry]
               for name, record in (("plain", plain), ("liger", fused))}
    assert [step for step, _ in history["liger"]] == [step for step, _ in history["plain"]] == [1, 2, 2]
    for (step, got), (_, expected) in zip(history["liger"], history["plain"]):
        assert got == pytest.approx(expected, rel=1e-5), step
    weights = {name: load_file(tmp_path / name / "adapter" / "adapter_model.safetensors") for name in ("plain", "liger")}
    assert weights["plain"].keys() == weights["liger"].keys()
    for name, expected in weights["plain"].items():
        torch.testing.assert_close(weights["liger"][name], expected, rtol=1e-4, atol=1e-6, msg=name)
