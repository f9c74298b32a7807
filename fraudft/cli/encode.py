"""`fraudft encode`: one JSON line of token ids per record, as training sees them.

    fraudft encode data/eval.jsonl --max-length 256 | head -1
"""

from __future__ import annotations

import json
import sys

from fraudft.cli.options import add_data_format_options, config_from_flags, read_records


def cmd_encode(args) -> int:
    from fraudft.modeling.encode import EncodeConfig, Encoder
    from fraudft.modeling.tokenizer import load_tokenizer

    records = read_records(args, args.file)
    config = config_from_flags(EncodeConfig, max_length=args.max_length, template=args.template)
    encoder = Encoder(load_tokenizer(args.tokenizer), config)
    truncated = 0
    for record in records:
        example = encoder.encode(record)
        truncated += example["truncated"]
        print(json.dumps(example))
    print(f"{args.file}: encoded {len(records)} records, {truncated} truncated to {args.max_length} tokens", file=sys.stderr)
    return 0


def register(commands) -> None:
    p = commands.add_parser("encode", help="print one JSON line of token ids per record")
    p.add_argument("file")
    p.add_argument("--tokenizer", default="qwen2-offline", help="qwen2-offline, a local path or a hub id")
    p.add_argument("--max-length", type=int, default=2048)
    p.add_argument("--template", choices=["reference", "chat"], default="reference")
    add_data_format_options(p)
    p.set_defaults(func=cmd_encode)
