"""`fraudft train` and `fraudft evaluate`, run in-process on the tiny preset and synthetic data."""

from __future__ import annotations

import json
import re

import pytest

from fraudft import cli
from fraudft.data.records import write_jsonl
from fraudft.synthetic import SynthConfig, generate

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY_TRAIN = ("--max-steps", "2", "--batch-size", "2", "--grad-accum", "1", "--eval-steps", "1",
              "--patience", "0", "--max-length", "128", "--quiet")




def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def synthetic_files(tmp_path):
    train_path, eval_path = tmp_path / "train.jsonl", tmp_path / "eval.jsonl"
    write_jsonl(generate(SynthConfig(n=8, seed=21)), train_path)
    write_jsonl(generate(SynthConfig(n=4, seed=22)), eval_path)
    return train_path, eval_path


def test_train_with_a_bad_train_file_exits_2(capsys, write_jsonl_lines, make_record, synthetic_files, tmp_path):
    _, eval_path = synthetic_files
    bad = write_jsonl_lines([make_record(), make_record(label=1)], name="bad.jsonl")
    rc, _, err = run(capsys, "train", "--model", "tiny", "--train", str(bad), "--eval", str(eval_path),
                     "--out", str(tmp_path / "out"), *TINY_TRAIN)
    assert rc == 2
    assert len(err.splitlines()) == 1, err
    assert re.fullmatch(rf"error: {re.escape(str(bad))}:2: label: got int 1, expected a JSON bool.*\n", err)
    assert not (tmp_path / "out" / "run.json").exists()


def test_train_with_a_bad_eval_file_exits_2(capsys, write_jsonl_lines, make_record, synthetic_files, tmp_path):
    train_path, _ = synthetic_files
    bad = write_jsonl_lines([make_record(), make_record(), "{oops"], name="bad_eval.jsonl")
    rc, _, err = run(capsys, "train", "--model", "tiny", "--train", str(train_path), "--eval", str(bad),
                     "--out", str(tmp_path / "out"), *TINY_TRAIN)
    assert rc == 2
    assert re.fullmatch(rf"error: {re.escape(str(bad))}:3: json: .*\n", err)


def test_train_with_bad_lora_settings_exits_2(capsys, synthetic_files, tmp_path):
    train_path, eval_path = synthetic_files
    rc, _, err = run(capsys, "train", "--model", "tiny", "--train", str(train_path), "--eval", str(eval_path),
                     "--out", str(tmp_path / "out"), "--lora-r", "0", *TINY_TRAIN)
    assert rc == 2
    assert err.startswith("error: lora: r: got 0, expected a positive integer") and len(err.splitlines()) == 1


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="CUDA can honour them")
@pytest.mark.parametrize("flag", ["--compile", "--liger"])
def test_train_with_a_gpu_only_option_on_cpu_exits_2(capsys, monkeypatch, synthetic_files, tmp_path, flag):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    train_path, eval_path = synthetic_files
    rc, _, err = run(capsys, "train", "--model", "tiny", "--train", str(train_path), "--eval", str(eval_path),
                     "--out", str(tmp_path / "out"), flag, *TINY_TRAIN)
    assert rc == 2
    assert re.fullmatch(rf"error: {flag[2:]}: .*CUDA.*", err.splitlines()[-1]), err
    assert not (tmp_path / "out" / "run.json").exists()


def test_evaluate_with_a_folder_that_is_not_an_adapter_exits_2(capsys, synthetic_files, tmp_path):
    _, eval_path = synthetic_files
    folder = tmp_path / "not_an_adapter"
    folder.mkdir()
    rc, out, err = run(capsys, "evaluate", "--model", "tiny", "--adapter", str(folder), "--data", str(eval_path),
                       "--max-length", "128", "--json")
    assert rc == 2
    assert out == ""
    assert err == (f"error: {folder}: adapter: no adapter_config.json in it or in its adapter/, expected the --out "
                   "folder of `fraudft train` or its adapter/\n")


