"""`fraudft train`: fine-tune LoRA adapters on a model; saves the adapter and a run record.

    fraudft train --model tiny --train data/train.jsonl --eval data/eval.jsonl --out runs/r8 --max-steps 240
    fraudft train ... --resume        # checkpoints every --eval-steps; run it again after a kill to continue
    fraudft train ... --lora use_dora=true --lora init_lora_weights=pissa --train-arg neftune_noise_alpha=5

--lora KEY=VALUE passes any peft.LoraConfig field, --train-arg KEY=VALUE any TrainConfig or
transformers.TrainingArguments field (fraudft.engine.train_config); VALUE is read as a TOML or JSON literal
(true, 5, 0.1, "x", ["q_proj", "v_proj"], {...}), else as a string. The flags below (--lora-r,
--lr, --max-steps, ...) are shorthands for some of them; one setting given both ways is an error.

--resume continues only the same run: another file, learning rate, step budget... than the
checkpoint's stops with a one-line error naming them (fraudft.engine.resume). The summary says how many
dialogues of each split --max-length shortened, and by how many tokens.

Training flags left out take the defaults that suit the model: for `--model tiny`, its working
recipe (fraudft/configs/recipes/cpu-tiny.toml: the tiny model needs a high learning rate), so that it
trains as the bench's reference arm does (its 200 steps, length-grouped batches, ...); for any
other model, the reference's (TrainConfig). Flags given always win; the defaults used are printed.

--out must be new or empty: a folder holding an earlier run is refused unless --resume (continue it:
the command says from which checkpoint) or --overwrite (start over; its checkpoints are removed).
Ctrl-C ends with one line saying what was kept (with --resume, the last checkpoint) and how to go on
(exit 130). --quiet prints neither the progress bar nor the Trainer's log lines.

A run whose loss or gradient norm turns NaN or infinite stops at that step (too high a --lr, most
often): no adapter is saved, run.json records status failed, the step and the values (null, the reason
beside them), and the command exits 1 with one line naming the step.

Under torchrun (data-parallel) every process trains on its share of each global batch; global rank 0
alone saves the adapter and run.json and prints the summary, whose figures cover all processes.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import fields
from pathlib import Path

from fraudft.cli.options import (
    add_data_format_options,
    add_model_options,
    add_task_format_options,
    base_of,
    config_from_flags,
    read_records,
    task_format_from,
    tokenizer_for,
)

TINY_RECIPE = "recipes/cpu-tiny.toml"
# flag (argparse dest) -> TrainConfig field, for the flags whose default depends on the model
DEFAULTED_FLAGS = {"batch_size": "batch_size", "grad_accum": "grad_accum", "lr": "learning_rate",
                   "max_steps": "max_steps", "batching": "batching",
                   "eval_steps": "eval_steps", "patience": "early_stopping_patience",
                   "max_length": "max_length", "gradient_checkpointing": "gradient_checkpointing"}
NOT_DEFAULTED = ("progress",)  # recipe [train] fields the command sets itself (--quiet)


def training_defaults(model: str) -> tuple[str, dict, dict]:
    """(where they come from, {flag dest: value} for the flags in DEFAULTED_FLAGS, {TrainConfig
    field: value} of the recipe's other [train] settings, which have no flag (for --model tiny:
    load_best_model_at_end; --train-arg wins over them)). `--model tiny` trains as the bench's
    reference arm on cpu-tiny does: its step budget, batching and the rest."""
    from fraudft.configs import read_config
    from fraudft.engine.train_config import TrainConfig

    recipe = read_config(TINY_RECIPE)
    if model == recipe["model"]:
        source, values = TINY_RECIPE, recipe["train"]
        flagged = set(DEFAULTED_FLAGS.values()) | set(NOT_DEFAULTED)
        others = {name: value for name, value in values.items() if name not in flagged}
    else:
        source, values, others = "the reference (TrainConfig)", {f.name: f.default for f in fields(TrainConfig)}, {}
    defaults = {dest: values[name] for dest, name in DEFAULTED_FLAGS.items()}
    defaults["patience"] = defaults["patience"] or 0  # the CLI's "off" is 0, TrainConfig's is None
    return source, defaults, others


def _shown(dest: str, value) -> str:
    if dest == "gradient_checkpointing":
        return ("gradient checkpointing auto" if value == "auto" else
                "--gradient-checkpointing" if value else "--no-gradient-checkpointing")
    if dest == "max_steps" and value <= 0:
        return "no --max-steps (--epochs decides)"
    return f"--{dest.replace('_', '-')} {value}"


def fill_defaults(args) -> str | None:
    """Set the training flags left out to the model's defaults (and `args.recipe_train` to the
    recipe's settings that have no flag, those --train-arg does not give); return a line saying which, if any."""
    source, defaults, others = training_defaults(args.model)
    used = {dest: value for dest, value in defaults.items() if getattr(args, dest) is None}
    for dest, value in used.items():
        setattr(args, dest, value)
    given = parse_assignments(getattr(args, "train_arg", None), "--train-arg")
    args.recipe_train = {name: value for name, value in others.items() if name not in given}
    shown = [_shown(dest, value) for dest, value in used.items()]
    shown += [f"--train-arg {name}={str(value).lower() if isinstance(value, bool) else value}"
              for name, value in args.recipe_train.items()]
    if not shown:
        return None
    return f"defaults from {source} for --model {args.model}: {' '.join(shown)}"


