"""The Robustness section of `fraudft results table`: flip rate, mean ΔP(fraud), MCC delta per counterfactual."""

from __future__ import annotations

from fraudft import flips
from fraudft.results.record import Evaluation
from fraudft.results.robustness import robustness_rows, robustness_section
from fraudft.results.store import write_record


def with_counterfactual(fake, root, flips: int):
    record = fake.record(root, "c1", "reference")
    test = record.test
    changed = [1 - p if i < flips else p for i, p in enumerate(test.predictions)]
    scores = [min(1.0, s + 0.1) for s in test.scores]
    metrics = {**fake.metrics(changed), "records_changed": 150, "records_unchanged": 50,
               "unchanged_why": {"no speaker tags": 50}}
    record.evaluations.append(Evaluation("test:neutralize_speakers", test.labels, changed, scores=scores, metrics=metrics))
    write_record(record, root)
    return record


def test_the_section_shows_each_counterfactual_with_its_intervals(capsys, fake, tmp_path):
    record = with_counterfactual(fake, tmp_path, flips=20)
    fake.record(tmp_path, "c1", "untuned", fn=100, fp=0)  # no counterfactual: no row
    rc, out, err = fake.run(capsys, "results", "table", "c1", "--results-dir", tmp_path)
    assert rc == 0, err
    section = out[out.index("### Robustness"):]
    rows = [line for line in section.splitlines() if line.startswith("| cpu-tiny |")]
    assert len(rows) == 1 and "| reference | 0 | neutralize_speakers | 150 of 200 |" in rows[0]
    flip = flips.flip_rate(record.test.labels, record.test.predictions, record.evaluation("test:neutralize_speakers").predictions)
    assert f"{flip['value']:.3f} [{flip['low']:.3f}, {flip['high']:.3f}] (20 flips)" in rows[0]
    assert flip["value"] == 20 / 200


def test_rows_figures_and_no_section_without_counterfactuals(fake, tmp_path):
    record = with_counterfactual(fake, tmp_path, flips=0)
    [row] = robustness_rows([record], n_resamples=500)
    assert row["flip_rate"]["value"] == 0 and row["mcc_delta"]["delta"] == 0
    assert row["mean_delta_p"]["value"] > 0
    assert robustness_section([fake.record(tmp_path, "c2", "untuned")]) == ""
