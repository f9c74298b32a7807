"""Run one ablation arm on one backend and seed, and record the result (even a failure).

    from fraudft.ablation import BACKENDS, load_splits, run_arm
    splits = load_splits(BACKENDS["cpu"])
    record = run_arm(ARMS_BY_NAME["reference"], BACKENDS["cpu"], splits, seed=0)

A backend is a declarative recipe: which model, which data (synthetic sizes, or a folder with
train/eval/test JSONL), and fixed step budgets, so runs on different commits are comparable.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from fraudft import data
from fraudft.arms import Arm
from fraudft.audit import audit
from fraudft.evaluate import EvalConfig, evaluate
from fraudft.mitigate import neutralize_speakers
from fraudft.model import load_model
from fraudft.results import meta_info, record_path, run_info, write_json_atomic
from fraudft.stats import METRICS, bootstrap_interval
from fraudft.synthetic import SynthConfig, generate
from fraudft.tokenizer import OFFLINE_QWEN2, load_tokenizer
from fraudft.train import TrainConfig, train

SPLIT_NAMES = ("train", "eval", "test")
SHORTCUT_ARM_SHORTCUT = "speaker_tag"


@dataclass(frozen=True)
class Backend:
    """Model, data and budgets of one kind of benchmark run."""

    name: str
    model: str
    tokenizer: str
    train: TrainConfig
    eval: EvalConfig
    synth_sizes: tuple[int, int, int] = (1500, 200, 400)  # train, eval, test when no data_dir
    data_dir: Path | None = None
    model_seed: int = 0

    def to_dict(self) -> dict:
        return {"name": self.name, "model": self.model, "tokenizer": self.tokenizer,
                "train": dataclasses.asdict(self.train), "eval": dataclasses.asdict(self.eval),
                "synth_sizes": list(self.synth_sizes), "data_dir": str(self.data_dir) if self.data_dir else None}


# The main job on CPU: whole grid in minutes. The tiny model needs a high learning rate.
CPU_TINY = Backend(
    name="cpu-tiny", model="tiny", tokenizer=OFFLINE_QWEN2,
    train=TrainConfig(batch_size=16, grad_accum=1, max_steps=240, learning_rate=3e-3, eval_steps=40,
                      early_stopping_patience=None, load_best_model_at_end=False,
                      gradient_checkpointing=False, max_length=256, progress=False),
    eval=EvalConfig(batch_size=32, max_length=256, progress=False),
)

BACKENDS = {
    "cpu": CPU_TINY,
    # CI's smoke: the same recipe on a few steps and records, to keep the suite from rotting.
    "smoke": dataclasses.replace(
        CPU_TINY, name="smoke", synth_sizes=(64, 16, 32),
        train=dataclasses.replace(CPU_TINY.train, batch_size=4, max_steps=8, eval_steps=4, max_length=192),
        eval=dataclasses.replace(CPU_TINY.eval, batch_size=16, max_length=192),
    ),
    # A real model on one GPU: the reference's batch 4 x accumulation 4 and lr 1e-4, fixed steps.
    "gpu": Backend(
        name="gpu", model="Qwen/Qwen2-1.5B-Instruct", tokenizer="Qwen/Qwen2-1.5B-Instruct",
        train=TrainConfig(batch_size=4, grad_accum=4, max_steps=90, learning_rate=1e-4, eval_steps=10,
                          early_stopping_patience=None, load_best_model_at_end=False,
                          gradient_checkpointing=True, max_length=1024, progress=False),
        eval=EvalConfig(batch_size=32, max_length=1024, progress=False),
        synth_sizes=(2000, 200, 600),
    ),
}


@dataclass
class Splits:
    train: list[dict]
    eval: list[dict]
    test: list[dict]
    source: str
    shortcut_train: list[dict] | None = None  # the train split with a planted shortcut, if any
    fingerprints: dict = field(default_factory=dict)
    audit: dict = field(default_factory=dict)  # fraudft.audit findings on train/eval/test

    @property
    def test_mitigated(self) -> list[dict]:
        return neutralize_speakers(self.test)[0]


def _fingerprint(records: list[dict]) -> str:
    digest = hashlib.sha256()
    for r in records:
        digest.update(f"{r['label']}\t{r['input']}\n".encode())
    return digest.hexdigest()[:16]


def load_splits(backend: Backend) -> Splits:
    """train/eval/test from backend.data_dir (train.jsonl, eval.jsonl, test.jsonl), else synthetic."""
    if backend.data_dir is not None:
        parts = {}
        for name in SPLIT_NAMES:
            path = Path(backend.data_dir) / f"{name}.jsonl"
            if not path.exists():
                raise data.DataError(path, None, "file", f"missing, expected {', '.join(SPLIT_NAMES)}.jsonl in the data dir")
            parts[name] = data.load_jsonl(path)
        splits = Splits(**parts, source=str(backend.data_dir))
    else:
        n_train, n_eval, n_test = backend.synth_sizes
        splits = Splits(
            train=generate(SynthConfig(n=n_train, seed=1)),
            eval=generate(SynthConfig(n=n_eval, seed=2)),
            test=generate(SynthConfig(n=n_test, seed=3)),
            shortcut_train=generate(SynthConfig(n=n_train, seed=1, shortcut=SHORTCUT_ARM_SHORTCUT)),
            source=f"synthetic seeds 1/2/3 sizes {n_train}/{n_eval}/{n_test}",
        )
    splits.fingerprints = {name: _fingerprint(getattr(splits, name)) for name in SPLIT_NAMES}
    report = audit({name: getattr(splits, name) for name in SPLIT_NAMES})
    splits.audit = {"worst_level": report.worst_level, "counts": report.counts(),
                    "findings": [f"[{f.level}] {f.check} {f.split or ''}: {f.verdict}" for f in report.findings]}
    return splits


class ArmSkipped(Exception):
    """The arm cannot run on this data (e.g. the shortcut arm needs synthetic data)."""


def training_records(arm: Arm, splits: Splits) -> list[dict]:
    if arm.train_data == "positives_only":
        return [r for r in splits.train if r["label"]]
    if arm.train_data in ("shortcut", "shortcut_mitigated"):
        if splits.shortcut_train is None:
            raise ArmSkipped("the shortcut arms plant a shortcut with the synthetic generator: no data dir")
        if arm.train_data == "shortcut_mitigated":
            return neutralize_speakers(splits.shortcut_train)[0]
        return splits.shortcut_train
    return splits.train


def evaluation_records(arm: Arm, splits: Splits) -> list[dict]:
    return splits.test_mitigated if arm.test_data == "mitigated" else splits.test


def run_arm(arm: Arm, backend: Backend, splits: Splits, seed: int, results_root: Path | None = None,
            extra: dict | None = None) -> dict:
    """Train (unless untuned) and evaluate one arm; write and return its record, failed or not."""
    record = {
        "schema": 1, "arm": arm.name, "seed": seed, "backend": backend.name,
        "run_info": run_info({"arm": dataclasses.asdict(arm), "backend": backend.to_dict(), "seed": seed,
                              "data": {"source": splits.source, "fingerprints": splits.fingerprints}}),
        "audit": splits.audit,
        "meta_info": meta_info(),
        **(extra or {}),
    }
    try:
        tokenizer = load_tokenizer(backend.tokenizer)
        model = load_model(backend.model, seed=backend.model_seed)
        train_info = {"status": "success", "steps": 0}
        training = training_records(arm, splits) if arm.lora is not None else None
        if arm.lora is not None:
            config = dataclasses.replace(backend.train, seed=seed)
            with tempfile.TemporaryDirectory(prefix="fraudft-") as out:
                model, stats = train(model, tokenizer, training, splits.eval, arm.lora, config, out)
            train_info.update(stats.to_dict())
            train_info["lora_scale"] = arm.lora.scale
        start = time.perf_counter()
        test = evaluation_records(arm, splits)
        result = evaluate(model, tokenizer, test, backend.eval)
        labels = [r["label"] for r in test]
        # Strict predictions: an invalid reply (generate mode) counts as the wrong answer.
        predictions = [(not y) if p is None else p for y, p in zip(labels, result["predictions"])]
        intervals = {m: bootstrap_interval(labels, predictions, m, seed=seed) for m in METRICS}
        record["train_info"] = train_info
        record["metrics"] = {**result["metrics"], "intervals": intervals, "examples_per_s": result["examples_per_s"],
                             "eval_seconds": time.perf_counter() - start}
        record["predictions"] = [int(p) for p in predictions]
        record["labels"] = [int(y) for y in labels]
    except ArmSkipped:
        raise
    except Exception as err:  # a failed arm is recorded as failed; the suite goes on
        record["train_info"] = {"status": "failed", "error": f"{type(err).__name__}: {err}",
                                "traceback": traceback.format_exc(limit=8)}
    if results_root is not None:
        path = record_path(results_root, record["run_info"]["commit"], backend.name, arm.name, seed)
        write_json_atomic(record, path)
        record["path"] = str(path)
    return record
