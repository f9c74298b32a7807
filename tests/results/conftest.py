"""Fake results records for tests/results: `fake.record(root, commit, arm, ...)` writes one like run_arm's."""

from __future__ import annotations

import types

import pytest

from fraudft import cli
from fraudft.engine.evaluate import metric_figures
from fraudft.results.record import Evaluation, RunRecord
from fraudft.results.store import write_record

N = 200
LABELS = [i % 2 for i in range(N)]  # 100 fraud, 100 not


def predictions_of(fn: int, fp: int, seed: int) -> list[int]:
    """LABELS with `fn` positives and `fp` negatives flipped, which ones depending on the seed."""
    predictions = list(LABELS)
    positives = [i for i, y in enumerate(LABELS) if y]
    negatives = [i for i, y in enumerate(LABELS) if not y]
    shift = 7 * seed
    for i in (positives[shift:] + positives[:shift])[:fn]:
        predictions[i] = 0
    for i in (negatives[shift:] + negatives[:shift])[:fp]:
        predictions[i] = 1
    return predictions


def scores_of(predictions: list[int], seed: int) -> list[float]:
    """P(fraud) scores that rank like the predictions (>= 0.5 exactly where they say fraud), with
    seed-dependent jitter so that ranks within a class differ."""
    rng = __import__("random").Random(seed)
    return [round(0.5 + 0.49 * rng.random() if p else 0.49 * rng.random(), 4) for p in predictions]


def metrics_of(predictions: list[int], scores: list[float] | None = None) -> dict:
    """What fraudft.engine.evaluate stores (metric_figures: an undefined metric None, its reason in `undefined`)."""
    return {**metric_figures(list(LABELS), [bool(p) for p in predictions], scores),
            "examples_per_s": 500.0, "eval_seconds": 0.4}


def old_metrics_of(predictions: list[int]) -> dict:
    """What fraudft.engine.evaluate stored before metric_figures (classification_metrics): an undefined
    precision/recall/F1 stored as 0.0 and named in a list `undefined`, as committed records hold it."""
    tp = sum(y and p for y, p in zip(LABELS, predictions))
    fp = sum(p and not y for y, p in zip(LABELS, predictions))
    fn = sum(y and not p for y, p in zip(LABELS, predictions))
    tn = N - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    undefined = [name for name, den in (("precision", tp + fp), ("recall", tp + fn), ("f1", precision + recall)) if not den]
    return {"tn": tn, "fp": fp, "fn": fn, "tp": tp, "precision": precision, "recall": recall, "f1": f1,
            "accuracy": (tp + tn) / N, "invalid": 0, "n": N, "undefined": undefined,
            "examples_per_s": 500.0, "eval_seconds": 0.4}


def make_record(root, commit: str, arm: str, seed: int = 0, backend: str = "cpu-tiny", fn: int = 10, fp: int = 10,
                tokens_per_s: float | None = 10000.0, peak_bytes: int | None = 2 * 2**30, status: str = "success",
                error: str | None = None, fingerprint: str = "testfp", dirty: bool = False,
                model: str = "tiny", predictions: list[int] | None = None, scores: bool = True,
                audit: dict | None = None, method: str | None = None,
                counterfactuals: dict[str, list[int]] | None = None) -> RunRecord:
    """Write a RunRecord shaped like fraudft.experiment.runner.run_arm's under root; return it.

    `audit`: the data's audit summary it keeps; `method`: the arm's method (a baseline's name; default
    "none" for untuned, else "lora"); `counterfactuals`: {NAME: predictions} of `test:NAME` evaluations."""
    record = RunRecord(
        arm=arm, seed=seed, recipe=backend, model=model, device="cpu",
        run_info={"commit": commit, "dirty": dirty, "date": "2026-01-01T00:00:00+00:00", "command": "pytest bench",
                  "config": {"arm": {"name": arm, "lora": None if arm == "untuned" or method not in (None, "lora") else {"r": 8, "alpha": 16},
                                     "method": method or ("none" if arm == "untuned" else "lora")},
                             "backend": {"name": backend, "model": model}, "seed": seed,
                             "data": {"source": "fake", "fingerprints": {"test": fingerprint}}}},
        train_info={}, meta_info={"device": "cpu"}, audit=audit)
    if status == "failed":
        record.train_info = {"status": "failed", "error": error or "RuntimeError: boom", "traceback": "..."}
    else:
        predictions = predictions_of(fn, fp, seed) if predictions is None else predictions
        steps = 0 if arm == "untuned" or method not in (None, "lora") else 40
        info = {"status": "success", "steps": steps}
        if steps:
            history = [{"loss": 2.0 / (s + 1), "step": s * 10} for s in range(1, 5)]
            history += [{"eval_loss": 1.5 / (s + 1), "step": s * 20} for s in range(1, 3)]
            info.update({"train_seconds": 12.5, "eval_seconds": 1.5, "tokens_per_s": tokens_per_s,
                         "samples_per_s": 40.0, "peak_memory": {"device": "cpu", "peak_rss_bytes": peak_bytes},
                         "log_history": history, "lora_scale": 2.0})
        record.train_info = info
        test_scores = scores_of(predictions, seed) if scores else None
        record.evaluations = [Evaluation(name="test", labels=list(LABELS), predictions=list(predictions),
                                         scores=test_scores, metrics=metrics_of(predictions, test_scores),
                                         fingerprint=fingerprint)]
        for name, changed in (counterfactuals or {}).items():
            record.evaluations.append(Evaluation(name=f"test:{name}", labels=list(LABELS), predictions=list(changed),
                                                 scores=None, metrics=metrics_of(changed), fingerprint=fingerprint))
    write_record(record, root)
    return record


