"""fraudft.results.record: the typed run record, built, checked and read in one place; schema 1 read too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fraudft.results.record import SCHEMA_VERSION, Evaluation, RecordError, RunRecord
from fraudft.results.store import load_records, read_record, record_path, write_json_atomic, write_record

SCHEMA1 = {  # a record as fraudft wrote it before schema 2 (results/0d7b4a1d1e/cpu-tiny/...)
    "schema": 1, "arm": "reference", "seed": 0, "backend": "cpu-tiny", "recipe": "cpu-tiny", "model": "tiny",
    "device": "cpu", "run_info": {"commit": "c1", "dirty": False, "config": {"backend": {"model": "tiny"}}},
    "train_info": {"status": "success", "steps": 200, "tokens_per_s": 5000.0},
    "metrics": {"tn": 1, "fp": 0, "fn": 1, "tp": 1, "f1": 0.667, "eval_seconds": 0.5},
    "predictions": [1, 0, 0], "labels": [1, 1, 0], "meta_info": {"device": "cpu"}}


def test_a_schema_1_record_reads_as_one_test_evaluation_without_scores(tmp_path):
    path = record_path(tmp_path, "c1", "cpu-tiny", "reference", 0)
    write_json_atomic(SCHEMA1, path)
    record = read_record(path)
    assert record.ok and record.schema == SCHEMA_VERSION and record.recipe == "cpu-tiny"
    assert [e.name for e in record.evaluations] == ["test"]
    test = record.test
    assert test.labels == [1, 1, 0] and test.predictions == [1, 0, 0] and test.scores is None
    assert test.metrics["f1"] == 0.667 and record.tokens_per_s == 5000.0 and record.steps == 200


def test_the_recorded_grid_of_an_older_commit_loads():
    records = load_records(Path(__file__).parents[2] / "results", "0d7b4a1d1e")
    assert len(records) == 15 and all(r.ok and r.test.scores is None for r in records)


def test_a_record_round_trips_through_its_file(tmp_path):
    record = RunRecord(arm="reference", seed=1, recipe="cpu-tiny", model="tiny", device="cpu",
                       run_info={"commit": "c1"}, train_info={"status": "success"},
                       evaluations=[Evaluation("test", [1, 0], [1, 1], scores=[0.9, 0.6], threshold=0.5),
                                    Evaluation("neutralized", [1, 0], [1, 0], scores=[0.8, 0.2])])
    path = write_record(record, tmp_path)
    assert record.path == str(path) and path.name == "reference-seed1.json"
    loaded = read_record(path)
    assert loaded == record
    assert loaded.evaluation("neutralized").scores == [0.8, 0.2] and loaded.evaluation("absent") is None


@pytest.mark.parametrize("change, why", [
    (lambda e: setattr(e, "scores", [0.5]), "evaluations[test].scores: got 1, expected 2 scores"),
    (lambda e: setattr(e, "labels", [1]), "evaluations[test].labels: expected 2 values"),
    (lambda e: setattr(e, "replies", ["a", 3]), "evaluations[test].replies: expected 2 strings"),
    (lambda e: setattr(e, "predictions", [2, 0]), "evaluations[test].predictions: expected a non-empty list of 0/1"),
])
def test_a_record_that_is_not_whole_is_refused_naming_the_field(tmp_path, change, why):
    evaluation = Evaluation("test", [1, 0], [1, 0], scores=[0.9, 0.1])
    change(evaluation)
    record = RunRecord(arm="reference", seed=0, recipe="cpu-tiny", model="tiny", device="cpu",
                       run_info={"commit": "c1"}, train_info={"status": "success"}, evaluations=[evaluation])
    with pytest.raises(RecordError, match=why.replace("[", r"\[").replace("]", r"\]")):
        write_record(record, tmp_path)
    path = record_path(tmp_path, "c1", "cpu-tiny", "reference", 0)
    data = dict(record.to_dict(), evaluations=[vars(evaluation)])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    with pytest.raises(Exception, match=f"{path.name}: not a whole record"):
        read_record(path)


def test_a_failed_run_needs_no_evaluation(tmp_path):
    record = RunRecord(arm="rslora", seed=0, recipe="cpu-tiny", model="tiny", device="cpu", run_info={"commit": "c1"},
                       train_info={"status": "failed", "error": "OOM"})
    loaded = read_record(write_record(record, tmp_path))
    assert not loaded.ok and loaded.error == "OOM" and loaded.test is None


def test_a_record_keeps_its_task_format_and_older_records_read_without_one(tmp_path):
    fmt = {"prompt": "chat_template", "system_prompt": None, "separator": "\n", "answer": "is_fraud_speaker_reason"}
    record = RunRecord(arm="reference", seed=2, recipe="cpu-tiny", model="tiny", device="cpu",
                       run_info={"commit": "c1"}, train_info={"status": "success"}, format=fmt,
                       evaluations=[Evaluation("test", [1, 0], [1, 1], scores=[0.9, 0.6])])
    assert read_record(write_record(record, tmp_path)).format == fmt
    record.format = {**fmt, "answer": "reasons"}
    with pytest.raises(RecordError, match="format: answer: got 'reasons', expected an answer schema, one of"):
        write_record(record, tmp_path)
    path = record_path(tmp_path, "c1", "cpu-tiny", "reference", 0)
    write_json_atomic(SCHEMA1, path)  # schema 1, no format
    assert read_record(path).format is None


def test_an_undefined_metric_is_null_with_its_reason_and_old_zeros_read_as_null(fake, tmp_path):
    constant = [0] * fake.n  # never flags fraud: precision undefined
    new = fake.record(tmp_path, "c1", "untuned", predictions=constant)
    stored = json.loads(Path(new.path).read_text())["evaluations"][0]["metrics"]
    assert stored["precision"] is None and stored["undefined"]["precision"] == "no positive prediction"
    assert stored["recall"] == 0.0 and stored["f1"] == 0.0 and stored["mcc"] == 0.0  # defined, by the registry
    # a record written before: precision and F1 stored as 0.0 and named in a list
    data = json.loads(Path(new.path).read_text())
    data["evaluations"][0]["metrics"] = fake.old_metrics(constant)
    assert data["evaluations"][0]["metrics"]["undefined"] == ["precision", "f1"]
    old = tmp_path / "old-seed0.json"
    old.write_text(json.dumps(data))
    metrics = RunRecord.read(old).test.metrics
    assert metrics["precision"] is None and metrics["undefined"] == {"precision": "no positive prediction"}
    assert metrics["f1"] == 0.0  # 2 tp / (2 tp + fp + fn) = 0 with positives: defined in the registry
    assert json.loads(old.read_text())["evaluations"][0]["metrics"]["precision"] == 0.0  # the file is not rewritten


def test_committed_records_of_a_constant_answer_read_precision_as_null():
    root = Path(__file__).resolve().parents[2] / "results"
    record = RunRecord.read(root / "d6a083a3a0" / "cpu-tiny" / "untuned-seed0.json")
    metrics = record.test.metrics
    assert (metrics["tp"], metrics["fp"]) == (0, 0)
    assert metrics["precision"] is None and metrics["undefined"] == {"precision": "no positive prediction"}
