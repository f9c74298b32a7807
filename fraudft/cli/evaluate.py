"""`fraudft evaluate`: precision, recall and F1 of a model (and adapter) on labelled data.

    fraudft evaluate --model tiny --adapter runs/r8 --data data/test.jsonl --max-length 256

The summary says how many dialogues were shortened to fit --max-length and the tokens removed;
in generate mode, how replies read (status counts; --json lists each reply with its status).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from fraudft.cli.options import (
    add_model_options,
    config_from_flags,
    add_data_format_options,
    print_json,
    read_records,
    tokenizer_for,
)
from fraudft.errors import UsageError


def adapter_folder(given: str) -> Path:
    """The adapter in `given`: the folder itself, or the adapter/ that `fraudft train --out` wrote."""
    for folder in (Path(given), Path(given) / "adapter"):
        if (folder / "adapter_config.json").exists():
            return folder
    raise UsageError(f"{given}: adapter: no adapter_config.json in it or in its adapter/, expected "
                     "the --out folder of `fraudft train` or its adapter/")


def cmd_evaluate(args) -> int:
    from fraudft.evaluate import EvalConfig, evaluate
    from fraudft.modeling.models import load_model
    from fraudft.stats import point_values

    records = read_records(args, args.data)
    config = config_from_flags(EvalConfig, mode=args.mode, batch_size=args.batch_size, threshold=args.threshold,
                               max_length=args.max_length, max_new_tokens=args.max_new_tokens, progress=not args.json)
    adapter = adapter_folder(args.adapter) if args.adapter else None
    tokenizer = tokenizer_for(args)
    model = load_model(args.model, seed=args.model_seed, trust_remote_code=args.trust_remote_code)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
    result = evaluate(model, tokenizer, records, config)
    labels = [int(r["label"]) for r in records]
    strict = [int(not y) if p is None else int(p) for y, p in zip(labels, result["predictions"])]  # invalid: wrong
    # Every metric of the registry (fraudft.metrics), the score metrics from P(fraud) in score mode.
    result["all_metrics"] = point_values(labels, strict, result.get("probabilities"))
    summary = {k: v for k, v in result.items() if k not in ("predictions", "probabilities")}
    if args.json:
        print_json(summary)
        return 0
    m = result["metrics"]
    print(f"{args.data}: {m['n']} records, mode {result['mode']}, {result['examples_per_s']:.1f} examples/s")
    print(f"  tn/fp/fn/tp {m['tn']}/{m['fp']}/{m['fn']}/{m['tp']}  precision {m['precision']:.4f}  "
          f"recall {m['recall']:.4f}  f1 {m['f1']:.4f}  accuracy {m['accuracy']:.4f}  invalid {m['invalid']}")
    print(f"  truncated to --max-length {config.max_length}: {result['truncated']} of {m['n']} dialogues, "
          f"{result['tokens_removed']} tokens removed")
    if m["undefined"]:
        print(f"  undefined (no denominator, shown as 0): {', '.join(m['undefined'])}")
    shown = [f"{name} {v['value']:.4f}" if v["value"] is not None else f"{name} — ({v['undefined']})"
             for name, v in result["all_metrics"].items() if name not in ("precision", "recall", "f1")]
    print("  " + "  ".join(shown))
    if "reference_metrics" in result:
        r = result["reference_metrics"]
        print(f"  as the reference counts it (invalid = not fraud): tn/fp/fn/tp {r['tn']}/{r['fp']}/{r['fn']}/{r['tp']}"
              f"  precision {r['precision']:.4f}  recall {r['recall']:.4f}")
    if "replies" in result:
        counts = Counter(reply["status"] for reply in result["replies"])
        print(f"  replies ({result['cut']} cut at --max-new-tokens {config.max_new_tokens}; --json lists each): "
              + ", ".join(f"{n} {status}" for status, n in counts.most_common()))
    return 0


def register(commands) -> None:
    p = commands.add_parser("evaluate", help="precision, recall, F1 of a model (and adapter) on labelled data")
    add_model_options(p)
    p.add_argument("--adapter", default=None, help="the --out folder of `fraudft train`, or its adapter/")
    p.add_argument("--data", required=True)
    add_data_format_options(p)
    p.add_argument("--mode", choices=["score", "generate"], default="score")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--max-new-tokens", type=int, default=32)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_evaluate)
