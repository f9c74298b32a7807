"""Resuming a training run where it stopped, and only that run.

Every checkpoint folder the Trainer writes gets a `fraudft_run.json` beside the adapter, optimizer
and RNG states: the settings that determine the run's trajectory (RunLedger.settings) and the
run's counts up to that checkpoint (COUNTS: samples, tokens, label positions, FLOPs, evaluations
and times, summed over the processes that ran it so far). It is written before the Trainer's own
files, so a checkpoint the Trainer counts as complete (trainer_state.json written last) has it.

    ledger = RunLedger(run_settings(config, lora, identity, fingerprints, world_size))
    ledger.resume_from(checkpoint)    # UsageError, one line, when the settings differ
    ...                               # ledger.save(folder, stats) at each checkpoint
    ledger.add_earlier(stats)         # the counts of the processes that ran before this one

Times: a resumed run's train/eval/save seconds are those of the processes that ran it, each up to
its last checkpoint (the steps after it are run again, so their time is not counted twice), plus
this process's whole time. Peak memory stays this process's.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from fraudft.core import jsonio
from fraudft.core.errors import UsageError
from fraudft.engine.measure import SLOWEST_STATS, SUMMED_STATS, TrainStats, reduce_across_processes

LEDGER = "fraudft_run.json"
COUNTS = (*SUMMED_STATS, *SLOWEST_STATS, "evaluations")

# TrainConfig fields that may differ between a run and its resumption: they change how fast, with
# how much memory or how visibly the same steps run, never which steps run on which data or what
# they compute (compile and liger only up to floating-point rounding; auto gradient checkpointing
# depends on the memory free at the time). Every other field, the LoRA settings, the model and
# tokenizer, the number of processes and the data must be the checkpoint's.
MAY_DIFFER = ("progress", "resume", "gradient_checkpointing", "compile", "liger")


def run_settings(config, lora, identity: dict, fingerprints: dict[str, str], processes: int) -> dict:
    """{setting name: JSON value} of a run: TrainConfig fields but MAY_DIFFER, `trainer <field>` per
    TrainingArguments option passed through, `lora <field>` per LoraConfig keyword argument (and
    `lora scale`), the `identity` given (e.g. model, model_seed, tokenizer), `processes`
    (data-parallel world size: it sets the global batch) and `<split> data fingerprint` per entry of
    `fingerprints`."""
    settings = {name: value for name, value in dataclasses.asdict(config).items()
                if name not in MAY_DIFFER and name != "training_args"}
    settings.update({f"trainer {name}": value for name, value in config.training_args.items()})
    settings.update({f"lora {name}": value for name, value in lora.to_dict().items()})
    settings.update(identity)
    settings["processes"] = processes
    settings.update({f"{split} data fingerprint": value for split, value in fingerprints.items()})
    return json.loads(jsonio.dumps(settings))  # as read back from the ledger: tuples as lists


_NO_DEFAULT = object()


def _current_name(name: str) -> str:
    """A setting's name as written now: older ledgers spelled LoRA's `lora alpha`, `lora dropout`, `lora rslora`."""
    from fraudft.modeling.lora import ALIASES

    kind, _, field = name.partition(" ")
    return f"lora {ALIASES[field]}" if kind == "lora" and field in ALIASES else name


def _field_default(cls, name: str):
    for f in dataclasses.fields(cls):
        if f.name == name:
            if f.default is not dataclasses.MISSING:
                return f.default
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
    return _NO_DEFAULT


def default_setting(name: str):
    """The value a setting has when not given (as JSON reads it back), or a sentinel equal to nothing:
    TrainConfig's defaults, `trainer X` TrainingArguments', `lora X` fraudft's LoRA defaults, else LoraConfig's."""
    from fraudft.modeling.lora import DEFAULTS

    kind, _, field = name.partition(" ")
    if kind == "lora" and field in DEFAULTS:
        value = DEFAULTS[field]
    elif kind == "lora" and field:
        from peft import LoraConfig

        value = _field_default(LoraConfig, field)
    elif kind == "trainer" and field:
        from transformers import TrainingArguments

        value = _field_default(TrainingArguments, field)
    else:
        from fraudft.engine.train_config import TrainConfig

        value = _field_default(TrainConfig, name)
    if value is _NO_DEFAULT:
        return value
    try:
        return json.loads(jsonio.dumps(value))
    except (TypeError, ValueError):
        return _NO_DEFAULT


class RunLedger:
    """A run's settings and its counts so far, saved with each checkpoint and checked on resume."""

    def __init__(self, settings: dict):
        self.settings = settings
        self.earlier: dict = {}  # COUNTS of the processes that ran this run before this one
        self.start = time.perf_counter()

    def resume_from(self, checkpoint: str | Path) -> None:
        """Take the counts saved in `checkpoint`; UsageError (one line) if it has no ledger or its
        settings differ from this run's, naming each setting with both values."""
        path = Path(checkpoint) / LEDGER
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise UsageError(f"--resume: {checkpoint} has no readable {LEDGER} (saved by an older fraudft?), so it "
                             "cannot be told to be this run's; start afresh in another --out or without --resume") from None
        before = {_current_name(name): value for name, value in saved.get("settings", {}).items()}
        # a setting one side lacks (added or dropped since) counts as its default there
        differ = [f"{name} {before.get(name)!r} (checkpoint) vs {value!r} (now)"
                  for name, value in self.settings.items()
                  if (before[name] if name in before else default_setting(name)) != value]
        differ += [f"{name} {value!r} (checkpoint) vs none (now)" for name, value in before.items()
                   if name not in self.settings and value != default_setting(name)]
        if differ:
            raise UsageError(f"--resume: {checkpoint} was saved by a run with other settings: {'; '.join(differ)}; "
                             "start afresh in another --out or without --resume")
        self.earlier = saved.get("counts", {})

    def restart_clock(self) -> None:
        """Start timing this process's training (train_seconds counts from here)."""
        self.start = time.perf_counter()

    def train_seconds(self, stats: TrainStats) -> float:
        """This process's training seconds so far: wall time since restart_clock minus evaluation and saving."""
        return time.perf_counter() - self.start - stats.eval_seconds - stats.save_seconds

    def totals(self, stats: TrainStats) -> dict:
        """COUNTS of the whole run so far: this process's (reduced over a data-parallel run's
        processes, a collective call) plus the earlier processes'."""
        now = dataclasses.replace(stats, train_seconds=self.train_seconds(stats))
        reduce_across_processes(now)
        return {name: getattr(now, name) + self.earlier.get(name, 0) for name in COUNTS}

    def save(self, folder: str | Path, stats: TrainStats, main_process: bool) -> None:
        """Write the settings and totals into a checkpoint folder (every process must call it:
        the totals are reduced over them; the main process alone writes)."""
        totals = self.totals(stats)
        if main_process:
            Path(folder).mkdir(parents=True, exist_ok=True)
            text = jsonio.dumps({"settings": self.settings, "counts": totals}, indent=2, ensure_ascii=False)
            (Path(folder) / LEDGER).write_text(text, encoding="utf-8")

    def add_earlier(self, stats: TrainStats) -> None:
        """Add the earlier processes' counts to a finished (already reduced) TrainStats."""
        for name in COUNTS:
            setattr(stats, name, type(getattr(stats, name))(getattr(stats, name) + self.earlier.get(name, 0)))
