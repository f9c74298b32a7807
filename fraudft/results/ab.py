"""Interleaved A/B measurements of one arm: paired log ratios of tokens/s and peak memory, t-intervals, verdicts.

    fraudft results ab A B --arm NAME [--repeats 5] [--recipe cpu-tiny] [--steps N] [--fail-on-regression]
    from fraudft.results.ab import Measurement, paired_log_ratio, ab_report
    paired_log_ratio([9000, 9100, 8800], [8000, 8300, 7900])   # B over A, pair i = the i-th run of each
        # {"n": 3, "mean": -0.10.., "low": .., "high": .., "ratio": 0.90.., "ratio_low": .., "ratio_high": ..,
        #  "verdict": "lower" | "higher" | "no difference shown", "sd": .., "values": [...]}

Why interleaved: on a shared CPU machine tokens/s drifts with the load of the moment (run-to-run sd
of log tokens/s about 0.2 on the 2-core dev VM), so one run per commit, at different times, cannot
show a 10% change. `fraudft results ab` runs the two commits' code alternately on one arm (A, B, A,
B, ...), so that pair i shares the machine's state of the moment, and tests the mean over the pairs
of d_i = log(B_i / A_i) with a Student t-interval (n - 1 degrees of freedom): 95% two-sided.

Verdicts: "B slower" / "B faster" (tokens/s), "B uses more" / "B uses less" (peak memory) only
when the 95% interval of the mean log ratio excludes 0, else "no difference shown".
A confirmed regression (what --fail-on-regression fails on):
- tokens/s: the interval's upper bound lies below log(1 - tolerance), i.e. even the most favourable
  ratio the data allow, exp(high), is a drop of more than the tolerance (one-sided level 0.025,
  like `results compare`'s MCC margin);
- peak memory: the interval's lower bound lies above log(1 + tolerance_memory);
- a run of B that failed where A's runs did not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

CONFIDENCE = 0.95


@dataclass
class Measurement:
    """One run of one commit's code on the arm, read from its record.

    side: "A" or "B"; index: the run's place among its side's runs (0-based; pair i = A[i], B[i]);
    tokens_per_s: training tokens per second (None: the arm trains nothing, or the run failed);
    peak_bytes: peak memory in bytes, of kind memory_kind ("rss" on a CPU, "allocated" CUDA bytes);
    seconds: wall time of the whole run-arm process; ok: the run succeeded; error: its first line if not."""

    side: str
    index: int
    commit: str
    tokens_per_s: float | None = None
    peak_bytes: float | None = None
    memory_kind: str | None = None
    seconds: float | None = None
    ok: bool = True
    error: str = ""


def paired_log_ratio(a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE) -> dict:
    """Mean over pairs of log(b_i / a_i), with its Student t-interval.

    a, b: positive numbers of equal length n >= 2 (pair i = a[i], b[i]). Returns {"n", "values" (the
    log ratios), "mean", "sd", "low", "high" (log units), "ratio", "ratio_low", "ratio_high" (exp of
    those: B over A), "verdict": "higher" (B above A) | "lower" | "no difference shown"}.
    Raises ValueError for unequal lengths, n < 2 or a value that is not a positive finite number."""
    from scipy import stats as scipy_stats  # here: reading records needs no scipy

    if len(a) != len(b):
        raise ValueError(f"a and b: got {len(a)} and {len(b)} values, expected pairs (equal lengths)")
    if len(a) < 2:
        raise ValueError(f"a and b: got {len(a)} pairs, expected at least 2 for an interval")
    for name, values in (("a", a), ("b", b)):
        if not all(isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in values):
            raise ValueError(f"{name}: expected positive finite numbers, got {list(values)}")
    d = [math.log(y / x) for x, y in zip(a, b)]
    n = len(d)
    mean = sum(d) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in d) / (n - 1))
    half = float(scipy_stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    low, high = mean - half, mean + half
    verdict = "higher" if low > 0 else "lower" if high < 0 else "no difference shown"
    return {"n": n, "values": d, "mean": mean, "sd": sd, "low": low, "high": high, "ratio": math.exp(mean),
            "ratio_low": math.exp(low), "ratio_high": math.exp(high), "verdict": verdict}


def pairs(runs_a: list[Measurement], runs_b: list[Measurement], field: str) -> tuple[list[float], list[float]]:
    """(a values, b values) of `field` over the pairs (i-th run of A, i-th run of B) where both runs
    succeeded and recorded it."""
    kept = [(x, y) for x, y in zip(runs_a, runs_b)
            if x.ok and y.ok and getattr(x, field) is not None and getattr(y, field) is not None]
    return [getattr(x, field) for x, _ in kept], [getattr(y, field) for _, y in kept]


def judge(runs_a: list[Measurement], runs_b: list[Measurement], tolerance: float = 0.10,
          tolerance_memory: float = 0.10) -> dict:
    """{"tokens_per_s": paired_log_ratio result or None, "peak_memory": ... or None, "why": {field: why
    None}, "regressions": [str]} (see the module docstring for what regresses). A field with fewer
    than 2 complete pairs, or recorded by no run (an arm that trains nothing), gets None and a why."""
    out = {"tokens_per_s": None, "peak_memory": None, "why": {}, "regressions": []}
    failed_a, failed_b = sum(not r.ok for r in runs_a), sum(not r.ok for r in runs_b)
    if failed_b > failed_a:
        out["regressions"].append(f"{failed_b}/{len(runs_b)} runs of B failed ({failed_a}/{len(runs_a)} of A)")
    kinds = {r.memory_kind for r in runs_a + runs_b if r.ok and r.memory_kind}
    for key, field in (("tokens_per_s", "tokens_per_s"), ("peak_memory", "peak_bytes")):
        a, b = pairs(runs_a, runs_b, field)
        if key == "peak_memory" and len(kinds) > 1:
            out["why"][key] = f"measured differently ({' vs '.join(sorted(kinds))})"
        elif not any(getattr(r, field) is not None for r in runs_a + runs_b):
            out["why"][key] = "not recorded (the arm trains nothing)" if all(r.ok for r in runs_a + runs_b) else "no run recorded it"
        elif len(a) < 2:
            out["why"][key] = f"{len(a)} complete pair{'s' if len(a) != 1 else ''}, 2 needed for an interval"
        else:
            out[key] = paired_log_ratio(a, b)
    speed, memory = out["tokens_per_s"], out["peak_memory"]
    if speed and speed["high"] < math.log(1 - tolerance):
        out["regressions"].append(f"tokens/s × {speed['ratio']:.3f} [{speed['ratio_low']:.3f}, {speed['ratio_high']:.3f}]: "
                                  f"slower by more than {tolerance:.0%}")
    if memory and memory["low"] > math.log(1 + tolerance_memory):
        out["regressions"].append(f"peak memory × {memory['ratio']:.3f} [{memory['ratio_low']:.3f}, "
                                  f"{memory['ratio_high']:.3f}]: more by more than {tolerance_memory:.0%}")
    return out


_WORDS = {"tokens_per_s": {"higher": "B faster", "lower": "B slower"},
          "peak_memory": {"higher": "B uses more", "lower": "B uses less"}}


def _spread(values: list[float], scale: float = 1.0, digits: int = 0) -> str:
    """`min / median / max` of values divided by scale; "—" when there are none."""
    if not values:
        return "—"
    ordered = sorted(values)
    mid = len(ordered) // 2
    median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return " / ".join(f"{v / scale:,.{digits}f}" for v in (ordered[0], median, ordered[-1]))


def _verdict_line(key: str, result: dict | None, why: str | None) -> str:
    name = {"tokens_per_s": "tokens/s", "peak_memory": "peak memory"}[key]
    if result is None:
        return f"- {name}: — ({why})"
    words = _WORDS[key].get(result["verdict"], "no difference shown")
    return (f"- {name}: B/A × {result['ratio']:.3f}, 95% t-interval [{result['ratio_low']:.3f}, "
            f"{result['ratio_high']:.3f}] (mean log ratio {result['mean']:+.4f} [{result['low']:+.4f}, "
            f"{result['high']:+.4f}], {result['n']} pairs, sd {result['sd']:.4f}): {words}")


def ab_report(runs_a: list[Measurement], runs_b: list[Measurement], commit_a: str, commit_b: str, arm: str,
              recipe: str, steps: int | None = None, tolerance: float = 0.10,
              tolerance_memory: float = 0.10) -> tuple[str, bool]:
    """Markdown: each run in order, per commit min / median / max of tokens/s and peak memory, the
    paired verdicts; returns it and whether B regressed (see judge)."""
    verdict = judge(runs_a, runs_b, tolerance, tolerance_memory)
    order = [r for pair in zip(runs_a, runs_b) for r in pair]
    rows = ["| run | commit | tokens/s | peak mem GB | seconds | status |", "|---|---|---|---|---|---|"]
    for r in order:
        rows.append(f"| {r.side}{r.index + 1} | {r.commit} | {f'{r.tokens_per_s:,.0f}' if r.tokens_per_s else '—'} | "
                    f"{f'{r.peak_bytes / 2**30:.3f}' if r.peak_bytes else '—'} | "
                    f"{f'{r.seconds:.1f}' if r.seconds is not None else '—'} | {'ok' if r.ok else 'failed: ' + r.error} |")
    summary = ["| commit | runs ok | tokens/s min / median / max | peak mem GB min / median / max |",
               "|---|---|---|---|"]
    for side, commit, runs in (("A", commit_a, runs_a), ("B", commit_b, runs_b)):
        ok = [r for r in runs if r.ok]
        summary.append(f"| {side} {commit} | {len(ok)}/{len(runs)} | "
                       f"{_spread([r.tokens_per_s for r in ok if r.tokens_per_s])} | "
                       f"{_spread([r.peak_bytes for r in ok if r.peak_bytes], 2**30, 3)} |")
    kinds = sorted({r.memory_kind for r in runs_a + runs_b if r.memory_kind})
    out = [f"## fraudft results ab {commit_a} (A) → {commit_b} (B): {recipe}/{arm}"
           + (f", {steps} steps" if steps else "") + f", {len(runs_a)} runs each, interleaved A, B, A, B, ...",
           "",
           f"Pair i is the i-th run of A with the i-th of B; the mean over pairs of log(B/A) with a 95% Student "
           f"t-interval; a verdict only when it excludes 0. A regression: tokens/s down by more than {tolerance:.0%} "
           f"(the interval's upper ratio below {1 - tolerance:.2f}), peak memory up by more than "
           f"{tolerance_memory:.0%} (the lower ratio above {1 + tolerance_memory:.2f}), or more failed runs in B."
           + (f" Memory: {', '.join(kinds)} (rss: the process's peak resident set; allocated: CUDA peak)." if kinds else ""),
           "", "\n".join(rows), "", "\n".join(summary), "",
           _verdict_line("tokens_per_s", verdict["tokens_per_s"], verdict["why"].get("tokens_per_s")),
           _verdict_line("peak_memory", verdict["peak_memory"], verdict["why"].get("peak_memory")), ""]
    out.append("REGRESSION: " + "; ".join(verdict["regressions"]) if verdict["regressions"] else "no regression")
    return "\n".join(out), bool(verdict["regressions"])
