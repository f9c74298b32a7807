"""Class balance of a split: warn when the minority class is below `min_class_share`, or absent."""

from __future__ import annotations

from fraudft.audit.config import AuditConfig
from fraudft.audit.features import Split, pct
from fraudft.audit.registry import check
from fraudft.audit.report import Finding


@check("balance", title="Class balance")
def check_balance(split: Split, config: AuditConfig) -> Finding:
    n, n_fraud = len(split.labels), int(split.labels.sum())
    share = n_fraud / n
    minority = min(share, 1 - share)
    figures = {"records": n, "fraud": n_fraud, "not_fraud": n - n_fraud, "fraud_share": share}
    verdict = f"{n_fraud} fraud / {n - n_fraud} not fraud ({pct(share)} fraud)"
    if minority == 0:
        return Finding("balance", split.name, "warn", verdict + ": only one class", figures)
    if minority < config.min_class_share:
        return Finding("balance", split.name, "warn", verdict + f": minority class below {pct(config.min_class_share)}", figures)
    return Finding("balance", split.name, "info", verdict + ": balanced enough", figures)
