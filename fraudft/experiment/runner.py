"""Run one ablation arm with one recipe and seed, and record the result (even a failure).

    fraudft run-arm --recipe cpu-tiny --arm reference --seed 0          # one arm, one process

    from fraudft.experiment.arms import ARMS_BY_NAME
    from fraudft.experiment.recipes import load_recipe
    from fraudft.experiment.runner import run_arm, splits_of
    recipe = load_recipe("cpu-tiny")
    record = run_arm(ARMS_BY_NAME["reference"], recipe, splits_of(recipe), seed=0, results_root="results")

The record is written atomically to results/<commit>/<recipe key>/<arm>-seed<N>.json (a tree with
uncommitted changes: results/<commit>-dirty-<diff hash>/..., never over the commit's records); a
successful record there is replaced only with overwrite=True. Run each
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
from fraudft.experiment.extra_tests import load_extra_tests
from fraudft.experiment.recipes import Recipe
from fraudft.experiment.splits import ArmSkipped, Splits, fingerprint, load_splits, split_for
from fraudft.results.record import TEST, Evaluation, RunRecord
from fraudft.results.store import check_replaceable, git_state, meta_info, record_path, results_key, run_info, write_record

__all__ = ["ArmSkipped", "new_record", "run_arm", "splits_of"]

DTYPES = {"bf16": "bfloat16", "fp32": "float32"}


def splits_of(recipe: Recipe) -> Splits:
    """The recipe's train/eval/test splits: its data folder, else synthetic data of its sizes."""
    return load_splits(recipe.data_dir, recipe.synthetic, recipe.synthetic_seeds)


def new_record(arm: Arm, recipe: Recipe, seed: int, splits: Splits | None = None) -> RunRecord:
    """The record of one (arm, recipe, seed) run before it runs: run info (commit, command, config)
    and meta info; train_info and the evaluations are filled in by the run (or its failure)."""
    config = {"arm": arm.to_dict(), "backend": recipe.to_dict(), "seed": seed}
    if arm.lora is not None:  # what it trains with: the recipe's [train] under the arm's, TrainingArguments' passed through
        config["train_config"] = dataclasses.asdict(train_config(arm, recipe, seed))
    if splits is not None:
        config["data"] = {"source": splits.source, "fingerprints": splits.fingerprints}
    return RunRecord(arm=arm.name, seed=seed, recipe=recipe.key, model=recipe.model, device=recipe.device,
                     run_info=run_info(config), train_info={}, meta_info=meta_info(), format=recipe.format.to_dict(),
                     task=recipe.format.task, audit=splits.audit if splits is not None else None)


def _load(recipe: Recipe):
    import torch

    from fraudft.modeling.models import load_model
    from fraudft.modeling.tokenizer import CHAT_TOKENS, load_tokenizer

    dtype = getattr(torch, DTYPES[recipe.dtype]) if recipe.dtype in DTYPES else None
    chat_tokens = CHAT_TOKENS if recipe.format.prompt == "reference" else ()  # the ChatML check: reference only
    return load_tokenizer(recipe.tokenizer, chat_tokens=chat_tokens), load_model(recipe.model, device=recipe.device, dtype=dtype, seed=recipe.model_seed)


def train_config(arm: Arm, recipe: Recipe, seed: int):
    """The recipe's TrainConfig for this arm and seed: the arm's `train` options over it, its learning
    rate (so set) times the arm's learning_rate_scale."""
    config = recipe.train.with_options(arm.train)
    return dataclasses.replace(config, seed=seed, learning_rate=config.learning_rate * arm.learning_rate_scale)


def _evaluation(name: str, labels: list[int], result: dict, test: list[dict]) -> Evaluation:
    """An evaluation named `name` from fraudft.engine.evaluate's result (or a baseline's, shaped alike)."""
    # Strict predictions: an invalid reply (generate mode) counts as the wrong answer.
    predictions = [int(not y) if p is None else int(p) for y, p in zip(labels, result["predictions"])]
    metrics = {**result["metrics"], "examples_per_s": len(test) / result["seconds"], "eval_seconds": result["seconds"]}
    # The dialogues cut to fit max_length and, in generate mode, the replies cut at max_new_tokens.
    # max_new_tokens: generate mode's limit as used (sized from the trained answers unless the recipe set it).
    for key, field in (("truncated", "truncated"), ("tokens_removed", "tokens_removed"), ("cut", "cut_replies"),
                       ("max_new_tokens", "max_new_tokens")):
        if key in result:
            metrics[field] = result[key]
    scores, replies = result.get("probabilities"), result.get("replies")  # replies: [{"reply", "status"}]
    return Evaluation(name=name, labels=labels, predictions=predictions,
                      scores=[float(s) for s in scores] if scores is not None else None,
                      replies=[r["reply"] for r in replies] if replies is not None else None,
                      reply_status=[r["status"] for r in replies] if replies is not None else None, metrics=metrics,
                      mode=result.get("mode", "score"), threshold=result.get("threshold"), fingerprint=fingerprint(test))


def _baseline_result(arm: Arm, training: list[dict], records: list[dict]) -> dict:
    """A baseline's scores on records, in fraudft.engine.evaluate's result shape (its fit included in the time)."""
    from fraudft.engine.evaluate import metric_figures

    start = time.perf_counter()
    scores = [float(s) for s in BASELINES[arm.method](training, records)]
    predictions = [s >= 0.5 for s in scores]
    return {"mode": "score", "threshold": 0.5, "probabilities": scores, "predictions": predictions,
            "metrics": metric_figures([r["label"] for r in records], predictions, scores),
            "seconds": time.perf_counter() - start}


