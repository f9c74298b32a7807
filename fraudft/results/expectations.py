"""What an arm expects, and the library's judgement of it on stored records.

    from fraudft.results.expectations import judge, judge_all
    verdict = judge(arm, arm.expects[0], runs_by_arm)      # runs_by_arm: {arm name: [RunRecord, ...]}
    verdict.passed, verdict.summary()
    verdicts = judge_all(records)                          # every expectation the records' arms ran with

Records are judged by what they ran with: every record keeps its arm's expectations and test data
(run_info.config.arm), and judge_all, the table, the report and `results power` judge those
(recorded_arms), never today's arms.toml, so an old commit's verdicts read as they did then. The
earliest records (a71bba9, c051d8e) wrote an expectation as a string `KIND[:OTHER]`, comparing F1;
stored_expectation reads those too. An arm whose seeds ran with different expectations, or one that
cannot be read today (a kind or metric since removed), is "not judged", with why.

An expectation is a kind registered with `@expectation_kind(NAME, compares=...)`
(fraudft.results.expectation_kinds, a fraudft.core.registry Registry):


- `collapse`: every run says "fraud" to every test record (recall 1.0, tn 0): the positive-only
  dataset shortcut the series found.
- `beats`: the arm's metric is significantly better than that of EVERY arm named in `other`
  (better: higher, or lower for a metric such as the Brier score where lower is better). Each
  comparison is fraudft.metrics.stats.compare, paired over test examples; the expectation holds when all
  of them do (an intersection-union test: no multiplicity correction is needed for the conjunction).
  The verdict reports the least favourable comparison (the smallest margin) with its interval.
- `worse_than`: the arm's metric is significantly worse than that of every arm in `other`.
- `not_worse_than`: non-inferiority: the arm's metric is no worse than that of every arm in
  `other` by more than `margin` (the 95% interval of the difference lies above -margin).
- `invariant`: the arm's answers do not depend on what the counterfactual `under` changes: the
  upper bound of the 95% interval of its flip rate (fraudft.metrics.flips.flip_rate, from its own `test`
  and `test:UNDER` evaluations) is at most `max_flip_rate`. arms.toml requires UNDER among the
  arm's extra_tests.
- `directional`: on the records the directional set `under` changed (fraudft.audit.counterfactuals
  DIRECTIONAL, e.g. append_transfer_request), P(fraud) must not fall: the upper bound of the 95%
  interval of the share where it fell (fraudft.metrics.flips.directional) is at most `max_violation_rate`.
- `generalizes`: the metric on the out-of-distribution set `on` (--extra-test ON=PATH, evaluation
  `extra:ON`) is not below the in-domain test metric by more than `margin`: the lower bound of the
  95% interval of (extra − in-domain) lies above −margin. The two sets hold other examples, so it is
  fraudft.metrics.stats.compare_test_sets (each set drawn within its own labels, the seeds drawn once for
  both). A run without that set is "not judged", with why.

An arm is compared with the other arms on its own test data: the other arm's own test evaluation
when it is tested on the same data, else its extra evaluation of that data (arms.toml
`extra_tests`: the same adapter scored on, e.g., the speaker-neutralised test split).

Any metric of the registry (fraudft.metrics) can be an expectation's metric; one that needs scores
cannot be judged on records without them (generate mode, schema-1 records), and
check_metrics_available() says so before a grid runs. The bench asserts what judge() returns;
`fraudft grid` prints every verdict and exits 1 when one fails.

Two readings of the same verdicts: the gate (green or red) is the conjunction of them all, each
judged at 0.05 on its own; printed one by one as claims, they are a family, and holm_claims() adds
each one's Holm-adjusted p-value, so "shown" in a claim is multiplicity-controlled.
"""

from __future__ import annotations

from dataclasses import dataclass

from fraudft.core.errors import UsageError
from fraudft.metrics.registry import METRICS, get_metric
from fraudft.results.expectation_kinds import KINDS, Verdict, _directional_sets, _verdict, expectation_kind
from fraudft.results.record import EXTRA_NAME, TEST, RunRecord
from fraudft.results.store import group_runs

__all__ = ["KINDS", "Expectation", "RecordedArm", "Verdict", "check_metrics_available", "expectation_kind",
           "holm_claims", "judge", "judge_all", "recorded_arms", "stored_expectation"]


