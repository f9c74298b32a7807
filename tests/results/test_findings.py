"""fraudft.results.findings: a commit's findings in words, each with its fix, at the top of `results table`."""

from __future__ import annotations

from fraudft.results.findings import NOTABLE_FLIP_RATE, REMEDIES, findings, findings_text
from fraudft.results.robustness import robustness_rows
from fraudft.results.store import load_records
from fraudft.results.table import summarize_arms

B = 200
SPEAKER_FAIL = ("[fail] speaker_tags train: numbered (发言人N) tags in 96.0% of fraud vs 4.0% of not-fraud records: "
                "how dialogues are written predicts the label")
PROBE_FAIL = "[fail] probe train: 5-fold CV accuracy 0.930 vs majority rate 0.500 (+0.430): a surface shortcut (p=0.0001)"
AUDIT = {"worst_level": "fail", "counts": {"info": 1, "warn": 0, "fail": 2},
         "findings": ["[info] balance train: 750 fraud / 750 not fraud (50.0% fraud): balanced enough", SPEAKER_FAIL, PROBE_FAIL]}


def shortcut_commit(fake, root):
    """c1 on data whose audit FAILs speaker tags: untuned, reference (MCC 0.6, flipping 60 of its 200
    answers without speaker tags), surface_probe (MCC 0.9), shortcut_mitigated (MCC 0.96)."""
    reference = fake.predictions(20, 20, 0)  # MCC 0.6
    flipped = [1 - p if i % 10 < 3 else p for i, p in enumerate(reference)]  # 60 flips
    fake.record(root, "c1", "untuned", fn=100, fp=0, audit=AUDIT)
    fake.record(root, "c1", "reference", predictions=reference, audit=AUDIT, counterfactuals={"neutralize_speakers": flipped})
    fake.record(root, "c1", "surface_probe", fn=5, fp=5, audit=AUDIT, method="surface_probe")
    fake.record(root, "c1", "shortcut_mitigated", fn=2, fp=2, audit=AUDIT)  # above surface_probe
    return load_records(root, "c1")


def found_of(records):
    return findings(records, summarize_arms(records, B), robustness_rows(records, B))


def test_the_speaker_tag_shortcut_the_flips_and_the_baseline_are_said_with_their_fix(fake, tmp_path):
    found = found_of(shortcut_commit(fake, tmp_path))
    speaker = next(f for f in found if "speaker_tags" in f.what)
    assert "FAIL" in speaker.what and "numbered (发言人N) tags in 96.0% of fraud vs 4.0% of not-fraud records" in speaker.what
    assert "--neutralize-speakers" in speaker.fix and "shortcut_mitigated" in speaker.fix
    probe = next(f for f in found if "probe check" in f.what)
    assert "accuracy 0.930 vs majority rate 0.500" in probe.what
    flips = next(f for f in found if "neutralize_speakers counterfactual" in f.what)
    assert flips.what.startswith("cpu-tiny/reference seed 0 flips 0.300 [") and "(60 of 200)" in flips.what
    assert flips.what.endswith("its answers follow what neutralize_speakers changes, a shortcut")
    assert flips.fix == REMEDIES["neutralize_speakers"] and "--neutralize-speakers" in flips.fix
    baseline = next(f for f in found if "baseline surface_probe" in f.what)
    assert "surface_probe beats reference: the data has a shortcut a model can take" in baseline.what
    assert "1 trained arm(s)" in baseline.what and "shortcut_mitigated" not in baseline.what  # above the probe
    assert "reference (0.600" in baseline.what and "--neutralize-speakers" in baseline.fix
    assert [f.level for f in found] == sorted((f.level for f in found), key=["fail", "warn", "info"].index)
    assert not any("untuned" in f.what for f in found)  # the untrained model is no baseline claim of a shortcut


def test_a_clean_commit_has_no_findings_and_a_small_flip_rate_is_not_a_shortcut(fake, tmp_path):
    clean = {"worst_level": "info", "counts": {"info": 1}, "findings": ["[info] balance train: balanced enough"]}
    reference = fake.predictions(20, 20, 0)
    one_flip = [1 - reference[0], *reference[1:]]
    fake.record(tmp_path, "c1", "reference", predictions=reference, audit=clean, counterfactuals={"swap_speaker_names": one_flip})
    fake.record(tmp_path, "c1", "surface_probe", fn=60, fp=60, audit=clean, method="surface_probe")
    found = found_of(load_records(tmp_path, "c1"))
    assert len(found) == 1 and found[0].level == "info" and found[0].fix is None
    assert f"not above {NOTABLE_FLIP_RATE:.0%}: no shortcut shown" in found[0].what
    assert findings_text([]) == ""


def test_results_table_opens_with_the_findings(fake, tmp_path, capsys):
    shortcut_commit(fake, tmp_path)
    rc, out, _ = fake.run(capsys, "results", "table", "c1", "--results-dir", tmp_path)
    assert rc == 0
    head = out.split("| backend |", 1)[0]  # before the first table
    assert "findings:" in head and "speaker_tags check (FAIL)" in head
    assert "fix: fraudft mitigate TRAIN EVAL TEST --out-dir DIR --neutralize-speakers" in head
    assert "surface_probe beats reference" in head and "flips 0.300" in head


def test_arms_that_transform_their_data_are_no_evidence_of_a_shortcut(fake, tmp_path):
    from fraudft.results.store import write_record

    fake.record(tmp_path, "c1", "reference", fn=20, fp=20)
    fake.record(tmp_path, "c1", "surface_probe", fn=30, fp=30, method="surface_probe")
    planted = fake.record(tmp_path, "c1", "shortcut", fn=45, fp=45)  # trained on a planted shortcut: meant to lose
    planted.run_info["config"]["arm"]["train_data"] = ["plant:speaker_tag"]
    write_record(planted, tmp_path)
    assert found_of(load_records(tmp_path, "c1")) == []
    planted.run_info["config"]["arm"]["train_data"] = []  # the same scores on the data as it is: a finding
    write_record(planted, tmp_path)
    (found,) = found_of(load_records(tmp_path, "c1"))
    assert "surface_probe beats shortcut" in found.what and "1 trained arm(s)" in found.what


def test_an_arm_trained_on_a_planted_shortcut_has_its_flips_said_without_a_fix(fake, tmp_path):
    from fraudft.results.store import write_record

    predictions = fake.predictions(20, 20, 0)
    flipped = [1 - p if i % 10 < 3 else p for i, p in enumerate(predictions)]
    planted = fake.record(tmp_path, "c1", "shortcut", predictions=predictions, counterfactuals={"neutralize_speakers": flipped})
    planted.run_info["config"]["arm"]["train_data"] = ["plant:speaker_tag"]
    write_record(planted, tmp_path)
    (found,) = found_of(load_records(tmp_path, "c1"))
    assert found.level == "info" and found.fix is None
    assert found.what.endswith("(it trains on data transformed by plant:speaker_tag)") and "flips 0.300" in found.what
