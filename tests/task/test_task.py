"""fraudft.task: the task owns the label space. The default is_fraud keeps today's rules (labels,
file spellings, reply statuses, P(fraud) bit for bit); records, the task format, replies, evaluation
and run records ask the task; a second task (string labels) goes through every seam by registration
alone; fraudft.task imports nothing of fraudft above core."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from fraudft.core.errors import DataError, UsageError
from fraudft.engine.evaluate import EvalConfig, _batches, _examples, _length_sorted_batches, encode_prompts, evaluate, score
from fraudft.modeling.encode import EncodeConfig, Encoder
from fraudft.modeling.models import load_model
from fraudft.modeling import taskformat
from fraudft.modeling.taskformat import ANSWERS, Answer, TaskFormat
from fraudft.data.records import stratified_split, validate_record
from fraudft.engine.replies import read_reply
from fraudft.results.record import RecordError, RunRecord
from fraudft.synthetic import SynthConfig, generate
from fraudft.task import DEFAULT_TASK, IS_FRAUD, TASKS, Task, get_task

pytestmark = pytest.mark.usefixtures("one_torch_thread")
MAX_LENGTH = 160


@pytest.fixture(scope="module")
def tiny():
    return load_model("tiny", device="cpu")


@pytest.fixture
def scam_task(monkeypatch):
    """A second binary task registered for one test: string labels in `verdict`, its own answer."""
    task = Task(name="scam", label_field="verdict", answer_key="verdict", labels=("legit", "scam"),
                label_names=("legit", "scam"), answers=("verdict",), label_words='"legit" or "scam"',
                label_kind="a class name", positive="scam")
    monkeypatch.setitem(TASKS._entries, "scam", task)
    answers = ANSWERS.copy()
    answers.add("verdict", Answer("verdict", ("verdict",), ANSWERS["is_fraud"].text))
    monkeypatch.setattr(taskformat, "ANSWERS", answers)
    return task


def _scam_records(n: int, seed: int) -> list[dict]:
    records = generate(SynthConfig(n=n, seed=seed))
    return [{**{k: v for k, v in r.items() if k != "label"}, "verdict": "scam" if r["label"] else "legit"}
            for r in records]


# --- the default task ---------------------------------------------------------------------------


def test_the_default_task_is_is_fraud_with_a_bool_label():
    task = get_task()
    assert task is IS_FRAUD is TASKS[DEFAULT_TASK] and DEFAULT_TASK == "is_fraud"
    assert TASKS.names()[0] == "is_fraud"
    assert (task.label_field, task.answer_key) == ("label", "is_fraud")
    assert task.labels == (False, True) and task.label_names == ("false", "true")
    assert task.positive is True and task.negative is False and task.binary
    assert [task.code(label) for label in task.labels] == [0, 1]  # run records' 0/1, 1 the positive class
    assert task.name_of(True) == "true"
    assert set(task.answers) <= set(ANSWERS) and task.answers[0] == "is_fraud"


def test_is_fraud_labels_follow_the_json_rule():
    task = get_task()
    assert task.is_label(True) and task.is_label(False)
    for value in (1, 0, "true", "false", None, 1.0):
        assert not task.is_label(value), value
    with pytest.raises(ValueError, match="expected a JSON bool"):
        task.code(1)


@pytest.mark.parametrize("text, label", [("TRUE", True), ("false", False), ("1", True), ("0", False), ("yes", "yes")])
def test_is_fraud_reads_csv_cells_as_today(text, label):
    assert get_task().label_from_text(text) == label and type(get_task().label_from_text(text)) is type(label)


@pytest.mark.parametrize("value, label", [(1, True), (0, False), (True, True), (2, 2), ("1", "1")])
def test_is_fraud_reads_typed_columns_as_today(value, label):
    got = get_task().label_from_typed(value)
    assert got == label and type(got) is type(label)


def test_is_fraud_reply_words_are_today_s():
    task = get_task()
    assert task.reply_label(True) == (True, None)
    assert task.reply_label(1) == (None, "is_fraud is not a bool (got 1)")
    assert task.reply_label("x" * 50)[1] == f'is_fraud is not a bool (got "{"x" * 39}...)'


def test_unknown_task_is_one_line_naming_the_known_ones():
    unknown = r"--task: got 'is_frad', expected a task, one of is_fraud \(did you mean is_fraud\?\)"
    with pytest.raises(UsageError, match=unknown):
        get_task("is_frad", option="--task")


def test_a_task_is_checked_on_creation():
    common = dict(name="t", label_field="y", answer_key="y", label_names=("a", "b"), answers=("a",),
                  label_words="a or b")
    with pytest.raises(ValueError, match="two or more distinct"):
        Task(labels=("a", "a"), **common)
    with pytest.raises(ValueError, match="expected the last of two labels"):
        Task(labels=("a", "b"), positive="a", **common)
    with pytest.raises(ValueError, match="one per label"):
        Task(**{**common, "label_names": ("a",)}, labels=("a", "b"))


def test_a_multi_class_task_has_names_but_no_positive_class():
    classes = ("none", "impersonation", "investment")
    task = Task(name="fraud_type", label_field="fraud_type", answer_key="fraud_type", labels=classes,
                label_names=classes, answers=("fraud_type",), label_words="a class name", label_kind="a class name")
    assert not task.binary and task.code("investment") == 2
    assert task.label_from_text("investment") == "investment"
    assert task.reply_label("romance") == (None, 'fraud_type is not a class name (got "romance")')
    # three answers that differ at one token: one token per class after the shared prefix
    prefix, ids = task.label_split({"none": [5, 6, 10, 1], "impersonation": [5, 6, 11, 1], "investment": [5, 6, 12, 1]})
    assert prefix == [5, 6] and ids == {"none": 10, "impersonation": 11, "investment": 12}
    with pytest.raises(ValueError, match="do not differ at one token"):
        task.label_split({"none": [5, 10], "impersonation": [5, 11], "investment": [5, 11]})
    with pytest.raises(ValueError, match="expected a binary task"):
        task.negative
    with pytest.raises(ValueError, match="expected a binary task"):
        task.scores(torch.zeros(1, 20), ids)


# --- is_fraud through the seams, exactly as before ----------------------------------------------


def test_is_fraud_scores_are_bit_for_bit_the_pre_task_formula(tiny, tokenizer):
    records = generate(SynthConfig(n=6, seed=5))
    config = EvalConfig(max_length=MAX_LENGTH, batch_size=4, max_batch_tokens=None, progress=False)
    encoder = config.encoder(tokenizer)
    true_ids, false_ids = encoder.target_ids[True], encoder.target_ids[False]
    k = next(i for i, (a, b) in enumerate(zip(true_ids, false_ids)) if a != b)  # the formula before tasks
    prompts = encode_prompts(tokenizer, records, config)
    assert prompts.ids == [encoder.fit_prompt(r, MAX_LENGTH - len(true_ids))[0] for r in records]
    examples = _examples(prompts.ids, true_ids[:k])
    expected = [0.0] * len(records)
    with torch.inference_mode():
        for idx, batch in _batches(tiny, tokenizer, examples, _length_sorted_batches(examples, 4), "s", False):
            logits = tiny(**batch, logits_to_keep=1).logits[:, -1, [true_ids[k], false_ids[k]]].float()
            for i, p in zip(idx, torch.softmax(logits, dim=-1)[:, 0].tolist()):
                expected[i] = p
    assert score(tiny, tokenizer, records, config) == expected  # exactly, not approximately
    result = evaluate(tiny, tokenizer, records, config)
    assert result["predictions"] == [p >= 0.5 for p in expected]
    assert all(type(p) is bool for p in result["predictions"])


def test_is_fraud_answers_and_format_dict_are_unchanged():
    fmt = TaskFormat()
    assert fmt.task == "is_fraud" and fmt.task_spec is IS_FRAUD
    assert fmt.answer_text({"label": True}) == '{"is_fraud": true}'
    three = TaskFormat(answer="is_fraud_speaker_reason")
    assert three.answer_text({"label": False, "fraud_speaker": "", "reason": "r"}) == \
        '{"is_fraud": false, "fraud_speaker": "", "reason": "r"}'
    assert fmt.to_dict() == {"prompt": "reference", "system_prompt": None, "separator": "", "answer": "is_fraud"}
    assert TaskFormat.from_dict(fmt.to_dict()) == fmt == TaskFormat.from_dict({**fmt.to_dict(), "task": "is_fraud"})


def test_a_format_names_a_known_task_and_one_of_its_answers(scam_task):
    with pytest.raises(ValueError, match="task: got 'nope', expected a task"):
        TaskFormat(task="nope")
    with pytest.raises(ValueError, match="expected one of task scam's answers verdict"):
        TaskFormat(task="scam")  # answer is_fraud does not train the scam task
    with pytest.raises(ValueError, match="expected one of task is_fraud's answers"):
        TaskFormat(answer="verdict")


def test_records_without_a_task_read_as_is_fraud_and_new_ones_name_theirs(scam_task):
    base = {"schema": 2, "arm": "a", "seed": 0, "train_info": {"status": "failed", "error": "x"}}
    assert RunRecord.from_dict(base).task == "is_fraud"
    assert RunRecord.from_dict(base).to_dict()["task"] == "is_fraud"
    assert RunRecord.from_dict({**base, "task": "scam"}).task == "scam"
    with pytest.raises(RecordError, match="task: got 'nope', expected a task"):
        RunRecord.from_dict({**base, "task": "nope"})
    fmt = TaskFormat(task="scam", answer="verdict").to_dict()
    assert fmt["task"] == "scam"
    assert RunRecord.from_dict({**base, "task": "scam", "format": fmt}).format == fmt
    with pytest.raises(RecordError, match="expected the format's task 'scam'"):
        RunRecord.from_dict({**base, "format": fmt})


# --- a second task through every seam, by registration alone ------------------------------------


def test_a_second_task_reads_validates_answers_parses_and_scores(scam_task, tiny, tokenizer, tmp_path):
    from fraudft.data.loading import load_records

    records = _scam_records(6, seed=7)
    assert validate_record(records[0], "x.jsonl", 1, scam_task) is records[0]
    with pytest.raises(DataError, match=r'x.jsonl:3: verdict: got bool true, expected "legit" or "scam"'):
        validate_record({**records[0], "verdict": True}, "x.jsonl", 3, scam_task)
    with pytest.raises(DataError, match=r"x.jsonl:1: verdict: missing"):
        validate_record({k: v for k, v in records[0].items() if k != "verdict"}, "x.jsonl", 1, scam_task)
    path = tmp_path / "scam.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    assert load_records(path, task=scam_task) == records
    many = _scam_records(20, seed=8)
    parts = stratified_split(many, (0.5, 0.5), task=scam_task)
    scams = [sum(r["verdict"] == "scam" for r in part) for part in (many, *parts)]
    assert scams[1] == scams[2] == scams[0] // 2 and scams[0] % 2 == 0

    fmt = TaskFormat(task="scam", answer="verdict")
    assert fmt.answer_text(records[0]) == json.dumps({"verdict": records[0]["verdict"]})
    assert read_reply('{"verdict": "scam"}', scam_task) == ("scam", "ok")
    assert read_reply('{"verdict": true}', scam_task) == (None, "invalid: verdict is not a class name (got true)")
    assert read_reply('{"is_fraud": true}', scam_task) == (None, "invalid: no verdict key")

    encoder = Encoder(tokenizer, EncodeConfig(max_length=MAX_LENGTH, format=fmt))
    assert set(encoder.target_ids) == {"legit", "scam"}
    config = EvalConfig(max_length=MAX_LENGTH, progress=False, format=fmt)
    probs = score(tiny, tokenizer, records, config)
    result = evaluate(tiny, tokenizer, records, config)
    assert result["predictions"] == ["scam" if p >= 0.5 else "legit" for p in probs]
    metrics = result["metrics"]
    labels = [r["verdict"] for r in records]
    assert metrics["tp"] == sum(y == p == "scam" for y, p in zip(labels, result["predictions"]))
    assert metrics["tp"] + metrics["fn"] == labels.count("scam")


# --- the layer ----------------------------------------------------------------------------------


def test_the_task_layer_imports_only_core():
    code = ("import sys, fraudft.task; print(' '.join(sorted(m for m in sys.modules if m.startswith('fraudft'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    above = [m for m in out if m != "fraudft" and not m.startswith(("fraudft.task", "fraudft.core"))]
    assert "fraudft.task" in out and above == []
