"""`fraudft export`: merge an adapter into its base and save a model that serves without fraudft or peft.

    fraudft export --adapter runs/r8 --out exported/r8                  # fp32, checked on the run's eval file
    fraudft export --adapter runs/r8 --out exported/r8 --dtype bf16 --check data/test.jsonl
    fraudft evaluate --model exported/r8 --data data/test.jsonl         # no --adapter: the same prompt and answer

The base is the one recorded beside the adapter (fraudft.modeling.provenance: --model, --model-seed and
the tokenizer `fraudft train` was given); --model/--model-seed/--tokenizer name another, which must
have the same weights unless --allow-other-base. After saving, the export is checked (fraudft.engine.export):
the --check file (default: the eval file recorded in the run's run.json) is scored with the adapter on
its base and with the exported folder; a largest |ΔP(fraud)| above --tolerance (default per dtype,
fraudft.engine.export.TOLERANCE) exits 1 with one line (the folder is kept, with its check in
fraudft_export.json, for inspection).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from fraudft.cli.options import add_base_check_option, add_data_format_options, base_of, read_records, tokenizer_for
from fraudft.core.errors import UsageError

DEFAULT_MAX_LENGTH = 2048  # tokens, for an adapter saved without its training length


def _recorded_eval(adapter: Path, given: str) -> str:
    """The eval file recorded in the run.json beside the adapter (`fraudft train --out`); UsageError if none."""
    run = next((p / "run.json" for p in (adapter, adapter.parent) if (p / "run.json").is_file()), None)
    data = None
    if run is not None:
        try:
            data = json.loads(run.read_text(encoding="utf-8"))["run_info"]["config"]["eval"]
        except (OSError, ValueError, KeyError, TypeError):
            data = None
    if data is None:
        raise UsageError(f"--adapter {given}: no run.json naming its eval file, expected --check FILE: the records "
                         "the export is checked on")
    if not Path(data).is_file():
        raise UsageError(f"--adapter {given}: its run's eval file {data} is absent here, expected --check FILE")
    return data


def _base_args(args, adapter: Path) -> None:
    """Fill --model, --model-seed, --tokenizer left out from the base recorded beside the adapter."""
    from fraudft.modeling.provenance import SAVED_BASE, read_base

    recorded = read_base(adapter)
    if recorded is None and args.model is None:
        raise UsageError(f"--adapter {args.adapter}: no record of its base ({SAVED_BASE}: saved before fraudft "
                         "wrote one), expected --model NAME|PATH of the base it was trained on")
    if recorded is not None:
        args.model = args.model or recorded["model"]
        if args.model_seed is None and recorded["model_seed"] is not None:
            args.model_seed = recorded["model_seed"]
        if args.tokenizer is None and recorded["model"] == args.model:
            args.tokenizer = recorded["tokenizer"]
    args.model_seed = 0 if args.model_seed is None else args.model_seed


def cmd_export(args) -> int:
    import torch
    from peft import PeftModel

    from fraudft.cli.evaluate import adapter_folder
    from fraudft.engine.evaluate import EvalConfig, score
    from fraudft.engine.export import CHECK, TOLERANCE, check_export, merge, save_export, torch_dtype
    from fraudft.modeling.models import load_model
    from fraudft.modeling.provenance import check_base
    from fraudft.modeling.taskformat import TaskFormat, read_saved_format, saved_max_length

    adapter = adapter_folder(args.adapter)
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"--out {out}: not empty, expected a new or empty folder for the exported model")
    tolerance = TOLERANCE[args.dtype] if args.tolerance is None else args.tolerance
    if tolerance < 0:
        raise UsageError(f"--tolerance: got {tolerance}, expected >= 0")
    _base_args(args, adapter)
    check_path = args.check or _recorded_eval(adapter, args.adapter)
    saved = read_saved_format(adapter)
    fmt, max_new_tokens = saved if saved else (TaskFormat(), None)
    records = read_records(args, check_path)
    fmt.check_records(records, check_path, training=False)
    max_length = saved_max_length(adapter) or DEFAULT_MAX_LENGTH
    config = EvalConfig(max_length=max_length, format=fmt, batch_size=args.batch_size, progress=False)

    tokenizer = tokenizer_for(args, fmt)
    base = load_model(args.model, dtype=torch.float32, seed=args.model_seed, trust_remote_code=args.trust_remote_code)
    check_base(adapter, base_of(args, base, tokenizer), args.adapter, args.allow_other_base)
    adapted = PeftModel.from_pretrained(base, adapter)
    before = score(adapted, tokenizer, records, config)  # before the merge changes the base in place
    merged = merge(adapted, args.dtype)
    save_export(merged, tokenizer, fmt, max_new_tokens or 32, max_length, out)
    del merged, adapted, base
    exported = load_model(str(out), dtype=torch_dtype(args.dtype))
    result = check_export(before, exported, tokenizer, records, config, check_path, args.dtype, tolerance)
    (out / CHECK).write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    print(f"exported {args.adapter} merged into {args.model} ({args.dtype}) to {out}")
    print(result.line())
    if not result.ok:
        print(f"error: export check: max |ΔP(fraud)| {result.max_abs_diff:.3g} on {check_path} exceeds --tolerance "
              f"{tolerance:g} ({result.flips} flips at {result.threshold}); the export in {out} scores unlike the "
              "adapter", file=sys.stderr)
        return 1
    return 0


def register(commands) -> None:
    from fraudft.engine.export import TOLERANCE  # no torch: engine.export imports it where used

    p = commands.add_parser("export", help="merge an adapter into its base; save a plain transformers model, checked")
    p.add_argument("--adapter", required=True, help="the --out folder of `fraudft train`, or its adapter/")
    p.add_argument("--out", required=True, help="a new or empty folder for the merged model")
    p.add_argument("--dtype", choices=list(TOLERANCE), default="fp32", help="the exported weights' dtype")
    p.add_argument("--check", default=None, metavar="FILE",
                   help="labelled records to compare the export with the adapter on (default: the run's eval file)")
    p.add_argument("--tolerance", type=float, default=None,
                   help="largest |ΔP(fraud)| accepted (default: " +
                        ", ".join(f"{k} {v:g}" for k, v in TOLERANCE.items()) + ")")
    p.add_argument("--model", default=None, help="the base (default: the one recorded beside the adapter)")
    p.add_argument("--model-seed", type=int, default=None, help="a preset's seed (default: the recorded one)")
    p.add_argument("--tokenizer", default=None, help="default: the recorded one")
    p.add_argument("--trust-remote-code", action="store_true")
    p.add_argument("--batch-size", type=int, default=16)
    add_base_check_option(p)
    add_data_format_options(p)
    p.set_defaults(func=cmd_export)
