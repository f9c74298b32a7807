"""`fraudft train --resume`: a run killed (SIGKILL) after its first checkpoint, run again, ends with
the same LoRA weights as a run never interrupted; partial checkpoints are passed over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from fraudft.records import write_jsonl
from fraudft.synthetic import SynthConfig, generate
from fraudft.train import TrainConfig, last_checkpoint

pytestmark = pytest.mark.usefixtures("one_torch_thread")

STEPS, SAVE = 24, 3


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("resume-data")
    records = generate(SynthConfig(n=40, seed=0))
    write_jsonl(records[:32], folder / "train.jsonl")
    write_jsonl(records[32:], folder / "eval.jsonl")
    return folder / "train.jsonl", folder / "eval.jsonl"


def train_argv(data, out: Path) -> list[str]:
    train, eval_ = data
    return ["train", "--model", "tiny", "--train", str(train), "--eval", str(eval_), "--out", str(out),
            "--max-steps", str(STEPS), "--eval-steps", str(SAVE), "--batch-size", "2", "--grad-accum", "1",
            "--max-length", "128", "--lora-dropout", "0.1", "--quiet", "--resume"]


def adapter(out: Path) -> dict[str, torch.Tensor]:
    return load_file(out / "adapter" / "adapter_model.safetensors")


def test_a_killed_run_resumes_to_the_weights_of_an_uninterrupted_one(data, tmp_path, run_cli):
    killed = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "fraudft.cli", *train_argv(data, killed)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while last_checkpoint(killed / "checkpoints") is None and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    _, err = process.communicate()
    assert process.returncode == -signal.SIGKILL, f"the run ended before its first checkpoint could be killed:\n{err.decode()[-2000:]}"
    stopped_at = int(Path(last_checkpoint(killed / "checkpoints")).name.split("-")[-1])
    assert SAVE <= stopped_at < STEPS and not (killed / "adapter").exists()

    rc, _, err = run_cli(*train_argv(data, killed))  # the same command again continues the run
    assert rc == 0, err
    samples = json.loads((killed / "run.json").read_text())["train_info"]["train_samples"]
    assert samples == (STEPS - stopped_at) * 2, "the run started over instead of resuming"
    rc, _, err = run_cli(*train_argv(data, tmp_path / "whole"))
    assert rc == 0, err

    resumed, whole = adapter(killed), adapter(tmp_path / "whole")
    assert resumed.keys() == whole.keys() and whole
    for name, weight in whole.items():
        torch.testing.assert_close(resumed[name], weight, rtol=1e-5, atol=1e-6, msg=name)
    initial = adapter_from_first_checkpoint(tmp_path / "whole")
    assert any(not torch.equal(initial[n], whole[n]) for n in whole), "training changed no weight"


def adapter_from_first_checkpoint(out: Path) -> dict[str, torch.Tensor]:
    """The adapter of the oldest kept checkpoint: the weights moved on after it."""
    folders = sorted((out / "checkpoints").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    return load_file(folders[0] / "adapter_model.safetensors")


def test_last_checkpoint_passes_over_a_partial_one(tmp_path):
    for step, complete in ((3, True), (6, True), (9, False)):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        (folder / "adapter_model.safetensors").write_bytes(b"")
        if complete:
            (folder / "trainer_state.json").write_text("{}")
    (tmp_path / "checkpoint-6" / "trainer_state.json").write_text('{"global_st')  # killed while writing it
    (tmp_path / "checkpoint-old").mkdir()
    assert last_checkpoint(tmp_path) == str(tmp_path / "checkpoint-3")
    assert last_checkpoint(tmp_path / "nothing") is None


def test_resume_needs_checkpoints():
    with pytest.raises(ValueError, match="save_steps"):
        TrainConfig(resume=True)
    assert TrainConfig(save_steps=5, resume=True).save_steps == 5
