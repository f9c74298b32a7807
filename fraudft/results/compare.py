"""Compare two commits' records arm by arm: metric deltas with paired intervals, confirmed regressions flagged.

    fraudft results compare BASE HEAD [--arms a,b] [--margin-mcc 0.05] [--fail-on-regression] [--require-all]
    from fraudft.results.compare import compare_report
    text, regressed = compare_report(load_records(root, base), load_records(root, head), base, head)

An arm is a (recipe folder, arm) pair. Only arms with records in both commits are judged: an arm of the
base with none in the head (a partial rerun) is listed once, apart, and is a regression only under
`--require-all` (require_all); `--arms` keeps only the arms named. A regression is only what is confirmed:
- fewer successful runs (2/3 -> 0/3 included), more failed runs, a new arm that fails;
- quality: MCC worse by more than the non-inferiority margin (`margin_mcc`, MCC units): the paired
  two-level bootstrap of fraudft.metrics.stats.compare tests H0 "head - base >= -margin" against
  "head - base < -margin" (p_worse: one-sided level 0.025, i.e. the 95% interval wholly below
  -margin), Holm-adjusted across the arms of the report; a regression when the adjusted p < 0.05.
  Otherwise the row says "not shown worse than the margin", with "▼ lower" where the two-sided test
  confirms a drop, and where the estimate itself lies below -margin, that the test cannot confirm it;
  an untestable drop (no common test labels) is a note.
  Each step (one arm, base -> head) is tested by step_test and a family of steps judged by judge_steps,
  the functions `results history` calls too: on the same pair of commits both say the same (compare's
  family: the arms on both sides whose step is a test, config and model unchanged; history's: every
  tested step shown, which is the same family when the history shows just these two commits);
- speed and memory: tokens/s drop or peak memory growth beyond their tolerances, only where both
  commits' runs of the arm were measured on a GPU (record device "cuda"; memory: CUDA peak allocated
  bytes) and, for tokens/s, ran alike: as many workers side by side and threads per arm (meta_info
  workers, threads), else the tokens/s cell reads "not paired" and a note says why, with no ratio. On a CPU one run per commit on a shared machine cannot show a 10% change (run-to-run sd of
  log tokens/s about 0.2 on the dev VM): a note; `fraudft results ab` measures it interleaved.
Every registered metric (fraudft.metrics.registry) gets a head - base delta from fraudft.metrics.stats.compare,
paired per example (seeds resampled), Holm-adjusted across the arms for each metric; a delta reads
"no difference shown" unless the adjusted test rejects. F1 and the others are information.
Comparing an arm whose model changed is refused unless allowed.

An arm whose configuration changed between the commits (fraudft.results.config_diff: LoRA, training,
evaluation, arm definition with its data transforms and expectations, task format, data, model) is
two configurations, not one arm twice: its row reads "config changed" with the fields
(`lora.r 8 -> 16`), its deltas are shown as the effect of that change, and none of them (quality,
speed, memory) counts as a regression; a run that now fails or an arm missing still does.
"""

from __future__ import annotations

from fraudft.configs import arm_order
from fraudft.core.errors import UsageError
from fraudft.metrics.registry import METRICS
from fraudft.results.config_diff import describe, record_fields, runs_config_diff
from fraudft.results.record import RunRecord
from fraudft.results.store import group_runs, model_of
from fraudft.results.markdown import markdown
from fraudft.results.steps import judge_steps, paired_labels, step_test
from fraudft.results.table import short_error, summarize_arm
from fraudft.results.views import view_metric, view_metrics

# Which metrics show (views "compare": the means per arm in the main table, every metric has its delta
# below) and which one regressions are judged on (view "quality") is fraudft.results.views' to say.
CPU_NOTE = "informational on CPU, measure interleaved with `fraudft results ab`"


