"""`fraudft data validate|stats|synth`: check and summarise data (any format of fraudft.data.formats),
synthesise JSONL data.

    fraudft data validate train.jsonl eval.jsonl
    fraudft data stats eval.jsonl --json
    fraudft data validate eval.csv; fraudft data validate eval.json --format alpaca --column-map input=text
    fraudft data synth --n 1500 --seed 1 --out data/train.jsonl [--shortcut speaker_tag] [--lengths reference]
"""

from __future__ import annotations

import sys

from fraudft.cli.options import add_data_format_options, config_from_flags, print_json, read_records
from fraudft.data.records import write_jsonl


def cmd_validate(args) -> int:
    for path in args.files:
        records = read_records(args, path)
        print(f"{path}: ok, {len(records)} records")
    return 0


def cmd_stats(args) -> int:
    from fraudft.data.records import summarize

    stats = {path: summarize(read_records(args, path)) for path in args.files}
    if args.json:
        print_json(stats)
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


def cmd_synth(args) -> int:
    from fraudft.synthetic import SynthConfig, generate

    config = config_from_flags(SynthConfig, n=args.n, seed=args.seed, fraud_ratio=args.fraud_ratio,
                               label_noise=args.label_noise, shortcut=args.shortcut, lengths=args.lengths)
    records = generate(config)
    write_jsonl(records, args.out)
    print(f"{args.out}: wrote {len(records)} records ({sum(r['label'] for r in records)} fraud)", file=sys.stderr)
    return 0


def register(commands) -> None:
    data_parser = commands.add_parser("data", help="validate and summarise data (JSONL, JSON, alpaca, ShareGPT, CSV, Parquet, hub); synthesise JSONL")
    sub = data_parser.add_subparsers(dest="data_command", required=True)
    p = sub.add_parser("validate", help="check files against the reference format")
    p.add_argument("files", nargs="+")
    add_data_format_options(p)
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("stats", help="label counts and length statistics per class")
    p.add_argument("files", nargs="+")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_data_format_options(p)
    p.set_defaults(func=cmd_stats)
    p = sub.add_parser("synth", help="write synthetic dialogues in the reference format")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fraud-ratio", type=float, default=0.5)
    p.add_argument("--label-noise", type=float, default=0.0)
    p.add_argument("--shortcut", default=None, help="inject one named surface shortcut")
    p.add_argument("--lengths", default="synthetic", help="synthetic (default: the generator's own lengths) or reference (eval0819's token lengths)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_synth)
