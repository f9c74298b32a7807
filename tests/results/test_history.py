"""fraudft.results.history and `fraudft results history`: git first-parent order, confirmed changes only
(seed-aware bootstrap, Holm across the history), failed and missing arms shown."""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import pytest

from fraudft.core.errors import UsageError
from fraudft.results.history import COLUMNS, history, history_frame, history_text

B = 4000  # bootstrap draws in the library tests (the CLI test runs the default)


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_DATE": "2026-01-01T00:00:00", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True).stdout.strip()


def commit(repo: Path, subject: str) -> str:
    git(repo, "commit", "-q", "--allow-empty", "-m", subject)
    return git(repo, "rev-parse", "--short=10", "HEAD")


@pytest.fixture
def repo(tmp_path):
    """A git repo with 4 first-parent commits c1..c4 and, merged in at c4 (no fast-forward), a side
    commit; records under repo/results for each, written newest first."""
    git(tmp_path, "init", "-q", "-b", "main")
    hashes = {name: commit(tmp_path, name) for name in ("c1 first", "c2 second", "c3 third")}
    git(tmp_path, "checkout", "-q", "-b", "side")
    side = commit(tmp_path, "side work")
    git(tmp_path, "checkout", "-q", "main")
    git(tmp_path, "merge", "-q", "--no-ff", "-m", "c4 merge side", "side")
    hashes["c4 merge side"] = git(tmp_path, "rev-parse", "--short=10", "HEAD")
    return tmp_path, [hashes[k] for k in ("c1 first", "c2 second", "c3 third", "c4 merge side")], side


@pytest.fixture
def grid(fake, repo):
    """reference: MCC 0.80 at c1, 0.52 at c2 (a real drop), c3 identical to c2, c4 one more miss (no change);
    rslora fails at c2; shortcut has no record at c3; untuned the same everywhere."""
    path, (c1, c2, c3, c4), side = repo
    root = path / "results"
    for c, fn in reversed(list(zip((c1, c2, c3, c4), (10, 40, 40, 41)))):  # newest written first
        fake.record(root, c, "reference", fn=fn, fp=10)
        fake.record(root, c, "untuned", fn=100, fp=0)
        fake.record(root, c, "rslora", status="failed", error="RuntimeError: boom") if c == c2 else \
            fake.record(root, c, "rslora", fn=10, fp=10)
        if c != c3:
            fake.record(root, c, "shortcut", fn=50, fp=50)
    fake.record(root, side, "reference", fn=0, fp=0)
    return root, [c1, c2, c3, c4], side


def cell(frame, commit: str, arm: str):
    rows = frame[(frame["commit"] == commit) & (frame["arm"] == arm)]
    assert len(rows) == 1, f"{len(rows)} rows for {commit}/{arm}"
    return rows.iloc[0]


def test_a_real_change_is_flagged_and_no_change_is_not(grid):
    root, (c1, c2, c3, c4), _ = grid
    frame = history_frame(root, n_resamples=B)
    assert list(frame.columns) == list(COLUMNS)
    drop = cell(frame, c2, "reference")
    assert drop["change"] == "down" and drop["p_adjusted"] < 0.05 and drop["status"] == "ok"
    assert drop["low"] < drop["value"] < drop["high"]
    assert cell(frame, c3, "reference")["change"] == "" and math.isnan(cell(frame, c3, "reference")["p_adjusted"])
    one_more = cell(frame, c4, "reference")  # 40 -> 41 misses: tested, not confirmed
    assert one_more["change"] == "" and one_more["p_adjusted"] >= 0.05
    assert (frame[frame["arm"] == "untuned"]["change"] == "").all()
    assert list(frame[frame["change"] != ""]["arm"]) == ["reference"]


def test_order_is_git_first_parent_not_folder_or_date(grid):
    root, commits, side = grid
    for i, c in enumerate(commits):  # file times say the opposite of git's order
        for f in (root / c).glob("*/*.json"):
            os.utime(f, (1_000_000 - i, 1_000_000 - i))
    h = history(root, n_resamples=B)
    assert [c for c, _ in h.commits] == commits
    assert [s for _, s in h.commits] == ["c1 first", "c2 second", "c3 third", "c4 merge side"]
    assert sorted(commits) != commits  # folder names sort otherwise (fixed git dates: fixed hashes)
    frame = h.frame
    assert list(frame[frame["arm"] == "reference"]["commit"]) == commits
    assert list(frame[frame["arm"] == "reference"]["position"]) == [0, 1, 2, 3]
    assert h.left_out == [(side, "not on HEAD's first-parent line")]  # the merged branch's commit
    assert [c for c, _ in history(root, n_resamples=B, last=2).commits] == commits[2:]


