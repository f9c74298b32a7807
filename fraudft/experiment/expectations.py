"""What an arm expects, and the library's judgement of it on stored records.

    from fraudft.experiment.expectations import judge, judge_all
    verdict = judge(arm, arm.expects[0], runs_by_arm)      # runs_by_arm: {arm name: [RunRecord, ...]}
    verdict.passed, verdict.summary()
    verdicts = judge_all(records)                          # every expectation of every arm present

An expectation is a kind registered with `@expectation_kind(NAME, compares=...)`:

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

Any metric of the registry (fraudft.metrics.registry) can be an expectation's metric; one that needs scores
cannot be judged on records without them (generate mode, schema-1 records), and
check_metrics_available() says so before a grid runs. The bench asserts what judge() returns;
`fraudft grid` prints every verdict and exits 1 when one fails.

Two readings of the same verdicts: the gate (green or red) is the conjunction of them all, each
judged at 0.05 on its own; printed one by one as claims, they are a family, and holm_claims() adds
each one's Holm-adjusted p-value, so "shown" in a claim is multiplicity-controlled.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

from fraudft.core.errors import UsageError
from fraudft.metrics.registry import METRICS, get_metric
from fraudft.results.record import TEST, RunRecord


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
            from fraudft.experiment.extra_tests import _NAME

            if not isinstance(self.on, str) or not _NAME.fullmatch(self.on):
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


@dataclass
class Verdict:
    """The judgement of one expectation of one arm.

    status: "pass", "fail" or "not judged" (records missing: `why`); comparisons: one
    fraudft.metrics.stats.compare result per other arm; the `delta`, `low`, `high` and `other` fields are the
    least favourable of them (for a collapse: None)."""

    arm: str
    expectation: str
    kind: str
    metric: str
    status: str
    why: str = ""
    other: str | None = None
    compared_with: list[str] = field(default_factory=list)
    delta: float | None = None
    low: float | None = None
    high: float | None = None
    borderline: bool = False
    comparisons: dict = field(default_factory=dict)
    p_value: float | None = None  # of the conjunction: the largest of its comparisons' p (1 if a sign is wrong)
    seeds: int = 0  # the arm's runs judged: with one, the verdict is about that seed's run, not the configuration
    p_adjusted: float | None = None  # Holm-adjusted across the expectations judged together (holm_claims)

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        """One line: `reference beats every one of untuned|always_fraud|surface_probe on mcc: ... -> pass`."""
        head = f"{self.arm} {self.expectation}"
        if self.kind in ("invariant", "directional") and self.delta is not None:
            what = "flip rate" if self.kind == "invariant" else "P(fraud) fell for"
            head += f": {what} {self.delta:.3f}" + (f" [{self.low:.3f}, {self.high:.3f}]" if self.high is not None else "")
        elif self.kind == "generalizes" and self.delta is not None:
            head += f": {self.metric} extra set − in-domain {self.delta:+.3f}" + (
                f" [{self.low:+.3f}, {self.high:+.3f}]" if self.low is not None else "")
        elif self.delta is not None:
            head += (f": weakest vs {self.other} {self.delta:+.3f} [{self.low:+.3f}, {self.high:+.3f}]"
                     + (" (borderline: Monte Carlo error could flip it)" if self.borderline else ""))
        claim = ""
        if self.p_adjusted is not None:
            claim = f"; as a claim, Holm-adjusted p {self.p_adjusted:.3g}: {'shown' if self.p_adjusted < 0.05 else 'not shown'}"
        seeds = " (one seed: conditional on seed 0)" if self.seeds == 1 else ""
        return f"{head} -> {self.status.upper()}{seeds}" + (f" ({self.why})" if self.why else "") + claim


@dataclass(frozen=True)
class ExpectationKind:
    name: str
    compares: bool
    judge: Callable[[Expectation, str, list[RunRecord], dict[str, list[RunRecord]], int, tuple], Verdict]


KINDS: dict[str, ExpectationKind] = {}


def expectation_kind(name: str, compares: bool):
    """Register `judge(expectation, arm name, our runs, {other arm: runs}, n_resamples, test data) -> Verdict`
    under name; test data: the transforms of the arm's test split (its runs' `test` evaluation)."""

    def register(fn):
        if name in KINDS:
            raise ValueError(f"expectation kind {name!r} is registered twice")
        KINDS[name] = ExpectationKind(name, compares, fn)
        return fn

    return register


def _verdict(expectation: Expectation, arm: str, status: str, why: str = "", **fields) -> Verdict:
    return Verdict(arm=arm, expectation=str(expectation), kind=expectation.kind, metric=expectation.metric,
                   status=status, why=why, compared_with=list(expectation.other), **fields)


@expectation_kind("collapse", compares=False)
def _collapse(expectation, arm, ours, others, n_resamples, test_data) -> Verdict:
    bad = [r.seed for r in ours if not (all(r.test.predictions) and any(r.test.labels))]
    if bad:
        return _verdict(expectation, arm, "fail", f"seed(s) {bad} do not say 'fraud' to every test record")
    return _verdict(expectation, arm, "pass")


def _counterfactual_pairs(expectation, arm, ours):
    """[(test, test:UNDER evaluation)] of each run, or the failing Verdict when a run lacks the
    counterfactual evaluation or its evaluations hold other examples than the test split's."""
    name = f"{TEST}:{expectation.under}"
    pairs = [(r.test, r.evaluation(name)) for r in ours]
    if any(changed is None for _, changed in pairs):
        return _verdict(expectation, arm, "fail", f"no {name!r} evaluation (add {expectation.under!r} to extra_tests)")
    labels = pairs[0][0].labels
    if any(o.labels != labels or c.labels != labels for o, c in pairs):
        return _verdict(expectation, arm, "fail", "the runs' evaluations hold other examples")
    return pairs