def train_config_of(args):
    """(TrainConfig, LoraSettings, the defaults line or None) of the command's flags: the flags left
    out filled with the model's defaults (fill_defaults), --train-arg laid over them."""
    from fraudft.engine.train_config import TrainConfig

    explicit = {dest for dest in TRAIN_FLAGS.values() if getattr(args, dest) != _PARSER_DEFAULTS.get(dest)}
    defaults_used = fill_defaults(args)
    lora = lora_settings(args)
    config = config_from_flags(
        TrainConfig, batch_size=args.batch_size, grad_accum=args.grad_accum, epochs=args.epochs,
        max_steps=args.max_steps, learning_rate=args.lr, weight_decay=args.weight_decay, warmup=args.warmup,
        lr_scheduler=args.scheduler, eval_steps=args.eval_steps, early_stopping_patience=args.patience or None,
        gradient_checkpointing=args.gradient_checkpointing, loss=args.loss, max_length=args.max_length,
        seed=args.seed, progress=not args.quiet, batching=args.batching,
        save_steps=args.eval_steps if args.resume else 0, resume=args.resume, compile=args.compile, liger=args.liger,
    )
    return with_train_args(config, args, explicit), lora, defaults_used


def check_out(args) -> None:
    """Refuse (one line) a non-empty --out without --resume or --overwrite; with --overwrite, remove
    the checkpoints an earlier run left there (a new run's are not to lie beside them)."""
    import shutil

    from fraudft.core.errors import UsageError

    out = Path(args.out)
    if args.resume:
        return None
    if out.is_dir() and any(out.iterdir()):
        if not args.overwrite:
            raise UsageError(f"--out: {out} is not empty (an earlier run's?); pass --resume to continue that run, "
                             "--overwrite to start over in it, or another --out")
        shutil.rmtree(out / "checkpoints", ignore_errors=True)  # not beside this run's
    elif out.exists() and not out.is_dir():
        raise UsageError(f"--out: {out} is a file, expected a folder (new or empty)")


def resuming_line(checkpoint: str) -> str:
    """What --resume says once the checkpoint is known to be this run's."""
    return f"resuming from {checkpoint} (step {Path(checkpoint).name.split('-')[-1]})"


def interrupted(args) -> str:
    """The line Ctrl-C ends `fraudft train` with: what was kept and how to go on."""
    from fraudft.engine.train import last_checkpoint

    checkpoint = last_checkpoint(str(Path(args.out) / "checkpoints")) if args.resume else None
    if checkpoint is not None:
        return (f"interrupted: kept {checkpoint} (step {Path(checkpoint).name.split('-')[-1]}); run the same command "
                "again (with --resume) to continue from it")
    if args.resume:
        return (f"interrupted before the first checkpoint (every --eval-steps {args.eval_steps}) in {args.out}/checkpoints: "
                "nothing kept; run the same command again to start over")
    return ("interrupted: nothing kept (checkpoints are saved only with --resume); run it again with --resume "
            f"to start over in {args.out} with checkpoints to continue from")


def cmd_train(args) -> int:
    """The command; under --quiet, without datasets' progress bars either (the encoding passes)."""
    import datasets

    if not args.quiet or not datasets.is_progress_bar_enabled():
        return _train(args)
    datasets.disable_progress_bars()
    try:
        return _train(args)
    finally:
        datasets.enable_progress_bars()


