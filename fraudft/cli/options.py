"""Small helpers shared by the subcommands: JSON output and configs built from flags."""

from __future__ import annotations

from fraudft.core import jsonio
from fraudft.core.errors import UsageError


def print_json(obj) -> None:
    print(jsonio.dumps(obj, ensure_ascii=False, indent=2))


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


def tokenizer_for(args, task_format=None):
    """The tokenizer a command's --tokenizer or --model names; checked for the ChatML tokens only
    under the reference prompt (task_format None: the default, reference)."""
    from fraudft.modeling.tokenizer import CHAT_TOKENS, load_tokenizer

    reference = task_format is None or task_format.prompt == "reference"
    return load_tokenizer(tokenizer_name(args), chat_tokens=CHAT_TOKENS if reference else ())


def tokenizer_name(args) -> str:
    """The tokenizer a command's --tokenizer or --model names: qwen2-offline for presets, else the
    model's own (a --model that names no model stops here in one line, before any hub request)."""
    from fraudft.modeling.models import PRESETS, check_model_name

    if args.tokenizer is None and args.model not in PRESETS:
        check_model_name(args.model, "--model", trust_remote_code=getattr(args, "trust_remote_code", False))
    return args.tokenizer or ("qwen2-offline" if args.model in PRESETS else args.model)


def add_base_check_option(p) -> None:
    """--allow-other-base, for commands that load an adapter onto a base (fraudft.modeling.provenance)."""
    p.add_argument("--allow-other-base", action="store_true",
                   help="load an adapter on a base other than the one it was trained on (its weights or tokenizer "
                        "differ): a deliberate transfer; without it that is an error")


def base_of(args, model, tokenizer) -> dict:
    """The record of the base the command loaded (--model, --model-seed, the tokenizer), before any adapter."""
    from fraudft.modeling.provenance import base_record

    return base_record(model, tokenizer, args.model, args.model_seed, tokenizer_name(args))


FORMAT_FLAGS = {"prompt": "prompt", "system_prompt": "system_prompt", "separator": "separator", "answer": "answer"}


def add_task_format_options(p) -> None:
    """--prompt, --system-prompt, --separator, --answer: the task format (fraudft.modeling.taskformat)."""
    from fraudft.modeling.taskformat import ANSWERS, PROMPTS  # the registries (about 50 ms to import)

    p.add_argument("--prompt", choices=PROMPTS.names(), default=None,
                   help="reference: the reference's ChatML string (default); chat_template: the tokenizer's own template")
    p.add_argument("--system-prompt", default=None,
                   help="chat_template only: a system message (default: the template's own default)")
    p.add_argument("--separator", default=None,
                   help="between instruction and input (default: nothing, as the reference; LLaMA-Factory: '\\n'); "
                        "\\n and \\t are read as newline and tab")
    p.add_argument("--answer", choices=ANSWERS.names(), default=None,
                   help="is_fraud (default) or is_fraud_speaker_reason: the trained answer's JSON fields")


def task_format_from(args, base=None):
    """The TaskFormat of the command's flags; flags left out keep `base`'s values (e.g. the format
    saved with an adapter), else the defaults. UsageError on a bad combination."""
    import dataclasses

    from fraudft.modeling.taskformat import TaskFormat

    changes = {name: getattr(args, dest, None) for name, dest in FORMAT_FLAGS.items()}
    changes = {k: v for k, v in changes.items() if v is not None}
    if "separator" in changes:  # hand-written: unicode_escape would mangle non-ASCII separators
        changes["separator"] = changes["separator"].replace("\\n", "\n").replace("\\t", "\t")
    if changes.get("system_prompt") == "":
        changes["system_prompt"] = None  # --system-prompt "": none (clears a saved one)
    if changes.get("prompt") == "reference":
        changes.setdefault("system_prompt", None)  # the reference prompt has its own: a saved one does not carry over
    try:
        return dataclasses.replace(base or TaskFormat(), **changes)
    except ValueError as err:
        raise UsageError(f"--{str(err).split(':')[0].replace('_', '-')}: {str(err).split(':', 1)[1].strip()}") from None


def add_data_format_options(p) -> None:
    """--format and --column-map, for every command that reads record files."""
    from fraudft.data.loading import FORMATS  # the registry, filled in order (about 35 ms to import)

    p.add_argument("--format", choices=FORMATS.names(), default=None,
                   help="the data files' format (default: detected from the suffix and, for .json/.jsonl, the content; "
                        "OWNER/NAME:SPLIT, not an existing file, is a hub dataset split)")
    p.add_argument("--column-map", default=None, metavar="FIELD=COLUMN,...",
                   help="read record fields from other columns, e.g. input=text,label=is_fraud")


def read_records(args, path) -> list[dict]:
    """The validated records of `path`, read with the command's --format and --column-map."""
    from fraudft.data.loading import load_records

    return load_records(path, args.format, args.column_map)


def split_places(args, paths, splits: dict) -> dict[str, str]:
    """{split: how its file names records, "line", "item" or "row"} for splits read by read_named_splits."""
    from fraudft.data.loading import place_word

    return {name: place_word(path, args.format, args.column_map) for name, path in zip(splits, paths)}


def read_named_splits(args, paths) -> dict[str, list[dict]]:
    """Files as splits named by their stem, read with the command's --format and --column-map."""
    from fraudft.data.formats.base import parse_column_map
    from fraudft.data.loading import load_named_splits

    return load_named_splits(paths, args.format, parse_column_map(args.column_map))
