"""`fraudft results ab`: the paired log-ratio statistics on synthetic numbers (fraudft.results.ab), and the
command run for real between HEAD and HEAD on a cheap arm (fraudft.experiment.ab: worktrees, run-arm)."""

from __future__ import annotations

import math
import subprocess

import numpy as np
import pytest
from scipy import stats as scipy_stats

from fraudft.core.errors import UsageError
from fraudft.experiment.ab import resolve_commit, run_ab
from fraudft.results.ab import Measurement, ab_report, judge, paired_log_ratio
from fraudft.results.store import project_dir


def runs(side: str, tokens: list[float | None], memory: list[float | None] | None = None, ok: list[bool] | None = None,
         kind: str = "rss") -> list[Measurement]:
    memory = memory or [2**30] * len(tokens)
    ok = ok or [True] * len(tokens)
    return [Measurement(side, i, "a" * 10 if side == "A" else "b" * 10, tokens_per_s=t, peak_bytes=m,
                        memory_kind=kind if m else None, seconds=10.0, ok=o, error="" if o else "RuntimeError: boom")
            for i, (t, m, o) in enumerate(zip(tokens, memory, ok))]


def test_paired_log_ratio_by_hand():
    a, b = [1000.0, 2000.0, 1500.0], [900.0, 1900.0, 1300.0]
    d = np.log(np.array(b) / np.array(a))
    half = scipy_stats.t.ppf(0.975, 2) * d.std(ddof=1) / math.sqrt(3)
    result = paired_log_ratio(a, b)
    assert result["n"] == 3 and result["values"] == pytest.approx(list(d))
    assert (result["mean"], result["low"], result["high"]) == pytest.approx((d.mean(), d.mean() - half, d.mean() + half))
    assert result["ratio"] == pytest.approx(math.exp(d.mean())) and result["ratio_high"] == pytest.approx(math.exp(d.mean() + half))
    assert result["verdict"] == "no difference shown" and result["high"] > 0  # 5-13% slower, but t(2 df) is wide
    assert paired_log_ratio(a * 2, b * 2)["verdict"] == "lower"  # the same ratios twice over: shown


def test_pairing_removes_the_machines_drift():
    """The machine's speed swings by ±40% from pair to pair; B is 5% slower within each pair: shown."""
    drift = [1.0, 0.6, 1.4, 0.8, 1.2]
    a = [10000 * f for f in drift]
    b = [9500 * f * (1 + e) for f, e in zip(drift, [0.01, -0.01, 0.0, 0.005, -0.005])]
    assert paired_log_ratio(a, b)["verdict"] == "lower"
    unpaired = scipy_stats.ttest_ind(np.log(a), np.log(b))  # the same numbers as two independent samples
    assert unpaired.pvalue > 0.5  # would show nothing


def test_no_difference_and_faster():
    rng = np.random.default_rng(0)
    a = list(10000 * np.exp(rng.normal(0, 0.2, 5)))
    b = list(np.array(a) * np.exp(rng.normal(0, 0.2, 5)))  # equal on average, noisy
    assert paired_log_ratio(a, b)["verdict"] == "no difference shown"
    assert paired_log_ratio(a, [x * 1.3 for x in a])["verdict"] == "higher"  # identical ratios: sd 0, shown
    same = paired_log_ratio(a, a)
    assert (same["mean"], same["low"], same["high"], same["verdict"]) == (0.0, 0.0, 0.0, "no difference shown")


@pytest.mark.parametrize("a, b, match", [([1.0], [1.0], "at least 2"), ([1.0, 2.0], [1.0], "equal lengths"),
                                         ([1.0, 0.0], [1.0, 1.0], "positive"), ([1.0, 1.0], [1.0, math.nan], "positive")])
def test_paired_log_ratio_refuses_bad_input(a, b, match):
    with pytest.raises(ValueError, match=match):
        paired_log_ratio(a, b)


def test_a_regression_needs_the_whole_interval_beyond_the_tolerance():
    a = [10000.0, 10100.0, 9900.0, 10050.0, 9950.0]
    clearly = judge(runs("A", a), runs("B", [x * 0.8 for x in a]))  # 20% slower, every pair
    assert clearly["tokens_per_s"]["verdict"] == "lower" and clearly["regressions"][0].startswith("tokens/s × 0.800")
    shifts = [0.93, 0.91, 0.95, 0.92, 0.94]  # shown slower, but by less than 10%: no regression
    within = judge(runs("A", a), runs("B", [x * s for x, s in zip(a, shifts)]))
    assert within["tokens_per_s"]["verdict"] == "lower" and within["regressions"] == []
    noisy = judge(runs("A", a), runs("B", [x * s for x, s in zip(a, [0.5, 1.2, 0.7, 1.1, 0.6])]))  # 20% slower on
    assert noisy["tokens_per_s"]["mean"] < math.log(0.9) and noisy["regressions"] == []  # average, not shown
    assert judge(runs("A", a), runs("B", [x * 0.8 for x in a]), tolerance=0.25)["regressions"] == []


