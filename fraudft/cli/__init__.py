"""The `fraudft` command: each subcommand group lives in its own module, which owns its parser and
handlers and imports heavy libraries (torch, transformers, peft) only inside the handlers that
need them.

    fraudft data validate FILE...            fraudft data stats FILE... [--json]
    fraudft data synth --n N --seed S --out FILE [--shortcut NAME]
    fraudft encode FILE [--tokenizer NAME|PATH] [--max-length N]
    fraudft train --model NAME|PATH --train FILE --eval FILE --out DIR [LoRA and training options]
    fraudft evaluate --model NAME|PATH [--adapter DIR] --data FILE [--mode score|generate] [--json]
    fraudft export --adapter DIR --out DIR [--dtype fp32|bf16] [--check FILE]
    fraudft audit FILE... [--json] [--fail-on warn|fail|never]
    fraudft mitigate FILE... --out-dir DIR [--neutralize-speakers] [--dedupe]
    fraudft run-arm --recipe cpu-tiny --arm reference --seed 0
    fraudft results table [REV] | compare REV_A REV_B | history [--last N] | plot [REV] --out DIR

Bad input and bad usage exit with status 2 and one line (`FILE:LINE: field: what was wrong, what
was expected` for data). Ctrl-C exits with status 130 and one line (a command may say what it kept
and how to go on: its `interrupted(args)`). Anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from fraudft.cli import audit, data, encode, evaluate, experiment, export, results, train
from fraudft.core.errors import DataWarning, UsageError

COMMAND_MODULES = (data, encode, train, evaluate, export, audit, experiment, results)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fraudft", description="fraudft: LoRA fine-tuning of chat LLMs as fraud classifiers, with "
                                     "its ablation benchmark, audits and results across commits")
    commands = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    warnings.simplefilter("default", DataWarning)
    warnings.formatwarning = lambda message, category, *rest: f"warning: {message}\n"
    try:
        return args.func(args)
    except UsageError as err:  # DataError included: the user's input, not a bug
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        said = getattr(args, "interrupted", None)
        print(said(args) if said is not None else "interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `fraudft encode ... | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
