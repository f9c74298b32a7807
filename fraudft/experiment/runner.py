"""Run one ablation arm with one recipe and seed, and record the result (even a failure).

    fraudft run-arm --recipe cpu-tiny --arm reference --seed 0          # one arm, one process

    from fraudft.experiment.arms import ARMS_BY_NAME
    from fraudft.experiment.recipes import load_recipe
    from fraudft.experiment.runner import run_arm, splits_of
    recipe = load_recipe("cpu-tiny")
    record = run_arm(ARMS_BY_NAME["reference"], recipe, splits_of(recipe), seed=0, results_root="results")

The record is written atomically to results/<commit>/<recipe key>/<arm>-seed<N>.json. Run each
arm in a process of its own (the bench does, through `fraudft run-arm`): its peak memory is then
its own, and a crash cannot take the rest of the grid with it.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
import traceback
from pathlib import Path

from fraudft.experiment.arms import Arm
from fraudft.experiment.baselines import BASELINES
from fraudft.experiment.recipes import Recipe
from fraudft.experiment.splits import ArmSkipped, Splits, load_splits, split_for
from fraudft.results.store import (
    SCHEMA_VERSION,
    meta_info,
    record_path,
    run_info,
    write_json_atomic,
)

__all__ = ["ArmSkipped", "run_arm", "splits_of"]

DTYPES = {"bf16": "bfloat16", "fp32": "float32"}


def splits_of(recipe: Recipe) -> Splits:
    """The recipe's train/eval/test splits: its data folder, else synthetic data of its sizes."""
    return load_splits(recipe.data_dir, recipe.synthetic)


def _load(recipe: Recipe):
    import torch

    from fraudft.modeling.models import load_model
    from fraudft.modeling.tokenizer import load_tokenizer

    dtype = getattr(torch, DTYPES[recipe.dtype]) if recipe.dtype in DTYPES else None
    return load_tokenizer(recipe.tokenizer), load_model(recipe.model, device=recipe.device, dtype=dtype, seed=recipe.model_seed)


def _train_and_evaluate(arm: Arm, recipe: Recipe, splits: Splits, training: list[dict], test: list[dict], seed: int):
    """(train_info, evaluation result) of an arm that loads the model."""
    from fraudft.evaluate import evaluate
    from fraudft.experiment.calibration import calibrate
    from fraudft.train import train

    tokenizer, model = _load(recipe)
    train_info = {"status": "success", "steps": 0}
    if arm.lora is not None:
        calibration = calibrate(model, batch_size=recipe.train.batch_size)
        config = dataclasses.replace(recipe.train, seed=seed)
        with tempfile.TemporaryDirectory(prefix="fraudft-") as out:
            model, stats = train(model, tokenizer, training, splits.eval, arm.lora, config, out)
        train_info.update(stats.to_dict())
        train_info.update(lora_scale=arm.lora.scale, calibration_tokens_per_s=calibration,
                          relative_throughput=stats.tokens_per_s / calibration)
    return train_info, evaluate(model, tokenizer, test, recipe.eval)


def _model_metrics(result: dict) -> dict:
    """An evaluation's strict metrics, with the dialogues cut to fit max_length (`truncated`,
    `tokens_removed`) and, in generate mode, the replies cut at max_new_tokens (`cut_replies`)."""
    extra = {"cut_replies": result["cut"]} if "cut" in result else {}
    return {**result["metrics"], "truncated": result["truncated"], "tokens_removed": result["tokens_removed"], **extra}


def run_arm(arm: Arm, recipe: Recipe, splits: Splits, seed: int, results_root: Path | None = None,
            extra: dict | None = None) -> dict:
    """Train (unless the arm trains nothing) and evaluate one arm; write and return its record, failed or not.

    Raises ArmSkipped when the arm's data cannot be made from these splits.
    """
    from fraudft.evaluate import classification_metrics

    training = split_for(splits, "train", arm.train_data)
    test = split_for(splits, "test", arm.test_data)
    record = {
        "schema": SCHEMA_VERSION, "arm": arm.name, "seed": seed, "backend": recipe.key, "recipe": recipe.key,
        "model": recipe.model, "device": recipe.device,
        "run_info": run_info({"arm": dataclasses.asdict(arm), "backend": recipe.to_dict(), "seed": seed,
                              "data": {"source": splits.source, "fingerprints": splits.fingerprints}}),
        "audit": splits.audit,
        "meta_info": meta_info(),
        **(extra or {}),
    }
    try:
        labels = [r["label"] for r in test]
        if arm.method in BASELINES:
            start = time.perf_counter()
            predictions = [bool(p) for p in BASELINES[arm.method](training, test)]
            train_info, metrics = {"status": "success", "steps": 0}, classification_metrics(labels, predictions)
            seconds = time.perf_counter() - start  # the baseline's fit included: it is all it costs
        else:
            train_info, result = _train_and_evaluate(arm, recipe, splits, training, test, seed)
            # Strict predictions: an invalid reply (generate mode) counts as the wrong answer.
            predictions = [(not y) if p is None else p for y, p in zip(labels, result["predictions"])]
            metrics, seconds = _model_metrics(result), result["seconds"]
            if "replies" in result:  # generate mode: each reply with its parse status
                record["replies"] = result["replies"]
        record["train_info"] = train_info
        record["metrics"] = {**metrics, "examples_per_s": len(test) / seconds, "eval_seconds": seconds}
        record["predictions"] = [int(p) for p in predictions]
        record["labels"] = [int(y) for y in labels]
    except Exception as err:  # a failed arm is recorded as failed; the suite goes on
        record["train_info"] = {"status": "failed", "error": f"{type(err).__name__}: {err}",
                                "traceback": traceback.format_exc(limit=8)}
    if results_root is not None:
        path = record_path(results_root, record["run_info"]["commit"], recipe.key, arm.name, seed)
        write_json_atomic(record, path)
        record["path"] = str(path)
    return record