def test_failed_and_missing_arms_are_shown(grid):
    root, (c1, c2, c3, c4), _ = grid
    h = history(root, n_resamples=B)
    failed = cell(h.frame, c2, "rslora")
    assert failed["status"] == "failed" and math.isnan(failed["value"]) and failed["change"] == ""
    missing = cell(h.frame, c3, "shortcut")
    assert missing["status"] == "missing" and math.isnan(missing["value"])
    # rslora at c3 is tested against c1 (the latest value before the failure): identical, no test
    assert cell(h.frame, c3, "rslora")["change"] == ""
    text = history_text(h)
    rslora = next(line for line in text.splitlines() if line.startswith("| rslora |"))
    assert "failed (1/1): RuntimeError: boom" in rslora
    assert "| missing |" in next(line for line in text.splitlines() if line.startswith("| shortcut |"))
    assert "Left out: " in text and "not on HEAD's first-parent line" in text


def test_holm_across_the_history(fake, repo):
    """A drop significant as the only test is not flagged among five tests (Holm: p times 5)."""
    path, (c1, c2, c3, c4), _ = repo
    root = path / "results"
    fake.record(root, c1, "reference", fn=10, fp=10)
    fake.record(root, c2, "reference", fn=15, fp=10)  # MCC -0.05: p about 0.01 alone
    for arm in ("alpha_r1", "alpha_r4", "r16_d02", "rslora"):  # same counts, other examples: p about 1
        fake.record(root, c1, arm, fn=10, fp=10, seed=0)
        fake.record(root, c2, arm, fn=10, fp=10, predictions=fake.predictions(10, 10, 3))
    alone = history(root, arms=["reference"], n_resamples=B)
    step = cell(alone.frame, c2, "reference")
    assert alone.tests == 1 and step["change"] == "down" and step["p_adjusted"] < 0.05
    family = history(root, n_resamples=B)
    step5 = cell(family.frame, c2, "reference")
    assert family.tests == 5 and step5["change"] == "" and step5["p_adjusted"] == pytest.approx(5 * step["p_adjusted"])
    assert (family.frame["change"] == "").all()


def test_unpaired_where_the_test_data_differ(fake, repo):
    path, (c1, c2, c3, c4), _ = repo
    root = path / "results"
    fake.record(root, c1, "reference", fn=10, fp=10, fingerprint="old")
    fake.record(root, c2, "reference", fn=60, fp=10, fingerprint="new")
    h = history(root, n_resamples=B)
    assert cell(h.frame, c2, "reference")["change"] == "down" and (c2, "cpu-tiny", "reference") in h.unpaired
    assert "†" in history_text(h)


def test_the_command_text_and_json(capsys, fake, grid, monkeypatch):
    root, (c1, c2, c3, c4), side = grid
    monkeypatch.chdir(root.parent)
    rc, out, err = fake.run(capsys, "results", "history", "--results-dir", "results", "--arms", "reference,rslora")
    assert rc == 0, err
    assert out.startswith("## fraudft results history: mcc, 4 commits") and "Legend: " in out
    reference = next(line for line in out.splitlines() if line.startswith("| reference |"))
    assert "**▼** (p " in reference and "untuned" not in out
    rc, out, err = fake.run(capsys, "results", "history", "--results-dir", "results", "--json", "--last", "3")
    data = json.loads(out)
    assert rc == 0 and [c["commit"] for c in data["commits"]] == [c2, c3, c4]
    assert {row["status"] for row in data["rows"]} == {"ok", "failed", "missing"}
    assert all(set(COLUMNS) <= set(row) for row in data["rows"])


@pytest.mark.parametrize("argv, what", [(["--metric", "nope"], "--metric"), (["--arms", "nope"], "--arms"),
                                        (["--last", "0"], "--last"), (["--recipe", "gpu"], "--recipe")])