def _train(args) -> int:
    from fraudft.engine.measure import is_main_process
    from fraudft.modeling.encode import EncodeConfig, Encoder
    from fraudft.modeling.models import check_model_name, load_model
    from fraudft.modeling.provenance import save_base
    from fraudft.modeling.taskformat import answer_token_budget, save_format
    from fraudft.results.store import meta_info, run_info, write_json_atomic
    from fraudft.engine.train import TrainingDiverged, train

    check_model_name(args.model, "--model")  # before any hub request: one line for a name that is none
    config, lora, defaults_used = train_config_of(args)
    if os.environ.get("RANK", "0") == "0":
        check_out(args)
    task_format = task_format_from(args)
    train_records, eval_records = read_records(args, args.train), read_records(args, args.eval)
    for records, path in ((train_records, args.train), (eval_records, args.eval)):
        task_format.check_records(records, path)  # errors name the file's line, item or row
    # once the input is known good (an error stays the only line), and once under torchrun (RANK is
    # set before the process group exists)
    if os.environ.get("RANK", "0") == "0":
        for line in ([defaults_used] if defaults_used else []) + split_warnings(args, task_format.task_spec,
                                                                                  train_records, eval_records):
            print(line, file=sys.stderr)
    tokenizer = tokenizer_for(args, task_format)
    model = load_model(args.model, seed=args.model_seed, trust_remote_code=args.trust_remote_code)
    base = base_of(args, model, tokenizer)  # before LoRA wraps (or PiSSA-style inits change) the weights
    identity = {"model": args.model, "model_seed": args.model_seed, "tokenizer": args.tokenizer}  # None: the model's default
    # generate mode's reply limit, sized from the longest trained answer; `fraudft evaluate` reads both
    max_new_tokens = answer_token_budget(Encoder(tokenizer, EncodeConfig(config.max_length, task_format)), train_records)

    def record(train_info: dict) -> dict:
        return {"run_info": run_info({"model": args.model, "model_seed": args.model_seed, "train": args.train,
                                      "eval": args.eval, "lora": lora.to_dict(), "train_config": vars(config),
                                      "format": task_format.to_dict(), "max_new_tokens": max_new_tokens}),
                "train_info": train_info, "meta_info": meta_info()}

    try:
        model, stats = train(model, tokenizer, train_records, eval_records, lora, config,
                             output_dir=f"{args.out}/checkpoints", identity=identity, task_format=task_format,
                             on_resume=lambda checkpoint: os.environ.get("RANK", "0") == "0" and print(resuming_line(checkpoint), file=sys.stderr))
    except TrainingDiverged as err:  # no adapter: its weights are what diverged
        if is_main_process():
            write_json_atomic(record(err.train_info), Path(args.out) / "run.json")
            print(f"error: {err}; no adapter saved, {Path(args.out) / 'run.json'} records the failed run "
                  "(try a lower --lr)", file=sys.stderr)
        return 1
    if not is_main_process():  # rank 0 writes the adapter (the same on every rank) and the global record
        return 0
    model.save_pretrained(f"{args.out}/adapter")
    save_base(f"{args.out}/adapter", base)  # what evaluate and export check the base they load against
    save_format(f"{args.out}/adapter", task_format, max_new_tokens, config.max_length)
    write_json_atomic(record({"status": "success", **stats.to_dict()}), Path(args.out) / "run.json")
    memory = {k: v for k, v in stats.peak_memory.items() if k != "device"}
    print(
        f"trained {stats.steps} steps in {stats.train_seconds:.1f} s (+{stats.eval_seconds:.1f} s evaluating): "
        f"{stats.tokens_per_s:.0f} tokens/s, {stats.samples_per_s:.1f} samples/s, best eval loss "
        f"{stats.best_eval_loss}, peak memory {memory}; adapter in {args.out}/adapter"
    )
    print(f"task format: {format_line(task_format)}; generate mode's --max-new-tokens {max_new_tokens} "
          "(the longest trained answer + margin), saved with the adapter")
    print(f"LoRA on {', '.join(stats.adapted_modules)} (paths inside a decoder layer; run.json: train_info.adapted_modules)")
    print(truncation_line(stats.truncation))
    return 0


