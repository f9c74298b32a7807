"""The audit's findings and report: `Finding`, `AuditReport`, and their text and JSON forms.

    report = audit(splits)                 # fraudft.audit
    report.worst_level, report.exit_code("warn"), report.select("leakage")
    print(report.to_text()); json.dumps(report.to_dict(), allow_nan=False)

The text report lists the findings at warn or fail first, then one section per registered check
(fraudft.audit.registry), in registry order, each finding with its check's rendering of the figures.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from fraudft.audit.config import AuditConfig
from fraudft.audit.registry import registered

LEVELS = ("info", "warn", "fail")
FAIL_ON = ("warn", "fail", "never")  # the levels at which `fraudft audit --fail-on` exits 1, or never


@dataclass(frozen=True)
class Finding:
    """One check on one split (split=None for checks across splits): level, a one-line verdict, figures."""

    check: str
    split: str | None
    level: str
    verdict: str
    figures: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.level not in LEVELS:
            raise ValueError(f"level: got {self.level!r}, expected one of {', '.join(LEVELS)}")

    def to_dict(self) -> dict:
        return _plain(
            {"check": self.check, "split": self.split, "level": self.level, "verdict": self.verdict,
             "figures": self.figures}
        )


@dataclass
class AuditReport:
    """The findings of `audit`, with the split sizes and the config that produced them."""

    splits: dict[str, int]
    findings: list[Finding]
    config: AuditConfig = field(default_factory=AuditConfig)
    tokenizer: str | None = None
    seconds: float = 0.0

    @property
    def worst_level(self) -> str:
        return max((f.level for f in self.findings), key=LEVELS.index, default="info")

    def counts(self) -> dict[str, int]:
        return {level: sum(f.level == level for f in self.findings) for level in LEVELS}

    def select(self, check: str | None = None, split: str | None = None, level: str | None = None) -> list[Finding]:
        """Findings of one check (and split, and level), in report order."""
        return [
            f for f in self.findings
            if (check is None or f.check == check) and (split is None or f.split == split)
            and (level is None or f.level == level)
        ]

    def exit_code(self, fail_on: str = "fail") -> int:
        """1 when a finding reaches `fail_on` (warn or fail), 0 otherwise or when fail_on is never."""
        if fail_on not in FAIL_ON:
            raise ValueError(f"fail_on: got {fail_on!r}, expected one of {', '.join(FAIL_ON)}")
        if fail_on == "never":
            return 0
        return int(LEVELS.index(self.worst_level) >= LEVELS.index(fail_on))

    def to_dict(self) -> dict:
        return _plain(
            {
                "worst_level": self.worst_level,
                "counts": self.counts(),
                "splits": dict(self.splits),
                "tokenizer": self.tokenizer,
                "seconds": round(self.seconds, 3),
                "config": asdict(self.config),
                "findings": [f.to_dict() for f in self.findings],
            }
        )

    def to_text(self) -> str:
        sizes = ", ".join(f"{name} {n}" for name, n in self.splits.items())
        counts = self.counts()
        out = [
            f"fraudft audit: {len(self.splits)} split(s): {sizes} records"
            + (f"; tokens by {self.tokenizer}" if self.tokenizer else "; no token counts"),
            (f"verdict: {self.worst_level.upper()} ({counts['fail']} fail, {counts['warn']} warn, "
             f"{counts['info']} info) in {self.seconds:.1f} s"),
        ]
        serious = [f for f in self.findings if f.level != "info"]
        if serious:
            out.append("")
            out.append("Findings at warn or fail:")
            for f in sorted(serious, key=lambda f: -LEVELS.index(f.level)):
                out.append(f"  [{f.level.upper()}] {f.check}{_where(f)}: {f.verdict}")
        for spec in registered():
            found = self.select(spec.name)
            if not found:
                continue
            out += ["", f"== {spec.title} =="]
            for f in found:
                out.append(f"[{f.level.upper()}]{_where(f)}: {f.verdict}")
                out += ["    " + line for line in spec.render(f.figures)]
        return "\n".join(out) + "\n"


def _where(finding: Finding) -> str:
    if finding.split is not None:
        return f" {finding.split}"
    pair = finding.figures.get("pair")
    return f" {'/'.join(pair)}" if pair else ""


def _plain(obj):
    """Plain JSON types: numpy scalars to Python, tuples to lists, non-finite floats to None."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    return obj
