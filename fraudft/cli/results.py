"""`fraudft results table|compare|plot|ab`: read the records the benchmark stores per commit.

Every command takes `--recipe R` (only that recipe's records; `--backend` is its old, hidden name).

    fraudft results table [REV]                      markdown table of a commit's runs (default HEAD),
                    [--recipe R]                     verdicts of the expectations its records ran with
    fraudft results compare REV_A REV_B              per-arm deltas, confirmed regressions flagged, config changes named
                    [--arms a,b] [--margin-mcc 0.05] [--fail-on-regression] [--require-all] [--allow-model-change]
    fraudft results ab REV_A REV_B --arm NAME        tokens/s and peak memory of both commits' code,
                    [--repeats 5] [--recipe cpu-tiny] [--steps N]   run alternately, paired log ratios
                    [--tolerance 0.10] [--fail-on-regression]
    fraudft results history [--arms a,b] [--metric mcc]  each arm's metric over the commits with records
                    [--last N] [--recipe R] [--json]   (git first-parent order), confirmed changes flagged
    fraudft results plot [REV] --out plots/          precision_recall.png, pr_curves.png, reliability.png,
                                                     loss_curves.png, alpha_r.png
    fraudft results report [REV] --out report.html   one self-contained HTML page: tables, verdicts,
                    [--history-last 10]              interactive plots, robustness, audit, environment, history
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from fraudft.core.errors import UsageError

DEFAULT_RESULTS_DIR = os.environ.get("FRAUDFT_RESULTS", "results")


def _commit_of(args) -> str:
    """The commit folder of args.rev; without one, HEAD's, else the newest on HEAD's line (said on stderr)."""
    from fraudft.results.store import resolve_default_commit, resolve_results_commit

    if args.rev is not None:
        return resolve_results_commit(Path(args.results_dir), args.rev)
    commit, note = resolve_default_commit(Path(args.results_dir))
    if note:
        print(f"note: {note}", file=sys.stderr)
    return commit


def cmd_results_table(args) -> int:
    from fraudft.results.store import load_records
    from fraudft.results.sweep import sweep_report
    from fraudft.results.table import table_report
    from fraudft.results.expectations import judge_all
    from fraudft.results.store import group_runs

    commit = _commit_of(args)
    records = load_records(Path(args.results_dir), commit, args.recipe)
    print(table_report(records, commit))
    for recipe in dict.fromkeys(backend for backend, _ in group_runs(records)):
        verdicts = judge_all([r for r in records if r.recipe == recipe])
        if verdicts:
            print(f"\n### {recipe}: expectations as its records ran them (the bench's gate is all of them together)\n")
            print("\n".join(f"- {v.summary()}" for v in verdicts))
    sweeps = sweep_report(records)
    if sweeps:
        print("\n" + sweeps)
    return 0


def cmd_results_compare(args) -> int:
    from fraudft.results.compare import compare_report
    from fraudft.results.store import load_records, resolve_results_commit

    for name in ("margin_mcc", "tolerance_throughput", "tolerance_memory"):
        if not getattr(args, name) >= 0:
            raise UsageError(f"--{name.replace('_', '-')}: got {getattr(args, name)}, expected a number >= 0")
    root = Path(args.results_dir)
    commit_a, commit_b = resolve_results_commit(root, args.rev_a), resolve_results_commit(root, args.rev_b)
    text, regressed = compare_report(
        load_records(root, commit_a, args.recipe), load_records(root, commit_b, args.recipe), commit_a, commit_b,
        margin_mcc=args.margin_mcc, tolerance_throughput=args.tolerance_throughput,
        tolerance_memory=args.tolerance_memory, allow_model_change=args.allow_model_change,
        arms=_arm_list(args.arms), require_all=args.require_all)
    print(text)
    return 1 if regressed and args.fail_on_regression else 0


def _arm_list(text: str | None) -> list[str] | None:
    """--arms a,b as a list (None: every arm); UsageError for one naming no arm."""
    arms = [a.strip() for a in text.split(",") if a.strip()] if text is not None else None
    if arms is not None and not arms:
        raise UsageError(f"--arms: got {text!r}, expected arm names separated by commas")
    return arms


def cmd_results_ab(args) -> int:
    from fraudft.experiment.ab import run_ab
    from fraudft.results.ab import ab_report

    for name in ("tolerance", "tolerance_memory"):
        if not 0 <= getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')}: got {getattr(args, name)}, expected a fraction in [0, 1)")

    def progress(m) -> None:
        speed = f"{m.tokens_per_s:,.0f} tokens/s" if m.tokens_per_s else "no tokens/s recorded"
        print(f"{m.side}{m.index + 1} {m.commit}: {speed if m.ok else 'failed: ' + m.error} ({m.seconds:.1f} s)",
              file=sys.stderr, flush=True)

    commit_a, commit_b, runs_a, runs_b = run_ab(args.rev_a, args.rev_b, args.arm, repeats=args.repeats,
                                                recipe=args.recipe, steps=args.steps, progress=progress)
    text, regressed = ab_report(runs_a, runs_b, commit_a, commit_b, args.arm, args.recipe, args.steps,
                                tolerance=args.tolerance, tolerance_memory=args.tolerance_memory)
    print(text)
    return 1 if regressed and args.fail_on_regression else 0


def cmd_results_history(args) -> int:
    from fraudft.results.history import history, history_json, history_text

    arms = _arm_list(args.arms)
    from fraudft.results.views import view_metrics

    found = [history(Path(args.results_dir), metric, arms, args.last, args.recipe)
             for metric in view_metrics("history", args.metric, "--metric")]
    if args.json:  # one metric: its object; several: a list of them, in --metric order
        print(history_json(found[0]) if len(found) == 1 else "[\n" + ",\n".join(map(history_json, found)) + "\n]")
    else:
        print("\n\n".join(map(history_text, found)))
    return 0


def cmd_results_plot(args) -> int:
    from fraudft.results.plot import plot_records
    from fraudft.results.store import load_records

    commit = _commit_of(args)
    records = load_records(Path(args.results_dir), commit, args.recipe)
    for path in plot_records(records, commit, Path(args.out)):
        print(path)
    return 0


def cmd_results_report(args) -> int:
    from fraudft.results.report import write_report
    from fraudft.results.store import load_records
    from fraudft.results.views import view_metrics

    view_metrics("report", args.metric, "--metric")  # a bad --metric fails before anything is read

    if args.history_last is not None and args.history_last < 1:
        raise UsageError(f"--history-last: got {args.history_last}, expected a number of commits >= 1")
    out = Path(args.out)
    if out.is_dir():
        raise UsageError(f"--out {out}: is a folder, expected the path of the HTML file to write")
    root = Path(args.results_dir)
    commit = _commit_of(args)
    records = load_records(root, commit, args.recipe)
    if args.resamples is not None and args.resamples < 100:
        raise UsageError(f"--resamples: got {args.resamples}, expected at least 100 bootstrap draws")
    print(write_report(records, commit, out, root=root, history_last=args.history_last, n_resamples=args.resamples,
                       metrics=args.metric))
    return 0


def cmd_results_power(args) -> int:
    from fraudft.experiment.power import gate_power
    from fraudft.results.store import load_records

    if args.n_test < 10 or args.simulations < 1:
        raise UsageError(f"--n-test, --simulations: got {args.n_test}, {args.simulations}, expected >= 10 and >= 1")
    commit = _commit_of(args)
    records = load_records(Path(args.results_dir), commit, args.recipe)
    recipes = sorted({r.recipe for r in records})
    if len(recipes) > 1:
        raise UsageError(f"--recipe: {commit} holds records of {', '.join(recipes)}; name one")
    for n in args.n_test_list or [args.n_test]:
        result = gate_power(records, n, simulations=args.simulations, n_resamples=args.resamples, seed=args.seed)
        print(f"n_test {n}: green in {result['green']} of {result['simulations']} simulated test sets "
              f"(P(green) ~ {result['p_green']:.3f}), if {commit}'s recorded outcomes are the truth")
        for name, count in result["failures"].items():
            print(f"  {count:>4} x failed: {name}")
    return 0


def _add_recipe(p, default: str | None = None, help: str = "only this recipe's records (its folder, e.g. cpu-tiny, gpu)") -> None:
    """--recipe, and --backend, its old name, kept as a hidden alias."""
    p.add_argument("--recipe", dest="recipe", default=default, help=help)
    p.add_argument("--backend", dest="recipe", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def _add_common(p) -> None:
    p.add_argument("--results-dir", default=DEFAULT_RESULTS_DIR,
                   help="where records are, one folder per commit (default: $FRAUDFT_RESULTS or results)")
    _add_recipe(p)


def _add_metric(p, what: str, views: str) -> None:
    """--metric NAME, repeatable: a registered metric (fraudft.metrics), checked with close matches."""
    p.add_argument("--metric", action="append", default=None, metavar="NAME",
                   help=f"{what}; repeatable; a metric of the registry (fraudft.metrics; an unknown NAME lists "
                        f"them). Default: the '{views}' view of fraudft/results/views.py")


def register(commands) -> argparse.ArgumentParser:
    """Add the `results` command group (table, compare, history, plot, report, ab, power) to the top-level subparsers."""
    parser = commands.add_parser("results", help="tables, comparisons and plots of benchmark records")
    sub = parser.add_subparsers(dest="results_command", required=True)
    p = sub.add_parser("table", help="markdown table of a commit's runs, with a per-arm summary over seeds")
    p.add_argument("rev", nargs="?", default=None, help="a commit folder under the results dir or a git revision "
                   "(default: HEAD, else the newest commit with records on HEAD's first-parent line)")
    _add_common(p)
    p.set_defaults(func=cmd_results_table)
    p = sub.add_parser("compare", help="per-arm deltas between two commits, regressions flagged (markdown)")
    p.add_argument("rev_a", metavar="REV_A", help="the baseline: a commit folder or git revision")
    p.add_argument("rev_b", metavar="REV_B", help="the commit to judge")
    _add_common(p)
    p.add_argument("--margin-mcc", type=float, default=0.05,
                   help="non-inferiority margin (MCC units): a regression when head - base < -margin is shown "
                        "(paired bootstrap, Holm across the arms); default 0.05")
    p.add_argument("--tolerance-throughput", type=float, default=0.10,
                   help="relative tokens/s drop: a regression on a GPU, a note on a CPU (see `results ab`)")
    p.add_argument("--tolerance-memory", type=float, default=0.10,
                   help="relative peak memory growth: a regression on a GPU (CUDA allocated), a note on a CPU")
    p.add_argument("--fail-on-regression", action="store_true",
                   help="exit with status 1 on a confirmed regression (fewer successful runs, a run that now fails, "
                        "MCC beyond the margin, on a GPU speed or memory beyond tolerance); an arm whose config "
                        "changed (LoRA, training, arm, format, model) is two configurations: its deltas are shown as "
                        "a config change, not counted")
    p.add_argument("--allow-model-change", action="store_true",
                   help="compare arms whose model differs between the two commits (refused otherwise)")
    p.add_argument("--arms", default=None, help="only these arms, separated by commas (default: every arm)")
    p.add_argument("--require-all", action="store_true",
                   help="count an arm of REV_A with no record in REV_B as a regression (default: a partial rerun; "
                        "such arms are listed apart and not judged)")
    p.set_defaults(func=cmd_results_compare)
    p = sub.add_parser("power", help="how often the gate would be green at another test-set size (simulation)")
    p.add_argument("rev", nargs="?", default=None, help="a commit folder under the results dir or a git revision "
                   "(default: HEAD, else the newest commit with records on HEAD's first-parent line)")
    _add_common(p)
    p.add_argument("--n-test", type=int, default=2000, help="test examples per simulated test set")
    p.add_argument("--n-test-list", type=lambda s: [int(x) for x in s.split(",")], default=None,
                   help="several sizes, e.g. 400,1000,2000")
    p.add_argument("--simulations", type=int, default=60)
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap draws inside each simulated judgement")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_results_power)
    p = sub.add_parser("history", help="each arm's metric with its 95%% interval over the commits with records, "
                                       "in git first-parent order; changes flagged only where confirmed (Holm)")
    p.add_argument("--results-dir", default=DEFAULT_RESULTS_DIR,
                   help="where records are, one folder per commit (default: $FRAUDFT_RESULTS or results)")
    p.add_argument("--arms", default=None, help="only these arms, separated by commas (default: every arm)")
    _add_metric(p, "the metric whose history is shown, one table each (each its own Holm family)",
                "history")
    p.add_argument("--last", type=int, default=None, help="only the newest N commits with records")
    _add_recipe(p)
    p.add_argument("--json", action="store_true", help="JSON for machines instead of the markdown table")
    p.set_defaults(func=cmd_results_history)
    p = sub.add_parser("plot", help="precision/recall bars, PR curves, reliability diagram, loss curves and the alpha/r sweep")
    p.add_argument("rev", nargs="?", default=None, help="a commit folder under the results dir or a git revision "
                   "(default: HEAD, else the newest commit with records on HEAD's first-parent line)")
    _add_common(p)
    p.add_argument("--out", required=True, help="folder to write the PNG files into")
    p.set_defaults(func=cmd_results_plot)
    p = sub.add_parser("report", help="one self-contained HTML page: tables, verdicts, interactive plots, audit, "
                                      "environment and history (no network needed to view it)")
    p.add_argument("rev", nargs="?", default=None, help="a commit folder under the results dir or a git revision "
                   "(default: HEAD, else the newest commit with records on HEAD's first-parent line)")
    _add_common(p)
    p.add_argument("--out", required=True, help="the HTML file to write (e.g. report.html)")
    _add_metric(p, "the metrics of the per-arm table and of the history charts", "report' and 'history")
    p.add_argument("--history-last", type=int, default=10,
                   help="commits in the history charts, newest last (default 10)")
    p.add_argument("--resamples", type=int, default=None,
                   help="bootstrap draws of every interval and test (default: fraudft.metrics.stats' 10,000)")
    p.set_defaults(func=cmd_results_report)
    p = sub.add_parser("ab", help="tokens/s and peak memory of two commits' code on one arm, run alternately "
                                  "(A, B, A, B, ...): paired log ratios with a t-interval")
    p.add_argument("rev_a", metavar="REV_A", help="the baseline: a git revision (run from a temporary checkout)")
    p.add_argument("rev_b", metavar="REV_B", help="the commit to judge")
    p.add_argument("--arm", required=True, help="the arm to run (one that trains, for tokens/s)")
    p.add_argument("--repeats", type=int, default=5, help="runs of each commit (pairs), at least 2 (default 5)")
    _add_recipe(p, "cpu-tiny", "a recipe both commits know (default cpu-tiny)")
    p.add_argument("--steps", type=int, default=None, help="override the recipe's training step budget")
    p.add_argument("--tolerance", type=float, default=0.10,
                   help="a regression when B is shown slower by more than this: the 95%% interval's upper "
                        "tokens/s ratio below 1 - tolerance (default 0.10)")
    p.add_argument("--tolerance-memory", type=float, default=0.10,
                   help="a regression when B's peak memory is shown higher by more than this: the lower "
                        "ratio above 1 + tolerance (default 0.10)")
    p.add_argument("--fail-on-regression", action="store_true",
                   help="exit with status 1 on a confirmed regression (slower or bigger beyond tolerance, "
                        "more failed runs)")
    p.set_defaults(func=cmd_results_ab)
    return parser