def split_warnings(args, task, train_records: list[dict], eval_records: list[dict]) -> list[str]:
    """One line each: repeated inputs, and repeats with conflicting labels, in the train split
    (fraudft.data.transforms.duplicate_groups, as the audit counts them); an eval split of one class
    (early stopping and the best checkpoint are chosen on it). Records are named as the file names them."""
    from collections import Counter

    from fraudft.data.loading import place_word
    from fraudft.data.transforms import duplicate_groups

    def numbers(groups) -> str:
        shown = [",".join(str(i + 1) for i in g) for g in groups[:5]]
        return "; ".join(shown) + ("; ..." if len(groups) > 5 else "")

    lines = []
    groups, conflicting = duplicate_groups(train_records, label_field=task.label_field)
    place = place_word(args.train, args.format, args.column_map) if groups else "line"
    if groups:
        repeats = sum(len(g) - 1 for g in groups)
        lines.append(f"warning: {args.train}: {repeats} of {len(train_records)} records repeat an earlier input, in "
                     f"{len(groups)} group(s) ({place}s {numbers(groups)}); fraudft mitigate --dedupe keeps the first")
    if conflicting:
        lines.append(f"warning: {args.train}: {len(conflicting)} group(s) of repeated inputs with conflicting labels, "
                     f"{sum(map(len, conflicting))} records ({place}s {numbers(conflicting)}): one label of each is "
                     "wrong; fraudft mitigate --dedupe drops them")
    counts = Counter(task.code(r[task.label_field]) for r in eval_records)
    if len(counts) < 2:
        shown = ", ".join(f"{counts[code]} {name}" for code, name in enumerate(task.label_names))
        lines.append(f"warning: {args.eval}: one class only ({shown}): early stopping and the best checkpoint are "
                     "chosen on it, expected more than one class")
    return lines


# peft's name -> the shorthand flag (argparse dest) that sets it
LORA_FLAGS = {"r": "lora_r", "lora_alpha": "lora_alpha", "lora_dropout": "lora_dropout",
              "target_modules": "target_modules", "use_rslora": "rslora"}
# TrainConfig field -> the shorthand flag (argparse dest) that sets it
TRAIN_FLAGS = {"batch_size": "batch_size", "grad_accum": "grad_accum", "epochs": "epochs", "max_steps": "max_steps",
               "learning_rate": "lr", "weight_decay": "weight_decay", "warmup": "warmup", "lr_scheduler": "scheduler",
               "eval_steps": "eval_steps", "early_stopping_patience": "patience", "max_length": "max_length",
               "seed": "seed", "batching": "batching", "loss": "loss", "compile": "compile", "liger": "liger",
               "gradient_checkpointing": "gradient_checkpointing"}


def parse_assignments(values: list[str] | None, option: str) -> dict:
    """{KEY: VALUE} of repeated KEY=VALUE flags, each VALUE a TOML or JSON literal, else a string."""
    import json
    import tomllib

    from fraudft.core.errors import UsageError

    out = {}
    for item in values or ():
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"{option}: got {item!r}, expected KEY=VALUE")
        if key in out:
            raise UsageError(f"{option}: {key} given twice")
        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            try:
                value = json.loads(text)
            except ValueError:
                value = text
        out[key] = value
    return out


def lora_settings(args):
    """The LoRA settings of the shorthand flags and --lora KEY=VALUE, checked by peft's LoraConfig."""
    from fraudft.core.errors import UsageError
    from fraudft.modeling.lora import LoraSettings, peft_names

    given = parse_assignments(args.lora, "--lora")
    try:
        given = peft_names(given)
    except ValueError as err:
        raise UsageError(f"--lora: {err}") from None
    flags = {"r": args.lora_r, "lora_alpha": args.lora_alpha, "lora_dropout": args.lora_dropout,
             "target_modules": tuple(args.target_modules.split(",")) if args.target_modules else None,
             "use_rslora": True if args.rslora else None}
    for name, value in flags.items():
        if value is not None and name in given:
            raise UsageError(f"--lora {name}: also given as --{LORA_FLAGS[name].replace('_', '-')}; give it once")
    try:
        lora = LoraSettings(**{**{k: v for k, v in flags.items() if v is not None}, **given})
        lora.check()  # peft's own LoraConfig, before any data or model is read
    except ValueError as err:  # from --lora or a shorthand flag
        raise UsageError(f"lora: {err}") from None
    return lora


def with_train_args(config, args, explicit: set[str]):
    """The TrainConfig with the recipe's flagless settings (args.recipe_train, fill_defaults) and
    --train-arg KEY=VALUE laid over it; TrainingArguments checked before any work."""
    import tempfile

    from fraudft.core.errors import UsageError
    from fraudft.engine.train import training_arguments
    from fraudft.engine.train_config import ALIASES

    given = parse_assignments(args.train_arg, "--train-arg")
    for key in given:
        dest = TRAIN_FLAGS.get(ALIASES.get(key, key))
        if dest in explicit:
            raise UsageError(f"--train-arg {key}: also given as --{dest.replace('_', '-')}; give it once")
    try:
        config = config.with_options({**getattr(args, "recipe_train", {}), **given})
        with tempfile.TemporaryDirectory() as out:
            training_arguments(config, out)  # transformers' own checks of the values
    except (TypeError, ValueError) as err:
        raise UsageError(f"--train-arg: {err}") from None
    return config


