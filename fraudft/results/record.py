"""The run record: one typed object per (arm, seed, recipe) run, built, checked and read here only.

    from fraudft.results.record import RunRecord, Evaluation
    record = RunRecord.read("results/abc1234567/cpu-tiny/reference-seed0.json")
    record.ok, record.test.labels, record.test.scores, record.evaluation("neutralized")

A record holds, in the spirit of peft's method_comparison: `run_info` (commit, dirty flag, date,
command, config), `train_info` (steps, train and eval time apart, tokens/s, peak memory, status
`success` or `failed` with the error), `meta_info` (library versions, device), the task `format`
(fraudft.modeling.taskformat.TaskFormat.to_dict(): prompt, system prompt, separator, answer schema;
None in records written before formats were recorded: those used the default), the `task` it
predicts (a fraudft.task TASKS name; records written before tasks were named read as `is_fraud`,
the only task there was), the data `audit`
and a list of named **evaluations** of the one trained adapter (or baseline). Each evaluation holds
the test labels and the strict predictions at its threshold as the task's label codes (is_fraud:
0/1, 1 the positive class), the scores (is_fraud: P(fraud); score mode and the baselines; None in
generate mode), the replies and their parse status (generate mode), its
stored metrics and the operating point chosen on the eval split. The evaluation named `test` is the
arm's test split; others are extra test sets of the same adapter.

An evaluation's metrics hold every metric of the registry at its point value (fraudft.engine.evaluate's
metric_figures), an undefined one as null with its reason in `undefined` ({name: why}). Records
written before that stored an undefined precision/F1 as 0.0 and listed the names in `undefined`;
they are read as null with the registry's reason (the files are not rewritten).

Schema 2 (this one) is written; schema 1 records (one evaluation at the top level, no scores) are
read too, as an evaluation named `test` without scores: a metric that needs scores says so.
Every way a file can fail to be a record raises RecordError naming the field; fraudft.results.store
adds the file's name.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fraudft.modeling.lora import peft_names
from fraudft.task import DEFAULT_TASK, TASKS

SCHEMA_VERSION = 2
READABLE_SCHEMAS = (1, 2)
STATUSES = ("success", "failed")
TEST = "test"  # the name of the arm's own test evaluation
EXTRA = "extra"  # `extra:NAME`: the out-of-distribution set --extra-test NAME=PATH (counterfactuals are `test:NAME`)


EXTRA_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # NAME of --extra-test NAME=PATH: no ':' or spaces


def extra_evaluation(name: str) -> str:
    """The evaluation name of the --extra-test set `name`: `extra:NAME`."""
    return f"{EXTRA}:{name}"


def extra_name(evaluation: str) -> str | None:
    """NAME of an `extra:NAME` evaluation name, else None."""
    return evaluation.split(":", 1)[1] if evaluation.startswith(f"{EXTRA}:") else None


class RecordError(ValueError):
    """A JSON object that is not a whole run record; the message names the field and what was expected."""


def _is_01(values) -> bool:
    return isinstance(values, list) and all(v in (0, 1) for v in values)  # True/False count as 1/0


@dataclass
class Evaluation:
    """One test set scored by one run's model.

    labels, predictions: 0/1 per example (an invalid generate-mode reply counts as the wrong answer);
    scores: P(fraud) per example in [0, 1], or None (generate mode, schema-1 records);
    replies, reply_status: per example in generate mode, else None;
    metrics: what fraudft.engine.evaluate reports (confusion counts, invalid, n, examples_per_s,
    eval_seconds, truncated, ...); operating_point: the threshold chosen on the eval split
    (fraudft.metrics.operating) and the test figures at it, or None."""

    name: str
    labels: list[int]
    predictions: list[int]
    scores: list[float] | None = None
    replies: list[str] | None = None
    reply_status: list[str] | None = None
    metrics: dict = field(default_factory=dict)
    mode: str = "score"
    threshold: float | None = 0.5
    fingerprint: str | None = None  # of the test records (fraudft.data.records fingerprint)
    operating_point: dict | None = None

    def check(self) -> None:
        """Raise RecordError naming the field when the evaluation is not consistent."""
        where = f"evaluations[{self.name}]"
        if not isinstance(self.name, str) or not self.name:
            raise RecordError(f"evaluations: name: got {self.name!r}, expected a non-empty string")
        if not _is_01(self.predictions) or not self.predictions:
            raise RecordError(f"{where}.predictions: expected a non-empty list of 0/1")
        n = len(self.predictions)
        if not _is_01(self.labels) or len(self.labels) != n:
            raise RecordError(f"{where}.labels: expected {n} values of 0/1 (one per prediction)")
        if self.scores is not None:
            if not isinstance(self.scores, list) or len(self.scores) != n:
                got = len(self.scores) if isinstance(self.scores, list) else type(self.scores).__name__
                raise RecordError(f"{where}.scores: got {got}, expected {n} scores (one per prediction)")
            if not all(isinstance(s, (int, float)) and not isinstance(s, bool) and math.isfinite(s) and 0 <= s <= 1
                       for s in self.scores):
                raise RecordError(f"{where}.scores: expected numbers in [0, 1]")
        for name in ("replies", "reply_status"):
            values = getattr(self, name)
            if values is not None and (not isinstance(values, list) or len(values) != n
                                       or not all(isinstance(v, str) for v in values)):
                raise RecordError(f"{where}.{name}: expected {n} strings (one per prediction)")
        if not isinstance(self.metrics, dict):
            raise RecordError(f"{where}.metrics: expected an object")

    def values_for(self, needs: str) -> list | None:
        """What a metric that `needs` "predictions" or "scores" is computed from (None: not recorded)."""
        return self.predictions if needs == "predictions" else self.scores


@dataclass
class RunRecord:
    """One run of one arm with one recipe and seed (see the module docstring). `path` is where it was
    read from or written to (not stored in the file)."""

    arm: str
    seed: int
    recipe: str
    model: str
    device: str
    run_info: dict
    train_info: dict
    meta_info: dict = field(default_factory=dict)
    audit: dict | None = None
    evaluations: list[Evaluation] = field(default_factory=list)
    comparisons: list[dict] = field(default_factory=list)  # expectation verdicts kept by the bench
    format: dict | None = None  # the task format (TaskFormat.to_dict()); None in older records
    task: str = DEFAULT_TASK  # what is predicted (fraudft.task); older records read as the default
    schema: int = SCHEMA_VERSION
    path: str | None = None

    # --- built and checked here -------------------------------------------------------------

    def check(self) -> None:
        """Raise RecordError naming the field when the record is not whole."""
        if self.status not in STATUSES:
            raise RecordError(f"train_info.status: got {self.status!r}, expected success or failed")
        if not isinstance(self.run_info, dict):
            raise RecordError("run_info: expected an object")
        if self.status == "success" and not self.evaluations:
            raise RecordError("evaluations: a successful run needs at least its test evaluation")
        names = [e.name for e in self.evaluations]
        if len(set(names)) != len(names):
            raise RecordError(f"evaluations: names must be unique, got {names}")
        if self.evaluations and names[0] != TEST:
            raise RecordError(f"evaluations: the first must be {TEST!r}, got {names[0]!r}")
        for evaluation in self.evaluations:
            evaluation.check()
        if not isinstance(self.task, str) or self.task not in TASKS:
            raise RecordError(TASKS.unknown_message(self.task, option="task"))
        if isinstance(self.format, dict) and self.format.get("task", DEFAULT_TASK) != self.task:
            raise RecordError(f"task: got {self.task!r}, expected the format's task "
                              f"{self.format.get('task', DEFAULT_TASK)!r}")
        if self.format is not None:
            from fraudft.modeling.taskformat import TaskFormat

            try:
                TaskFormat.from_dict(self.format)
            except (TypeError, ValueError) as err:
                raise RecordError(f"format: {err}") from None

    def to_dict(self) -> dict:
        """The JSON object written to disk (without `path`)."""
        out = dataclasses.asdict(self)
        out.pop("path")
        return out

    @classmethod
    def from_dict(cls, data: Any, path: str | None = None) -> RunRecord:
        """A checked record from its JSON object (schema 1 or 2). Raises RecordError."""
        if not isinstance(data, dict):
            raise RecordError(f"expected a JSON object, got {type(data).__name__}")
        schema = data.get("schema")
        if schema not in READABLE_SCHEMAS:
            raise RecordError(f"schema: got {schema!r}, expected one of {', '.join(map(str, READABLE_SCHEMAS))}")
        info = data.get("train_info")
        if not isinstance(info, dict):
            raise RecordError("train_info: expected an object with `status`")
        name = Path(path).name if path else ""
        arm_seed = name[: -len(".json")].rsplit("-seed", 1) if name.endswith(".json") and "-seed" in name else None
        try:
            evaluations = (_schema1_evaluations(data, info) if schema == 1 else
                           [_evaluation(e) for e in data.get("evaluations") or []])
            record = cls(
                arm=str(data.get("arm") or (arm_seed[0] if arm_seed else "")),
                seed=int(data["seed"]) if data.get("seed") is not None else int(arm_seed[1]) if arm_seed else 0,
                recipe=Path(path).parent.name if path else str(data.get("recipe") or data.get("backend") or ""),
                model=str(data.get("model") or ((data.get("run_info") or {}).get("config") or {}).get("backend", {}).get("model") or ""),
                device=str(data.get("device") or ""),
                run_info=data.get("run_info") or {}, train_info=info, meta_info=data.get("meta_info") or {},
                audit=data.get("audit"), evaluations=evaluations, comparisons=list(data.get("comparisons") or []),
                format=data.get("format"), task=data.get("task", DEFAULT_TASK),
                schema=SCHEMA_VERSION, path=str(path) if path else None)
        except (TypeError, ValueError, AttributeError) as err:
            if isinstance(err, RecordError):
                raise
            raise RecordError(f"{type(err).__name__}: {err}") from None
        record.check()
        return record

    @classmethod
    def read(cls, path: str | Path) -> RunRecord:
        """The record in a JSON file. Raises RecordError (the message names the file)."""
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise RecordError(f"{path}: not a readable JSON record ({err})") from None
        try:
            return cls.from_dict(data, str(path))
        except RecordError as err:
            raise RecordError(f"{path}: not a whole record: {err}") from None

    # --- read through attributes --------------------------------------------------------------

    @property
    def status(self) -> str:
        return self.train_info.get("status", "?")

    @property
    def ok(self) -> bool:
        return self.status == "success" and bool(self.evaluations)

    @property
    def error(self) -> str:
        return self.train_info.get("error") or ""

    @property
    def dirty(self) -> bool:
        return bool(self.run_info.get("dirty"))

    @property
    def commit(self) -> str | None:
        return self.run_info.get("commit")

    @property
    def config(self) -> dict:
        return self.run_info.get("config") or {}

    @property
    def arm_config(self) -> dict:
        return self.config.get("arm") or {}

    @property
    def lora(self) -> dict | None:
        """The arm's LoraConfig keyword arguments, in peft's names (older records: alpha, dropout, rslora)."""
        lora = self.arm_config.get("lora")
        return peft_names(lora) if isinstance(lora, dict) else None

    @property
    def adapted_modules(self) -> list[str] | None:
        """The modules the run's LoRA was put on, read from peft's model (fraudft.modeling.families.
        adapted_modules: in-layer paths such as `self_attn.qkv_proj`); None for baselines and for
        records written before they were recorded."""
        modules = self.train_info.get("adapted_modules")
        return list(modules) if isinstance(modules, list) and modules else None

    @property
    def model_name(self) -> str:
        """The model the run used (its recipe config's), else its recipe's name."""
        backend = self.config.get("backend")
        return str((backend.get("model") if isinstance(backend, dict) else None) or self.model or self.recipe)

    @property
    def test(self) -> Evaluation | None:
        return self.evaluation(TEST)

    def evaluation(self, name: str) -> Evaluation | None:
        return next((e for e in self.evaluations if e.name == name), None)

    def evaluation_on(self, test_data: tuple[str, ...]) -> Evaluation | None:
        """The evaluation on the test split after the transforms `test_data`: the run's own `test`
        when its arm is tested on that data, else its extra evaluation `test:NAME` (None if absent)."""
        if tuple(self.arm_config.get("test_data") or ()) == tuple(test_data):
            return self.test
        return self.evaluation(f"{TEST}:{test_data[0]}") if len(test_data) == 1 else None

    @property
    def test_fingerprint(self) -> str | None:
        test = self.test
        return test.fingerprint if test is not None else None

    @property
    def steps(self) -> int:
        return int(self.train_info.get("steps") or 0)

    @property
    def tokens_per_s(self) -> float | None:
        return self.train_info.get("tokens_per_s")

    @property
    def peak_memory(self) -> dict:
        return self.train_info.get("peak_memory") or {}

    @property
    def device_name(self) -> str | None:
        return self.meta_info.get("device")


def _evaluation(data: Any) -> Evaluation:
    if not isinstance(data, dict):
        raise RecordError(f"evaluations: expected objects, got {type(data).__name__}")
    known = {f.name for f in dataclasses.fields(Evaluation)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise RecordError(f"evaluations[{data.get('name')}]: unknown fields {', '.join(unknown)}")
    for required in ("name", "labels", "predictions"):
        if required not in data:
            raise RecordError(f"evaluations: `{required}` missing")
    return _undefined_as_null(Evaluation(**data))


def _undefined_as_null(evaluation: Evaluation) -> Evaluation:
    """An older record's metrics (`undefined` a list of names whose value was stored as 0.0) in
    today's shape: each such registry metric read again from the labels and predictions (None where
    the registry leaves it undefined) and `undefined` the {name: why} of the registry."""
    metrics = evaluation.metrics
    if not isinstance(metrics, dict) or not isinstance(metrics.get("undefined"), list):
        return evaluation
    from fraudft.metrics import stats
    from fraudft.metrics.registry import METRICS

    if not _is_01(evaluation.labels) or not _is_01(evaluation.predictions) or len(evaluation.labels) != len(evaluation.predictions):
        return evaluation  # check() names what is wrong
    metrics, undefined = dict(metrics), {}
    for name in metrics.pop("undefined"):
        if name in METRICS and METRICS[name].needs == "predictions":
            metrics[name] = stats.metric_value(name, evaluation.labels, evaluation.predictions)
            reason = stats.undefined_reason(name, evaluation.labels, evaluation.predictions)
            if reason:
                undefined[name] = reason
        else:  # not a registry metric (accuracy of no example): no value to give
            metrics[name], undefined[name] = None, "undefined (stored as 0 by an older fraudft)"
    metrics["undefined"] = undefined
    return dataclasses.replace(evaluation, metrics=metrics)


def _schema1_evaluations(data: dict, info: dict) -> list[Evaluation]:
    """Schema 1: one evaluation at the top level (predictions, labels, metrics), no scores."""
    if info.get("status") != "success":
        return []
    predictions, labels = data.get("predictions"), data.get("labels")
    if not isinstance(data.get("metrics"), dict):
        raise RecordError("metrics: missing from a successful run")
    if not _is_01(predictions) or not predictions:
        raise RecordError("predictions: expected a non-empty list of 0/1")
    if not _is_01(labels) or len(labels) != len(predictions):
        raise RecordError(f"labels: expected {len(predictions)} values of 0/1 (one per prediction)")
    config = (data.get("run_info") or {}).get("config") or {}
    # Schema 1 kept the fingerprint of the test split as generated: it is this evaluation's data only
    # for an arm that tests on the split as it is (not on, e.g., its speaker-neutralised version).
    transformed = bool((config.get("arm") or {}).get("test_data"))
    fingerprint = None if transformed else ((config.get("data") or {}).get("fingerprints") or {}).get("test")
    evaluation = Evaluation(name=TEST, labels=labels, predictions=predictions, metrics=data["metrics"],
                            fingerprint=fingerprint)
    return [_undefined_as_null(evaluation)]
