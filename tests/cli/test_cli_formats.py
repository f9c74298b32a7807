"""The data formats from the command line: every command that reads records takes CSV, Parquet,
JSON and alpaca arrays (detected, or --format) and --column-map, through fraudft.data.formats."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from fraudft import cli
from fraudft.data.loading import load_jsonl
from fraudft.synthetic import SynthConfig, generate

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def run(capsys, *argv) -> tuple[int, str, str]:
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def records():
    return generate(SynthConfig(n=8, seed=31))


def alpaca(records) -> list[dict]:
    return [{"instruction": r["instruction"], "input": r["input"], "output": json.dumps({"is_fraud": r["label"]})}
            for r in records]


def test_validate_and_stats_read_csv_parquet_and_alpaca(capsys, tmp_path, records):
    pd.DataFrame(records).to_csv(tmp_path / "x.csv", index=False)
    pd.DataFrame(records).to_parquet(tmp_path / "x.parquet")
    (tmp_path / "x.json").write_text(json.dumps(alpaca(records), ensure_ascii=False), encoding="utf-8")
    for name in ("x.csv", "x.parquet", "x.json"):
        rc, out, err = run(capsys, "data", "validate", tmp_path / name)
        assert (rc, out, err) == (0, f"{tmp_path / name}: ok, 8 records\n", "")
    rc, out, _ = run(capsys, "data", "stats", tmp_path / "x.json", "--json")
    assert rc == 0 and json.loads(out)[str(tmp_path / "x.json")]["true_count"] == sum(r["label"] for r in records)


def test_format_and_column_map_flags(capsys, tmp_path, records):
    path = tmp_path / "x.data"
    pd.DataFrame(records).rename(columns={"input": "text"}).to_csv(path, index=False)
    rc, out, _ = run(capsys, "data", "validate", path, "--format", "csv", "--column-map", "input=text")
    assert rc == 0 and out == f"{path}: ok, 8 records\n"
    rc, _, err = run(capsys, "data", "validate", path, "--format", "csv", "--column-map", "input=dialogue")
    assert rc == 2 and err == f"error: {path}: dialogue: no such column (--column-map input=dialogue), expected one of the columns " \
                              "text, label, fraud_speaker, instruction\n"
    rc, _, err = run(capsys, "data", "validate", path)
    assert rc == 2 and err.startswith(f"error: {path}: format: cannot tell from the suffix '.data', expected --format")


def test_bad_input_exits_2_with_one_line_naming_the_place(capsys, tmp_path, records):
    items = alpaca(records)
    items[4]["output"] = "fraud"
    (tmp_path / "bad.json").write_text(json.dumps(items), encoding="utf-8")
    rc, _, err = run(capsys, "data", "validate", tmp_path / "bad.json")
    assert rc == 2 and re.fullmatch(rf"error: {re.escape(str(tmp_path / 'bad.json'))}: item 5: output: not JSON .*\n", err)
    (tmp_path / "ambiguous.json").write_text(json.dumps([{"input": "x"}]), encoding="utf-8")
    rc, _, err = run(capsys, "audit", tmp_path / "ambiguous.json")
    assert rc == 2 and err.startswith(f"error: {tmp_path / 'ambiguous.json'}: a JSON array: use --format alpaca, json or sharegpt")
    pd.DataFrame([{**r, "label": str(r["label"]).upper()} for r in records]).to_parquet(tmp_path / "text.parquet")
    rc, _, err = run(capsys, "data", "validate", tmp_path / "text.parquet")
    assert rc == 2 and err.startswith(f"error: {tmp_path / 'text.parquet'}: row 1: label: got str \"")


def test_audit_and_mitigate_read_csv_and_write_jsonl(capsys, tmp_path, records):
    for name, part in (("train", records[:6]), ("test", records[6:])):
        pd.DataFrame(part).to_csv(tmp_path / f"{name}.csv", index=False)
    rc, out, err = run(capsys, "audit", tmp_path / "train.csv", tmp_path / "test.csv", "--json", "--fail-on", "never",
                       "--tokenizer", "none")
    assert rc == 0, err
    rc, _, err = run(capsys, "mitigate", tmp_path / "train.csv", tmp_path / "test.csv", "--out-dir", tmp_path / "clean",
                     "--neutralize-speakers")
    assert rc == 0, err
    assert [r["input"] for r in load_jsonl(tmp_path / "clean" / "test.jsonl")] != []
    assert len(load_jsonl(tmp_path / "clean" / "train.jsonl")) == 6


def test_train_from_parquet_and_evaluate_csv(capsys, tmp_path, records):
    pd.DataFrame(records).to_parquet(tmp_path / "train.parquet")
    pd.DataFrame(records[:4]).to_csv(tmp_path / "eval.csv", index=False)
    out_dir = tmp_path / "run"
    rc, out, err = run(capsys, "train", "--model", "tiny", "--train", tmp_path / "train.parquet", "--eval", tmp_path / "eval.csv",
                       "--out", out_dir, "--max-steps", "1", "--batch-size", "2", "--grad-accum", "1", "--eval-steps", "1",
                       "--patience", "0", "--max-length", "128", "--quiet")
    assert rc == 0, err
    assert "trained 1 steps in " in out and (out_dir / "adapter" / "adapter_config.json").exists()
    rc, out, err = run(capsys, "evaluate", "--model", "tiny", "--adapter", out_dir, "--data", tmp_path / "eval.csv",
                       "--max-length", "128", "--json")
    assert rc == 0, err
    assert json.loads(out)["metrics"]["n"] == 4