def check_models(records_a: list[RunRecord], records_b: list[RunRecord], commit_a: str, commit_b: str,
                 allow_model_change: bool = False) -> dict[tuple[str, str], str]:
    """{(recipe, arm): "model a → model b"} of arms whose model differs between the commits.

    Raises UsageError (one line) for such arms unless allow_model_change."""
    groups_a, groups_b = group_runs(records_a), group_runs(records_b)
    changed = {}
    for key in sorted(set(groups_a) & set(groups_b)):
        a, b = (sorted({model_of(r) for r in groups[key]}) for groups in (groups_a, groups_b))
        if a != b:
            changed[key] = f"{', '.join(a)} → {', '.join(b)}"
    if changed and not allow_model_change:
        (recipe, arm), change = next(iter(changed.items()))
        more = f" (and {len(changed) - 1} more arms)" if len(changed) > 1 else ""
        raise UsageError(f"compare: {recipe}/{arm}: the model changed from {commit_a} to {commit_b} ({change}){more}; "
                         f"pass --allow-model-change to compare runs of different models")
    return changed


def _relative(a: float | None, b: float | None) -> float | None:
    return (b - a) / a if a and b is not None else None


def _environment(record: RunRecord) -> dict:
    """{python, device, each library: version} of the record's environment (config_diff's environment section)."""
    env = dict(record_fields(record).get("environment") or {})
    return {**{k: v for k, v in env.items() if k != "libraries"}, **(env.get("libraries") or {})}


def environment_changes(records_a: list[RunRecord], records_b: list[RunRecord]) -> list[str]:
    """What differs between the two commits' recorded environments (python, device, library versions;
    None: not installed): speed and memory can move with these, code unchanged. A library that one
    commit's records do not mention (recorded since) is left out."""
    envs_a, envs_b = [_environment(r) for r in records_a], [_environment(r) for r in records_b]
    changes = []
    for key in dict.fromkeys(k for env in envs_a + envs_b for k in env):
        a, b = (sorted({str(env[key]) for env in envs if key in env}) for envs in (envs_a, envs_b))
        if a and b and a != b:
            changes.append(f"{key} {', '.join(a)} → {', '.join(b)}")
    return changes


def _failure(s: dict) -> str:
    return f"failed ({len(s['failed'])}/{s['runs']} seeds): {short_error(s['failed'][0], 60)}"


def measured_on_gpu(records: list[RunRecord]) -> bool:
    """Whether every one of these runs trained on a GPU (record device "cuda", meta device not a CPU)."""
    return bool(records) and all(r.device == "cuda" and not str(r.device_name or "gpu").lower().startswith("cpu")
                                 for r in records)


def _parallelism(records: list[RunRecord]) -> tuple[list, list]:
    """The sorted distinct meta_info workers and threads of these runs (None: not recorded)."""
    return tuple(sorted({(r.meta_info or {}).get(key) for r in records}, key=str) for key in ("workers", "threads"))


def speed_unpaired(records_a: list[RunRecord], records_b: list[RunRecord]) -> str | None:
    """Why the two sides' throughput cannot be paired, or None: their runs ran with other numbers of
    workers side by side or threads per arm (meta_info workers, threads: fraudft.results.store.parallelism),
    which move tokens/s as much as code does (a -n 2 run against a -n 0 run read as a 1.38x slowdown)."""
    (workers_a, threads_a), (workers_b, threads_b) = _parallelism(records_a), _parallelism(records_b)
    if not records_a or not records_b or (workers_a, threads_a) == (workers_b, threads_b):
        return None
    shown = lambda values: "/".join("unrecorded" if v is None else str(v) for v in values)
    return (f"base ran {shown(workers_a)} worker(s) x {shown(threads_a)} thread(s) per arm, head "
            f"{shown(workers_b)} x {shown(threads_b)}; compare runs made alike")


