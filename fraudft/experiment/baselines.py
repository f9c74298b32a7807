"""Untrained baselines a learning model must beat; each costs seconds and needs no model.

    from fraudft.experiment.baselines import BASELINES
    predictions = BASELINES["surface_probe"](train_records, test_records)   # 0/1 per test record

- `always_fraud`: the constant "fraud" answer (what the positive-only collapse gives).
- `surface_probe`: the audit's surface-feature classifier (fraudft.audit.features.surface_features:
  sizes, speaker-tag formats, line-ending style, punctuation, digits, instruction ids; no content words), a logistic regression fitted on the train split.
  Where it scores well, the data has a shortcut a model can take instead of reading the dialogue.
"""

from __future__ import annotations

from typing import Callable

Baseline = Callable[[list[dict], list[dict]], list[int]]


def always_fraud(train: list[dict], test: list[dict]) -> list[int]:
    return [1] * len(test)


def surface_probe(train: list[dict], test: list[dict], seed: int = 0) -> list[int]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from fraudft.audit.features import prepare_split, surface_features

    # One feature table over both splits, so that both get the same columns (no labels are used).
    features, _ = surface_features(prepare_split("train+test", train + test, tokenizer=None))
    labels = [int(r["label"]) for r in train]
    if len(set(labels)) < 2:
        return [labels[0]] * len(test) if labels else []
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    model.fit(features[: len(train)], labels)
    return [int(p) for p in model.predict(features[len(train):])]


BASELINES: dict[str, Baseline] = {"always_fraud": always_fraud, "surface_probe": surface_probe}
