"""fraudft.data.records: loading, validating, summarising, splitting and writing JSONL (REFERENCE §1)."""

from __future__ import annotations

import json
import os
import re
import warnings
from collections import Counter

import pytest

from fraudft.core.errors import DataError, DataWarning
from fraudft.data.loading import load_jsonl
from fraudft.data.records import (
    REFERENCE_INSTRUCTION,
    count_turns,
    stratified_split,
    summarize,
    validate_record,
    write_jsonl,
)


def error_of(path) -> DataError:
    with pytest.raises(DataError) as info:
        load_jsonl(path)
    return info.value


def assert_located(err: DataError, path, line: int, field: str) -> None:
    assert re.fullmatch(rf"{re.escape(str(path))}:{line}: {re.escape(field)}: \S.*", str(err)), str(err)
    assert (err.path, err.line, err.field) == (str(path), line, field)


# --- loading good files -----------------------------------------------------------------------


def test_load_good_file(write_jsonl_lines, make_record):
    records = [
        make_record(label=True, fraud_speaker="发言人1"),
        make_record(input="发言人2: 好的。", reason="没有要求转账", extra_field=[1, 2]),
    ]
    path = write_jsonl_lines(records)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean file gives no warning
        loaded = load_jsonl(path)
    assert loaded == records
    assert loaded[1]["reason"] == "没有要求转账" and loaded[1]["extra_field"] == [1, 2]
    assert isinstance(loaded[0]["label"], bool)


def test_load_reads_escapes_as_in_the_real_files(write_jsonl_lines):
    line = r'{"input":"发言人1: \u4f60\u597d","label":true,"fraud_speaker":"","instruction":"(is_fraud: true\/false)"}'
    [record] = load_jsonl(write_jsonl_lines([line]))
    assert record == {"input": "发言人1: 你好", "label": True, "fraud_speaker": "", "instruction": "(is_fraud: true/false)"}


def test_load_without_final_newline_and_with_crlf(write_jsonl_lines, make_record):
    records = [make_record(), make_record(label=True)]
    assert load_jsonl(write_jsonl_lines(records, final_newline=False)) == records
    crlf = [json.dumps(r, ensure_ascii=False) + "\r" for r in records]
    assert load_jsonl(write_jsonl_lines(crlf)) == records


def test_load_accepts_a_str_path(write_jsonl_lines, make_record):
    assert load_jsonl(str(write_jsonl_lines([make_record()]))) == [make_record()]


# --- bad files --------------------------------------------------------------------------------


def test_malformed_json(write_jsonl_lines, make_record):
    path = write_jsonl_lines([make_record(), '{"input": "x", "label": tru'])
    err = error_of(path)
    assert_located(err, path, 2, "json")
    assert "expected one JSON object" in str(err)


@pytest.mark.parametrize("field", ["input", "label", "fraud_speaker", "instruction"])
def test_missing_field(write_jsonl_lines, make_record, field):
    record = make_record()
    del record[field]
    path = write_jsonl_lines([make_record(), make_record(), record])
    err = error_of(path)
    assert_located(err, path, 3, field)
    assert "missing" in str(err)


@pytest.mark.parametrize(
    "label, shown",
    [("true", 'str "true"'), ("false", 'str "false"'), (1, "int 1"), (0, "int 0"), (None, "NoneType null"), (1.0, "float 1.0")],
)
def test_label_must_be_a_json_bool(write_jsonl_lines, make_record, label, shown):
    path = write_jsonl_lines([make_record(label=label)])
    err = error_of(path)
    assert_located(err, path, 1, "label")
    assert shown in str(err)
    assert "expected a JSON bool" in str(err)


@pytest.mark.parametrize("field", ["input", "fraud_speaker", "instruction", "reason"])
def test_string_fields_must_be_strings(write_jsonl_lines, make_record, field):
    path = write_jsonl_lines([make_record(**{field: 3})])
    err = error_of(path)
    assert_located(err, path, 1, field)
    assert "expected a JSON string" in str(err)