def compare_arm(a: dict | None, b: dict | None, margin_mcc: float = 0.05, tolerance_throughput: float = 0.10,
                tolerance_memory: float = 0.10, n_resamples: int | None = None) -> dict:
    """One (recipe, arm) between summaries a (base) and b (head) (fraudft.results.table.summarize_arm):
    {"backend", "arm", "change", "regressions", "notes", "untested", "deltas": {metric: stats.compare result}}.

    The MCC delta carries "p_worse" against margin_mcc; MCC regressions are judged after the Holm
    adjustment (compare_records). Tolerances are relative (0.10: 10%)."""
    row = {"backend": (a or b)["backend"], "arm": (a or b)["arm"], "regressions": [], "notes": [],
           "change": "same", "deltas": {}, "untested": None}
    if a is None or b is None:  # an arm on one side only is not judged (compare_report lists it apart)
        row["change"] = "added" if a is None else "missing"
        if a is None and b["failed"]:  # a new arm that fails is a run that now fails
            row["regressions"].append(_failure(b))
        return row
    if b["ok"] < a["ok"]:
        row["regressions"].append(f"successful runs {a['ok']}/{a['runs']} → {b['ok']}/{b['runs']}")
    if b["failed"] and (len(b["failed"]) > len(a["failed"]) or b["ok"] < a["ok"]):
        row["regressions"].append(_failure(b))
    elif a["failed"] and not b["failed"]:
        row["notes"].append("fixed (failed before)")
    elif a["failed"] and b["failed"]:
        row["notes"].append("failed in both")
    labels, why = paired_labels(a, b)
    if why:
        row["notes"].append(why)
    row["untested"] = why or (None if labels is not None else "no common test labels")
    if labels is not None and a["records"] and b["records"]:
        quality = view_metric("quality")
        for m in METRICS:
            row["deltas"][m] = step_test(a, b, m, n_resamples, margin=margin_mcc if m == quality else None)
    gpu = measured_on_gpu(a["records"]) and measured_on_gpu(b["records"])
    row["speed_unpaired"] = speed_unpaired(a["records"], b["records"])
    rel = None if row["speed_unpaired"] else _relative(a["tokens_per_s"], b["tokens_per_s"])
    if row["speed_unpaired"]:
        row["notes"].append(f"tokens/s not compared: {row['speed_unpaired']}")
    if rel is not None and rel < -tolerance_throughput:
        if gpu:
            row["regressions"].append(f"tokens/s {rel:+.1%} (tolerance {tolerance_throughput:.0%})")
        else:
            row["notes"].append(f"tokens/s {rel:+.1%}: {CPU_NOTE}")
    if a["memory_kind"] and a["memory_kind"] == b["memory_kind"]:
        rel = _relative(a["peak_bytes"], b["peak_bytes"])
        if rel is not None and rel > tolerance_memory:
            if gpu and a["memory_kind"] == "allocated":
                row["regressions"].append(f"peak memory {rel:+.1%} (tolerance {tolerance_memory:.0%})")
            else:
                row["notes"].append(f"peak memory {rel:+.1%}: " + (CPU_NOTE if not gpu else "not CUDA allocated bytes, informational"))
    elif a["memory_kind"] and b["memory_kind"]:
        row["notes"].append(f"memory measured differently ({a['memory_kind']} vs {b['memory_kind']})")
    row["change"] = "regressed" if row["regressions"] else "ok"
    return row


def _quality_regressions(rows: list[tuple[dict | None, dict | None, dict]], margin: float) -> None:
    """The quality metric's verdict per arm (MCC: the quality view's metric, fraudft.results.views), read
    from judge_steps: worse than the margin confirmed (Holm-adjusted p_worse < 0.05) is a regression;
    otherwise the row says what the test showed, in its words: "▼ lower" where the two-sided test confirms
    a drop (what `results history` marks ▼), "not shown worse than the margin", and, where the estimate
    itself lies beyond the margin, that the test cannot confirm it. A drop beyond the margin that cannot
    be tested (no common test labels) is a note. Sets row["quality_change"] ("up" | "down" | "")."""
    quality = view_metric("quality")
    name = quality.upper()
    for a, b, row in rows:
        result = row["deltas"].get(quality, {})
        # the mark `results history` gives the step; none across a config or model change (history tests neither)
        row["quality_change"] = "" if row.get("config") or row.get("model_changed") else result.get("change", "")
        if result.get("delta") is None or result.get("low") is None:
            continue
        interval = f"{result['delta']:+.3f} [{result['low']:+.3f}, {result['high']:+.3f}]"
        if row.get("config"):
            row["notes"].append(f"{name} {interval}: a config change, not a regression")
            continue
        if result.get("p_worse_adjusted") is None:
            continue
        p_worse = f"Holm-adjusted p {result['p_worse_adjusted']:.2g}"
        if result["worse"]:
            row["regressions"].append(f"{name} {interval} below −{margin:g} ({p_worse})"
                                      + (" (borderline)" if result["worse_borderline"] else ""))
            row["change"] = "regressed"
            continue
        said = []
        if result["change"]:
            said.append(f"{name} {MARKS[result['change']]} {result['verdict']} (Holm-adjusted p {result['p_adjusted']:.2g})"
                        + (" (borderline)" if result["borderline"] else ""))
        if result["change"] == "down" or result["delta"] < 0:
            beyond = result["delta"] < -margin
            said.append(f"{'' if result['change'] else name + ' '}not shown worse than the margin {margin:g}: {interval}"
                        + (f"; the estimate is below −{margin:g}, but the test cannot confirm it ({p_worse}), "
                           f"so it is not counted as a regression" if beyond else ""))
        if said and (result["change"] or result["delta"] < -margin):
            row["notes"].append("; ".join(said))
    for a, b, row in rows:
        if a is None or b is None or row["deltas"].get(quality, {}).get("delta") is not None or row.get("config"):
            continue
        mcc_a, mcc_b = (s["metrics"].get(quality, {}).get("mean") for s in (a, b))
        if mcc_a is not None and mcc_b is not None and mcc_b - mcc_a < -margin:
            why = row["untested"] or row["deltas"].get(quality, {}).get("undefined") or "no common test labels"
            row["notes"].append(f"{name} {mcc_b - mcc_a:+.3f} beyond the margin {margin:g}, not tested ({why})")