@expectation_kind("invariant", compares=False)
def _invariant(expectation, arm, ours, others, n_resamples, test_data) -> Verdict:
    from fraudft.metrics import flips

    pairs = _counterfactual_pairs(expectation, arm, ours)
    if isinstance(pairs, Verdict):
        return pairs
    labels = pairs[0][0].labels
    flip = flips.flip_rate(labels, [o.predictions for o, _ in pairs], [c.predictions for _, c in pairs],
                           n_resamples=n_resamples)
    fields = dict(delta=flip["value"], low=flip["low"], high=flip["high"], comparisons={"flip_rate": flip})
    if flip["high"] is None:
        return _verdict(expectation, arm, "fail", "too few resamples for an interval", **fields)
    ok = flip["high"] <= expectation.max_flip_rate
    why = "" if ok else f"flip rate up to {flip['high']:.3f} > {expectation.max_flip_rate:g}"
    return _verdict(expectation, arm, "pass" if ok else "fail", why, **fields)


def _directional_sets() -> dict:
    from fraudft.audit.counterfactuals import DIRECTIONAL

    return DIRECTIONAL


@expectation_kind("directional", compares=False)
def _directional(expectation, arm, ours, others, n_resamples, test_data) -> Verdict:
    """P(fraud) must not fall on the records the directional set `under` changed: the upper bound of
    the 95% interval of the share where it fell (fraudft.metrics.flips.directional) at most max_violation_rate."""
    from fraudft.metrics import flips

    pairs = _counterfactual_pairs(expectation, arm, ours)
    if isinstance(pairs, Verdict):
        return pairs
    labels = pairs[0][0].labels
    if any(o.scores is None or c.scores is None for o, c in pairs):
        return _verdict(expectation, arm, "fail", "no P(fraud) scores recorded (generate mode)")
    unchanged = pairs[0][1].metrics.get("unchanged_lines")
    if unchanged is None:
        return _verdict(expectation, arm, "fail", f"'{TEST}:{expectation.under}' does not record which records it changed "
                        "(unchanged_lines)")
    unchanged = set(unchanged)
    changed = [i + 1 not in unchanged for i in range(len(labels))]
    result = flips.directional(labels, [o.scores for o, _ in pairs], [c.scores for _, c in pairs], changed,
                               n_resamples=n_resamples)
    fields = dict(delta=result["value"], low=result["low"], high=result["high"], comparisons={"directional": result})
    if result["high"] is None:
        return _verdict(expectation, arm, "fail", result["undefined"] or "too few resamples for an interval", **fields)
    ok = result["high"] <= expectation.max_violation_rate
    why = "" if ok else f"P(fraud) fell for up to {result['high']:.3f} of the changed records > {expectation.max_violation_rate:g}"
    return _verdict(expectation, arm, "pass" if ok else "fail", why, **fields)


