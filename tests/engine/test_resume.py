"""`fraudft train --resume`: a run killed (SIGKILL) after its first checkpoint, run again, ends with
the same LoRA weights and the same counts as a run never interrupted; partial checkpoints are
passed over; a checkpoint is resumed only by the command (settings and data) that saved it."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from fraudft.core.errors import UsageError
from fraudft.engine.measure import TrainStats
from fraudft.modeling.lora import LoraSettings
from fraudft.data.records import write_jsonl
from fraudft.engine.resume import COUNTS, LEDGER, RunLedger, run_settings
from fraudft.synthetic import SynthConfig, generate
from fraudft.engine.train import last_checkpoint
from fraudft.engine.train_config import TrainConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")

STEPS, SAVE = 24, 3


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("resume-data")
    records = generate(SynthConfig(n=40, seed=0))
    write_jsonl(records[:32], folder / "train.jsonl")
    write_jsonl(records[32:], folder / "eval.jsonl")
    return folder / "train.jsonl", folder / "eval.jsonl"


def train_argv(data, out: Path, steps: int = STEPS) -> list[str]:
    """Every flag whose default depends on the model given, so that stderr holds errors only."""
    train, eval_ = data
    return ["train", "--model", "tiny", "--train", str(train), "--eval", str(eval_), "--out", str(out),
            "--max-steps", str(steps), "--eval-steps", str(SAVE), "--batch-size", "2", "--grad-accum", "1",
            "--max-length", "128", "--lr", "0.003", "--patience", "0", "--no-gradient-checkpointing",
            "--lora-dropout", "0.1", "--batching", "padding_free", "--train-arg", "load_best_model_at_end=true",
            "--quiet", "--resume"]


def train_info(out: Path) -> dict:
    return json.loads((out / "run.json").read_text())["train_info"]


def adapter(out: Path) -> dict[str, torch.Tensor]:
    return load_file(out / "adapter" / "adapter_model.safetensors")


def test_a_killed_run_resumes_to_the_weights_of_an_uninterrupted_one(data, tmp_path, run_cli):
    killed = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "OMP_NUM_THREADS": "1"}
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
    assert train_info(killed)["resumed_from_step"] == stopped_at, "the run started over instead of resuming"
    rc, _, err = run_cli(*train_argv(data, tmp_path / "whole"))
    assert rc == 0, err

    # The record counts the whole run, as the uninterrupted one's does: the killed process's part
    # up to its checkpoint (saved with it) and the resumed process's.
    resumed_info, whole_info = train_info(killed), train_info(tmp_path / "whole")
    assert whole_info["train_samples"] == STEPS * 2 and whole_info["resumed_from_step"] is None
    for name in ("steps", "evaluations", "train_samples", "train_tokens", "computed_tokens", "label_positions",
                 "model_flops", "executed_flops", "flops_per_step", "padding_fraction"):
        assert resumed_info[name] == pytest.approx(whole_info[name], rel=1e-12), name
    assert resumed_info["train_seconds"] > 0 and resumed_info["tokens_per_s"] == pytest.approx(
        resumed_info["train_tokens"] / resumed_info["train_seconds"])

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


# --- a checkpoint continues only the run that saved it -----------------------------------------


class Crash(Exception):
    pass


@pytest.fixture(scope="module")
def crashed(data, tmp_path_factory) -> Path:
    """A resumable run of 2 * SAVE steps that crashed right after its first checkpoint."""
    from fraudft import cli
    from fraudft.engine.train import _Trainer

    save = _Trainer._save_checkpoint

    def save_then_crash(self, *args, **kwargs):
        save(self, *args, **kwargs)
        raise Crash(f"after the checkpoint of step {self.state.global_step}")

    out = tmp_path_factory.mktemp("crashed") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_Trainer, "_save_checkpoint", save_then_crash)
        with pytest.raises(Crash):
            cli.main(train_argv(data, out, steps=2 * SAVE))
    assert last_checkpoint(out / "checkpoints").endswith(f"checkpoint-{SAVE}") and not (out / "run.json").exists()
    return out


def other_train_file(folder: Path) -> Path:
    path = folder / "other-train.jsonl"
    write_jsonl(generate(SynthConfig(n=32, seed=5)), path)
    return path


@pytest.mark.parametrize("change, named", [
    (("--lr", "0.002"), "learning_rate 0.003 (checkpoint) vs 0.002 (now)"),
    (("--max-steps", "9"), f"max_steps {2 * SAVE} (checkpoint) vs 9 (now)"),
    (("--lora-r", "4"), "lora r 8 (checkpoint) vs 4 (now)"),
    ("another --train", "train data fingerprint "),
])
def test_resuming_with_another_command_stops_naming_what_differs(crashed, data, tmp_path, run_cli, change, named):
    argv = train_argv(data, crashed, steps=2 * SAVE)
    if change == "another --train":
        argv[argv.index("--train") + 1] = str(other_train_file(tmp_path))
    else:
        argv += change  # the later flag wins
    rc, out, err = run_cli(*argv)
    assert rc == 2 and out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"error: --resume: {crashed / 'checkpoints' / f'checkpoint-{SAVE}'} was saved by a run "
                          "with other settings: ") and named in err
    assert err.rstrip().endswith("start afresh in another --out or without --resume")
    assert not (crashed / "run.json").exists() and not (crashed / "adapter").exists()  # nothing was trained
    assert sorted(p.name for p in (crashed / "checkpoints").iterdir()) == [f"checkpoint-{SAVE}"]


def test_every_difference_is_named_in_one_line(crashed, data, tmp_path, run_cli):
    argv = train_argv(data, crashed, steps=9) + ["--lr", "0.002"]
    argv[argv.index("--train") + 1] = str(other_train_file(tmp_path))
    rc, _, err = run_cli(*argv)
    assert rc == 2 and len(err.splitlines()) == 1
    differences = err.split("other settings: ")[1].split("; start afresh")[0].split("; ")
    assert [d.split(" ")[0] for d in differences] == ["max_steps", "learning_rate", "train"]
    saved = json.loads((crashed / "checkpoints" / f"checkpoint-{SAVE}" / LEDGER).read_text())["settings"]
    assert f"train data fingerprint {saved['train data fingerprint']!r} (checkpoint) vs '" in differences[2]


def test_the_same_command_resumes_and_counts_the_whole_run(crashed, data, tmp_path, run_cli):
    out = tmp_path / "run"
    shutil.copytree(crashed, out)
    saved = json.loads((out / "checkpoints" / f"checkpoint-{SAVE}" / LEDGER).read_text())["counts"]
    assert saved["train_samples"] == SAVE * 2 and saved["evaluations"] == 1
    rc, _, err = run_cli(*train_argv(data, out, steps=2 * SAVE))
    assert rc == 0, err
    info = train_info(out)
    assert info["resumed_from_step"] == SAVE and info["steps"] == 2 * SAVE
    # every sample of the run, not only this process's 2 * SAVE - SAVE steps'
    assert info["train_samples"] == 2 * SAVE * 2 and info["evaluations"] == 2
    assert info["train_tokens"] > saved["train_tokens"] and info["train_seconds"] > saved["train_seconds"]


def ledger_in(folder: Path, config: TrainConfig, lora: LoraSettings = LoraSettings(), train_fingerprint: str = "a" * 16,
              processes: int = 1) -> RunLedger:
    return RunLedger(run_settings(config, lora, {"model": "tiny", "model_seed": 0, "tokenizer": None},
                                  {"train": train_fingerprint, "eval": "e" * 16}, processes))


def test_speed_and_display_options_may_change_on_resume(tmp_path):
    config = TrainConfig(save_steps=3, resume=True)
    stats = TrainStats(train_samples=6, train_tokens=700, evaluations=2)
    ledger_in(tmp_path, config).save(tmp_path, stats, main_process=True)
    other = dataclasses.replace(config, progress=False, gradient_checkpointing=True, compile=True, liger=True)
    resumed = ledger_in(tmp_path, other)
    resumed.resume_from(tmp_path)
    assert resumed.earlier["train_samples"] == 6 and resumed.earlier["evaluations"] == 2
    assert set(resumed.earlier) == set(COUNTS)
    later = TrainStats(train_samples=4, train_tokens=300, evaluations=1, train_seconds=1.5)
    resumed.add_earlier(later)
    assert (later.train_samples, later.train_tokens, later.evaluations) == (10, 1000, 3)
    assert later.train_seconds > 1.5  # plus the earlier process's time up to its checkpoint


@pytest.mark.parametrize("change, named", [
    (dict(config=TrainConfig(save_steps=3, resume=True, batching="length_grouped")), "batching"),
    (dict(config=TrainConfig(save_steps=3, resume=True, seed=1)), "seed"),
    (dict(config=TrainConfig(save_steps=3, resume=True, max_length=256)), "max_length"),
    (dict(lora=LoraSettings(dropout=0.0)), "lora lora_dropout"),
    (dict(train_fingerprint="b" * 16), "train data fingerprint"),
    (dict(processes=2), "processes"),
])
def test_trajectory_settings_may_not_change_on_resume(tmp_path, change, named):
    ledger_in(tmp_path, TrainConfig(save_steps=3, resume=True)).save(tmp_path, TrainStats(), main_process=True)
    resumed = ledger_in(tmp_path, **{"config": TrainConfig(save_steps=3, resume=True), **change})
    with pytest.raises(UsageError, match=rf"^--resume: .* other settings: {named} \S+ \(checkpoint\) vs \S+ \(now\); start"):
        resumed.resume_from(tmp_path)


def test_a_checkpoint_without_a_ledger_is_not_resumed(tmp_path):
    with pytest.raises(UsageError, match=f"has no readable {LEDGER}"):
        ledger_in(tmp_path, TrainConfig(save_steps=3, resume=True)).resume_from(tmp_path)


def test_a_finished_run_run_again_trains_no_step_more(data, tmp_path, run_cli):
    """A new user's rerun of the same command after it finished: the same weights and steps, not
    one step more each time (HF Trainer resumed at max_steps runs a step before it checks)."""
    out = tmp_path / "done"
    argv = train_argv(data, out, steps=SAVE)  # the last checkpoint is the final step
    rc, _, err = run_cli(*argv)
    assert rc == 0, err
    first, info = adapter(out), train_info(out)
    rc, _, err = run_cli(*argv)
    assert rc == 0, err
    again = train_info(out)
    assert again["steps"] == info["steps"] == SAVE and again["resumed_from_step"] == SAVE
    assert again["train_samples"] == info["train_samples"]  # the whole run's counts, none added
    assert not list((out / "checkpoints").glob(f"checkpoint-{SAVE + 1}"))
    for name, weight in first.items():
        assert torch.equal(adapter(out)[name], weight), name


# --- settings added since a checkpoint was saved (pass-through LoRA and TrainingArguments keys) ------


def _save_as_older_fraudft(folder: Path, ledger: RunLedger, renamed: dict, dropped: tuple) -> None:
    """A ledger as an older fraudft wrote it: some settings under older names, some not there at all."""
    ledger.save(folder, TrainStats(), main_process=True)
    path = folder / "fraudft_run.json"
    saved = json.loads(path.read_text(encoding="utf-8"))
    saved["settings"] = {renamed.get(k, k): v for k, v in saved["settings"].items() if k not in dropped}
    path.write_text(json.dumps(saved), encoding="utf-8")


def test_a_checkpoint_of_an_older_fraudft_resumes_settings_it_lacks_counting_as_their_defaults(tmp_path):
    config = TrainConfig(save_steps=3, resume=True)
    _save_as_older_fraudft(tmp_path, ledger_in(tmp_path, config),
                           renamed={"lora lora_alpha": "lora alpha", "lora lora_dropout": "lora dropout",
                                    "lora use_rslora": "lora rslora"},
                           dropped=("weight_decay",))
    # now: peft's names, use_dora and a TrainingArguments key given at their defaults, weight_decay at its default
    now = ledger_in(tmp_path, config.with_options({"neftune_noise_alpha": None}), LoraSettings(use_dora=False))
    now.resume_from(tmp_path)


@pytest.mark.parametrize("config, lora, named", [
    (TrainConfig(save_steps=3, resume=True).with_options({"neftune_noise_alpha": 5}), LoraSettings(),
     "trainer neftune_noise_alpha None (checkpoint) vs 5 (now)"),
    (TrainConfig(save_steps=3, resume=True), LoraSettings(use_dora=True), "lora use_dora None (checkpoint) vs True (now)"),
])
def test_a_setting_added_away_from_its_default_may_not_resume(tmp_path, config, lora, named):
    ledger_in(tmp_path, TrainConfig(save_steps=3, resume=True)).save(tmp_path, TrainStats(), main_process=True)
    with pytest.raises(UsageError, match=rf"other settings: {re.escape(named)}; start"):
        ledger_in(tmp_path, config, lora).resume_from(tmp_path)