MARKS = {"up": "▲", "down": "▼"}


def compare_records(records_a: list[RunRecord], records_b: list[RunRecord], n_resamples: int | None = None,
                    margin_mcc: float = 0.05, **tolerances) -> list[tuple[dict | None, dict | None, dict]]:
    """(summary a, summary b, compare_arm row) for each (recipe, arm) in either commit (one side only:
    change "added" or "missing", not judged). Each metric's steps judged by judge_steps, the family the
    arms on both sides whose step is a test and whose config and model are unchanged (the arms whose
    config or model changed: a family of their own, the change's effects); MCC judged against margin_mcc
    (see _quality_regressions). tolerances: tolerance_throughput, tolerance_memory."""
    groups_a, groups_b = group_runs(records_a), group_runs(records_b)
    rank = arm_order()
    keys = sorted(set(groups_a) | set(groups_b), key=lambda k: (k[0], rank.get(k[1], len(rank)), k[1]))
    models = check_models(records_a, records_b, "", "", allow_model_change=True)
    rows = []
    for key in keys:
        a = summarize_arm(groups_a[key], n_resamples) if key in groups_a else None
        b = summarize_arm(groups_b[key], n_resamples) if key in groups_b else None
        row = compare_arm(a, b, margin_mcc=margin_mcc, n_resamples=n_resamples, **tolerances)
        row["config"] = runs_config_diff(groups_a[key], groups_b[key]) if a and b else []
        row["model_changed"] = key in models
        if row["config"]:  # two configurations: their deltas are the change's effect, not a regression
            kept = [r for r in row["regressions"] if r.startswith(("successful runs", "failed ("))]
            row["notes"] += [f"{r}: a config change, not a regression" for r in row["regressions"] if r not in kept]
            row["regressions"] = kept
            row["change"] = "regressed" if kept else "config changed"
        rows.append((a, b, row))
    for m in METRICS:
        for changed in (False, True):
            family = [row for _, _, row in rows if m in row["deltas"]
                      and bool(row["config"] or row["model_changed"]) == changed]
            for row, judged in zip(family, judge_steps([row["deltas"][m] for row in family])):
                row["deltas"][m] = judged
    _quality_regressions(rows, margin_mcc)
    return rows


# --- markdown ---------------------------------------------------------------------------------------

def _arrow(a: dict | None, b: dict | None, metric: str) -> str:
    """`0.900 → 0.778 (-0.122)` of the means; an undefined side shows as `— (why)`."""
    ma, mb = ((s["metrics"].get(metric) if s else None) for s in (a, b))
    if not ma and not mb:
        return ""
    fa, fb = (("—" if m is None or m["mean"] is None and not m["undefined"] else
               f"— ({m['undefined']})" if m["undefined"] else f"{m['mean']:.3f}") for m in (ma, mb))
    both = ma and mb and ma["mean"] is not None and mb["mean"] is not None and not (ma["undefined"] or mb["undefined"])
    delta = f" ({round(mb['mean'] - ma['mean'], 3) + 0.0:+.3f})" if both else ""  # + 0.0: no -0.000
    return f"{fa} → {fb}{delta}"