def test_train_then_evaluate_the_adapter(capsys, synthetic_files, tmp_path):
    train_path, eval_path = synthetic_files
    out_dir = tmp_path / "run"
    rc, out, err = run(capsys, "train", "--model", "tiny", "--train", str(train_path), "--eval", str(eval_path),
                       "--out", str(out_dir), *TINY_TRAIN)
    assert rc == 0, err
    assert "trained 2 steps in " in out and f"adapter in {out_dir}/adapter" in out
    assert (out_dir / "adapter" / "adapter_config.json").exists()

    record = json.loads((out_dir / "run.json").read_text(encoding="utf-8"))
    assert {"run_info", "train_info", "meta_info"} <= record.keys()
    info = record["train_info"]
    assert info["status"] == "success"
    assert info["steps"] == 2 and info["train_samples"] == 4 and info["evaluations"] == 2
    assert info["train_tokens"] > 0 and info["tokens_per_s"] > 0
    config = record["run_info"]["config"]
    assert config["model"] == "tiny" and config["lora"]["scale"] == 2.0
    assert config["train_config"]["max_steps"] == 2 and config["train_config"]["early_stopping_patience"] is None
    assert "libraries" in record["meta_info"]

    rc, out, err = run(capsys, "evaluate", "--model", "tiny", "--adapter", str(out_dir / "adapter"),
                       "--data", str(eval_path), "--max-length", "128", "--json")
    assert rc == 0, err
    summary = json.loads(out)
    m = summary["metrics"]
    assert m["n"] == 4
    assert m["tn"] + m["fp"] + m["fn"] + m["tp"] == m["n"]
    assert summary["mode"] == "score" and summary["examples_per_s"] > 0
    assert "probabilities" not in summary and "predictions" not in summary

    # The human-readable form of the same evaluation, given the --out folder of `fraudft train`.
    # Without --max-length: the length the adapter was trained at (128 here), not 2048.
    rc, out, _ = run(capsys, "evaluate", "--model", "tiny", "--adapter", str(out_dir), "--data", str(eval_path))
    assert rc == 0
    assert out.startswith(f"{eval_path}: 4 records, mode score, ")
    assert f"tn/fp/fn/tp {m['tn']}/{m['fp']}/{m['fn']}/{m['tp']}" in out
    assert "truncated to --max-length 128:" in out


def test_a_diverging_run_exits_1_with_one_line_and_records_the_failure(capsys, synthetic_files, tmp_path):
    from fraudft.core.jsonio import loads_strict

    train_path, eval_path = synthetic_files
    out_dir = tmp_path / "run"
    rc, out, err = run(capsys, "train", "--model", "tiny", "--train", str(train_path), "--eval", str(eval_path),
                       "--out", str(out_dir), "--lr", "1e30", "--max-steps", "4", "--batch-size", "2", "--grad-accum", "1",
                       "--eval-steps", "2", "--patience", "0", "--max-length", "128", "--no-gradient-checkpointing", "--quiet")
    assert rc == 1
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == [f"error: training diverged at step 2: loss nan, grad_norm nan; no adapter saved, {out_dir}/run.json "
                      "records the failed run (try a lower --lr)"], err
    assert "Traceback" not in err and not (out_dir / "adapter").exists()
    record = loads_strict((out_dir / "run.json").read_text(encoding="utf-8"))  # strict JSON: no NaN, no Infinity
    info = record["train_info"]
    assert info["status"] == "failed" and info["error"] == "training diverged at step 2: loss nan, grad_norm nan"
    assert info["diverged"] == {"step": 2, "loss": None, "grad_norm": None, "nonfinite": {"loss": "nan", "grad_norm": "nan"}}
    assert info["steps"] == 1 and [e["step"] for e in info["log_history"] if "loss" in e] == [1]
    assert record["run_info"]["config"]["train_config"]["learning_rate"] == 1e30


def test_evaluate_of_an_adapter_with_non_finite_weights_is_one_line(capsys, synthetic_files, tmp_path):
    from fraudft.modeling.lora import LoraSettings, add_lora
    from fraudft.modeling.models import load_model

    _, eval_path = synthetic_files
    model = add_lora(load_model("tiny", device="cpu"), LoraSettings())
    for name, parameter in model.named_parameters():
        if "lora_B" in name:
            parameter.data.fill_(float("nan"))
    model.save_pretrained(tmp_path / "adapter")
    rc, out, err = run(capsys, "evaluate", "--model", "tiny", "--adapter", str(tmp_path / "adapter"),
                       "--data", str(eval_path), "--max-length", "128")
    assert rc == 2 and out == ""
    assert err.splitlines()[-1] == (f"error: {tmp_path / 'adapter'}: scores: 4 of 4 records scored NaN or infinite; "
                                    "the model's weights hold non-finite values (an adapter of a diverged training run?)")
    assert "Traceback" not in err  # above it: the progress bar alone


# --- model-dependent training defaults --------------------------------------------------------


def filled(*argv: str):
    from fraudft.cli.train import fill_defaults

    args = cli.build_parser().parse_args(["train", "--train", "t.jsonl", "--eval", "e.jsonl", "--out", "o", *argv])
    return args, fill_defaults(args)


