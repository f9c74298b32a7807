"""The `fraudft` command.

    fraudft data validate FILE...            fraudft data stats FILE... [--json]
    fraudft data synth --n N --seed S --out FILE [--shortcut NAME]
    fraudft encode FILE [--tokenizer NAME|PATH] [--max-length N]

Bad input exits with status 2 and one line `FILE:LINE: field: what was wrong, what was expected`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

from fraudft import data


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
