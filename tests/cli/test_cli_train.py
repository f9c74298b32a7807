"""`fraudft train` and `fraudft evaluate`, run in-process on the tiny preset and synthetic data."""

from __future__ import annotations

import json
import re

import pytest

from fraudft import cli
from fraudft.records import write_jsonl
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
    assert err.startswith("error: r: got 0, expected a positive integer") and len(err.splitlines()) == 1


def test_evaluate_with_a_folder_that_is_not_an_adapter_exits_2(capsys, synthetic_files, tmp_path):
    _, eval_path = synthetic_files
    folder = tmp_path / "not_an_adapter"
    folder.mkdir()
    rc, out, err = run(capsys, "evaluate", "--model", "tiny", "--adapter", str(folder), "--data", str(eval_path),
                       "--max-length", "128", "--json")
    assert rc == 2
    assert out == ""
    assert err == f"error: {folder}: adapter: no adapter_config.json, expected a folder written by `fraudft train`\n"


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

    # The human-readable form of the same evaluation.
    rc, out, _ = run(capsys, "evaluate", "--model", "tiny", "--adapter", str(out_dir / "adapter"),
                     "--data", str(eval_path), "--max-length", "128")
    assert rc == 0
    assert out.startswith(f"{eval_path}: 4 records, mode score, ")
    assert f"tn/fp/fn/tp {m['tn']}/{m['fp']}/{m['fn']}/{m['tp']}" in out