def test_tiny_takes_its_recipe_without_flags():
    from fraudft.configs import read_config

    recipe = read_config("recipes/cpu-tiny.toml")["train"]
    args, said = filled("--model", "tiny")
    assert (args.batch_size, args.grad_accum, args.lr, args.eval_steps, args.max_length) == (
        recipe["batch_size"], recipe["grad_accum"], recipe["learning_rate"], recipe["eval_steps"], recipe["max_length"])
    assert args.patience == 0 and recipe["early_stopping_patience"] == 0  # off
    assert args.gradient_checkpointing is False
    assert said.startswith("defaults from recipes/cpu-tiny.toml for --model tiny: --batch-size ")
    assert f"--lr {recipe['learning_rate']}" in said and " --no-gradient-checkpointing" in said


def test_other_models_take_the_reference_defaults():
    from fraudft.engine.train_config import TrainConfig

    reference = TrainConfig()
    args, said = filled("--model", "some/hub-model")
    assert (args.batch_size, args.grad_accum, args.lr, args.eval_steps, args.max_length) == (
        reference.batch_size, reference.grad_accum, reference.learning_rate, reference.eval_steps, reference.max_length)
    assert args.patience == reference.early_stopping_patience and args.gradient_checkpointing == "auto"
    assert said.startswith("defaults from the reference (TrainConfig) for --model some/hub-model: ")


def test_explicit_flags_win():
    args, said = filled("--model", "tiny", "--lr", "0.5", "--patience", "2", "--gradient-checkpointing", "--batch-size", "3")
    assert (args.lr, args.patience, args.gradient_checkpointing, args.batch_size) == (0.5, 2, True, 3)
    assert "--lr" not in said and "--patience" not in said and "--batch-size" not in said and "--grad-accum 1" in said
    args, _ = filled("--model", "some/hub-model", "--no-gradient-checkpointing", "--max-length", "64")
    assert args.gradient_checkpointing is False and args.max_length == 64


def test_all_flags_given_uses_no_defaults():
    _, said = filled("--model", "tiny", *TINY_TRAIN, "--lr", "0.01", "--no-gradient-checkpointing", "--batching", "padded",
                     "--train-arg", "load_best_model_at_end=true")
    assert said is None


@pytest.mark.parametrize("rank", [None, "0", "1"])
def test_train_hands_the_filled_defaults_to_train_config(capsys, monkeypatch, synthetic_files, tmp_path, rank):
    import fraudft.engine.train

    if rank is None:
        monkeypatch.delenv("RANK", raising=False)
    else:  # under torchrun: only rank 0 says which defaults it used
        monkeypatch.setenv("RANK", rank)
    seen = []

    def capture(model, tokenizer, train_records, eval_records, lora, config, output_dir, identity, task_format, **more):
        seen.append(config)
        raise RuntimeError("stop before training")

    monkeypatch.setattr(fraudft.engine.train, "train", capture)
    train_path, eval_path = synthetic_files
    with pytest.raises(RuntimeError, match="stop before training"):
        cli.main(["train", "--model", "tiny", "--train", str(train_path), "--eval", str(eval_path),
                  "--out", str(tmp_path / "out"), "--lr", "0.01"])
    from fraudft.configs import read_config

    recipe = read_config("recipes/cpu-tiny.toml")["train"]
    err = capsys.readouterr().err
    if rank == "1":
        assert "defaults from" not in err
    else:
        assert err.startswith("defaults from recipes/cpu-tiny.toml for --model tiny: --batch-size")
    [config] = seen
    assert (config.batch_size, config.learning_rate, config.early_stopping_patience) == (recipe["batch_size"], 0.01, None)
    assert config.max_length == recipe["max_length"] and config.gradient_checkpointing is False