_PARSER_DEFAULTS: dict = {}  # the flags' defaults (register fills it): a flag at its default was not given


def format_line(task_format) -> str:
    """The task format in one line, e.g. `prompt reference, separator '', answer is_fraud`."""
    system = "" if task_format.system_prompt is None else f", system prompt {task_format.system_prompt!r}"
    return f"prompt {task_format.prompt}{system}, separator {task_format.separator!r}, answer {task_format.answer}"


def truncation_line(truncation: dict) -> str:
    """One line: what --max-length cut from each split (TrainStats.truncation)."""
    parts = [f"{split} {t['dialogues_shortened']} of {t['records']} dialogues ({t['tokens_removed']} tokens removed)"
             for split, t in truncation.items() if split != "max_length"]
    return f"shortened to fit --max-length {truncation['max_length']}: {', '.join(parts)}"


def register(commands) -> None:
    p = commands.add_parser("train", help="fine-tune LoRA adapters; saves the adapter and a run record")
    add_model_options(p, max_length_default=None)
    p.add_argument("--train", required=True)
    p.add_argument("--eval", required=True)
    add_data_format_options(p)
    add_task_format_options(p)
    p.add_argument("--out", required=True)
    p.add_argument("--lora", action="append", default=None, metavar="KEY=VALUE",
                   help="any peft.LoraConfig field, e.g. use_dora=true, init_lora_weights=pissa, "
                        "target_modules='[\"q_proj\",\"v_proj\"]'; repeatable (default: the reference's LoRA)")
    p.add_argument("--train-arg", action="append", default=None, metavar="KEY=VALUE",
                   help="any TrainConfig or transformers.TrainingArguments field, e.g. neftune_noise_alpha=5, "
                        "optim=adafactor; repeatable")
    p.add_argument("--lora-r", type=int, default=None, help="shorthand for --lora r=N (default 8)")
    p.add_argument("--lora-alpha", type=float, default=None, help="shorthand for --lora lora_alpha=X (default 16)")
    p.add_argument("--lora-dropout", type=float, default=None, help="shorthand for --lora lora_dropout=X (default 0.05)")
    p.add_argument("--target-modules", default=None, help="comma-separated module names (suffixes, as peft reads them); default: the model family's "
                        "(every projection of a decoder layer; fraudft.modeling.families)")
    p.add_argument("--rslora", action="store_true", help="scale by alpha/sqrt(r) instead of alpha/r")
    model_default = "default: the tiny recipe's for --model tiny, else the reference's"
    p.add_argument("--batch-size", type=int, default=None, help=model_default)
    p.add_argument("--grad-accum", type=int, default=None, help=model_default)
    p.add_argument("--epochs", type=float, default=3.0)
    p.add_argument("--max-steps", type=int, default=None, help=f"a fixed step budget (overrides --epochs); {model_default}")
    p.add_argument("--lr", type=float, default=None, help=model_default)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--warmup", type=float, default=0.0, help="ratio of steps if < 1, else steps")
    p.add_argument("--scheduler", default="linear")
    p.add_argument("--eval-steps", type=int, default=None, help=model_default)
    p.add_argument("--patience", type=int, default=None,
                   help=f"early-stopping patience in evaluations; 0 turns it off; {model_default}")
    p.add_argument("--gradient-checkpointing", action=argparse.BooleanOptionalAction, default=None,
                   help=f"on, off, or (the reference's default) auto: on only when activations would not fit; {model_default}")
    p.add_argument("--batching", choices=["padded", "length_grouped", "padding_free"], default=None,
                   help=f"padding-free flattened rows, padded random batches, or batches of similar length; {model_default}")
    p.add_argument("--loss", choices=["label_positions", "full"], default="label_positions")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (CUDA only)")
    p.add_argument("--liger", action="store_true",
                   help="Liger's fused RMSNorm, SwiGLU and RoPE Triton kernels (CUDA only; pip install 'fraudft[liger]')")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bar, no log lines of the Trainer")
    p.add_argument("--resume", action="store_true",
                   help="save full checkpoints every --eval-steps in OUT/checkpoints and continue from the last one there")
    p.add_argument("--overwrite", action="store_true",
                   help="train into a non-empty --out anew (its old checkpoints removed); without it, or --resume, that is refused")
    p.set_defaults(func=cmd_train, interrupted=interrupted)
    _PARSER_DEFAULTS.update({dest: p.get_default(dest) for dest in TRAIN_FLAGS.values()})