def test_non_utf8_bytes(write_jsonl_lines, make_record):
    bad = json.dumps(make_record(input="你好"), ensure_ascii=False).encode("gbk")
    path = write_jsonl_lines([make_record(), bad])
    err = error_of(path)
    assert_located(err, path, 2, "encoding")
    assert "UTF-8" in str(err)


def test_empty_file(write_jsonl_lines, tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    err = error_of(path)
    assert str(err) == f"{path}: file: is empty, expected one JSON record per line"
    assert (err.line, err.field) == (None, "file")


def test_missing_file(tmp_path):
    path = tmp_path / "nope.jsonl"
    err = error_of(path)
    assert str(err).startswith(f"{path}: file: cannot be read")


def test_blank_line_in_the_middle(write_jsonl_lines, make_record):
    path = write_jsonl_lines([make_record(), "", make_record()])
    assert_located(error_of(path), path, 2, "record")
    path = write_jsonl_lines([make_record(), "   ", make_record()])
    assert_located(error_of(path), path, 2, "record")


def test_json_array_instead_of_object(write_jsonl_lines, make_record):
    path = write_jsonl_lines([make_record(), [make_record()]])
    err = error_of(path)
    assert_located(err, path, 2, "record")
    assert "expected a JSON object" in str(err)


def test_first_bad_line_is_reported(write_jsonl_lines, make_record):
    path = write_jsonl_lines([make_record(), make_record(label="yes"), "{bad json"])
    assert_located(error_of(path), path, 2, "label")


# --- values that parse but would crash a later step -------------------------------------------

GOOD_FIELDS = '"label": true, "fraud_speaker": "", "instruction": "i"'


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("[" * 100_000, "record"),  # Python's json raises RecursionError on this
        ('{"input": "x", ' + GOOD_FIELDS + ', "extra": ' + "[" * 5_000 + "]" * 5_000 + "}", "extra"),
        ('{"input": "x", ' + GOOD_FIELDS + ', "extra": ' + "[" * 40 + "]" * 40 + "}", "extra"),  # parses
        ('{"input": "x", ' + GOOD_FIELDS + ', "meta": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}", "meta"),
    ],
    ids=["100k-open-brackets", "5k-deep-field", "40-deep-field", "40-deep-objects"],
)
def test_deep_nesting_is_a_located_error(write_jsonl_lines, make_record, line, field):
    path = write_jsonl_lines([make_record(), line])
    err = error_of(path)
    assert_located(err, path, 2, field)
    assert "nested more than 32 levels deep, expected" in str(err)


def test_nesting_within_the_limit_is_kept(write_jsonl_lines, make_record):
    nested = [[[["x"]]]]
    assert load_jsonl(write_jsonl_lines([make_record(extra=nested)]))[0]["extra"] == nested


@pytest.mark.parametrize("field", ["label", "extra"])
def test_an_integer_over_pythons_digit_limit_is_a_located_error(write_jsonl_lines, make_record, field):
    record = json.dumps(make_record(**{field: 0}))
    path = write_jsonl_lines([record.replace(f'"{field}": 0', f'"{field}": ' + "1" * 5_000)])
    err = error_of(path)
    assert_located(err, path, 1, field)
    assert "an integer of more than 4300 digits, expected" in str(err)


@pytest.mark.parametrize("field", ["input", "fraud_speaker", "instruction", "reason", "extra"])
def test_a_lone_surrogate_in_any_string_field_is_a_located_error(write_jsonl_lines, make_record, field):
    line = json.dumps(make_record(**{field: "SURROGATE"})).replace("SURROGATE", r"\ud800abc")
    path = write_jsonl_lines([make_record(), line])
    err = error_of(path)
    assert_located(err, path, 2, field)
    assert r"lone surrogate \ud800 at character 0, expected valid Unicode text" in str(err)
    str(err).encode("utf-8")  # the message itself prints on any terminal


def test_a_lone_surrogate_in_a_nested_key_names_the_field(write_jsonl_lines, make_record):
    line = json.dumps(make_record(meta={"SURROGATE": 1})).replace("SURROGATE", r"\udc00")
    path = write_jsonl_lines([line])
    assert_located(error_of(path), path, 1, "meta")