@dataclass(frozen=True)
class Expectation:
    """An arm's expectation: a registered `kind`, the arms it compares with and the metric judged."""

    kind: str
    other: tuple[str, ...] = ()
    metric: str = "mcc"
    margin: float = 0.0  # not_worse_than: how much worse (in the metric's units) still counts as not worse
    under: str = ""  # invariant: the counterfactual test set (an extra test of the arm)
    max_flip_rate: float | None = None  # invariant: the most the flip rate's 95% upper bound may be
    on: str = ""  # generalizes: the --extra-test set NAME (evaluation extra:NAME)
    max_violation_rate: float | None = None  # directional: the most the violation share's 95% upper bound may be

    def __post_init__(self):
        if isinstance(self.other, str):
            object.__setattr__(self, "other", (self.other,))
        object.__setattr__(self, "other", tuple(self.other))
        if self.kind not in KINDS:
            raise ValueError(f"expect: kind: got {self.kind!r}, expected one of {', '.join(KINDS)}")
        if KINDS[self.kind].compares:
            if not self.other or not all(isinstance(o, str) and o for o in self.other):
                raise ValueError(f"expect: {self.kind} needs `other`, the arm(s) to compare with")
        elif self.other:
            raise ValueError(f"expect: {self.kind} compares with no other arm, got other={self.other!r}")
        if self.metric not in METRICS:
            raise ValueError(f"expect: metric: got {self.metric!r}, expected one of {', '.join(METRICS)}")
        if isinstance(self.margin, bool) or not isinstance(self.margin, (int, float)) or self.margin < 0:
            raise ValueError(f"expect: margin: got {self.margin!r}, expected a number >= 0")
        if self.margin and self.kind not in ("not_worse_than", "generalizes"):
            raise ValueError(f"expect: margin: only not_worse_than and generalizes take a margin, not {self.kind}")
        rates = {"invariant": "max_flip_rate", "directional": "max_violation_rate"}
        if self.kind in rates:
            if not isinstance(self.under, str) or not self.under:
                raise ValueError(f"expect: {self.kind} needs `under`, the counterfactual test set (one of the arm's extra_tests)")
            if self.kind == "directional" and self.under not in _directional_sets():
                raise ValueError(f"expect: directional: under: got {self.under!r}, expected a directional set "
                                 f"({', '.join(_directional_sets())})")
            rate = getattr(self, rates[self.kind])
            if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
                raise ValueError(f"expect: {rates[self.kind]}: got {rate!r}, expected a share in [0, 1]")
        elif self.under:
            raise ValueError(f"expect: under: only invariant and directional take it, not {self.kind}")
        for kind, name in rates.items():
            if self.kind != kind and getattr(self, name) is not None:
                raise ValueError(f"expect: {name}: only {kind} takes it, not {self.kind}")
        if self.kind == "generalizes":
            if not isinstance(self.on, str) or not EXTRA_NAME.fullmatch(self.on):
                raise ValueError(f"expect: generalizes needs `on`, the NAME of an --extra-test NAME=PATH set, got {self.on!r}")
        elif self.on:
            raise ValueError(f"expect: on: only generalizes takes it, not {self.kind}")

    @property
    def compares(self) -> bool:
        return KINDS[self.kind].compares

    def __str__(self) -> str:
        if self.kind == "invariant":
            return f"invariant:{self.under}:flip rate <= {self.max_flip_rate:g}"
        if self.kind == "directional":
            return f"directional:{self.under}:share with P(fraud) fallen <= {self.max_violation_rate:g}"
        if self.kind == "generalizes":
            return f"generalizes:{self.on}:{self.metric}:margin {self.margin:g}"
        if not self.compares:
            return self.kind
        other = self.other[0] if len(self.other) == 1 else "every one of " + "|".join(self.other)
        return f"{self.kind}:{other}:{self.metric}" + (f":margin {self.margin:g}" if self.margin else "")



# --- what the records ran with ---------------------------------------------------------------------

LEGACY_METRIC = "f1"  # what every expectation compared when records wrote them as "KIND[:OTHER]" (a71bba9, c051d8e)


def stored_expectation(entry, comparisons=()) -> Expectation:
    """The Expectation of one entry of a record's run_info.config.arm.expects: a dict of Expectation's
    fields, or the early string form "KIND" / "KIND:OTHER" (its metric: the one the record's kept
    verdict of that comparison names, else F1, which they all compared then). Raises ValueError
    naming what cannot be read (e.g. a kind or metric no longer registered)."""
    if isinstance(entry, str):
        kind, _, other = entry.partition(":")
        kept = [c.get("metric") for c in comparisons if isinstance(c, dict) and c.get("kind") == kind
                and c.get("other") in (other, [other])]
        fields = {"kind": kind, "other": tuple(o for o in other.split("|") if o), "metric": kept[0] if kept else LEGACY_METRIC}
        return Expectation(**fields)
    if not isinstance(entry, dict):
        raise ValueError(f"expect: got {entry!r}, expected an object of Expectation's fields or \"KIND[:OTHER]\"")
    try:
        return Expectation(**entry)
    except TypeError as err:  # a field Expectation no longer has
        raise ValueError(f"expect {entry}: {err}") from None


@dataclass(frozen=True)
class RecordedArm:
    """An arm as its records ran it: its name, the transforms of its test split and its expectations
    (what judge needs of an arm); `unreadable`: (the expectation as stored, why it cannot be judged)."""

    name: str
    test_data: tuple[str, ...] = ()
    expects: tuple[Expectation, ...] = ()
    unreadable: tuple[tuple[str, str, str], ...] = ()  # (the expectation as stored, its kind, why)


def _stored_kind(entry) -> str:
    return str(entry.get("kind")) if isinstance(entry, dict) else str(entry).partition(":")[0]