def _evaluate_arm(arm: Arm, recipe: Recipe, splits: Splits, training: list[dict],
                  tests: dict[str, tuple[list[dict], list[dict]]], seed: int) -> tuple[dict, dict[str, tuple[dict, list | None]]]:
    """(train_info, {evaluation name: (its test result, P(fraud) of its eval split or None)}) of one arm;
    tests: {evaluation name: (test records, eval records transformed alike)}."""
    dev_scores: dict[int, list] = {}  # by id of the eval records: extra sets share the test split's (one pass)
    if arm.method in BASELINES:
        results = {}
        for name, (test, dev) in tests.items():
            if id(dev) not in dev_scores:
                dev_scores[id(dev)] = _baseline_result(arm, training, dev)["probabilities"]
            results[name] = (_baseline_result(arm, training, test), dev_scores[id(dev)])
        return {"status": "success", "steps": 0}, results
    from fraudft.engine.evaluate import evaluate
    from fraudft.experiment.calibration import calibrate
    from fraudft.modeling.taskformat import answer_token_budget
    from fraudft.engine.train import train

    tokenizer, model = _load(recipe)
    train_info = {"status": "success", "steps": 0}
    if arm.lora is not None:
        calibration = calibrate(model, batch_size=recipe.train.batch_size)
        config = train_config(arm, recipe, seed)
        with tempfile.TemporaryDirectory(prefix="fraudft-") as out:
            model, stats = train(model, tokenizer, training, splits.eval, arm.lora, config, out,
                                 task_format=recipe.format)
        train_info.update(stats.to_dict())
        train_info.update(lora_scale=arm.lora.scale, learning_rate=config.learning_rate,
                          calibration_tokens_per_s=calibration,
                          relative_throughput=stats.tokens_per_s / calibration)
    eval_config = recipe.eval
    if eval_config.mode == "generate" and eval_config.max_new_tokens is None:  # sized from the trained answers
        budget = answer_token_budget(eval_config.encoder(tokenizer), training)
        eval_config = dataclasses.replace(eval_config, max_new_tokens=budget)
    results = {}
    for name, (test, dev) in tests.items():
        if eval_config.mode == "score" and id(dev) not in dev_scores:  # the operating point is chosen on the eval split's scores
            dev_scores[id(dev)] = evaluate(model, tokenizer, dev, eval_config)["probabilities"]
        results[name] = (evaluate(model, tokenizer, test, eval_config), dev_scores.get(id(dev)))
    return train_info, results


def run_arm(arm: Arm, recipe: Recipe, splits: Splits, seed: int, results_root: Path | None = None,
            overwrite: bool = False) -> RunRecord:
    """Train (unless the arm trains nothing) and evaluate one arm; write and return its record, failed or not.

    Each evaluation (`test`, then `test:NAME` for each of the arm's extra_tests: the test split after
    that transform, scored by the same adapter, then `extra:NAME` for each of the recipe's
    extra_tests (--extra-test NAME=PATH): that file's records as they are, one scoring pass each, at
    the operating point chosen on the arm's own eval split) keeps the labels, predictions, P(fraud) scores (score
    mode and baselines) and the operating point: the threshold the recipe's rule chooses on the eval
    split (transformed like that test data), applied to it. Raises ArmSkipped when the arm's data
    cannot be made from these splits; RecordExists (before any work) when a successful record of this
    tree state is where it would go and not `overwrite` (fraudft.results.store: a dirty tree writes
    under `<commit>-dirty-<diff hash>`, never over the commit's records)."""
    from fraudft.metrics.operating import operating_point

    if results_root is not None:
        check_replaceable(record_path(results_root, results_key(git_state()), recipe.key, arm.name, seed), overwrite)

    training = split_for(splits, "train", arm.train_data)
    tests = {TEST: (split_for(splits, "test", arm.test_data), split_for(splits, "eval", arm.test_data))}
    for name in arm.extra_tests:
        tests[f"{TEST}:{name}"] = (split_for(splits, "test", (name,)), split_for(splits, "eval", (name,)))
    for name, records in load_extra_tests(recipe.extra_tests).items():
        tests[name] = (records, tests[TEST][1])  # the in-domain eval split chooses its operating point
    record = new_record(arm, recipe, seed, splits)
    try:
        train_info, results = _evaluate_arm(arm, recipe, splits, training, tests, seed)
        record.evaluations = []
        for name, (result, dev_scores) in results.items():
            test, dev = tests[name]
            labels = [int(r["label"]) for r in test]
            evaluation = _evaluation(name, labels, result, test)
            if dev_scores is not None and evaluation.scores is not None:
                evaluation.operating_point = operating_point(recipe.decision, [int(r["label"]) for r in dev],
                                                             dev_scores, labels, evaluation.scores)
            change = splits.changes.get(f"{name.split(':', 1)[1]}:test") if name.startswith(f"{TEST}:") else None
            if change is not None:  # a counterfactual: how many records it changed, and which not and why
                evaluation.metrics.update(records_changed=change["records_changed"],
                                          records_unchanged=change["records_unchanged"],
                                          unchanged_why=change["unchanged_why"],
                                          unchanged_lines=[u["line"] for u in change["unchanged"]])
            record.evaluations.append(evaluation)
        record.train_info = train_info
    except Exception as err:  # a failed arm is recorded as failed; the suite goes on
        record.train_info = {"status": "failed", "error": f"{type(err).__name__}: {err}",
                             "traceback": traceback.format_exc(limit=8)}
        from fraudft.engine.train import TrainingDiverged

        if isinstance(err, TrainingDiverged):  # the step, loss and gradient norm, the steps done, the log history
            record.train_info.update({k: v for k, v in err.train_info.items() if k not in record.train_info})
        record.evaluations = []
    if results_root is not None:
        write_record(record, results_root, overwrite=overwrite)
    return record