def test_train_reports_the_dialogues_max_length_shortened(capsys, synthetic_files, tmp_path):
    """The record and the summary give, per split, the dialogues `fraudft encode` says it shortens
    at the same --max-length, and the tokens they lose (encode's lengths without a limit minus with it)."""
    limit = "160"  # shortens some of each split's synthetic dialogues, not all
    expected = {}
    for split, path in zip(("train", "eval"), synthetic_files):
        rc, short, err = run(capsys, "encode", str(path), "--max-length", limit)
        assert rc == 0
        shortened = int(re.search(rf"encoded \d+ records, (\d+) truncated to {limit} tokens", err)[1])
        rc, full, _ = run(capsys, "encode", str(path), "--max-length", "100000")
        short, full = ([json.loads(line) for line in text.splitlines()] for text in (short, full))
        assert sum(e["truncated"] for e in short) == shortened and 0 < shortened < len(short)
        removed = sum(len(f["input_ids"]) - len(s["input_ids"]) for f, s in zip(full, short))
        expected[split] = {"records": len(short), "dialogues_shortened": shortened, "tokens_removed": removed}

    argv = [a if a != "128" else limit for a in TINY_TRAIN]
    rc, out, err = run(capsys, "train", "--model", "tiny", "--train", str(synthetic_files[0]),
                       "--eval", str(synthetic_files[1]), "--out", str(tmp_path / "run"), *argv)
    assert rc == 0, err
    record = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    assert record["train_info"]["truncation"] == {"max_length": int(limit), **expected}
    train, eval_ = expected["train"], expected["eval"]
    assert out.splitlines()[-1] == (
        f"shortened to fit --max-length {limit}: "
        f"train {train['dialogues_shortened']} of {train['records']} dialogues ({train['tokens_removed']} tokens removed), "
        f"eval {eval_['dialogues_shortened']} of {eval_['records']} dialogues ({eval_['tokens_removed']} tokens removed)")


# --- the task format ----------------------------------------------------------------------------


def test_train_the_three_field_answer_then_evaluate_in_generate_mode(capsys, tmp_path):
    def reasoned(records):
        return [{**r, "reason": f"{r['fraud_speaker']}冒充客服索要验证码" if r["label"] else ""} for r in records]

    train_path, eval_path = tmp_path / "train.jsonl", tmp_path / "eval.jsonl"
    write_jsonl(reasoned(generate(SynthConfig(n=8, seed=21))), train_path)
    write_jsonl(reasoned(generate(SynthConfig(n=4, seed=22))), eval_path)
    out_dir = tmp_path / "run"
    rc, out, err = run(capsys, "train", "--model", "tiny", "--train", str(train_path), "--eval", str(eval_path),
                       "--out", str(out_dir), "--answer", "is_fraud_speaker_reason", "--separator", "\\n", *TINY_TRAIN)
    assert rc == 0, err
    saved = json.loads((out_dir / "adapter" / "fraudft_format.json").read_text(encoding="utf-8"))
    assert saved["format"] == {"prompt": "reference", "system_prompt": None, "separator": "\n",
                               "answer": "is_fraud_speaker_reason"}
    assert f"generate mode's --max-new-tokens {saved['max_new_tokens']} " in out
    record = json.loads((out_dir / "run.json").read_text(encoding="utf-8"))
    assert record["run_info"]["config"]["format"] == saved["format"]

    rc, out, err = run(capsys, "evaluate", "--model", "tiny", "--adapter", str(out_dir), "--data", str(eval_path),
                       "--max-length", "128", "--mode", "generate", "--batch-size", "4")
    assert rc == 0, err
    # the saved limit (the longest trained answer + margin), the cut and malformed counts, the field metrics
    assert f"cut at --max-new-tokens {saved['max_new_tokens']}" in out
    assert re.search(r"invalid \d+: \d+ cut at --max-new-tokens \d+, \d+ malformed", out)
    fraud = sum(json.loads(line)["label"] for line in eval_path.read_text(encoding="utf-8").splitlines())
    assert re.search(rf"speaker accuracy \d\.\d{{4}}  \(n {fraud}: records whose gold label is fraud\)", out)
    assert re.search(r"reason ROUGE-L \(characters\) \d\.\d{4}  \(n \d+: records with a non-empty gold reason\)", out)

    # an explicit --max-new-tokens wins over the saved one
    rc, out, err = run(capsys, "evaluate", "--model", "tiny", "--adapter", str(out_dir), "--data", str(eval_path),
                       "--max-length", "128", "--mode", "generate", "--max-new-tokens", "2", "--json")
    assert rc == 0, err
    summary = json.loads(out)
    assert summary["max_new_tokens"] == 2 and summary["format"] == saved["format"]
    assert summary["metrics"]["invalid_cut"] == summary["metrics"]["invalid"] == 4  # two tokens: all cut

    # evaluation needs no reason: score mode reads is_fraud alone
    plain = tmp_path / "plain.jsonl"
    write_jsonl(generate(SynthConfig(n=4, seed=23)), plain)
    rc, out, err = run(capsys, "evaluate", "--model", "tiny", "--adapter", str(out_dir), "--data", str(plain),
                       "--max-length", "128", "--json")
    assert rc == 0, err
    assert json.loads(out)["metrics"]["n"] == 4