@expectation_kind("generalizes", compares=False)
def _generalizes(expectation, arm, ours, others, n_resamples, test_data) -> Verdict:
    """The metric on the extra set `on` is not below the in-domain test metric by more than `margin`:
    non-inferiority, as not_worse_than, but unpaired (fraudft.metrics.stats.compare_test_sets: the two sets hold
    other examples, each drawn within its own labels; the seeds drawn once for both)."""
    from fraudft.metrics import stats
    from fraudft.experiment.extra_tests import evaluation_name

    metric = get_metric(expectation.metric)
    name = evaluation_name(expectation.on)
    away = [r.evaluation(name) for r in ours]
    if any(e is None for e in away):
        return _verdict(expectation, arm, "not judged",
                        f"no {name!r} evaluation: run with --extra-test {expectation.on}=PATH")
    home = [r.test for r in ours]
    for evaluations, where in ((home, TEST), (away, name)):
        if any(e.labels != evaluations[0].labels for e in evaluations):
            return _verdict(expectation, arm, "fail", f"the runs' {where!r} evaluations hold other examples")
    values = [[e.values_for(metric.needs) for e in evaluations] for evaluations in (away, home)]
    if any(v is None for side in values for v in side):
        return _verdict(expectation, arm, "fail", f"{metric.name} needs {metric.needs}, which these records do not hold")
    result = stats.compare_test_sets(away[0].labels, values[0], home[0].labels, values[1], metric.name,
                                    n_resamples=n_resamples, margin=expectation.margin)
    fields = dict(delta=result["delta"], low=result["low"], high=result["high"], comparisons={"unpaired": result},
                  other=TEST)
    if result["delta"] is None:
        return _verdict(expectation, arm, "fail", f"{metric.name} undefined ({result['undefined']})", **fields)
    if result["low"] is None:
        return _verdict(expectation, arm, "fail", "too few defined resamples for an interval", **fields)
    worse_bound = result["low"] if metric.higher_is_better else -result["high"]
    ok = worse_bound > -expectation.margin
    why = "" if ok else f"may be below the in-domain {metric.name} by more than {expectation.margin:g}"
    return _verdict(expectation, arm, "pass" if ok else "fail", why, **fields)


def _metric_values(runs: list[RunRecord], metric: str, test_data: tuple) -> tuple[list[int] | None, list[list] | None, str]:
    """(labels, one value list per run, "") of the runs' evaluation on test_data, or (labels, None, why
    the metric cannot be computed)."""
    needs = get_metric(metric).needs
    evaluations = [r.evaluation_on(test_data) for r in runs]
    if any(e is None for e in evaluations):
        return None, None, f"no evaluation on the test data {list(test_data) or 'as it is'}"
    values = [e.values_for(needs) for e in evaluations]
    if any(v is None for v in values):
        return evaluations[0].labels, None, f"{metric} needs {needs}, which these records do not hold"
    return evaluations[0].labels, values, ""


