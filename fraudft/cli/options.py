"""Small helpers shared by the subcommands: JSON output and configs built from flags."""

from __future__ import annotations

import json

from fraudft.errors import UsageError


def print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))


def config_from_flags(cls, **values):
    """Build a validated config dataclass; its ValueError becomes a usage error (exit 2)."""
    try:
        return cls(**values)
    except UsageError:
        raise
    except ValueError as err:
        raise UsageError(str(err)) from err


def add_model_options(p, max_length_default: int | None = 2048) -> None:
    p.add_argument("--model", required=True, help="a preset (tiny, qwen2-1.5b-arch), a local path or a hub id")
    p.add_argument("--model-seed", type=int, default=0, help="seed of a preset's random weights")
    p.add_argument("--tokenizer", default=None, help="default: qwen2-offline for presets, else the model's own")
    p.add_argument("--trust-remote-code", action="store_true")
    p.add_argument("--max-length", type=int, default=max_length_default)


def tokenizer_for(args):
    """The tokenizer a command's --tokenizer or --model names."""
    from fraudft.modeling.models import PRESETS
    from fraudft.modeling.tokenizer import load_tokenizer

    return load_tokenizer(args.tokenizer or ("qwen2-offline" if args.model in PRESETS else args.model))


# The names of fraudft.readers.FORMATS, spelled out so that building the parser imports no reader
# (a test keeps them equal).
FORMAT_NAMES = ("jsonl", "json", "alpaca", "sharegpt", "csv", "parquet", "hub")


def add_data_format_options(p) -> None:
    """--format and --column-map, for every command that reads record files."""
    p.add_argument("--format", choices=FORMAT_NAMES, default=None,
                   help="the data files' format (default: detected from the suffix and, for .json/.jsonl, the content; "
                        "OWNER/NAME:SPLIT, not an existing file, is a hub dataset split)")
    p.add_argument("--column-map", default=None, metavar="FIELD=COLUMN,...",
                   help="read record fields from other columns, e.g. input=text,label=is_fraud")


def read_records(args, path) -> list[dict]:
    """The validated records of `path`, read with the command's --format and --column-map."""
    from fraudft.readers import load_records

    return load_records(path, args.format, args.column_map)


def split_places(args, paths, splits: dict) -> dict[str, str]:
    """{split: how its file names records, "line", "item" or "row"} for splits read by read_named_splits."""
    from fraudft.readers import place_word

    return {name: place_word(path, args.format, args.column_map) for name, path in zip(splits, paths)}


def read_named_splits(args, paths) -> dict[str, list[dict]]:
    """Files as splits named by their stem, read with the command's --format and --column-map."""
    from fraudft.readers import load_named_splits, parse_column_map

    return load_named_splits(paths, args.format, parse_column_map(args.column_map))