def test_flags_override_a_saved_format_field_by_field():
    import argparse

    from fraudft.cli.options import task_format_from
    from fraudft.modeling.taskformat import TaskFormat

    saved = TaskFormat(prompt="chat_template", system_prompt="你是反诈专家。", separator="\n")

    def flags(**given):
        return argparse.Namespace(**{"prompt": None, "system_prompt": None, "separator": None, "answer": None, **given})

    assert task_format_from(flags(), saved) == saved
    # the reference prompt has its own system prompt: the saved one does not carry over
    assert task_format_from(flags(prompt="reference"), saved) == TaskFormat(separator="\n")
    assert task_format_from(flags(system_prompt=""), saved).system_prompt is None  # "" clears it


def test_the_three_field_answer_needs_a_reason(capsys, synthetic_files, tmp_path):
    train_path, eval_path = synthetic_files  # synthetic records have no reason
    rc, _, err = run(capsys, "train", "--model", "tiny", "--train", str(train_path), "--eval", str(eval_path),
                     "--out", str(tmp_path / "out"), "--answer", "is_fraud_speaker_reason", *TINY_TRAIN)
    assert rc == 2
    assert f"{train_path}:1: reason: got None, expected a string: answer is_fraud_speaker_reason trains it" in err


def test_a_system_prompt_needs_the_chat_template(capsys, synthetic_files, tmp_path):
    train_path, eval_path = synthetic_files
    rc, _, err = run(capsys, "train", "--model", "tiny", "--train", str(train_path), "--eval", str(eval_path),
                     "--out", str(tmp_path / "out"), "--system-prompt", "你是专家", *TINY_TRAIN)
    assert rc == 2 and "--system-prompt: the reference prompt has its own" in err


# --- warnings on the splits ---------------------------------------------------------------------


def train_until_training(monkeypatch, capsys, *argv: str) -> str:
    """Run `fraudft train` up to the point training would start; its stderr."""
    import fraudft.engine.train

    def stop(*args, **kwargs):
        raise RuntimeError("stop before training")

    monkeypatch.setattr(fraudft.engine.train, "train", stop)
    with pytest.raises(RuntimeError, match="stop before training"):
        cli.main(["train", "--model", "tiny", *argv, *TINY_TRAIN])
    return capsys.readouterr().err


def test_train_warns_on_duplicates_and_label_conflicts_in_its_train_split(capsys, monkeypatch, tmp_path):
    records = generate(SynthConfig(n=10, seed=21))
    assert len({r["input"] for r in records}) == 10
    records[6] = {**records[1], "input": records[1]["input"] + "  "}  # line 7 repeats line 2 (whitespace only)
    records[8] = {**records[3], "label": not records[3]["label"]}  # lines 4 and 9 conflict
    records[9] = dict(records[3])  # line 10 joins them
    train_path, eval_path = tmp_path / "train.jsonl", tmp_path / "eval.jsonl"
    write_jsonl(records, train_path)
    write_jsonl(generate(SynthConfig(n=6, seed=22)), eval_path)
    err = train_until_training(monkeypatch, capsys, "--train", str(train_path), "--eval", str(eval_path),
                               "--out", str(tmp_path / "out"))
    lines = [line for line in err.splitlines() if line.startswith("warning:")]
    assert lines == [
        f"warning: {train_path}: 3 of 10 records repeat an earlier input, in 2 group(s) (lines 2,7; 4,9,10); "
        "fraudft mitigate --dedupe keeps the first",
        f"warning: {train_path}: 1 group(s) of repeated inputs with conflicting labels, 3 records (lines 4,9,10): "
        "one label of each is wrong; fraudft mitigate --dedupe drops them",
    ]


def test_train_warns_on_an_eval_split_of_one_class(capsys, monkeypatch, tmp_path):
    train_path, eval_path = tmp_path / "train.jsonl", tmp_path / "eval.csv"
    write_jsonl(generate(SynthConfig(n=10, seed=21)), train_path)
    fraud = [r for r in generate(SynthConfig(n=12, seed=22)) if r["label"]]
    import pandas as pd

    pd.DataFrame(fraud).to_csv(eval_path, index=False)
    err = train_until_training(monkeypatch, capsys, "--train", str(train_path), "--eval", str(eval_path),
                               "--out", str(tmp_path / "out"))
    assert [line for line in err.splitlines() if line.startswith("warning:")] == [
        f"warning: {eval_path}: one class only (0 false, {len(fraud)} true): early stopping and the best checkpoint "
        "are chosen on it, expected more than one class"]
    both = tmp_path / "both.jsonl"
    write_jsonl(generate(SynthConfig(n=12, seed=22)), both)
    err = train_until_training(monkeypatch, capsys, "--train", str(train_path), "--eval", str(both),
                               "--out", str(tmp_path / "out"))
    assert "warning:" not in err
