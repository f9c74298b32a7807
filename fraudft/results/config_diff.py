"""What differs between two records' configurations: the one config diff of compare, history, grid reuse and the report.

    from fraudft.results.config_diff import config_diff, runs_config_diff
    config_diff(base_record, head_record)      # [Change("lora.r", 8, 16), Change("train.learning_rate", ...)]
    str(change)                                # "lora.r 8 -> 16"

A record's configuration, read as dotted fields (record_fields):
- `model`: the model the run used; `recipe.*`: the recipe's other settings (tokenizer, dtype, device, ...);
- `format.*`: the task format (prompt, system prompt, separator, answer schema); `task.*`: the task,
  where the record keeps one;
- `lora.*`: the arm's LoRA settings; `train.*`: the recipe's training settings; `eval.*`: its evaluation
  settings;
- `arm.*`: the rest of the arm's definition: method, train and test data transforms, extra tests,
  learning-rate scale, expectations (each read as fraudft.results.expectations reads it, so a field
  written since at its default is no change);
- `data.*`: the data: the recipe's data folder or synthetic sizes, the source and the splits' fingerprints;
- `environment.*`: python, device and library versions (meta_info).
Left out as no part of what a run computes: names, descriptions, the recipes an arm runs in by default,
progress bars and the seed (runs of one arm differ in it by design).

A field only one record holds (written before it was recorded, or since removed) is not compared:
its value at the other commit is unknown. A whole section present on one side only (a LoRA arm
against an untrained one) is compared as a value. Data and environment changes are kept apart
(CONFIG_SECTIONS excludes them): the same arm tested on other data is compared unpaired, and speed
and memory move with the environment, but the arm is the same arm; any other change makes the two
records runs of two configurations, whose metric deltas are a config change, not a regression of
one arm.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from fraudft.results.record import RunRecord

SECTIONS = ("model", "recipe", "format", "task", "lora", "train", "eval", "arm", "data", "environment")
CONFIG_SECTIONS = tuple(s for s in SECTIONS if s not in ("data", "environment"))  # two runs, two configurations
DATA_FIELDS = ("synth_sizes", "data_dir")  # recipe fields that choose the data (shown under data.*)
IGNORED = {"arm": ("name", "description", "reference_result", "recipes", "lora"),
           "recipe": ("name", "key", "train", "eval", "model", *DATA_FIELDS), "train": ("seed", "progress"), "eval": ("progress",)}
_ABSENT = object()


@dataclass(frozen=True)
class Change:
    """One field that differs: its dotted name, the base record's value and the head record's."""

    field: str
    before: object
    after: object

    @property
    def section(self) -> str:
        return self.field.split(".", 1)[0]

    def __str__(self) -> str:
        return f"{self.field} {_show(self.before)} -> {_show(self.after)}"


def _show(value) -> str:
    if isinstance(value, str) and value and value.split() == [value]:
        return value  # a plain word as it is; "" and whitespace quoted, so they can be seen
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)


def _plain(value):
    """A config value as JSON reads it back (tuples as lists, paths as strings)."""
    return json.loads(json.dumps(value, default=str))


def _expectations(arm: dict, comparisons: list) -> list[str]:
    from fraudft.results.expectations import stored_expectation

    out = []
    for entry in arm.get("expects") or []:
        try:
            out.append(str(stored_expectation(entry, comparisons)))
        except ValueError:
            out.append(str(entry))  # unreadable today: compared as it is stored
    return out


def record_fields(record: RunRecord) -> dict:
    """The record's configuration by section (see the module docstring), as nested plain values."""
    config = record.config
    arm = dict(record.arm_config)
    if "expects" in arm:
        arm["expects"] = _expectations(arm, record.comparisons)
    recipe = config.get("backend") if isinstance(config.get("backend"), dict) else {}
    meta = record.meta_info or {}
    environment = {"python": meta.get("python"), "device": meta.get("device") or record.device or None,
                   "libraries": meta.get("libraries")}
    sections = {"model": record.model_name, "recipe": recipe, "format": record.format, "task": config.get("task", _ABSENT),
                "lora": record.lora if record.lora is not None else _ABSENT,  # peft's names, older records too
                "train": recipe.get("train", _ABSENT), "eval": recipe.get("eval", _ABSENT), "arm": arm or _ABSENT,
                "data": {**{k: recipe[k] for k in DATA_FIELDS if k in recipe}, **(config.get("data") or {})} or _ABSENT,
                "environment": {k: v for k, v in environment.items() if v is not None} or _ABSENT}
    out = {}
    for name, value in sections.items():
        if value is _ABSENT or value is None and name in ("format", "task"):
            continue  # not recorded (older records keep no format)
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in IGNORED.get(name, ())}
        out[name] = _plain(value)
    return out


def _diff(path: str, a, b, out: list[Change]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in dict.fromkeys([*a, *b]):
            if key in a and key in b:  # a key one side lacks was not recorded there: unknown, not a change
                _diff(f"{path}.{key}", a[key], b[key], out)
    elif a != b:
        out.append(Change(path, a, b))


def config_diff(base: RunRecord, head: RunRecord, sections: tuple[str, ...] = SECTIONS) -> list[Change]:
    """The fields of `sections` whose values differ from base to head, in SECTIONS order (fields
    only one record holds are not compared)."""
    a, b = record_fields(base), record_fields(head)
    out: list[Change] = []
    for section in sections:
        if section in a and section in b:
            _diff(section, a[section], b[section], out)
    return out


def runs_config_diff(base: list[RunRecord], head: list[RunRecord],
                     sections: tuple[str, ...] = CONFIG_SECTIONS) -> list[Change]:
    """The config changes from one arm's runs at a base commit to its runs at a head commit: the
    fields where some base run and some head run differ (config_diff of each pair, each field once,
    with its first pair's values)."""
    found: dict[str, Change] = {}
    for a in base:
        for b in head:
            for change in config_diff(a, b, sections):
                found.setdefault(change.field, change)
    return list(found.values())


def describe(changes: list[Change], limit: int = 4) -> str:
    """`config changed: lora.r 8 -> 16; train.learning_rate 0.003 -> 0.001` (at most `limit` fields, then how many more)."""
    shown = "; ".join(str(c) for c in changes[:limit])
    more = f"; and {len(changes) - limit} more" if len(changes) > limit else ""
    return f"config changed: {shown}{more}"