def test_surrogate_pairs_are_valid(write_jsonl_lines, make_record):
    line = json.dumps(make_record(input="EMOJI")).replace("EMOJI", r"\ud83d\ude00")
    assert load_jsonl(write_jsonl_lines([line]))[0]["input"] == "\U0001f600"


def test_validate_record_checks_values_too(make_record):
    with pytest.raises(DataError, match=r"^t.csv: row 3: input: lone surrogate"):
        validate_record(make_record(input="\ud800"), "t.csv", "row 3")


def test_data_error_is_a_value_error():
    err = DataError("f.jsonl", 3, "label", "got str, expected a JSON bool")
    assert isinstance(err, ValueError)
    assert str(err) == "f.jsonl:3: label: got str, expected a JSON bool"


def test_validate_record_returns_the_record(make_record):
    record = make_record(reason="")
    assert validate_record(record, "x.jsonl", 1) is record
    with pytest.raises(DataError, match=r"^x\.jsonl:9: record: "):
        validate_record("just a string", "x.jsonl", 9)


# --- empty inputs -----------------------------------------------------------------------------


def test_empty_inputs_warn_and_are_kept(write_jsonl_lines, make_record):
    records = [make_record(), make_record(input=""), make_record(), make_record(input=" \n ", label=True)]
    path = write_jsonl_lines(records)
    with pytest.warns(DataWarning) as caught:
        loaded = load_jsonl(path)
    assert loaded == records
    messages = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert len(messages) == 1
    assert "2 record(s) with an empty input" in messages[0]
    assert messages[0].endswith("line(s) 2, 4")
    assert str(path) in messages[0]


# --- summarize --------------------------------------------------------------------------------


def test_count_turns():
    assert count_turns("") == 0
    assert count_turns("发言人1: 你好") == 1
    assert count_turns("发言人1: 你好\n\n发言人2: 嗯\n  \n") == 2


def test_summarize(make_record):
    records = [
        make_record(input="a" * 10, label=True),
        make_record(input="a\nb\nc" + "x" * 15, label=True),  # 20 chars, 3 turns
        make_record(input="b" * 30, label=True),
        make_record(input="c\nd", label=False),  # 3 chars, 2 turns
    ]
    stats = summarize(records)
    assert (stats["total_count"], stats["true_count"], stats["false_count"]) == (4, 3, 1)
    assert stats["per_class"]["true"]["chars"] == {"mean": 20.0, "median": 20.0, "min": 10.0, "max": 30.0}
    assert stats["per_class"]["true"]["turns"] == {"mean": 5 / 3, "median": 1.0, "min": 1.0, "max": 3.0}
    assert stats["per_class"]["false"]["chars"] == {"mean": 3.0, "median": 3.0, "min": 3.0, "max": 3.0}
    assert stats["per_class"]["false"]["turns"]["max"] == 2.0
    json.dumps(stats)  # plain JSON-serialisable types


def test_summarize_one_class_only(make_record):
    stats = summarize([make_record(label=False), make_record(label=False)])
    assert (stats["total_count"], stats["true_count"], stats["false_count"]) == (2, 0, 2)
    assert stats["per_class"]["true"]["chars"] == {"mean": None, "median": None, "min": None, "max": None}
    assert stats["per_class"]["false"]["chars"]["mean"] is not None


# --- stratified_split -------------------------------------------------------------------------


def labelled(n_true: int, n_false: int) -> list[dict]:
    labels = [True] * n_true + [False] * n_false
    return [
        {"input": f"发言人1: 第{i}句", "label": label, "fraud_speaker": "", "instruction": REFERENCE_INSTRUCTION, "id": i}
        for i, label in enumerate(labels)
    ]


