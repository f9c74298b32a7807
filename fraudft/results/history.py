"""Each arm's metric over the commits that have records, in git first-parent order, with the changes confirmed.

    fraudft results history [--arms a,b] [--metric mcc [--metric f1 ...]] [--last N] [--recipe R] [--json]
    from fraudft.results.history import history, history_frame, history_text
    frame = history_frame(Path("results"), "mcc", last=6)   # one row per (commit, arm): see history_frame

Which commits: every commit folder under the results dir with records, ordered by
`git log --first-parent REV` (default HEAD), oldest first; `last` keeps the newest N of them.
A folder that is not a commit on that line (a branch's commit merged as second parent, another
clone's commit, "nogit", a dirty tree's `<commit>-dirty-<diff hash>`) is left out of the table and of
the tests and is named with why: its "previous commit" is not defined by a line of history.

Per (commit, recipe, arm): the mean over the successful seeds with the 95% interval that
`fraudft results table` prints (fraudft.results.table.summarize_arm: test examples resampled within
each label, seeds resampled), "failed" when every seed failed, "missing" when the arm has no record
at a commit where other shown commits have it.

A change is flagged only where fraudft.metrics.stats confirms it: each arm's value is tested against the arm's
previous shown value (the latest older commit where it has a defined value; failed and missing commits
in between are skipped) with fraudft.results.steps.step_test: the seed-aware two-level bootstrap,
paired per example when both commits' test examples are the same (steps.paired_labels: fingerprints,
labels), else unpaired. The steps are judged by fraudft.results.steps.judge_steps, the judgement
`results compare` makes of a pair of commits (so both say the same of the same pair): the p-values of
every (arm, step) test of the history shown, its family, are Holm-adjusted together (fraudft.metrics.stats.holm;
compare's family is the arms of its two commits, the same family where the history shows just those
two commits); a step is "up"/"down" when the adjusted test rejects at 0.05, and
"borderline" where the Monte Carlo error of the bootstrap p could flip that (stats.holm's notion, as in
compare). A step across a model change is not tested, nor one across a config change
(fraudft.results.config_diff: LoRA, training, arm definition, format, data...): it compares two
configurations, not one arm twice; its note names the fields (`config changed: lora.r 8 -> 16`).
"""

from __future__ import annotations

import math
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from fraudft.metrics import stats
from fraudft.configs import arm_order
from fraudft.core import jsonio
from fraudft.core.errors import UsageError
from fraudft.metrics.registry import get_metric
from fraudft.results.steps import judge_steps, step_test
from fraudft.results.config_diff import Change, describe, runs_config_diff
from fraudft.results.store import RECORD_NAME, _record_files, available_commits, dirty_base, group_runs, load_records
from fraudft.results.markdown import markdown
from fraudft.results.table import format_metric, short_error, summarize_arm
from fraudft.results.views import view_metric

COLUMNS = ("commit", "position", "subject", "recipe", "arm", "metric", "value", "low", "high", "status",
           "change", "p_adjusted", "borderline")
NAN = float("nan")


@dataclass
class History:
    """What history() found: `frame` (history_frame's columns), the shown commits [(folder, subject)]
    oldest first, the folders left out [(folder, why)], the number of Holm-adjusted tests, the number
    of steps not tested for identical inputs, per (commit, recipe, arm) a note for the text (failures,
    undefined values, untested steps), and the (commit, recipe, arm) tested unpaired."""

    metric: str
    frame: pd.DataFrame
    commits: list[tuple[str, str]]
    left_out: list[tuple[str, str]]
    tests: int
    identical: int = 0
    notes: dict[tuple[str, str, str], str] = field(default_factory=dict)
    unpaired: set[tuple[str, str, str]] = field(default_factory=set)
    config_changes: dict[tuple[str, str, str], list[Change]] = field(default_factory=dict)  # from the arm's previous shown commit


def _git(args: list[str], cwd: Path | None) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None


def first_parent_line(rev: str = "HEAD", cwd: Path | None = None) -> list[tuple[str, str]]:
    """[(full hash, subject)] of `git log --first-parent REV`, newest first.

    Raises UsageError when git can't read REV here (not a git checkout, unknown revision)."""
    out = _git(["log", "--first-parent", "--format=%H%x1f%s", rev, "--"], cwd)
    if out is None:
        raise UsageError(f"history: `git log --first-parent {rev}` failed in {cwd or Path.cwd()}, expected a git "
                         f"checkout where {rev} is a commit (the results' commits are read from its history)")
    return [tuple(line.split("\x1f", 1)) for line in out.splitlines() if line]