def _recorded_arm(name: str, records: list[RunRecord]) -> RecordedArm:
    """The RecordedArm of one arm's records (one recipe); seeds that ran with other expectations or
    test data make every expectation unreadable, saying which seeds differ."""
    stored = {}
    for r in records:
        arm = r.arm_config
        key = (tuple(arm.get("test_data") or ()), repr(arm.get("expects") or []))
        stored.setdefault(key, (r, []))[1].append(r.seed)
    (first, _), *rest = stored.values()
    entries = list(first.arm_config.get("expects") or [])
    if rest:
        seeds = "; ".join(f"seeds {seeds}: {list(r.arm_config.get('test_data') or [])} "
                          f"{r.arm_config.get('expects')}" for r, seeds in stored.values())
        why = f"the arm's records ran with different test data or expectations ({seeds})"
        return RecordedArm(name, unreadable=tuple((str(e), _stored_kind(e), why) for e in entries) or (("?", "?", why),))
    expects, unreadable = [], []
    for entry in entries:
        try:
            expects.append(stored_expectation(entry, first.comparisons))
        except ValueError as err:
            unreadable.append((str(entry), _stored_kind(entry), f"as recorded, it cannot be judged today: {err}"))
    return RecordedArm(name, tuple(first.arm_config.get("test_data") or ()), tuple(expects), tuple(unreadable))


def recorded_arms(records: list[RunRecord]) -> list[RecordedArm]:
    """The arms of one recipe's records as they ran (RecordedArm), in the order of fraudft.results.store.group_runs."""
    return [_recorded_arm(arm, runs) for (_, arm), runs in group_runs(records).items()]


# --- judgement -------------------------------------------------------------------------------------

def judge(arm, expectation: Expectation, runs_by_arm: dict[str, list[RunRecord]],
          n_resamples: int | None = None) -> Verdict:
    """The verdict of one expectation of `arm` (an experiment Arm or a RecordedArm: its `name` and
    `test_data`) from successful runs of it and the arms it names ({arm name: runs}); "not judged"
    when some of them have no successful run."""
    from fraudft.metrics import stats

    n_resamples = n_resamples or stats.B_DEFAULT
    missing = [name for name in (arm.name, *expectation.other) if not runs_by_arm.get(name)]
    if missing:
        return _verdict(expectation, arm.name, "not judged", f"no successful run of {', '.join(missing)}")
    ours = runs_by_arm[arm.name]
    if any(r.test is None for r in ours):
        return _verdict(expectation, arm.name, "not judged", f"no {TEST!r} evaluation")
    others = {name: runs_by_arm[name] for name in expectation.other}
    verdict = KINDS[expectation.kind].judge(expectation, arm.name, ours, others, n_resamples, tuple(arm.test_data))
    verdict.seeds = len(ours)
    return verdict


def judge_all(records: list[RunRecord], n_resamples: int | None = None) -> list[Verdict]:
    """The verdict of every expectation every arm of these records ran with (recorded_arms: one
    recipe's records; the successful runs of each arm, whatever their seeds), Holm-adjusted as claims;
    an expectation that cannot be read from its records is "not judged", with why."""
    runs_by_arm: dict[str, list[RunRecord]] = {}
    for r in records:
        if r.ok:
            runs_by_arm.setdefault(r.arm, []).append(r)
    verdicts = []
    for arm in recorded_arms(records):
        verdicts += [judge(arm, e, runs_by_arm, n_resamples) for e in arm.expects]
        verdicts += [Verdict(arm=arm.name, expectation=text, kind=kind, metric="", status="not judged", why=why)
                     for text, kind, why in arm.unreadable]
    return holm_claims(verdicts)


def holm_claims(verdicts: list[Verdict], alpha: float = 0.05) -> list[Verdict]:
    """The verdicts with `p_adjusted`: Holm's step-down adjustment of their p-values across the family
    (the comparisons judged together, e.g. one grid's). The gate stays each verdict's own status;
    a claim printed per expectation ("X beats every baseline") is "shown" only when its adjusted p
    is below alpha. Verdicts without a p-value (collapse, not judged) are left as they are."""
    tested = sorted((v for v in verdicts if v.p_value is not None), key=lambda v: v.p_value)
    running = 0.0
    for rank, verdict in enumerate(tested):
        running = max(running, min(1.0, (len(tested) - rank) * verdict.p_value))
        verdict.p_adjusted = running
    return verdicts


def check_metrics_available(arms, recipe) -> None:
    """Raise UsageError (one line) when an arm expects a metric that needs scores on a recipe that
    evaluates in generate mode (its records hold no scores)."""
    if recipe.eval.mode == "score":
        return
    for arm in arms:
        for e in arm.expects:
            if e.compares and get_metric(e.metric).needs == "scores":
                raise UsageError(f"arms.toml: {arm.name}: expect {e}: {e.metric} needs P(fraud) scores, but recipe "
                                 f"{recipe.name} evaluates in {recipe.eval.mode} mode; use a prediction metric")