def test_bad_options_are_usage_errors(capsys, fake, grid, argv, what):
    root, *_ = grid
    rc, _, err = fake.run(capsys, "results", "history", "--results-dir", root, *argv)
    assert rc == 2 and what in err and err.count("\n") == 1


def test_not_a_git_checkout(fake, tmp_path):
    fake.record(tmp_path / "results", "abcdef1234", "reference")
    with pytest.raises(UsageError, match="first-parent"):
        history(tmp_path / "results", cwd=tmp_path / "results", n_resamples=B)


def test_recipe_narrows_and_names_the_commits_left_out(fake, grid):
    root, (c1, c2, c3, c4), _ = grid
    fake.record(root, c4, "reference", backend="gpu")
    h = history(root, recipe="gpu", n_resamples=B)
    assert [c for c, _ in h.commits] == [c4] and set(h.frame["recipe"]) == {"gpu"}
    assert (c1, "no gpu records") in h.left_out
    both = history(root, arms=["reference"], n_resamples=B)  # a recipe is another arm, its own row
    assert list(both.frame.groupby(["recipe", "arm"]).size().index) == [("cpu-tiny", "reference"), ("gpu", "reference")]
    assert "| recipe | arm |" in history_text(both)


def test_a_step_across_a_config_change_is_named_and_not_tested_as_the_same_arm(fake, repo):
    from fraudft.results.history import history_json
    from fraudft.results.store import write_record

    path, (c1, c2, c3, c4), _ = repo
    root = path / "results"
    fake.record(root, c1, "reference", fn=10, fp=10)
    head = fake.record(root, c2, "reference", fn=60, fp=10)  # far worse: "down" were it the same arm
    head.run_info["config"]["arm"]["lora"]["r"] = 16
    write_record(head, root)
    h = history(root, n_resamples=B)
    step = cell(h.frame, c2, "reference")
    assert step["change"] == "" and math.isnan(step["p_adjusted"]) and h.tests == 0
    assert [str(c) for c in h.config_changes[c2, "cpu-tiny", "reference"]] == ["lora.r 8 -> 16"]
    assert "config changed: lora.r 8 -> 16: not tested" in history_text(h)
    rows = json.loads(history_json(h))["rows"]
    assert [r["config_changes"] for r in rows if r["commit"] == c2] == [[{"field": "lora.r", "before": 8, "after": 16}]]


def test_compare_and_history_judge_the_same_pair_of_commits_alike(capsys, fake, repo):
    """Issue 32, item 3: one judgement (fraudft.results.steps.judge_steps) for both. The planted pair: a drop
    with p about 0.01 and four arms rerun with identical predictions. history left the identical steps out
    of its Holm family (no test) and said ▼; compare counted them (p 1 each, Holm times 5) and said ok."""
    from fraudft.results.compare import compare_records, compare_report
    from fraudft.results.store import load_records

    path, (c1, c2, c3, c4), _ = repo
    root = path / "results"
    fake.record(root, c1, "reference", fn=10, fp=10)
    fake.record(root, c2, "reference", fn=15, fp=10)  # MCC -0.05: p about 0.01 alone
    for arm in ("alpha_r1", "alpha_r4", "r16_d02", "rslora"):
        for c in (c1, c2):
            fake.record(root, c, arm, fn=10, fp=10, seed=0)  # the same predictions at both commits
    h = history(root, "mcc", n_resamples=B)
    rows = compare_records(load_records(root, c1), load_records(root, c2), n_resamples=B)
    for _, _, row in rows:
        step = cell(h.frame, c2, row["arm"])
        assert row["quality_change"] == step["change"], row["arm"]
        p = row["deltas"]["mcc"].get("p_adjusted")
        assert (p is None and math.isnan(step["p_adjusted"])) or p == pytest.approx(step["p_adjusted"])
    assert cell(h.frame, c2, "reference")["change"] == "down" and h.tests == 1 and h.identical == 4
    text, regressed = compare_report(load_records(root, c1), load_records(root, c2), c1, c2, n_resamples=B)
    assert regressed == 0  # -0.05 [..] is not shown worse than the margin 0.05: ▼, not a regression
    reference = next(line for line in text.splitlines() if line.startswith("| cpu-tiny | reference |"))
    assert "▼ lower, not a regression (MCC ▼ lower (Holm-adjusted p " in reference
    assert "**▼**" in next(line for line in history_text(h).splitlines() if line.startswith("| reference |"))
