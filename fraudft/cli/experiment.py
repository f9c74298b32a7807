"""`fraudft run-arm`: one (recipe, arm, seed) in this process; writes its record.

    fraudft run-arm --recipe cpu-tiny --arm reference --seed 0
    fraudft run-arm --recipe gpu --arm reference --model /models/qwen2-1.5b --data-dir data/ --device cpu

Exit status: 0 when the arm succeeded, 1 when it failed (its record says why), 3 when the arm
cannot run on this data (nothing is written). The record's path is the last line printed.
"""

from __future__ import annotations

import sys

SKIPPED = 3


def cmd_run_arm(args) -> int:
    from fraudft.errors import UsageError
    from fraudft.experiment.arms import ARMS_BY_NAME
    from fraudft.experiment.recipes import load_recipe
    from fraudft.experiment.runner import ArmSkipped, run_arm, splits_of

    if args.arm not in ARMS_BY_NAME:
        raise UsageError(f"--arm: got {args.arm!r}, expected one of {', '.join(ARMS_BY_NAME)}")
    from fraudft.modeling.models import PRESETS
    from fraudft.modeling.tokenizer import OFFLINE_QWEN2

    # A checkpoint brings its tokenizer; a built-in preset uses the offline Qwen2 one.
    tokenizer = args.tokenizer or (OFFLINE_QWEN2 if args.model in PRESETS else args.model)
    recipe = load_recipe(args.recipe, model=args.model, tokenizer=tokenizer,
                         data_dir=args.data_dir, device=args.device, dtype=args.dtype).with_steps(args.steps)
    try:
        record = run_arm(ARMS_BY_NAME[args.arm], recipe, splits_of(recipe), args.seed, results_root=args.results_dir)
    except ArmSkipped as why:
        print(f"skipped: {why}", file=sys.stderr)
        return SKIPPED
    info = record["train_info"]
    if info["status"] != "success":
        print(f"{args.arm}: failed: {info['error']}", file=sys.stderr)
    print(record["path"])
    return 0 if info["status"] == "success" else 1


def register(commands) -> None:
    from fraudft.cli.results import DEFAULT_RESULTS_DIR

    p = commands.add_parser("run-arm", help="train and evaluate one arm with one recipe and seed; write its record")
    p.add_argument("--recipe", default="cpu-tiny", help="a recipe of fraudft/configs/recipes (default: cpu-tiny)")
    p.add_argument("--arm", required=True, help="an arm of fraudft/configs/arms.toml")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default=None, help="override the recipe's model: a preset, a local folder or a hub id")
    p.add_argument("--tokenizer", default=None, help="override the tokenizer (default: the model's, else the recipe's)")
    p.add_argument("--data-dir", default=None, help="a folder with train.jsonl, eval.jsonl, test.jsonl (default: synthetic)")
    p.add_argument("--device", choices=["cpu", "cuda"], default=None, help="override the recipe's device")
    p.add_argument("--dtype", choices=["auto", "bf16", "fp32"], default=None, help="override the recipe's dtype")
    p.add_argument("--steps", type=int, default=None, help="override the recipe's training step budget")
    p.add_argument("--results-dir", default=DEFAULT_RESULTS_DIR, help="where records go, one folder per commit")
    p.set_defaults(func=cmd_run_arm)