def run(capsys, *argv) -> tuple[int, str, str]:
    """`fraudft ARGV...` in-process: (exit code, stdout, stderr)."""
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def row(out: str, backend: str, arm: str) -> str:
    """The first markdown row of (backend, arm) in out."""
    lines = [line for line in out.splitlines() if line.startswith(f"| {backend} | {arm} |")]
    assert lines, f"no row for {backend}/{arm} in:\n{out}"
    return lines[0]


@pytest.fixture
def fake():
    """The helpers above: fake.record(...), fake.run(capsys, ...), fake.row(...), fake.labels, fake.predictions(...)."""
    return types.SimpleNamespace(record=make_record, run=run, row=row, labels=LABELS, n=N,
                                 predictions=predictions_of, metrics=metrics_of, old_metrics=old_metrics_of,
                                 scores=scores_of)


@pytest.fixture
def one_commit(tmp_path):
    """c1: untuned, reference x3 seeds, rslora failed with a long two-line error."""
    make_record(tmp_path, "c1", "untuned", fn=100, fp=0)
    for seed in (0, 1, 2):
        make_record(tmp_path, "c1", "reference", seed=seed, fn=10 + seed, fp=12)
    make_record(tmp_path, "c1", "rslora", status="failed",
                error="OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB | GPU 0 has a total capacity "
                      "of 79 GiB of which 1 GiB is free\nsecond line of the message")
    return tmp_path


def history_standin(root, metric="mcc", arms=None, last=None, recipe=None, n_resamples=None, rev="HEAD", cwd=None):
    """A stand-in for fraudft.results.history.history_frame (built apart): three commits of every arm
    under root's first commit folder, the reference confirmed up at the last, one failed, one missing."""
    import pandas as pd

    from fraudft.results.store import available_commits, load_records

    commit = available_commits(root)[0][0]
    found = sorted({(r.recipe, r.arm) for r in load_records(root, commit)})
    rows = []
    for position, (c, subject) in enumerate([("aaaaaaa", "first"), ("bbbbbbb", "second"), (commit, "this one")]):
        for rec, arm in found:
            if recipe is not None and rec != recipe:
                continue
            value = 0.5 + 0.1 * position * (arm == "reference")
            status = "failed" if (arm == "rslora" and position == 1) else "missing" if (arm == "untuned" and position == 0) else "ok"
            ok = status == "ok"
            rows.append({"commit": c, "position": position, "subject": subject, "recipe": rec, "arm": arm,
                         "metric": metric, "value": value if ok else float("nan"), "low": value - 0.05 if ok else float("nan"),
                         "high": value + 0.05 if ok else float("nan"), "status": status,
                         "change": "up" if (arm == "reference" and position == 2) else "",
                         "p_adjusted": 0.01 if (arm == "reference" and position == 2) else float("nan"), "borderline": False})
    return pd.DataFrame(rows)


def install_history_standin(monkeypatch):
    """fraudft.results.history replaced by a module whose history_frame is history_standin (and whose
    history() holds its frame and a config change of the reference at the second commit)."""
    import sys

    from fraudft.results.config_diff import Change

    def history(*args, **kwargs):  # what the report reads: the frame, and one config change to list
        frame = history_standin(*args, **kwargs)
        return types.SimpleNamespace(frame=frame, config_changes={
            ("bbbbbbb", recipe, "reference"): [Change("lora.r", 8, 16)] for recipe in dict.fromkeys(frame["recipe"])})

    module = types.ModuleType("fraudft.results.history")
    module.history_frame = history_standin
    module.history = history
    monkeypatch.setitem(sys.modules, "fraudft.results.history", module)
    return module


@pytest.fixture
def history_module(monkeypatch):
    """install_history_standin for one test."""
    return install_history_standin(monkeypatch)
