"""`fraudft run-arm`: one (recipe, arm, seed) in this process; `fraudft grid`: many, as tasks.

    fraudft run-arm --recipe cpu-tiny --arm reference --seed 0
    fraudft run-arm --recipe gpu --arm reference --model /models/qwen2-1.5b --data-dir data/ --device cpu
    fraudft grid --recipe cpu-tiny --jobs 2 [--arms a,b] [--seeds N] [--rerun]
    fraudft grid --recipe gpu --launcher ray --address auto --seeds 3 --results-dir /shared/results
    fraudft grid --recipe cpu-tiny --data-dir data-real --extra-test other=other.jsonl   # + evaluation extra:other
    fraudft grid --recipe cpu-tiny --arms-file my_arms.toml --arms dora,reference   # arms of your own too

run-arm's exit status: 0 when the arm succeeded, 1 when it failed (its record says why), 3 when the
arm cannot run on this data (nothing is written), 4 when a successful record of this tree state is
already there (nothing runs; --overwrite replaces it); the record's path is the last line printed.
A tree with uncommitted source changes writes under results/<commit>-dirty-<diff hash>/, never over
the commit's records.
grid prints a summary table and every expectation's verdict, and exits 1 when a task or an expectation failed.
"""

from __future__ import annotations

import sys

SKIPPED = 3
REFUSED = 4  # a successful record is where this one would go (pass --overwrite)


def recipe_overrides(args) -> dict:
    """The recipe fields the flags override; a model folder or hub id brings its own tokenizer."""
    from fraudft.modeling.models import PRESETS
    from fraudft.modeling.tokenizer import OFFLINE_QWEN2

    # A checkpoint brings its tokenizer; a built-in preset uses the offline Qwen2 one.
    tokenizer = args.tokenizer or (OFFLINE_QWEN2 if args.model in PRESETS else args.model)
    given = {"model": args.model, "tokenizer": tokenizer, "data_dir": args.data_dir, "device": args.device,
             "dtype": args.dtype, "extra_tests": _extra_tests(args.extra_test)}
    return {name: value for name, value in given.items() if value is not None}


def _extra_tests(specs) -> tuple | None:
    """The parsed --extra-test NAME=PATH flags, each file read once here so that bad data stops the
    command (one line naming the file, line and field) before any arm trains; None when none given."""
    from fraudft.experiment.extra_tests import load_extra_tests, parse_extra_tests

    if not specs:
        return None
    extra = parse_extra_tests(specs)
    load_extra_tests(extra)
    return extra


def cmd_run_arm(args) -> int:
    from fraudft.experiment.arms import arms_by_name, named_arms
    from fraudft.experiment.recipes import load_recipe
    from fraudft.experiment.runner import ArmSkipped, run_arm, splits_of
    from fraudft.results.store import RecordExists

    named_arms([args.arm], args.arms_file, "--arm")  # an unknown name: the known ones, close matches
    arms = arms_by_name(args.arms_file, check=True)  # peft's LoraConfig and the Trainer take their settings
    recipe = load_recipe(args.recipe, **recipe_overrides(args)).with_steps(args.steps)
    try:
        record = run_arm(arms[args.arm], recipe, splits_of(recipe), args.seed, results_root=args.results_dir,
                         overwrite=args.overwrite)
    except RecordExists as err:
        print(f"error: {err}", file=sys.stderr)
        return REFUSED
    except ArmSkipped as why:
        print(f"skipped: {why}", file=sys.stderr)
        return SKIPPED
    if not record.ok:
        print(f"{args.arm}: failed: {record.error}", file=sys.stderr)
    print(record.path)
    return 0 if record.ok else 1


def cmd_grid(args) -> int:
    from fraudft.experiment.grid import GridConfig, grid_verdicts, run_grid, summary_table

    config = GridConfig(recipe=args.recipe, arms=tuple(a for a in (args.arms or "").split(",") if a), seeds=args.seeds,
                        results_dir=args.results_dir, launcher=args.launcher, address=args.address, jobs=args.jobs,
                        rerun=args.rerun, overrides=recipe_overrides(args), steps=args.steps, arms_file=args.arms_file)
    outcomes = run_grid(config)
    print(summary_table(outcomes))
    verdicts = grid_verdicts(outcomes)
    if verdicts:
        print("\nexpectations (each judged by fraudft.results.expectations; the grid passes when all do):")
        for verdict in verdicts:
            print("  " + verdict.summary())
    failed = any(o["status"] == "failed" for o in outcomes) or any(v.status == "fail" for v in verdicts)
    return 1 if failed else 0


def register(commands) -> None:
    p = commands.add_parser("run-arm", help="train and evaluate one arm with one recipe and seed; write its record")
    p.add_argument("--arm", required=True, help="an arm of fraudft/configs/arms.toml or of --arms-file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true",
                   help="replace a successful record of this tree state (without it, one there stops the command)")
    _recipe_options(p)
    p.set_defaults(func=cmd_run_arm)

    p = commands.add_parser("grid", help="run (or reuse) every (arm, seed) of a recipe, here or on a Ray cluster")
    p.add_argument("--arms", default=None, help="comma-separated arms (default: all of fraudft/configs/arms.toml)")
    p.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 of each arm")
    p.add_argument("--launcher", choices=["local", "ray"], default="local")
    p.add_argument("--address", default=None, help="ray: a cluster address (e.g. auto); default: Ray on this machine")
    p.add_argument("--jobs", type=int, default=1, help="local: tasks at a time (CPU cores and GPUs are split between them)")
    p.add_argument("--rerun", action="store_true", help="run every task again, even where this tree state has a successful "
                        "record, and replace it")
    _recipe_options(p)
    p.set_defaults(func=cmd_grid)


def _recipe_options(p) -> None:
    from fraudft.cli.results import DEFAULT_RESULTS_DIR

    p.add_argument("--recipe", default="cpu-tiny", help="a recipe of fraudft/configs/recipes (default: cpu-tiny)")
    p.add_argument("--model", default=None, help="override the recipe's model: a preset, a local folder or a hub id")
    p.add_argument("--tokenizer", default=None, help="override the tokenizer (default: the model's, else the recipe's)")
    p.add_argument("--data-dir", default=None, help="a folder with one train, eval and test file each: .jsonl, .json, .csv or .parquet (default: synthetic)")
    p.add_argument("--device", choices=["cpu", "cuda"], default=None, help="override the recipe's device")
    p.add_argument("--dtype", choices=["auto", "bf16", "fp32"], default=None, help="override the recipe's dtype")
    p.add_argument("--steps", type=int, default=None, help="override the recipe's training step budget")
    p.add_argument("--results-dir", default=DEFAULT_RESULTS_DIR, help="where records go, one folder per commit")
    p.add_argument("--arms-file", default=None, metavar="TOML",
                   help="more arms, as in fraudft/configs/arms.toml (lora: any peft LoraConfig field; train: any "
                        "TrainConfig or TrainingArguments field); an arm named like a built-in one replaces it")
    p.add_argument("--extra-test", action="append", default=None, metavar="NAME=PATH",
                   help="an out-of-distribution test set (any format fraudft.data.formats reads, detected from the file) "
                        "every arm is also scored on, as the evaluation extra:NAME; repeatable")