def _comparison(direction: int, non_inferior: bool = False):
    """The judge of beats (direction +1: better) or worse_than (-1: worse) against every other arm;
    non_inferior: not_worse_than (the interval of the difference above -margin, in the better direction)."""

    def judge(expectation, arm, ours, others, n_resamples, test_data) -> Verdict:
        from fraudft.metrics import stats

        metric = get_metric(expectation.metric)
        sign = direction * (1 if metric.higher_is_better else -1)  # the sign the delta must have
        wanted = "higher" if sign > 0 else "lower"
        labels, our_values, why = _metric_values(ours, metric.name, test_data)
        if our_values is None:
            return _verdict(expectation, arm, "fail", why)
        results = {}
        for name, runs in others.items():
            their_labels, their_values, why = _metric_values(runs, metric.name, test_data)
            if their_values is None:
                return _verdict(expectation, arm, "fail", f"{name}: {why}")
            if their_labels != labels:
                return _verdict(expectation, arm, "fail", f"{name} was tested on other examples")
            results[name] = stats.compare(labels, our_values, their_values, metric.name, n_resamples=n_resamples)
        undefined = {name: r["undefined"] for name, r in results.items() if r["delta"] is None}
        if undefined:
            name, reason = next(iter(undefined.items()))
            return _verdict(expectation, arm, "fail", f"vs {name}: {metric.name} undefined ({reason})",
                            comparisons=results)
        weakest = min(results, key=lambda name: sign * results[name]["delta"])
        w = results[weakest]
        if non_inferior:  # the bound on the worse side must stay within the margin
            bound = (lambda r: r["low"]) if sign > 0 else (lambda r: -r["high"])
            failed = [name for name, r in results.items() if r["low"] is None or bound(r) <= -expectation.margin]
            why = (f"may be worse than {', '.join(failed)} by more than {expectation.margin:g}" if failed else "")
            return _verdict(expectation, arm, "fail" if failed else "pass", why, other=weakest, delta=w["delta"],
                            low=w["low"], high=w["high"], comparisons=results)
        failed = [name for name, r in results.items() if r["verdict"] != wanted]
        why = (f"not shown {wanted} than {', '.join(failed)}" if failed else "")
        # The conjunction's p (intersection-union): the largest p of its parts, 1 for a part of the wrong sign.
        p_value = max((r["p_value"] if sign * r["delta"] > 0 else 1.0) for r in results.values())
        return _verdict(expectation, arm, "fail" if failed else "pass", why, other=weakest, delta=w["delta"],
                        low=w["low"], high=w["high"], borderline=any(r.get("borderline") for r in results.values()),
                        comparisons=results, p_value=p_value)

    return judge


expectation_kind("beats", compares=True)(_comparison(+1))
expectation_kind("worse_than", compares=True)(_comparison(-1))
expectation_kind("not_worse_than", compares=True)(_comparison(+1, non_inferior=True))


def judge(arm, expectation: Expectation, runs_by_arm: dict[str, list[RunRecord]],
          n_resamples: int | None = None) -> Verdict:
    """The verdict of one expectation of `arm` (an Arm) from successful runs of it and the arms it
    names ({arm name: runs}); "not judged" when some of them have no successful run."""
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


def judge_all(records: list[RunRecord], arms=None, n_resamples: int | None = None) -> list[Verdict]:
    """The verdict of every expectation of every arm that has records here, in arms.toml order
    (one recipe's records; the successful runs of each arm, whatever their seeds)."""
    from fraudft.experiment.arms import ARMS

    runs_by_arm: dict[str, list[RunRecord]] = {}
    for r in records:
        if r.ok:
            runs_by_arm.setdefault(r.arm, []).append(r)
    present = {r.arm for r in records}
    return holm_claims([judge(arm, e, runs_by_arm, n_resamples) for arm in (arms or ARMS) if arm.name in present
                        for e in arm.expects])


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