def _delta_cell(result: dict | None) -> str:
    """`+0.012 [-0.020, +0.045] no difference shown`; for MCC, the margin test's adjusted p after a `;`."""
    if not result:
        return "—"
    if result.get("undefined"):
        return f"— ({result['undefined'].replace('a: ', 'head: ').replace('b: ', 'base: ')})"
    if result.get("identical"):
        return "+0.000 identical on both (no test)"
    if result.get("low") is None:
        return f"{result['delta']:+.3f} (too few defined resamples for an interval)"
    borderline = " (borderline)" if result.get("borderline") else ""
    margin = (f"; Δ < −{result['margin']:g}: adjusted p {result['p_worse_adjusted']:.2g}"
              if result.get("p_worse_adjusted") is not None else "")
    return f"{result['delta']:+.3f} [{result['low']:+.3f}, {result['high']:+.3f}] {result['verdict']}{borderline}{margin}"


def _arrow_relative(a: float | None, b: float | None, scale: float = 1.0, digits: int = 0, unit: str = "") -> str:
    if a is None and b is None:
        return ""
    fa = "—" if a is None else f"{a / scale:.{digits}f}"
    fb = "—" if b is None else f"{b / scale:.{digits}f}"
    rel = _relative(a, b)
    return f"{fa} → {fb}{unit}" + (f" ({rel:+.1%})" if rel is not None else "")


def _memory_cell(a: dict | None, b: dict | None) -> str:
    values = [s["peak_bytes"] if s else None for s in (a, b)]
    kind = (a or {}).get("memory_kind") or (b or {}).get("memory_kind")
    text = _arrow_relative(*values, scale=2**30, digits=2, unit=" GB")
    return f"{text} {kind}" if text and kind else text


def _verdict(row: dict) -> str:
    if row["regressions"]:
        text = ("added; " if row["change"] == "added" else "") + "**REGRESSION**: " + "; ".join(row["regressions"])
    else:
        text = row["change"] if row["change"] in ("added", "missing") else \
            "▼ lower, not a regression" if row.get("quality_change") == "down" else \
            "ok ▲" if row.get("quality_change") == "up" else "ok"
    if row.get("config"):  # the deltas are the change's effect: said first, never "ok" for the same arm
        text = describe(row["config"]) + " (not a regression)" + (f"; {text}" if row["regressions"] else "")
    return text + (" (" + "; ".join(row["notes"]) + ")" if row["notes"] else "")