def test_memory_and_failures():
    a = [10000.0] * 3
    bigger = judge(runs("A", a, [2**30] * 3), runs("B", a, [1.3 * 2**30, 1.31 * 2**30, 1.29 * 2**30]))
    assert bigger["peak_memory"]["verdict"] == "higher" and bigger["regressions"][0].startswith("peak memory × 1.300")
    failed = judge(runs("A", a), runs("B", a, ok=[True, False, True]))
    assert failed["regressions"] == ["1/3 runs of B failed (0/3 of A)"]
    assert failed["tokens_per_s"]["n"] == 2  # the pair with a failed run is left out
    untrained = judge(runs("A", [None, None], [None, None]), runs("B", [None, None], [None, None]))
    assert untrained["tokens_per_s"] is None and untrained["why"]["tokens_per_s"] == "not recorded (the arm trains nothing)"
    mixed = judge(runs("A", a, kind="rss"), runs("B", a, kind="allocated"))
    assert mixed["peak_memory"] is None and "measured differently" in mixed["why"]["peak_memory"]


def test_report_lists_runs_in_order_with_spreads_and_verdicts():
    a = [10000.0, 12000.0, 11000.0]
    text, regressed = ab_report(runs("A", a), runs("B", [x * 0.7 for x in a]), "a" * 10, "b" * 10, "reference",
                                "cpu-tiny", steps=50)
    lines = text.splitlines()
    assert lines[0] == f"## fraudft results ab {'a' * 10} (A) → {'b' * 10} (B): cpu-tiny/reference, 50 steps, 3 runs each, interleaved A, B, A, B, ..."
    assert [line.split(" | ")[0] for line in lines if line.startswith("| A") or line.startswith("| B")][:6] == \
        ["| A1", "| B1", "| A2", "| B2", "| A3", "| B3"]
    assert f"| A {'a' * 10} | 3/3 | 10,000 / 11,000 / 12,000 | 1.000 / 1.000 / 1.000 |" in text
    assert "- tokens/s: B/A × 0.700" in text and text.count(": B slower") == 1 and "peak memory: B/A × 1.000" in text
    assert regressed and text.splitlines()[-1].startswith("REGRESSION: tokens/s × 0.700")


def test_bad_input_is_a_usage_error_before_anything_runs(tmp_path):
    with pytest.raises(UsageError, match=r"^rev: 'no-such-rev' is not a commit"):
        resolve_commit("no-such-rev", project_dir())
    with pytest.raises(UsageError, match="--repeats: got 1, expected at least 2"):
        run_ab("HEAD", "HEAD", "always_fraud", repeats=1)
    with pytest.raises(UsageError, match="--steps"):
        run_ab("HEAD", "HEAD", "always_fraud", repeats=2, steps=0)
    tree = subprocess.run(["git", "-C", str(project_dir()), "rev-parse", "HEAD^{tree}"], capture_output=True, text=True)
    with pytest.raises(UsageError, match="is not a commit"):
        run_ab(tree.stdout.strip(), "HEAD", "always_fraud")  # a tree object is a revision, not a commit


def _worktrees() -> str:
    return subprocess.run(["git", "-C", str(project_dir()), "worktree", "list"], capture_output=True, text=True).stdout


def test_ab_between_head_and_head_for_real(capsys):
    """The same code twice on a cheap arm (always_fraud trains nothing: run-arm's process, the checkouts and
    the records are what is exercised): no regression, nothing shown, the worktrees gone. First an arm
    the commit does not know: a usage error, its worktrees gone too (one test: under pytest-xdist two
    tests would see each other's worktrees)."""
    from fraudft import cli

    rc = cli.main(["results", "ab", "HEAD", "HEAD", "--arm", "no_such_arm", "--repeats", "2", "--recipe", "smoke"])
    err = capsys.readouterr().err
    assert rc == 2 and "no_such_arm" in err.splitlines()[-1] and "fraudft-ab-" not in _worktrees()

    rc = cli.main(["results", "ab", "HEAD", "HEAD", "--arm", "always_fraud", "--repeats", "2", "--recipe", "smoke",
                   "--fail-on-regression"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    head = resolve_commit("HEAD", project_dir())
    assert out.startswith(f"## fraudft results ab {head} (A) → {head} (B): smoke/always_fraud, 2 runs each")
    assert [line.split(" | ")[:2] for line in out.splitlines() if line.startswith(("| A", "| B"))][:4] == \
        [["| A1", head], ["| B1", head], ["| A2", head], ["| B2", head]]
    assert "- tokens/s: — (not recorded (the arm trains nothing))" in out and out.rstrip().endswith("no regression")
    assert ": B slower" not in out and ": B faster" not in out
    assert err.count(f" {head}: ") == 4 and "fraudft-ab-" not in _worktrees()
