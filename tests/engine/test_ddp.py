"""Data-parallel training of one arm: `torchrun --nproc_per_node 2 -m fraudft.cli train` on CPU (gloo)
matches a single-process run with the same global batch (per-device batch halved), step by step.

The DDP side runs the real command in a subprocess; the single-process side calls train() with the
configuration the command builds from the same flags.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from fraudft.modeling.lora import LoraSettings
from fraudft.modeling.models import load_model
from fraudft.data.records import write_jsonl
from fraudft.synthetic import SynthConfig, generate
from fraudft.engine.train import train
from fraudft.engine.train_config import TrainConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ROOT = Path(__file__).resolve().parents[2]
GLOBAL_BATCH, GRAD_ACCUM, STEPS, LR, MAX_LENGTH = 4, 2, 4, 3e-3, 128
FLAGS = ["--model", "tiny", "--max-steps", STEPS, "--grad-accum", GRAD_ACCUM, "--lr", LR, "--lora-dropout", 0,
         "--eval-steps", 2, "--patience", 0, "--no-gradient-checkpointing", "--quiet", "--max-length", MAX_LENGTH,
         # TrainConfig's own defaults, as the single-process run below has them (--model tiny would
         # otherwise take the cpu-tiny recipe's length-grouped batches and no best-model reload)
         "--batching", "padding_free", "--train-arg", "load_best_model_at_end=true"]


def losses(log_history: list[dict]) -> list[tuple[int, float]]:
    return [(entry["step"], entry["loss"]) for entry in log_history if "loss" in entry]


def eval_losses(log_history: list[dict]) -> list[tuple[int, float]]:
    return [(entry["step"], entry["eval_loss"]) for entry in log_history if "eval_loss" in entry]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ddp_data")
    write_jsonl(generate(SynthConfig(n=16, seed=0)), folder / "train.jsonl")
    write_jsonl(generate(SynthConfig(n=4, seed=1)), folder / "eval.jsonl")
    return folder


@pytest.fixture(scope="module")
def ddp_run(data, tokenizer, tmp_path_factory):
    """The command under torchrun: 2 processes, half the per-device batch; (train_info, adapter, stdout)."""
    out = tmp_path_factory.mktemp("ddp_run")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "fraudft.cli", "train", *map(str, FLAGS), "--batch-size", str(GLOBAL_BATCH // 2),
               "--train", str(data / "train.jsonl"), "--eval", str(data / "eval.jsonl"), "--out", str(out)]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    return (json.loads((out / "run.json").read_text())["train_info"],
            load_file(out / "adapter" / "adapter_model.safetensors"), done.stdout)


@pytest.fixture(scope="module")
def single_run(data, tokenizer, tmp_path_factory):
    """The same flags in one process with the whole global batch."""
    from fraudft.data.loading import load_jsonl

    config = TrainConfig(batch_size=GLOBAL_BATCH, grad_accum=GRAD_ACCUM, max_steps=STEPS, learning_rate=LR,
                         eval_steps=2, early_stopping_patience=None, gradient_checkpointing=False,
                         max_length=MAX_LENGTH, progress=False)
    model, stats = train(load_model("tiny", device="cpu"), tokenizer, load_jsonl(data / "train.jsonl"),
                         load_jsonl(data / "eval.jsonl"), LoraSettings(dropout=0.0), config,
                         output_dir=str(tmp_path_factory.mktemp("single_run")))
    adapter = {n: p.detach().clone() for n, p in model.named_parameters() if ".lora_" in n}
    return stats.to_dict(), adapter


def test_each_process_trains_on_half_of_every_global_batch(ddp_run, single_run):
    ddp, single = ddp_run[0], single_run[0]
    assert ddp["steps"] == single["steps"] == STEPS
    assert single["train_samples"] == STEPS * GLOBAL_BATCH * GRAD_ACCUM
    assert (ddp["world_size"], single["world_size"]) == (2, 1)
    # Summed over both processes, the counts are the single run's: the two halves of each global batch
    # hold its samples. Padding-free batching (the default here) computes no pads, so the computed
    # tokens agree too (padded batches would differ: each half pads to its own longest).
    for name in ("train_samples", "train_tokens", "computed_tokens", "label_positions"):
        assert ddp[name] == single[name], name
    assert ddp["padding_fraction"] == single["padding_fraction"] == 0
    # Model FLOPs count each sequence alone; executed FLOPs attend each packed row as a whole, and two
    # half rows cost less attention than one full row.
    assert ddp["model_flops"] == pytest.approx(single["model_flops"])
    assert ddp["flops_per_step"] == pytest.approx(single["flops_per_step"])
    assert ddp["executed_flops"] < single["executed_flops"]
    assert ddp["tokens_per_s"] == pytest.approx(ddp["train_tokens"] / ddp["train_seconds"])
    assert ddp["mfu"]["devices"] == 2


def test_only_global_rank_0_writes_and_prints(ddp_run):
    summaries = [line for line in ddp_run[2].splitlines() if line.startswith("trained ")]
    assert len(summaries) == 1 and f"trained {STEPS} steps" in summaries[0]
    assert ddp_run[0]["status"] == "success" and ddp_run[1]  # run.json and the adapter are whole


def test_per_step_losses_match_a_single_process_run(ddp_run, single_run):
    ddp, single = ddp_run[0]["log_history"], single_run[0]["log_history"]
    assert [step for step, _ in losses(single)] == list(range(1, STEPS + 1))
    assert [step for step, _ in losses(ddp)] == [step for step, _ in losses(single)]
    for (step, got), (_, expected) in zip(losses(ddp), losses(single)):
        assert got == pytest.approx(expected, rel=1e-5), step
    assert len(eval_losses(ddp)) == 2
    for (step, got), (_, expected) in zip(eval_losses(ddp), eval_losses(single)):
        assert got == pytest.approx(expected, rel=1e-5), step


def test_final_lora_weights_match_a_single_process_run(ddp_run, single_run):
    ddp, single = ddp_run[1], single_run[1]
    # peft saves the weights without the adapter name: base_model.model...lora_A.weight
    single = {n.replace(".default", ""): w for n, w in single.items()}
    assert ddp.keys() == single.keys() and ddp
    moved = [n for n in ddp if ".lora_B." in n and single[n].abs().max() > 0]
    assert moved  # training changed the adapters, so the comparison is not of initial weights
    for name in ddp:
        torch.testing.assert_close(ddp[name], single[name], rtol=1e-4, atol=1e-6, msg=name)