def _git_dir_of(root: Path) -> Path | None:
    """Where to ask git: the results dir when it lies in a checkout, else the current directory."""
    return root if root.is_dir() and _git(["rev-parse", "--git-dir"], root) is not None else None


def order_commits(folders: list[str], rev: str = "HEAD", cwd: Path | None = None
                  ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(shown, left_out): the folders on REV's first-parent line as [(folder, subject)], oldest first, and
    the others as [(folder, why)]. A folder matches a commit when its name is a prefix (>= 7 hex digits)
    of the commit's hash."""
    line = first_parent_line(rev, cwd)
    by_prefix: dict[str, list[tuple[int, str, str]]] = {}
    for i, (full, subject) in enumerate(line):
        by_prefix.setdefault(full[:7], []).append((i, full, subject))
    found, left_out = [], []
    for folder in folders:
        hits = [(i, subject) for i, full, subject in by_prefix.get(folder[:7].lower(), ())
                if re.fullmatch(r"[0-9a-fA-F]{7,40}", folder) and full.startswith(folder.lower())]
        if hits:
            found.append((hits[0][0], folder, hits[0][1]))
        elif dirty_base(folder) is not None:
            left_out.append((folder, f"uncommitted changes on {dirty_base(folder)}: not a commit of the history"))
        elif _git(["rev-parse", "--verify", "--quiet", f"{folder}^{{commit}}"], cwd) is not None:
            left_out.append((folder, f"not on {rev}'s first-parent line"))
        else:
            left_out.append((folder, "not a commit of this repository"))
    found.sort(reverse=True)  # line index 0 is the newest
    return [(folder, subject) for _, folder, subject in found], left_out


def _arm_keys(groups_per_commit: list[dict], arms: list[str] | None) -> list[tuple[str, str]]:
    rank = arm_order()
    keys = sorted({key for groups in groups_per_commit for key in groups},
                  key=lambda k: (k[0], rank.get(k[1], len(rank)), k[1]))
    if arms is None:
        return keys
    known = {arm for _, arm in keys}
    unknown = [a for a in arms if a not in known]
    if unknown:
        raise UsageError(f"--arms: {', '.join(unknown)} not in the records of the commits shown, expected some of "
                         f"{', '.join(dict.fromkeys(arm for _, arm in keys))}")
    return [k for k in keys if k[1] in arms]


def _cell(summary: dict | None, metric: str) -> tuple[str, float, float, float, str]:
    """(status, value, low, high, note) of one (commit, arm)."""
    if summary is None:
        return "missing", NAN, NAN, NAN, ""
    failed = len(summary["failed"])
    if not summary["ok"]:
        return "failed", NAN, NAN, NAN, f"failed ({failed}/{summary['runs']}): {short_error(summary['failed'][0], 50)}"
    m = summary["metrics"][metric]
    note = f"{failed}/{summary['runs']} seeds failed" if failed else ""
    if m["undefined"]:
        return "ok", NAN, NAN, NAN, "; ".join(filter(None, [f"— ({m['undefined']})", note]))
    low, high = (NAN if v is None else v for v in (m["low"], m["high"]))
    return "ok", m["mean"], low, high, note


def history(root: Path, metric: str | None = None, arms: list[str] | None = None, last: int | None = None,
            recipe: str | None = None, n_resamples: int | None = None, rev: str = "HEAD",
            cwd: Path | None = None) -> History:
    """The history of the records under root (see the module docstring). git is asked in cwd, by
    default the results dir when it lies in a checkout, else the current directory. metric: a
    registered one, by default the history view's (fraudft.results.views).

    Raises UsageError for an unknown metric or arm, last < 1, a recipe no shown commit has, no commit
    with records on REV's first-parent line, a bad record file, or when git can't read REV."""
    root = Path(root)
    metric = metric or view_metric("history")
    get_metric(metric, "--metric")  # UsageError: the registered names, close matches first
    if last is not None and last < 1:
        raise UsageError(f"--last: got {last}, expected a number of commits >= 1")
    n_resamples = n_resamples or stats.B_DEFAULT
    folders = sorted(commit for commit, _, _ in available_commits(root))
    if not folders:
        load_records(root, rev)  # raises the store's error: no results dir, or no records in it
    shown, left_out = order_commits(folders, rev, cwd if cwd is not None else _git_dir_of(root))
    if recipe is not None:
        kept = [(c, s) for c, s in shown if any(RECORD_NAME.match(f.name) for f in (root / c / recipe).glob("*.json"))]
        left_out += [(commit, f"no {recipe} records") for commit, subject in shown if (commit, subject) not in kept]
        if not kept:
            present = sorted({f.parent.name for c, _ in shown for f in _record_files(root / c)})
            raise UsageError(f"--recipe: no {recipe!r} records on {rev}'s first-parent line, expected one of "
                             f"{', '.join(present) or '(none)'}")
        shown = kept
    if not shown:
        raise UsageError(f"history: none of the commit folders under {root}/ is on {rev}'s first-parent line "
                         f"({'; '.join(f'{c}: {why}' for c, why in left_out)})")
    shown = shown[-last:] if last else shown
    records = {commit: load_records(root, commit) for commit, _ in shown}
    groups = [{key: runs for key, runs in group_runs(records[c]).items() if recipe in (None, key[0])} for c, _ in shown]
    keys = _arm_keys(groups, arms)

    rows, notes, steps, unpaired, identical = [], {}, [], {}, 0  # steps: (row index, compare result)
    config_changes: dict[tuple[str, str, str], list[Change]] = {}
    for recipe_, arm in keys:
        previous = None  # (summary, row index) of the arm's latest defined value
        for position, ((commit, subject), group) in enumerate(zip(shown, groups)):
            runs = group.get((recipe_, arm))
            summary = summarize_arm(runs, n_resamples, metrics=(metric,)) if runs else None
            status, value, low, high, note = _cell(summary, metric)
            rows.append({"commit": commit, "position": position, "subject": subject, "recipe": recipe_, "arm": arm,
                         "metric": metric, "value": value, "low": low, "high": high, "status": status, "change": "",
                         "p_adjusted": NAN, "borderline": False})
            if not math.isnan(value):
                changes = runs_config_diff(previous[0]["records"], summary["records"]) if previous is not None else []
                if changes:
                    config_changes[commit, recipe_, arm] = changes
                if previous is not None and previous[0]["models"] != summary["models"]:
                    note = "; ".join(filter(None, [note, "model changed: not tested"]))
                elif changes:  # two configurations: the step is the change's effect, not the arm's drift
                    note = "; ".join(filter(None, [note, describe(changes) + ": not tested"]))
                elif previous is not None:  # the step's test, as `results compare` tests the same pair
                    result = step_test(previous[0], summary, metric, n_resamples)
                    if result.get("identical"):
                        identical += 1  # every resampled difference is 0: p = 1 whatever B, no test (Tarone)
                    else:
                        steps.append((len(rows) - 1, result))
                        unpaired[len(rows) - 1] = not result["paired"]
                previous = (summary, len(rows) - 1)
            if note:
                notes[commit, recipe_, arm] = note
    tested = [(i, r) for i, r in steps if r.get("p_value") is not None]
    for (i, _), judged in zip(tested, judge_steps([r for _, r in tested])):  # the judgement compare makes
        rows[i].update(p_adjusted=judged["p_adjusted"], borderline=bool(judged["borderline"]), change=judged["change"])
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return History(metric, frame, shown, left_out, len(tested), identical, notes,
                   {(rows[i]["commit"], rows[i]["recipe"], rows[i]["arm"]) for i, flag in unpaired.items() if flag},
                   config_changes)


def history_frame(root: Path, metric: str | None = None, arms: list[str] | None = None, last: int | None = None,
                  recipe: str | None = None, n_resamples: int | None = None, rev: str = "HEAD",
                  cwd: Path | None = None) -> pd.DataFrame:
    """One row per (shown commit, recipe, arm), commits oldest first, with exactly the columns
    commit (the folder name), position (0 = oldest shown), subject (git subject line), recipe, arm,
    metric, value, low, high (the mean over successful seeds and its 95% interval, floats, NaN where
    failed, missing or undefined), status ("ok" | "failed" | "missing"), change ("up" | "down" | "":
    confirmed after Holm against the arm's previous shown value), p_adjusted (Holm-adjusted two-sided p
    of that step, NaN where untested), borderline (bool). Raises what history() raises."""
    return history(root, metric, arms, last, recipe, n_resamples, rev, cwd).frame


# --- text and JSON ------------------------------------------------------------------------------------

MARKS = {"up": "▲", "down": "▼", "": ""}


def _text_cell(row, note: str, unpaired: bool) -> str:
    if row.status == "missing":
        return "missing"
    if row.status == "failed":
        return note
    text = format_metric(None if math.isnan(row.value) else row.value, None if math.isnan(row.low) else row.low,
                         None if math.isnan(row.high) else row.high)
    text += " †" if unpaired else ""
    if row.change:
        text += f" **{MARKS[row.change]}** (p {row.p_adjusted:.2g})"
    if row.borderline:
        text += " (borderline)"
    return "; ".join(filter(None, [text, note]))


def history_text(h: History) -> str:
    """Markdown: the shown commits (oldest first), a table with an arm per row and a commit per column,
    a legend line, and the folders left out."""
    frame = h.frame
    recipes = list(dict.fromkeys(frame["recipe"]))
    heads = [f"{i + 1}. {commit}" for i, (commit, _) in enumerate(h.commits)]
    table = []
    for (recipe, arm), cells in frame.groupby(["recipe", "arm"], sort=False):
        table.append([*([recipe] if len(recipes) > 1 else []), arm,
                      *(_text_cell(row, h.notes.get((row.commit, recipe, arm), ""), (row.commit, recipe, arm) in h.unpaired)
                        for row in cells.itertuples())])
    out = [f"## fraudft results history: {h.metric}, {len(h.commits)} commit{'s' if len(h.commits) != 1 else ''} "
           f"with records on the first-parent line, oldest first ({', '.join(recipes)})", ""]
    out += [f"{i + 1}. {commit} {subject if len(subject) <= 90 else subject[:89] + '…'}"
            for i, (commit, subject) in enumerate(h.commits)] + [""]
    out += [markdown([*(["recipe"] if len(recipes) > 1 else []), "arm", *heads], table), ""]
    flagged = int((frame["change"] != "").sum())
    out.append(f"Legend: mean over successful seeds [95% interval] (as `fraudft results table`). ▲/▼: {h.metric} rose/fell "
               f"from the arm's previous shown value, confirmed by the seed-aware bootstrap (paired per example on the "
               f"same test data; †: unpaired, the test data differ), Holm-adjusted across the {h.tests} tests shown "
               f"(p: adjusted; {h.identical} steps with identical predictions are not tests); (borderline): the "
               f"bootstrap's Monte Carlo error could flip that verdict; failed (k/n): every seed failed; missing: no "
               f"record of the arm at that commit; config changed: the arm's configuration differs from its previous shown "
               f"commit (the fields named), two configurations, so that step is not tested. {flagged} change{'s' if flagged != 1 else ''} flagged.")
    if h.left_out:
        out.append("Left out: " + "; ".join(f"{commit} ({why})" for commit, why in h.left_out) + ".")
    return "\n".join(out)


def history_json(h: History) -> str:
    """The history as JSON: metric, commits [{commit, position, subject}], left_out [{commit, why}],
    tests, identical_steps, rows (history_frame's columns, NaN as null, plus `note` and `unpaired`)."""
    rows = []
    for row in h.frame.to_dict(orient="records"):
        row = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        row["note"] = h.notes.get((row["commit"], row["recipe"], row["arm"]), "")
        rows.append(row)
    for row in rows:
        key = (row["commit"], row["recipe"], row["arm"])
        row["unpaired"] = key in h.unpaired
        row["config_changes"] = [{"field": c.field, "before": c.before, "after": c.after}
                                 for c in h.config_changes.get(key, [])]
    return jsonio.dumps({"metric": h.metric, "identical_steps": h.identical,
                       "commits": [{"commit": c, "position": i, "subject": s} for i, (c, s) in enumerate(h.commits)],
                       "left_out": [{"commit": c, "why": why} for c, why in h.left_out], "tests": h.tests,
                       "rows": rows}, ensure_ascii=False, indent=2, default=_plain)


def _plain(value):
    """numpy scalars (pandas' to_dict keeps them) as Python numbers."""
    return value.item() if hasattr(value, "item") else str(value)
