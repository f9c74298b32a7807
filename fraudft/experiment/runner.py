"""Run one ablation arm with one recipe and seed, and record the result (even a failure).

    from fraudft.experiment.arms import ARMS_BY_NAME
    from fraudft.experiment.recipes import load_recipe
    from fraudft.experiment.runner import run_arm, splits_of
    recipe = load_recipe("cpu-tiny")
    record = run_arm(ARMS_BY_NAME["reference"], recipe, splits_of(recipe), seed=0, results_root="results")

The record is written atomically to results/<commit>/<recipe>/<arm>-seed<N>.json.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
import traceback
from pathlib import Path

from fraudft.evaluate import evaluate
from fraudft.experiment.arms import Arm
from fraudft.experiment.recipes import Recipe
from fraudft.experiment.splits import ArmSkipped, Splits, load_splits, split_for
from fraudft.modeling.models import load_model
from fraudft.modeling.tokenizer import load_tokenizer
from fraudft.results.store import (
    SCHEMA_VERSION,
    meta_info,
    record_path,
    run_info,
    write_json_atomic,
)
from fraudft.stats import METRICS, bootstrap_interval
from fraudft.train import train

__all__ = ["ArmSkipped", "run_arm", "splits_of"]


def splits_of(recipe: Recipe) -> Splits:
    """The recipe's train/eval/test splits: its data folder, else synthetic data of its sizes."""
    return load_splits(recipe.data_dir, recipe.synthetic)


def run_arm(arm: Arm, recipe: Recipe, splits: Splits, seed: int, results_root: Path | None = None,
            extra: dict | None = None) -> dict:
    """Train (unless the arm trains nothing) and evaluate one arm; write and return its record, failed or not.

    Raises ArmSkipped when the arm's data cannot be made from these splits.
    """
    training = split_for(splits, "train", arm.train_data) if arm.lora is not None else None
    test = split_for(splits, "test", arm.test_data)
    record = {
        "schema": SCHEMA_VERSION, "arm": arm.name, "seed": seed, "backend": recipe.name,
        "run_info": run_info({"arm": dataclasses.asdict(arm), "backend": recipe.to_dict(), "seed": seed,
                              "data": {"source": splits.source, "fingerprints": splits.fingerprints}}),
        "audit": splits.audit,
        "meta_info": meta_info(),
        **(extra or {}),
    }
    try:
        tokenizer = load_tokenizer(recipe.tokenizer)
        model = load_model(recipe.model, seed=recipe.model_seed)
        train_info = {"status": "success", "steps": 0}
        if arm.lora is not None:
            config = dataclasses.replace(recipe.train, seed=seed)
            with tempfile.TemporaryDirectory(prefix="fraudft-") as out:
                model, stats = train(model, tokenizer, training, splits.eval, arm.lora, config, out)
            train_info.update(stats.to_dict())
            train_info["lora_scale"] = arm.lora.scale
        start = time.perf_counter()
        result = evaluate(model, tokenizer, test, recipe.eval)
        labels = [r["label"] for r in test]
        # Strict predictions: an invalid reply (generate mode) counts as the wrong answer.
        predictions = [(not y) if p is None else p for y, p in zip(labels, result["predictions"])]
        intervals = {m: bootstrap_interval(labels, predictions, m, seed=seed) for m in METRICS}
        record["train_info"] = train_info
        record["metrics"] = {**result["metrics"], "intervals": intervals, "examples_per_s": result["examples_per_s"],
                             "eval_seconds": time.perf_counter() - start}
        record["predictions"] = [int(p) for p in predictions]
        record["labels"] = [int(y) for y in labels]
    except Exception as err:  # a failed arm is recorded as failed; the suite goes on
        record["train_info"] = {"status": "failed", "error": f"{type(err).__name__}: {err}",
                                "traceback": traceback.format_exc(limit=8)}
    if results_root is not None:
        path = record_path(results_root, record["run_info"]["commit"], recipe.name, arm.name, seed)
        write_json_atomic(record, path)
        record["path"] = str(path)
    return record
