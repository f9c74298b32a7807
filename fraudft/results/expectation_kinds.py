"""The expectation kinds: each a judge registered by name in KINDS (fraudft.core.registry), and the Verdict.

    from fraudft.results.expectation_kinds import KINDS, Verdict, expectation_kind
    KINDS.names()          # ('collapse', 'invariant', 'directional', 'generalizes', 'beats', ...)

    @expectation_kind("my_kind", compares=False)
    def _mine(expectation, arm, ours, others, n_resamples, test_data) -> Verdict: ...

What each kind asserts is in fraudft.results.expectations' docstring; an Expectation (that module)
names a kind registered here, and `judge` there calls the kind's judge on the stored runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

from fraudft.core.registry import Registry
from fraudft.metrics.registry import get_metric
from fraudft.results.record import TEST, RunRecord, extra_evaluation


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
    judge: Callable[[object, str, list[RunRecord], dict[str, list[RunRecord]], int, tuple], Verdict]


KINDS: Registry[ExpectationKind] = Registry("expectation kind")


def expectation_kind(name: str, compares: bool):
    """Register `judge(expectation, arm name, our runs, {other arm: runs}, n_resamples, test data) -> Verdict`
    under name; test data: the transforms of the arm's test split (its runs' `test` evaluation)."""
    return KINDS.decorator(name, lambda fn: ExpectationKind(name, compares, fn))


def _verdict(expectation, arm: str, status: str, why: str = "", **fields) -> Verdict:
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

    metric = get_metric(expectation.metric)
    name = extra_evaluation(expectation.on)
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
