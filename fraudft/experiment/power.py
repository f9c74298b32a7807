"""Power by design: how often would the bench's gate be green on a fresh test set of a given size?

    from fraudft.experiment.power import gate_power
    gate_power(load_records("results", "abc1234567", "cpu-tiny"), n_test=2000, simulations=60)
        # {"n_test": 2000, "simulations": 60, "green": 59, "p_green": 0.983, "failures": {"alpha_r0.5 ...": 1}}

The recorded runs stand in for the truth: each simulation draws a test set of `n_test` examples
from the recorded one, stratified by label (the recorded class shares), each drawn example taking
every arm's recorded outcome on it (prediction and score, in every evaluation: the arms' agreement
on an example is kept, as are the effect sizes). Every expectation of arms.toml is then judged on
the drawn set by fraudft.experiment.expectations.judge, as the bench does, and the gate is green
when they all pass. So the estimate answers: if the arms really differ by what was recorded, how
often does a commit that changed nothing come out green at this test-set size? A main job that is
red by chance is a defect of its design (too few test examples), not of the commit.

Seeds: each arm's recorded seeds go with it, so seed-to-seed variation is in the simulation only as
far as the records hold several seeds. `n_resamples` is kept small (the bootstrap inside each judge)
for speed; the verdict at B = 1,000 and at 10,000 differ only for borderline comparisons.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np

from fraudft.experiment.expectations import judge
from fraudft.results.record import RunRecord, extra_name


def _drawn(record: RunRecord, index: np.ndarray) -> RunRecord:
    """The record with every evaluation cut down to the examples `index` (in that order)."""
    def take(values):
        return None if values is None else [values[i] for i in index]

    def kept(metrics: dict) -> dict:  # which drawn examples a counterfactual left unchanged (directional)
        if "unchanged_lines" not in metrics:
            return {}
        unchanged = set(metrics["unchanged_lines"])
        return {"unchanged_lines": [j + 1 for j, i in enumerate(index) if i + 1 in unchanged]}

    # An --extra-test set (extra:NAME) holds other examples: it is not drawn with the test split's.
    evaluations = [dataclasses.replace(e, labels=take(e.labels), predictions=take(e.predictions),
                                       scores=take(e.scores), replies=take(e.replies),
                                       reply_status=take(e.reply_status), metrics=kept(e.metrics), operating_point=None)
                   for e in record.evaluations if extra_name(e.name) is None]
    return dataclasses.replace(record, evaluations=evaluations, path=None)


def gate_power(records: list[RunRecord], n_test: int, simulations: int = 60, n_resamples: int = 1000,
               seed: int = 0, arms=None) -> dict:
    """Monte Carlo estimate of P(every expectation passes) at a test set of n_test examples drawn
    from the recorded one (see the module docstring). records: one recipe's successful runs, every
    arm tested on the same examples (the same labels in every evaluation).

    Returns {"n_test", "simulations", "green", "p_green", "failures": {expectation: times failed}}.
    Raises ValueError when the records' evaluations do not share their test labels."""
    from fraudft.experiment.arms import load_arms

    arms = arms or load_arms()
    ok = [r for r in records if r.ok]
    labels = np.asarray(ok[0].test.labels)
    if any(e.labels != ok[0].test.labels for r in ok for e in r.evaluations if extra_name(e.name) is None):
        raise ValueError("records: every evaluation must hold the same test labels (one test set, in one order)")
    positives, negatives = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    n_pos = round(n_test * positives.size / labels.size)
    rng = np.random.default_rng(seed)
    present = {r.arm for r in ok}
    expectations = [(arm, e) for arm in arms if arm.name in present for e in arm.expects
                    if set(e.other) <= present]  # as the bench: an expectation whose arms did not run is not judged
    green, failures = 0, Counter()
    for _ in range(simulations):
        index = np.concatenate([rng.choice(positives, n_pos), rng.choice(negatives, n_test - n_pos)])
        runs: dict[str, list[RunRecord]] = {}
        for r in ok:
            runs.setdefault(r.arm, []).append(_drawn(r, index))
        failed = [f"{arm.name} {e}" for arm, e in expectations
                  if not judge(arm, e, runs, n_resamples=n_resamples).passed]
        failures.update(failed)
        green += not failed
    return {"n_test": n_test, "simulations": simulations, "green": green, "p_green": green / simulations,
            "failures": dict(failures.most_common())}
