"""Surface-only probe: cross-validated logistic regression on non-content features (no words).

The level follows the CV accuracy's margin over the majority rate (`probe_warn_margin`/`_fail_margin`),
and only when a one-sided binomial test puts it above that rate at `probe_alpha`.
"""

from __future__ import annotations

import numpy as np

from fraudft.audit.config import AuditConfig
from fraudft.audit.features import Split, level_of, surface_features
from fraudft.audit.registry import check
from fraudft.audit.report import Finding


def render_probe(figures: dict) -> list[str]:
    if "top_features" not in figures:
        return []
    return ["largest standardized coefficients (+ means fraud): "
            + ", ".join(f"{t['feature']} {t['coefficient']:+.2f}" for t in figures["top_features"])]


@check("probe", title="Surface-only probe (no content)", render=render_probe, needs_both_classes=True)
def check_probe(split: Split, config: AuditConfig) -> Finding:
    from scipy.stats import binomtest
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = split.labels.astype(int)
    minority = int(min(y.sum(), len(y) - y.sum()))
    folds = min(config.probe_folds, minority)
    if folds < 2:
        return Finding("probe", split.name, "info", "skipped: fewer than 2 records in a class", {"folds": folds})
    x, names = surface_features(split)

    def model():
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))

    cv = StratifiedKFold(folds, shuffle=True, random_state=config.probe_seed)
    scores = cross_val_score(model(), x, y, cv=cv)
    fitted = model().fit(x, y)
    coefs = fitted[-1].coef_[0]
    order = np.argsort(-np.abs(coefs), kind="stable")[: config.probe_top_features]
    majority = float(max(y.mean(), 1 - y.mean()))
    accuracy = float(scores.mean())
    margin = accuracy - majority
    p_value = float(binomtest(round(accuracy * len(y)), len(y), majority, alternative="greater").pvalue)
    level = level_of(margin, config.probe_warn_margin, config.probe_fail_margin) if p_value < config.probe_alpha else "info"
    top = [{"feature": names[i], "coefficient": float(coefs[i])} for i in order]
    figures = {"accuracy": accuracy, "accuracy_sd": float(scores.std()), "folds": folds, "majority_rate": majority,
               "margin": margin, "p_value": p_value, "features": names, "top_features": top}
    shown = ", ".join(f"{t['feature']} {t['coefficient']:+.2f}" for t in top[:4])
    verdict = f"{folds}-fold CV accuracy {accuracy:.3f} vs majority rate {majority:.3f} ({margin:+.3f})"
    verdict += {
        "fail": f": far above, the label can be read off surface features ({shown})",
        "warn": f": above, a weak surface shortcut ({shown})",
        "info": ": no surface shortcut" if p_value < config.probe_alpha or margin <= 0
        else f": not significantly above (p={p_value:.2g})",
    }[level]
    return Finding("probe", split.name, level, verdict, figures)
