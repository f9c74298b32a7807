"""`fraudft encode`: one JSON line of token ids per record, as training sees them.

    fraudft encode data/eval.jsonl --max-length 256 | head -1
    fraudft encode data/eval.jsonl --prompt chat_template --separator '\n' --answer is_fraud_speaker_reason

--template chat is kept as an alias of --prompt chat_template (--template reference: --prompt reference).
"""

from __future__ import annotations

import sys

from fraudft.cli.options import (
    add_data_format_options,
    add_task_format_options,
    config_from_flags,
    read_records,
    task_format_from,
)
from fraudft.core import jsonio
from fraudft.core.errors import UsageError


def cmd_encode(args) -> int:
    from fraudft.modeling.encode import EncodeConfig, Encoder
    from fraudft.modeling.tokenizer import CHAT_TOKENS, load_tokenizer

    if args.template is not None:  # the old flag, an alias
        alias = "chat_template" if args.template == "chat" else "reference"
        if args.prompt not in (None, alias):
            raise UsageError(f"--template {args.template}: contradicts --prompt {args.prompt}, expected one of them")
        args.prompt = alias
    task_format = task_format_from(args)
    records = read_records(args, args.file)
    task_format.check_records(records, args.file)
    config = config_from_flags(EncodeConfig, max_length=args.max_length, format=task_format)
    chat_tokens = CHAT_TOKENS if task_format.prompt == "reference" else ()
    encoder = Encoder(load_tokenizer(args.tokenizer, chat_tokens=chat_tokens), config)
    truncated = 0
    for record in records:
        example = encoder.encode(record)
        truncated += example["truncated"]
        print(jsonio.dumps(example))
    print(f"{args.file}: encoded {len(records)} records, {truncated} truncated to {args.max_length} tokens", file=sys.stderr)
    return 0


def register(commands) -> None:
    p = commands.add_parser("encode", help="print one JSON line of token ids per record")
    p.add_argument("file")
    p.add_argument("--tokenizer", default="qwen2-offline", help="qwen2-offline, a local path or a hub id")
    p.add_argument("--max-length", type=int, default=2048)
    p.add_argument("--template", choices=["reference", "chat"], default=None,
                   help="an alias: chat is --prompt chat_template, reference is --prompt reference")
    add_task_format_options(p)
    add_data_format_options(p)
    p.set_defaults(func=cmd_encode)
