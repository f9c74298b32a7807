"""Untrained baselines a learning model must beat; each costs seconds and needs no model.

    from fraudft.experiment.baselines import BASELINES
    scores = BASELINES["surface_probe"](train_records, test_records)   # P(fraud) per test record

A baseline gives P(fraud) scores, like score-mode evaluation; the run calls a record fraud at
score >= 0.5, so the decision metrics (ROC-AUC, the operating point) apply to baselines too.

- `always_fraud`: the constant "fraud" answer (what the positive-only collapse gives): score 1.0
  for every record, so it ranks nothing (ROC-AUC 0.5).
- `surface_probe`: the audit's surface-feature classifier (fraudft.audit.features.surface_features:
  sizes, speaker-tag formats, line-ending style, punctuation, digits, instruction ids; no content
  words), a logistic regression fitted on the train split.
  Where it scores well, the data has a shortcut a model can take instead of reading the dialogue.
"""

from __future__ import annotations

from typing import Callable

from fraudft.core.registry import Registry

Baseline = Callable[[list[dict], list[dict]], list[float]]
BASELINES: Registry[Baseline] = Registry("baseline")


@BASELINES.decorator("always_fraud")
def always_fraud(train: list[dict], test: list[dict]) -> list[float]:
    return [1.0] * len(test)


@BASELINES.decorator("surface_probe")
def surface_probe(train: list[dict], test: list[dict], seed: int = 0) -> list[float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from fraudft.audit.features import prepare_split, surface_features

    # One feature table over both splits, so that both get the same columns (no labels are used).
    features, _ = surface_features(prepare_split("train+test", train + test, tokenizer=None))
    labels = [int(r["label"]) for r in train]
    if len(set(labels)) < 2:
        return [float(labels[0])] * len(test) if labels else []
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    model.fit(features[: len(train)], labels)
    return [float(p) for p in model.predict_proba(features[len(train):])[:, 1]]