def compare_report(records_a: list[RunRecord], records_b: list[RunRecord], commit_a: str, commit_b: str,
                   margin_mcc: float = 0.05, tolerance_throughput: float = 0.10, tolerance_memory: float = 0.10,
                   n_resamples: int | None = None, allow_model_change: bool = False, arms: list[str] | None = None,
                   require_all: bool = False) -> tuple[str, int]:
    """Markdown of per-arm changes from commit_a (base) to commit_b (head) and, per arm and registered
    metric, the paired delta; returns it and the number of regressed arms.

    Only arms on both sides are judged; an arm of the base with no record in the head (a partial rerun)
    is listed once, below the table, and counts as a regression only with require_all. arms: only
    these arm names (UsageError, one line, for a name in neither commit's records).

    Raises UsageError when an arm's model differs between the commits, unless allow_model_change."""
    if arms is not None:
        known = list(dict.fromkeys(r.arm for r in records_a + records_b))
        unknown = [arm for arm in arms if arm not in known]
        if unknown:
            raise UsageError(f"--arms: {', '.join(unknown)} not in the records of {commit_a} or {commit_b}, expected "
                             f"some of {', '.join(known) or '(none)'}")
        records_a, records_b = ([r for r in recs if r.arm in arms] for recs in (records_a, records_b))
    models = check_models(records_a, records_b, commit_a, commit_b, allow_model_change)
    rows = compare_records(records_a, records_b, margin_mcc=margin_mcc, tolerance_throughput=tolerance_throughput,
                           tolerance_memory=tolerance_memory, n_resamples=n_resamples)
    missing = [row for _, _, row in rows if row["change"] == "missing"]
    for row in missing if require_all else ():
        row["regressions"].append(f"missing in {commit_b} (--require-all)")
    lines, deltas, shown = [], [], view_metrics("compare")
    for a, b, row in rows:
        if row["change"] == "missing":  # not judged: listed once, below
            continue
        if (row["backend"], row["arm"]) in models:
            row["notes"].insert(0, f"model changed: {models[row['backend'], row['arm']]}")
        seeds = f"{a['ok'] if a else 0}/{a['runs'] if a else 0} → {b['ok'] if b else 0}/{b['runs'] if b else 0}"
        lines.append([row["backend"], row["arm"], seeds, *(_arrow(a, b, m) for m in shown),
                      "not paired (workers/threads differ)" if row.get("speed_unpaired") else
                      _arrow_relative(a and a["tokens_per_s"], b and b["tokens_per_s"]), _memory_cell(a, b),
                      _verdict(row)])
        deltas += [[row["backend"], row["arm"], m, _arrow(a, b, m), _delta_cell(row["deltas"][m])]
                   for m in METRICS if m in row["deltas"]]
    dirty = list(dict.fromkeys(c for c, recs in ((commit_a, records_a), (commit_b, records_b))
                               if any(r.dirty for r in recs)))
    regressed = [row for _, _, row in rows if row["regressions"]]
    out = [f"## fraudft results compare {commit_a} → {commit_b}",
           "",
           "Means over successful seeds. Only arms with records in both commits are judged. A regression (what "
           "`--fail-on-regression` fails on) is only a confirmed one:",
           f"- fewer successful runs in {commit_b}, or a run that now fails"
           + (f"; an arm of {commit_a} missing in {commit_b} (--require-all);" if require_all else
              f" (an arm missing in {commit_b} is listed apart, not judged; `--require-all` counts it);"),
           f"- MCC worse by more than the non-inferiority margin {margin_mcc:g}: the paired bootstrap rejects "
           f"Δ MCC ≥ −{margin_mcc:g} at one-sided level 0.025 (the 95% interval wholly below −{margin_mcc:g}), "
           f"Holm-adjusted across the arms; MCC not shown worse than the margin is a note (▼ lower where the "
           f"two-sided test confirms a drop, as `fraudft results history` marks the same step);",
           f"- where both commits ran the arm on a GPU: tokens/s drop > {tolerance_throughput:.0%}, CUDA peak "
           f"allocated memory growth > {tolerance_memory:.0%}. On a CPU these are notes, informational (one run "
           f"per commit on a shared machine is too noisy): measure them interleaved with "
           f"`fraudft results ab {commit_a} {commit_b} --arm NAME`.",
           "", "F1 and the other metrics are information." + (f" Run from uncommitted changes: {', '.join(dirty)}." if dirty else ""),
           "",
           markdown(["backend", "arm", "seeds ok", *shown, "tokens/s", "peak mem", "verdict"], lines),
           ""]
    if deltas:
        out += ["### Metric deltas: head - base, 95% CI (paired bootstrap over test examples within each label, "
                "seeds resampled; verdicts Holm-adjusted across the arms for each metric, `no difference shown` "
                "unless the adjusted test rejects)", "",
                markdown(["backend", "arm", "metric", "base → head", "Δ 95% CI, adjusted verdict"], deltas), ""]
    changed = [row for _, _, row in rows if row.get("config")]
    if changed:
        out += [f"Config changed ({len(changed)} arm{'s' if len(changed) > 1 else ''}: two configurations, not one arm "
                "twice; their deltas are the change's effect and `--fail-on-regression` does not count them): "
                + "; ".join(f"{r['backend']}/{r['arm']}: {', '.join(str(c) for c in r['config'])}" for r in changed), ""]
    changes = environment_changes(records_a, records_b)
    if changes:
        out += [f"Environment changed (speed and memory may move without a code change): {'; '.join(changes)}", ""]
    if regressed:
        out.append(f"{len(regressed)} regressed: " + ", ".join(f"{r['backend']}/{r['arm']}" for r in regressed))
    else:
        out.append("no regressions")
    added = [f"{r['backend']}/{r['arm']}" for _, _, r in rows if r["change"] == "added"]
    if added:
        out.append(f"added in {commit_b}: {', '.join(added)}")
    if missing:
        out.append(f"missing in {commit_b} ({len(missing)} arm{'s' if len(missing) > 1 else ''} of {commit_a} not rerun; "
                   + ("**REGRESSION** under --require-all" if require_all else "not judged, `--require-all` counts them")
                   + f"): {', '.join(r['backend'] + '/' + r['arm'] for r in missing)}")
    return "\n".join(out), len(regressed)