def test_stratified_split_keeps_label_ratios_and_partitions():
    records = labelled(300, 100)
    parts = stratified_split(records, (0.8, 0.1, 0.1), seed=0)
    assert [len(p) for p in parts] == [320, 40, 40]
    for part in parts:
        assert sum(r["label"] for r in part) / len(part) == pytest.approx(0.75, abs=0.03)
    ids = Counter(r["id"] for part in parts for r in part)
    assert sorted(ids) == list(range(400))  # nothing lost
    assert set(ids.values()) == {1}  # nothing duplicated
    assert len(records) == 400  # the input list is left alone


def test_stratified_split_is_seeded():
    records = labelled(50, 50)
    first = stratified_split(records, (0.5, 0.25, 0.25), seed=3)
    again = stratified_split(records, (0.5, 0.25, 0.25), seed=3)
    other = stratified_split(records, (0.5, 0.25, 0.25), seed=4)
    ids = lambda parts: [[r["id"] for r in p] for p in parts]  # noqa: E731
    assert ids(first) == ids(again)
    assert ids(first) != ids(other)


def test_stratified_split_two_parts_and_default():
    records = labelled(20, 20)
    train, test = stratified_split(records, (0.5, 0.5))
    assert len(train) == len(test) == 20
    assert sum(r["label"] for r in train) == 10
    assert [len(p) for p in stratified_split(records)] == [32, 4, 4]


def test_stratified_split_single_part():
    records = labelled(3, 3)
    [whole] = stratified_split(records, (1.0,))
    assert whole == records


@pytest.mark.parametrize("fractions", [(0.8, 0.1), (0.5, 0.6), (1.0, 0.0), (1.2, -0.2), (0.5, 0.5, 0.1), ()])
def test_stratified_split_validates_fractions(fractions):
    with pytest.raises(ValueError, match="fractions"):
        stratified_split(labelled(10, 10), fractions)


# --- write_jsonl ------------------------------------------------------------------------------


def test_write_jsonl_round_trip(tmp_path, make_record):
    records = [make_record(label=True, reason="冒充客服"), make_record(input="发言人2: “引号”\n换行\t制表")]
    path = tmp_path / "sub" / "dir" / "out.jsonl"
    write_jsonl(records, path)
    assert load_jsonl(path) == records
    text = path.read_text(encoding="utf-8")
    assert "冒充客服" in text and "\\u" not in text  # ensure_ascii=False
    assert text.endswith("\n") and text.count("\n") == 2
    assert [p.name for p in path.parent.iterdir()] == ["out.jsonl"]  # no temp file left behind


def test_write_jsonl_failure_keeps_the_old_file_and_leaves_no_temp_file(tmp_path, make_record):
    path = tmp_path / "out.jsonl"
    write_jsonl([make_record()], path)
    with pytest.raises(TypeError):
        write_jsonl([make_record(label=True), {"not json": object()}], path)
    assert load_jsonl(path) == [make_record()]
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_write_jsonl_file_mode_follows_the_umask(tmp_path, make_record):
    path = tmp_path / "out.jsonl"
    write_jsonl([make_record()], path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not the temp file's 0600


def test_write_jsonl_replaces_an_existing_file(tmp_path, make_record):
    path = tmp_path / "out.jsonl"
    write_jsonl([make_record(), make_record()], path)
    write_jsonl([make_record(label=True)], path)
    assert load_jsonl(path) == [make_record(label=True)]


# --- the real eval split ----------------------------------------------------------------------


def test_real_eval_file(shared_eval_path):
    with pytest.warns(DataWarning) as caught:
        records = load_jsonl(shared_eval_path)
    assert len(records) == 2348
    assert sum(r["label"] for r in records) == 1183
    assert sum(not r["label"] for r in records) == 1165
    [message] = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert "3 record(s) with an empty input" in message
    assert message.endswith("line(s) 123, 191, 1874")
    assert all(not records[i - 1]["input"].strip() for i in (123, 191, 1874))
    assert "true/false" in records[0]["instruction"]  # `true\/false` escape decoded
    stats = summarize(records)
    assert (stats["total_count"], stats["true_count"], stats["false_count"]) == (2348, 1183, 1165)
    assert stats["per_class"]["true"]["chars"]["max"] <= 518
    assert max(s["chars"]["max"] for s in stats["per_class"].values()) == 518
