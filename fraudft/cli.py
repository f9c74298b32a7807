"""The `fraudft` command.

    fraudft data validate FILE...            fraudft data stats FILE... [--json]
    fraudft data synth --n N --seed S --out FILE [--shortcut NAME]
    fraudft encode FILE [--tokenizer NAME|PATH] [--max-length N]
    fraudft train --model NAME|PATH --train FILE --eval FILE --out DIR [LoRA and training options]
    fraudft evaluate --model NAME|PATH [--adapter DIR] --data FILE [--mode score|generate] [--json]
    fraudft audit FILE... [--json] [--fail-on warn|fail|never]
    fraudft mitigate FILE... --out-dir DIR [--neutralize-speakers] [--dedupe]
    fraudft results table [REV] | compare REV_A REV_B | plot [REV] --out DIR

Bad input exits with status 2 and one line `FILE:LINE: field: what was wrong, what was expected`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

from fraudft import data, report
from fraudft.audit import register_cli as register_audit_cli
from fraudft.model import REFERENCE_TARGET_MODULES


class UsageError(Exception):
    """A bad argument or input the user can fix; printed as one line, exit status 2."""


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))


def cmd_data_validate(args) -> int:
    for path in args.files:
        records = data.load_jsonl(path)
        print(f"{path}: ok, {len(records)} records")
    return 0


def cmd_data_stats(args) -> int:
    stats = {path: data.summarize(data.load_jsonl(path)) for path in args.files}
    if args.json:
        _print_json(stats)
        return 0
    for path, s in stats.items():
        print(f"{path}: total_count:{s['total_count']}, true_count: {s['true_count']}, false_count: {s['false_count']}")
        for name, per in s["per_class"].items():
            for column, st in per.items():
                if st["mean"] is None:
                    print(f"  label={name:5} {column}: no records")
                    continue
                print(
                    f"  label={name:5} {column}: mean {st['mean']:.1f}, median {st['median']:.0f}, "
                    f"min {st['min']:.0f}, max {st['max']:.0f}"
                )
    return 0


def cmd_data_synth(args) -> int:
    from fraudft.synthetic import SynthConfig, generate

    config = SynthConfig(
        n=args.n, seed=args.seed, fraud_ratio=args.fraud_ratio, label_noise=args.label_noise, shortcut=args.shortcut
    )
    records = generate(config)
    data.write_jsonl(records, args.out)
    print(f"{args.out}: wrote {len(records)} records ({sum(r['label'] for r in records)} fraud)", file=sys.stderr)
    return 0


def cmd_encode(args) -> int:
    from fraudft.preprocess import EncodeConfig, Encoder
    from fraudft.tokenizer import load_tokenizer

    records = data.load_jsonl(args.file)
    encoder = Encoder(load_tokenizer(args.tokenizer), EncodeConfig(max_length=args.max_length, template=args.template))
    truncated = 0
    for record in records:
        example = encoder.encode(record)
        truncated += example["truncated"]
        print(json.dumps(example))
    print(f"{args.file}: encoded {len(records)} records, {truncated} truncated to {args.max_length} tokens", file=sys.stderr)
    return 0


def _tokenizer_for(args):
    from fraudft.tokenizer import load_tokenizer

    return load_tokenizer(args.tokenizer or ("qwen2-offline" if _is_preset(args.model) else args.model))


def _is_preset(model: str) -> bool:
    from fraudft.model import PRESETS

    return model in PRESETS


def cmd_train(args) -> int:
    from fraudft.model import LoraSettings, load_model
    from fraudft.results import meta_info, run_info, write_json_atomic
    from fraudft.train import TrainConfig, train

    lora = LoraSettings(r=args.lora_r, alpha=args.lora_alpha, dropout=args.lora_dropout,
                        target_modules=tuple(args.target_modules.split(",")), rslora=args.rslora)
    config = TrainConfig(
        batch_size=args.batch_size, grad_accum=args.grad_accum, epochs=args.epochs, max_steps=args.max_steps,
        learning_rate=args.lr, weight_decay=args.weight_decay, warmup=args.warmup, lr_scheduler=args.scheduler,
        eval_steps=args.eval_steps, early_stopping_patience=args.patience or None,
        gradient_checkpointing=not args.no_gradient_checkpointing, loss=args.loss, max_length=args.max_length,
        seed=args.seed, progress=not args.quiet,
    )
    train_records, eval_records = data.load_jsonl(args.train), data.load_jsonl(args.eval)
    tokenizer = _tokenizer_for(args)
    model = load_model(args.model, seed=args.model_seed, trust_remote_code=args.trust_remote_code)
    model, stats = train(model, tokenizer, train_records, eval_records, lora, config, output_dir=f"{args.out}/checkpoints")
    model.save_pretrained(f"{args.out}/adapter")
    record = {
        "run_info": run_info({"model": args.model, "model_seed": args.model_seed, "train": args.train,
                              "eval": args.eval, "lora": lora.to_dict(), "train_config": vars(config)}),
        "train_info": {"status": "success", **stats.to_dict()},
        "meta_info": meta_info(),
    }
    write_json_atomic(record, Path(args.out) / "run.json")
    memory = {k: v for k, v in stats.peak_memory.items() if k != "device"}
    print(
        f"trained {stats.steps} steps in {stats.train_seconds:.1f} s (+{stats.eval_seconds:.1f} s evaluating): "
        f"{stats.tokens_per_s:.0f} tokens/s, {stats.samples_per_s:.1f} samples/s, best eval loss "
        f"{stats.best_eval_loss}, peak memory {memory}; adapter in {args.out}/adapter"
    )
    return 0


def cmd_evaluate(args) -> int:
    from fraudft.evaluate import EvalConfig, evaluate
    from fraudft.model import load_model

    records = data.load_jsonl(args.data)
    config = EvalConfig(mode=args.mode, batch_size=args.batch_size, threshold=args.threshold,
                        max_length=args.max_length, max_new_tokens=args.max_new_tokens, progress=not args.json)
    tokenizer = _tokenizer_for(args)
    model = load_model(args.model, seed=args.model_seed, trust_remote_code=args.trust_remote_code)
    if args.adapter:
        from peft import PeftModel

        if not (Path(args.adapter) / "adapter_config.json").exists():
            raise UsageError(f"{args.adapter}: adapter: no adapter_config.json, expected a folder written by `fraudft train`")
        model = PeftModel.from_pretrained(model, args.adapter)
    result = evaluate(model, tokenizer, records, config)
    summary = {k: v for k, v in result.items() if k not in ("predictions", "probabilities", "replies")}
    if args.json:
        _print_json(summary)
        return 0
    m = result["metrics"]
    print(f"{args.data}: {m['n']} records, mode {result['mode']}, {result['examples_per_s']:.1f} examples/s")
    print(f"  tn/fp/fn/tp {m['tn']}/{m['fp']}/{m['fn']}/{m['tp']}  precision {m['precision']:.4f}  "
          f"recall {m['recall']:.4f}  f1 {m['f1']:.4f}  accuracy {m['accuracy']:.4f}  invalid {m['invalid']}")
    if m["undefined"]:
        print(f"  undefined (no denominator, shown as 0): {', '.join(m['undefined'])}")
    if "reference_metrics" in result:
        r = result["reference_metrics"]
        print(f"  as the reference counts it (invalid = not fraud): tn/fp/fn/tp {r['tn']}/{r['fp']}/{r['fn']}/{r['tp']}"
              f"  precision {r['precision']:.4f}  recall {r['recall']:.4f}")
    return 0


def _add_model_options(p) -> None:
    p.add_argument("--model", required=True, help="a preset (tiny, qwen2-1.5b-arch), a local path or a hub id")
    p.add_argument("--model-seed", type=int, default=0, help="seed of a preset's random weights")
    p.add_argument("--tokenizer", default=None, help="default: qwen2-offline for presets, else the model's own")
    p.add_argument("--trust-remote-code", action="store_true")
    p.add_argument("--max-length", type=int, default=2048)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fraudft", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    data_parser = commands.add_parser("data", help="validate, summarise and synthesise JSONL data")
    data_commands = data_parser.add_subparsers(dest="data_command", required=True)
    p = data_commands.add_parser("validate", help="check files against the reference format")
    p.add_argument("files", nargs="+")
    p.set_defaults(func=cmd_data_validate)
    p = data_commands.add_parser("stats", help="label counts and length statistics per class")
    p.add_argument("files", nargs="+")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_data_stats)
    p = data_commands.add_parser("synth", help="write synthetic dialogues in the reference format")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fraud-ratio", type=float, default=0.5)
    p.add_argument("--label-noise", type=float, default=0.0)
    p.add_argument("--shortcut", default=None, help="inject one named surface shortcut")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_data_synth)

    p = commands.add_parser("encode", help="print one JSON line of token ids per record")
    p.add_argument("file")
    p.add_argument("--tokenizer", default="qwen2-offline", help="qwen2-offline, a local path or a hub id")
    p.add_argument("--max-length", type=int, default=2048)
    p.add_argument("--template", choices=["reference", "chat"], default="reference")
    p.set_defaults(func=cmd_encode)

    p = commands.add_parser("train", help="fine-tune LoRA adapters; saves the adapter and a run record")
    _add_model_options(p)
    p.add_argument("--train", required=True)
    p.add_argument("--eval", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--lora-r", type=int, default=8)
    p.add_argument("--lora-alpha", type=float, default=16)
    p.add_argument("--lora-dropout", type=float, default=0.05)
    p.add_argument("--target-modules", default=",".join(REFERENCE_TARGET_MODULES))
    p.add_argument("--rslora", action="store_true", help="scale by alpha/sqrt(r) instead of alpha/r")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--grad-accum", type=int, default=4)
    p.add_argument("--epochs", type=float, default=3.0)
    p.add_argument("--max-steps", type=int, default=-1, help="a fixed step budget (overrides --epochs)")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--warmup", type=float, default=0.0, help="ratio of steps if < 1, else steps")
    p.add_argument("--scheduler", default="linear")
    p.add_argument("--eval-steps", type=int, default=10)
    p.add_argument("--patience", type=int, default=3, help="early-stopping patience in evaluations; 0 turns it off")
    p.add_argument("--no-gradient-checkpointing", action="store_true")
    p.add_argument("--loss", choices=["label_positions", "full"], default="label_positions")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)

    p = commands.add_parser("evaluate", help="precision, recall, F1 of a model (and adapter) on labelled data")
    _add_model_options(p)
    p.add_argument("--adapter", default=None, help="a folder written by `fraudft train` (its adapter/)")
    p.add_argument("--data", required=True)
    p.add_argument("--mode", choices=["score", "generate"], default="score")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--max-new-tokens", type=int, default=32)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_evaluate)

    register_audit_cli(commands)  # fraudft audit, fraudft mitigate
    report.register_cli(commands)  # fraudft results table|compare|plot
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    warnings.simplefilter("default", data.DataWarning)
    warnings.formatwarning = lambda message, category, *rest: f"warning: {message}\n"
    try:
        return args.func(args)
    except (data.DataError, UsageError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `fraudft encode ... | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
