"""fraudft.data.formats: every format gives the records its JSONL equivalent gives, labels are checked by
one rule per format (no silent coercion), and errors name the line, item or row."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from fraudft.core.errors import DataError, UsageError
from fraudft.experiment.splits import load_splits
from fraudft.data.formats.base import FORMATS, parse_column_map
from fraudft.data.loading import detect_format, load_records
from fraudft.data.loading import load_jsonl


@pytest.fixture
def records(make_record):
    return [
        make_record(input="发言人1: 您好，我是银行客服。\n发言人2: 什么事？", label=True, fraud_speaker="发言人1", reason="冒充客服"),
        make_record(input="发言人1: 明天开会吗？\n发言人2: 开。", label=False, reason=""),
        make_record(input="发言人1: 喂？\n发言人2: \"引号\", 逗号", label=False, reason=""),
    ]


def alpaca_items(records):
    """The records as LLaMA-Factory alpaca items, the three-field answer in output."""
    return [{"instruction": r["instruction"], "input": r["input"],
             "output": json.dumps({"is_fraud": r["label"], "fraud_speaker": r["fraud_speaker"], "reason": r["reason"]},
                                  ensure_ascii=False)} for r in records]


def write_json(tmp_path, data, name="data.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False, indent=4), encoding="utf-8")
    return path


def error(path, place, field) -> str:
    return rf"^{re.escape(str(path))}: {place}: {re.escape(field)}: "


# --- the same records in every format ---------------------------------------------------------


def test_formats_are_registered_by_name_in_the_packages_order():
    assert list(FORMATS) == ["jsonl", "json", "alpaca", "sharegpt", "csv", "parquet", "hub"]
    from fraudft.cli import build_parser

    format_action = next(a for a in build_parser()._subparsers._group_actions[0].choices["train"]._actions
                         if a.dest == "format")
    assert tuple(format_action.choices) == tuple(FORMATS)  # the parser's choices come from the registry


def test_registration_order_does_not_depend_on_what_is_imported_first():
    import subprocess
    import sys

    code = ("import fraudft.data.formats.hub, fraudft.data.formats.sharegpt; "
            "from fraudft.data.loading import FORMATS; print(','.join(FORMATS))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "jsonl,json,alpaca,sharegpt,csv,parquet,hub"


@pytest.mark.parametrize("name", ["data.json", "data.jsonl"])  # the reference publishes alpaca as .jsonl
def test_an_alpaca_array_gives_the_records_of_the_equivalent_jsonl(tmp_path, write_jsonl_lines, records, name):
    path = write_json(tmp_path, alpaca_items(records), name)
    assert detect_format(path) == "alpaca"
    assert load_records(path) == load_jsonl(write_jsonl_lines(records)) == records


def test_alpaca_with_is_fraud_alone_gets_an_empty_fraud_speaker(tmp_path, make_record):
    item = {"instruction": "判断", "input": "发言人1: 喂", "output": '{"is_fraud": true}'}
    assert load_records(write_json(tmp_path, [item])) == [make_record(input="发言人1: 喂", instruction="判断", label=True)]


def test_a_json_array_of_records_gives_the_records(tmp_path, records):
    path = write_json(tmp_path, records)
    assert detect_format(path) == "json"
    assert load_records(path) == records


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_csv_and_parquet_round_trips_equal_jsonl(tmp_path, write_jsonl_lines, records, suffix):
    path = tmp_path / f"data{suffix}"
    frame = pd.DataFrame(records)
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    assert load_records(path) == load_jsonl(write_jsonl_lines(records)) == records


def test_parquet_takes_a_0_1_integer_label_column(tmp_path, records):
    path = tmp_path / "data.parquet"
    pd.DataFrame([{**r, "label": int(r["label"])} for r in records]).to_parquet(path)
    assert load_records(path) == records


@pytest.mark.parametrize("cell, label", [("true", True), ("FALSE", False), ("True", True), ("1", True), ("0", False)])
def test_csv_label_cells_are_true_false_1_or_0_in_any_case(tmp_path, make_record, cell, label):
    path = tmp_path / "data.csv"
    pd.DataFrame([{**make_record(), "label": cell}]).to_csv(path, index=False)
    assert load_records(path)[0]["label"] is label


# --- labels are not coerced -------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["TRUE", "False", "true"])
def test_a_parquet_string_label_is_refused_naming_the_row(tmp_path, records, bad):
    path = tmp_path / "data.parquet"
    pd.DataFrame([{**records[0], "label": bad}, {**records[1], "label": "false"}]).to_parquet(path)
    with pytest.raises(DataError, match=error(path, "row 1", "label") + rf'got str "{bad}", expected a boolean column'):
        load_records(path)


def test_a_parquet_integer_label_other_than_0_1_is_refused(tmp_path, records):
    path = tmp_path / "data.parquet"
    pd.DataFrame([{**r, "label": n} for r, n in zip(records, (1, 0, 2))]).to_parquet(path)
    with pytest.raises(DataError, match=error(path, "row 3", "label") + r"got int 2, expected a boolean column"):
        load_records(path)


@pytest.mark.parametrize("cell", ["yes", "t", " true", "2"])
def test_other_csv_label_cells_are_refused_naming_the_row(tmp_path, records, cell):
    path = tmp_path / "data.csv"
    pd.DataFrame([records[0], {**records[1], "label": cell}]).to_csv(path, index=False)
    with pytest.raises(DataError, match=error(path, "row 2", "label") + r"got str .*expected a text cell: exactly true, false, 1 or 0"):
        load_records(path)


def test_a_json_array_label_must_be_a_json_bool(tmp_path, records):
    path = write_json(tmp_path, [records[0], {**records[1], "label": "false"}])
    with pytest.raises(DataError, match=error(path, "item 2", "label") + r'got str "false", expected a JSON bool'):
        load_records(path)


# --- bad alpaca outputs and formats that cannot be told ---------------------------------------


@pytest.mark.parametrize("output, why", [
    ("is_fraud: true", r"not JSON \(Expecting value at column 1\)"),
    ('{"fraud_speaker": "张三"}', r"no is_fraud in"),
    ("[true]", r"no is_fraud in"),
    ('{"is_fraud": "true"}', r'is_fraud: got str "true", expected a JSON bool'),
])
def test_a_bad_alpaca_output_names_the_item(tmp_path, records, output, why):
    items = alpaca_items(records)
    items[1]["output"] = output
    path = write_json(tmp_path, items)
    with pytest.raises(DataError, match=error(path, "item 2", "output") + why):
        load_records(path)


def test_an_alpaca_item_without_output_names_the_item(tmp_path, records):
    items = alpaca_items(records)
    del items[2]["output"]
    path = write_json(tmp_path, items)
    with pytest.raises(DataError, match=error(path, "item 3", "output") + "missing"):
        load_records(path, format="alpaca")


@pytest.mark.parametrize("first", [{"input": "x"}, ["not", "an", "object"]])
def test_an_ambiguous_json_array_asks_for_format(tmp_path, first):
    path = write_json(tmp_path, [first])
    with pytest.raises(UsageError, match=rf"^{re.escape(str(path))}: a JSON array: use --format alpaca, json or sharegpt"):
        load_records(path)


def test_an_array_read_as_jsonl_asks_for_the_array_formats(tmp_path, records):
    path = write_json(tmp_path, records, "data.jsonl")
    with pytest.raises(UsageError, match=rf"^{re.escape(str(path))}: a JSON array, not JSONL: use --format alpaca, json or sharegpt"):
        load_records(path, format="jsonl")


def test_an_unknown_suffix_asks_for_format_and_format_reads_it(tmp_path, records):
    path = tmp_path / "data.txt"
    pd.DataFrame(records).to_csv(path, index=False)
    with pytest.raises(UsageError, match=r"format: cannot tell from the suffix '.txt', expected --format jsonl, json"):
        load_records(path)
    assert load_records(path, format="csv") == records


# --- column maps ------------------------------------------------------------------------------


def test_a_column_map_renames_columns_in_every_format(tmp_path, records):
    renamed = [{"text": r["input"], "is_fraud": r["label"], **{k: v for k, v in r.items() if k not in ("input", "label")}}
               for r in records]
    pd.DataFrame(renamed).to_parquet(tmp_path / "data.parquet")
    column_map = "input=text,label=is_fraud"
    assert load_records(tmp_path / "data.parquet", column_map=column_map) == records
    assert load_records(write_json(tmp_path, renamed), column_map=parse_column_map(column_map)) == records


def test_a_column_map_naming_a_missing_column_names_the_column(tmp_path, records):
    pd.DataFrame(records).to_csv(tmp_path / "data.csv", index=False)
    with pytest.raises(DataError, match=rf"data.csv: text: no such column \(--column-map input=text\), expected one of the columns input"):
        load_records(tmp_path / "data.csv", column_map="input=text")
    path = write_json(tmp_path, records)
    with pytest.raises(DataError, match=error(path, "item 1", "text") + r"missing \(--column-map input=text\)"):
        load_records(path, column_map="input=text")


@pytest.mark.parametrize("text, why", [("input", "FIELD=COLUMN"), ("nonsense=x", "got field 'nonsense'"),
                                       ("input=a,input=b", "mapped twice"), ("input=a,label=a", "a column is mapped twice")])
def test_bad_column_maps_are_usage_errors(text, why):
    with pytest.raises(UsageError, match=rf"^--column-map: .*{why}"):
        parse_column_map(text)


# --- the bench's data folder ------------------------------------------------------------------


def test_load_splits_reads_a_folder_of_csvs(tmp_path, write_jsonl_lines, records):
    for name in ("train", "eval", "test"):
        pd.DataFrame(records).to_csv(tmp_path / f"{name}.csv", index=False)
    splits = load_splits(tmp_path, (0, 0, 0))
    assert splits.train == splits.eval == splits.test == load_jsonl(write_jsonl_lines(records))


def test_load_splits_wants_exactly_one_file_per_split(tmp_path, records):
    for name in ("train", "eval", "test"):
        pd.DataFrame(records).to_csv(tmp_path / f"{name}.csv", index=False)
    pd.DataFrame(records).to_parquet(tmp_path / "eval.parquet")
    with pytest.raises(DataError, match=rf"^{re.escape(str(tmp_path))}: data dir: 2 eval files \(eval.csv, eval.parquet\) among "
                                        r"eval.csv, eval.parquet, test.csv, train.csv, expected exactly one of eval.jsonl"):
        load_splits(tmp_path, (0, 0, 0))
    (tmp_path / "test.csv").unlink()
    (tmp_path / "eval.parquet").unlink()
    with pytest.raises(DataError, match=r"data dir: no test file among eval.csv, train.csv, expected exactly one of test.jsonl"):
        load_splits(tmp_path, (0, 0, 0))


# --- the reference's published files ----------------------------------------------------------


@pytest.mark.filterwarnings("ignore:.*empty input")
def test_the_published_alpaca_file_gives_the_jsonl_records_but_fraud_speaker(shared_eval_path):
    alpaca_path = shared_eval_path.with_name("eval0819_alpaca.jsonl")
    if not alpaca_path.exists():
        pytest.skip("../shared/data/eval0819_alpaca.jsonl is absent")
    with pytest.warns(UserWarning, match="3 record\\(s\\) with an empty input, at item\\(s\\) 123, 191, 1874"):
        alpaca = load_records(alpaca_path)
    jsonl = load_jsonl(shared_eval_path)
    assert detect_format(alpaca_path) == "alpaca" and len(alpaca) == len(jsonl) == 2348
    fields = ("input", "label", "instruction")
    assert [{f: r[f] for f in fields} for r in alpaca] == [{f: r[f] for f in fields} for r in jsonl]
    # The published alpaca answers hold is_fraud alone: fraud_speaker is "" where the JSONL names one.
    assert all(r["fraud_speaker"] == "" for r in alpaca)
    assert sum(bool(r["fraud_speaker"]) for r in jsonl) == 1295


def test_detection_under_a_column_map_says_which_keys_it_looked_for(tmp_path):
    path = write_json(tmp_path, [{"instruction": "x", "input": "a", "output": '{"is_fraud": true}'}])
    with pytest.raises(UsageError, match=r"none of the keys label, answer \(--column-map output=\.\.\.\), "
                                         r"conversations, messages; it has instruction, input, output\)"):
        load_records(path, column_map={"output": "answer"})
