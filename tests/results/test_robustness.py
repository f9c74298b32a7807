"""The Robustness section of `fraudft results table`: flip rate, mean ΔP(fraud), MCC delta per counterfactual."""

from __future__ import annotations

from fraudft.metrics import flips
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


def test_a_directional_set_shows_the_share_of_changed_records_whose_p_fraud_fell(fake, tmp_path):
    record = fake.record(tmp_path, "c3", "reference")
    test = record.test
    unchanged = [i + 1 for i, y in enumerate(test.labels) if y]  # fraud records: left as they were
    falls = [i for i, y in enumerate(test.labels) if not y][:10]
    scores = [max(0.0, s - 0.05) if i in falls else s if test.labels[i] else min(1.0, s + 0.05)
              for i, s in enumerate(test.scores)]
    record.evaluations.append(Evaluation("test:append_transfer_request", test.labels, test.predictions, scores=scores,
                                         metrics={"unchanged_lines": unchanged, "records_changed": 100,
                                                  "records_unchanged": 100}))
    [row] = robustness_rows([record], n_resamples=500)
    assert row["directional"]["changed"] == 100 and row["directional"]["violations"] == 10
    section = robustness_section([record], n_resamples=500)
    assert "0.100 [" in section and "(10 of 100; mean ΔP(fraud) +" in section
    [neutral] = robustness_rows([with_counterfactual(fake, tmp_path, flips=0)], n_resamples=200)
    assert neutral["directional"] is None  # not a directional set: no figure, an empty cell
