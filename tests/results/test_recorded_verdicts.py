"""Verdicts from what each record ran with: an old commit is judged by its own records' expectations,
never by today's arms.toml (issue 25, item 4)."""

from __future__ import annotations

from pathlib import Path

from fraudft import cli
from fraudft.experiment.arms import ARMS_BY_NAME

RESULTS = Path(__file__).parents[2] / "results"
COMMIT = "9f68520c5c"  # shortcut_mitigated ran with `beats shortcut_raw`; arms.toml has changed since


def test_an_old_commit_is_judged_with_the_expectations_its_records_ran_with(capsys):
    today = [str(e) for e in ARMS_BY_NAME["shortcut_mitigated"].expects]
    assert "beats:shortcut_raw:mcc" not in today  # else this test would not tell the two apart
    rc = cli.main(["results", "table", COMMIT, "--results-dir", str(RESULTS), "--recipe", "cpu-tiny"])
    out = capsys.readouterr().out
    assert rc == 0
    verdicts = [line for line in out.splitlines() if line.startswith("- shortcut_mitigated ")]
    assert len(verdicts) == 1, out
    assert verdicts[0].startswith("- shortcut_mitigated beats:shortcut_raw:mcc: weakest vs shortcut_raw +")
    assert "-> PASS" in verdicts[0] and "FAIL" not in verdicts[0]
    assert not any(text in out for text in today)  # today's expectation is never shown for this commit
