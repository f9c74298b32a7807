"""`fraudft train`'s rough edges a new user met (issue 32): `--model tiny` trains as the bench's
reference arm; an unknown model name is one line, without hub retries; Ctrl-C is one line saying
what was kept; --resume says where it resumed; a non-empty --out is refused without --resume or
--overwrite; --quiet prints no log dicts."""

from __future__ import annotations

import dataclasses
import time

import pytest

from fraudft import cli
from fraudft.data.records import write_jsonl
from fraudft.synthetic import SynthConfig, generate

pytestmark = pytest.mark.usefixtures("one_torch_thread")

QUICK = ("--max-steps", "2", "--batch-size", "2", "--grad-accum", "1", "--eval-steps", "1", "--patience", "0",
         "--max-length", "128", "--batching", "padded", "--no-gradient-checkpointing", "--lr", "0.003")


@pytest.fixture
def files(tmp_path):
    train_path, eval_path = tmp_path / "train.jsonl", tmp_path / "eval.jsonl"
    write_jsonl(generate(SynthConfig(n=8, seed=21)), train_path)
    write_jsonl(generate(SynthConfig(n=4, seed=22)), eval_path)
    return ["--train", str(train_path), "--eval", str(eval_path)]


def test_model_tiny_trains_as_the_bench_reference_arm_and_says_so():
    from fraudft.cli.train import train_config_of
    from fraudft.experiment.arms import ARMS_BY_NAME
    from fraudft.experiment.recipes import load_recipe
    from fraudft.experiment.runner import train_config

    args = cli.build_parser().parse_args(["train", "--model", "tiny", "--train", "t.jsonl", "--eval", "e.jsonl",
                                          "--out", "o"])
    config, lora, said = train_config_of(args)
    assert "--max-steps 200" in said and "--batching length_grouped" in said
    reference = train_config(ARMS_BY_NAME["reference"], load_recipe("cpu-tiny"), seed=0)
    ran_alike = {"progress", "save_steps", "resume"}  # the command's own: --quiet, --resume
    ours = {k: v for k, v in dataclasses.asdict(config).items() if k not in ran_alike}
    assert ours == {k: v for k, v in dataclasses.asdict(reference).items() if k not in ran_alike}
    arm_lora = ARMS_BY_NAME["reference"].lora
    assert (lora.r, lora.alpha, lora.dropout) == (arm_lora.r, arm_lora.alpha, arm_lora.dropout)


@pytest.fixture
def no_hub(monkeypatch):
    """Any attempt to load a model or tokenizer from the hub fails the test."""
    import transformers

    def refuse(*args, **kwargs):
        raise AssertionError(f"the hub was asked for {args[0]!r}")

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", refuse)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", refuse)


def test_an_unknown_model_name_is_one_line_naming_the_presets(run_cli, files, tmp_path, no_hub):
    start = time.monotonic()
    rc, out, err = run_cli("train", "--model", "tinyy", *files, "--out", tmp_path / "out", *QUICK)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: --model: 'tinyy' is no preset")
    assert "did you mean tiny?" in err and "qwen2-1.5b-arch" in err
    assert time.monotonic() - start < 30  # no hub retries
    rc, _, err = run_cli("evaluate", "--model", "tinyy", "--data", files[1])
    assert rc == 2 and err.count("\n") == 1 and "did you mean tiny?" in err


def test_an_offline_hub_id_not_in_the_cache_is_one_line(run_cli, files, tmp_path, no_hub, monkeypatch):
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "is_offline_mode", lambda: True)
    rc, _, err = run_cli("train", "--model", "nobody/no-such-model", *files, "--out", tmp_path / "out", *QUICK)
    assert rc == 2 and err.count("\n") == 1
    assert "'nobody/no-such-model' is not in the local hub cache and the hub is offline" in err


def _interrupt(monkeypatch):
    import fraudft.engine.train

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(fraudft.engine.train, "train", interrupted)


def test_ctrl_c_is_one_line_saying_nothing_was_kept_without_resume(run_cli, files, tmp_path, monkeypatch):
    _interrupt(monkeypatch)
    rc, _, err = run_cli("train", "--model", "tiny", *files, "--out", tmp_path / "out", *QUICK)
    assert rc == 130 and "Traceback" not in err
    assert err.splitlines()[-1].startswith("interrupted: nothing kept (checkpoints are saved only with --resume)")


def test_ctrl_c_names_the_checkpoint_kept_and_how_to_resume(run_cli, files, tmp_path, monkeypatch):
    _interrupt(monkeypatch)
    checkpoint = tmp_path / "out" / "checkpoints" / "checkpoint-40"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text("{}")
    rc, _, err = run_cli("train", "--model", "tiny", *files, "--out", tmp_path / "out", *QUICK, "--resume")
    assert rc == 130 and "Traceback" not in err
    assert err.splitlines()[-1] == (f"interrupted: kept {checkpoint} (step 40); run the same command again "
                                    "(with --resume) to continue from it")


def test_a_non_empty_out_is_refused_without_resume_or_overwrite(run_cli, files, tmp_path, monkeypatch):
    out = tmp_path / "out"
    (out / "checkpoints" / "checkpoint-2").mkdir(parents=True)
    rc, _, err = run_cli("train", "--model", "tiny", *files, "--out", out, *QUICK)
    assert rc == 2 and err.count("\n") == 1
    assert err.startswith(f"error: --out: {out} is not empty") and "--resume" in err and "--overwrite" in err
    assert (out / "checkpoints" / "checkpoint-2").is_dir()  # nothing removed
    _interrupt(monkeypatch)  # past the check: stop before training
    rc, _, _ = run_cli("train", "--model", "tiny", *files, "--out", out, *QUICK, "--overwrite")
    assert rc == 130
    assert not (out / "checkpoints").exists()  # the old run's checkpoints are not beside the new run's


def test_quiet_prints_no_log_dicts_and_resume_says_where_it_resumed(run_cli, files, tmp_path):
    argv = ["train", "--model", "tiny", *files, "--out", tmp_path / "out", *QUICK, "--quiet", "--resume"]
    rc, out, err = run_cli(*argv)
    assert rc == 0, err
    lines = (out + err).splitlines()
    assert not [line for line in lines if line.startswith("{") or "'loss'" in line]  # HF's PrinterCallback is off
    assert not [line for line in lines if "encoding:" in line or "it/s]" in line]  # no progress bars either
    assert "resuming" not in err  # nothing to resume yet
    rc, out, err = run_cli(*argv)  # the same command again: the finished run, resumed at its last step
    assert rc == 0, err
    checkpoint = tmp_path / "out" / "checkpoints" / "checkpoint-2"
    assert f"resuming from {checkpoint} (step 2)" in err.splitlines()
    assert not [line for line in (out + err).splitlines() if line.startswith("{")]
