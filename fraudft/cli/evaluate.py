"""`fraudft evaluate`: precision, recall and F1 of a model (and adapter) on labelled data.

    fraudft evaluate --model tiny --adapter runs/r8 --data data/test.jsonl --max-length 256
    fraudft evaluate --model tiny --adapter runs/r8 --data test.jsonl --perturb neutralize_speakers
    fraudft evaluate ... --perturb mask_top_ngrams --train train.jsonl   # n-grams found on train
    fraudft evaluate ... --perturb neutralize_speakers --perturb swap_speaker_names   # each set on its own
    fraudft evaluate ... --data test.jsonl --extra-test other=other.jsonl  # and an out-of-distribution set

--perturb NAME (fraudft.audit.counterfactuals; repeatable, each set scored on its own) scores the same
model on the data and on each counterfactual and prints, after the data's own figures, per set the flip
rate, the mean change of P(fraud) and the MCC delta, each with its 95% interval
(fraudft.results.robustness), and how many records the counterfactual changed. --json: the data's
summary as without --perturb, plus "perturbations", a list of one object per set in the order given.

The summary says how many dialogues were shortened to fit --max-length and the tokens removed;
in generate mode, how replies read (status counts; --json lists each reply with its status), the
invalid replies cut at --max-new-tokens apart from the malformed ones and, for the three-field
answer, speaker accuracy and reason ROUGE-L (fraudft.metrics.answers).

The task format (--prompt, --system-prompt, --separator, --answer), --max-length and generate
mode's --max-new-tokens default to those saved with the adapter by `fraudft train` (the length it
trained at; its longest trained answer + a margin); flags given win. A --model folder written by
`fraudft export` holds them too, so it needs no --adapter. Without either: the default format, 2048
tokens and 32 new tokens.

--adapter on a base other than the one it was trained on (recorded beside it by `fraudft train`: its
weights' and tokenizer's fingerprints, fraudft.modeling.provenance) stops with one line naming both;
--allow-other-base loads it anyway (a deliberate transfer).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from fraudft.cli.options import (
    add_base_check_option,
    add_model_options,
    base_of,
    config_from_flags,
    add_data_format_options,
    add_task_format_options,
    print_json,
    read_records,
    task_format_from,
    tokenizer_for,
)
from fraudft.core.errors import UsageError


def adapter_folder(given: str) -> Path:
    """The adapter in `given`: the folder itself, or the adapter/ that `fraudft train --out` wrote."""
    for folder in (Path(given), Path(given) / "adapter"):
        if (folder / "adapter_config.json").exists():
            return folder
    raise UsageError(f"{given}: adapter: no adapter_config.json in it or in its adapter/, expected "
                     "the --out folder of `fraudft train` or its adapter/")


def _check_perturb(args) -> None:
    """UsageError (one line) when a --perturb names no counterfactual or lacks what it needs, or names one twice."""
    from fraudft.audit.counterfactuals import COUNTERFACTUALS

    for name in args.perturb:
        if COUNTERFACTUALS.lookup(name, option="--perturb").needs_train and not args.train:
            raise UsageError(f"--perturb {name}: give --train TRAIN.jsonl, the split the n-grams are found on")
    twice = [name for name in dict.fromkeys(args.perturb) if args.perturb.count(name) > 1]
    if twice:
        raise UsageError(f"--perturb: {', '.join(twice)} given twice, expected each counterfactual set once")
    if args.n_resamples < 1:
        raise UsageError(f"--n-resamples: got {args.n_resamples}, expected >= 1")


def _perturbations(args, result: dict, records: list[dict], labels: list[int], strict: list[int], model, tokenizer,
                   config) -> list[dict]:
    """One entry per --perturb NAME, in the order given: {"perturb", "records", "change", "flip_rate",
    "mean_delta_p", "mcc_delta", "directional", "perturbed_metrics"} of the model on that counterfactual
    of the data against its answers on the data itself."""
    from fraudft.audit.counterfactuals import counterfactual
    from fraudft.engine.evaluate import evaluate
    from fraudft.results.robustness import directional_figures, robustness

    train = read_records(args, args.train) if args.train else None
    out = []
    for name in args.perturb:
        changed_records, change = counterfactual(name, records, train=train, seed=args.perturb_seed)
        changed = evaluate(model, tokenizer, changed_records, config)
        changed_strict = [int(not y) if p is None else int(p) for y, p in zip(labels, changed["predictions"])]
        figures = robustness(labels, strict, changed_strict, result.get("probabilities"), changed.get("probabilities"),
                             n_resamples=args.n_resamples)
        figures["directional"] = directional_figures(name, labels, result.get("probabilities"),
                                                     changed.get("probabilities"),
                                                     [u["line"] for u in change["unchanged"]], args.n_resamples)
        out.append({"perturb": name, "records": len(records), "change": change, **figures,
                    "perturbed_metrics": changed["metrics"]})
    return out


def _print_perturbations(args, perturbations: list[dict]) -> None:
    from fraudft.results.robustness import robustness_cells

    for p in perturbations:
        change = p["change"]
        cells = robustness_cells({"records_changed": change["records_changed"],
                                  "records_unchanged": change["records_unchanged"], **p})
        why = ", ".join(f"{n} {reason}" for reason, n in change["unchanged_why"].items())
        print(f"{args.data} under {p['perturb']}: {cells[0]} records changed" + (f" (unchanged: {why})" if why else ""))
        print(f"  flip rate {cells[1]}  (fraud->not {p['flip_rate']['to_not_fraud']}, "
              f"not->fraud {p['flip_rate']['to_fraud']})")
        print(f"  mean ΔP(fraud) {cells[2]}")
        print(f"  MCC perturbed − original {cells[3]}")
        if cells[4]:
            print(f"  directional: share of changed records whose P(fraud) fell {cells[4]}")


def _score_extra(args, extras: dict[str, list[dict]], model, tokenizer, config) -> dict[str, dict]:
    """{NAME: {n, examples_per_s, seconds, metrics, all_metrics}} of the model on each --extra-test set
    (one scoring pass each); a metric a set cannot define (one class) is named with why in all_metrics."""
    from fraudft.engine.evaluate import evaluate
    from fraudft.experiment.extra_tests import extra_name

    out = {}
    for name, records in extras.items():
        result = evaluate(model, tokenizer, records, config)
        labels = [int(r["label"]) for r in records]
        out[extra_name(name)] = {"data": dict(args.extra_tests)[extra_name(name)], "n": len(records),
                                 "fraud": sum(labels), "examples_per_s": result["examples_per_s"],
                                 "seconds": result["seconds"], "metrics": result["metrics"],
                                 "all_metrics": registry_figures(result["metrics"])}
    return out


def registry_figures(metrics: dict) -> dict[str, dict]:
    """{name: {"value", "undefined"}} of every registered metric, read from evaluate's metrics
    (fraudft.engine.evaluate.metric_figures: an undefined one None, its reason in metrics["undefined"])."""
    from fraudft.metrics.registry import METRICS

    reasons = metrics.get("undefined") or {}
    return {name: {"value": metrics.get(name), "undefined": reasons.get(name)} for name in METRICS}


def _value(value: float | None, why: str | None) -> str:
    """A figure as text: an undefined one as "— (why)", never as 0."""
    return f"{value:.4f}" if value is not None else f"— ({why})"


def _figures(all_metrics: dict) -> dict[str, str]:
    """Every registry figure as text: an undefined one as "— (why)", never as 0."""
    return {name: _value(v["value"], v["undefined"]) for name, v in all_metrics.items()}


def _print_extra(extra: dict[str, dict]) -> None:
    for name, e in extra.items():
        figures, m = _figures(e["all_metrics"]), e["metrics"]
        print(f"extra:{name} ({e['data']}): {e['n']} records ({e['fraud']} fraud), {e['examples_per_s']:.1f} examples/s")
        print(f"  tn/fp/fn/tp {m['tn']}/{m['fp']}/{m['fn']}/{m['tp']}  " + "  ".join(f"{k} {v}" for k, v in figures.items()))


DEFAULT_MAX_LENGTH = 2048  # tokens, without --max-length or an adapter that saved its own


def cmd_evaluate(args) -> int:
    from fraudft.engine.evaluate import EvalConfig, NonFiniteScores, evaluate
    from fraudft.modeling.models import load_model
    from fraudft.modeling.taskformat import SAVED_FORMAT, read_saved_format, saved_max_length

    adapter = adapter_folder(args.adapter) if args.adapter else None
    # the format saved with the adapter, else with a model `fraudft export` wrote
    format_folder = adapter or (Path(args.model) if (Path(args.model) / SAVED_FORMAT).is_file() else None)
    saved = read_saved_format(format_folder) if format_folder else None
    task_format = task_format_from(args, saved[0] if saved else None)
    # the saved limit fits the saved answer schema only
    max_new_tokens = args.max_new_tokens or (saved[1] if saved and saved[0].answer == task_format.answer else None)
    records = read_records(args, args.data)
    task_format.check_records(records, args.data, training=False)
    from fraudft.experiment.extra_tests import load_extra_tests, parse_extra_tests

    args.extra_tests = parse_extra_tests(args.extra_test)
    extras = load_extra_tests(args.extra_tests, args.format, args.column_map)  # bad data fails before the model loads
    for (_, path), extra_records in zip(args.extra_tests, extras.values()):
        task_format.check_records(extra_records, path, training=False)
    if args.perturb:
        _check_perturb(args)  # bad --perturb input fails before the model loads
    # --max-length, else the length the adapter was trained at, else 2048
    max_length = args.max_length or (saved_max_length(format_folder) if format_folder else None) or DEFAULT_MAX_LENGTH
    config = config_from_flags(EvalConfig, mode=args.mode, batch_size=args.batch_size, threshold=args.threshold,
                               max_length=max_length, max_new_tokens=max_new_tokens, progress=not args.json,
                               format=task_format)
    tokenizer = tokenizer_for(args, task_format)
    model = load_model(args.model, seed=args.model_seed, trust_remote_code=args.trust_remote_code)
    if adapter:
        from peft import PeftModel

        from fraudft.modeling.provenance import check_base

        check_base(adapter, base_of(args, model, tokenizer), args.adapter, args.allow_other_base)
        model = PeftModel.from_pretrained(model, adapter)
    try:
        result = evaluate(model, tokenizer, records, config)
    except NonFiniteScores as err:
        raise UsageError(f"{adapter or args.model}: {err}") from None
    labels = [int(r["label"]) for r in records]
    strict = [int(not y) if p is None else int(p) for y, p in zip(labels, result["predictions"])]  # invalid: wrong
    # Every metric of the registry (fraudft.metrics.registry), the score metrics from P(fraud) in score mode.
    result["all_metrics"] = registry_figures(result["metrics"])
    extra = _score_extra(args, extras, model, tokenizer, config)
    perturbations = _perturbations(args, result, records, labels, strict, model, tokenizer, config) if args.perturb else []
    summary = {k: v for k, v in result.items() if k not in ("predictions", "probabilities")}
    summary["format"] = task_format.to_dict()
    if args.json:  # the main figures always; each --perturb set and each --extra-test set beside them
        print_json({**summary, **({"perturbations": perturbations} if args.perturb else {}),
                    **({"extra_tests": extra} if extra else {})})
        return 0
    m = result["metrics"]
    print(f"{args.data}: {m['n']} records, mode {result['mode']}, {result['examples_per_s']:.1f} examples/s")
    # Every figure from the metric registry: an undefined one shows as "— (why)", never as 0.
    from fraudft.results.views import view_metrics

    figures, headline = _figures(result["all_metrics"]), view_metrics("evaluate")  # fraudft.results.views
    print(f"  tn/fp/fn/tp {m['tn']}/{m['fp']}/{m['fn']}/{m['tp']}  "
          + "".join(f"{name} {figures[name]}  " for name in headline)
          + f"accuracy {m['accuracy']:.4f}  invalid {m['invalid']}")
    print(f"  truncated to --max-length {config.max_length}: {result['truncated']} of {m['n']} dialogues, "
          f"{result['tokens_removed']} tokens removed")
    print("  " + "  ".join(f"{name} {text}" for name, text in figures.items() if name not in headline))
    if "reference_metrics" in result:
        r = result["reference_metrics"]
        print(f"  as the reference counts it (invalid = not fraud): tn/fp/fn/tp {r['tn']}/{r['fp']}/{r['fn']}/{r['tp']}"
              + "".join(f"  {name} {_value(r[name], r['undefined'].get(name))}" for name in headline))
    if "replies" in result:
        counts = Counter(reply["status"] for reply in result["replies"])
        print(f"  replies ({result['cut']} cut at --max-new-tokens {config.new_tokens}; --json lists each): "
              + ", ".join(f"{n} {status}" for status, n in counts.most_common()))
        print(f"  invalid {m['invalid']}: {m['invalid_cut']} cut at --max-new-tokens {config.new_tokens}, "
              f"{m['invalid_malformed']} malformed")
    for name, label in (("speaker_accuracy", "speaker accuracy"), ("reason_rouge_l", "reason ROUGE-L (characters)")):
        if name in m:
            v = m[name]
            value = _value(v["value"], v["undefined"])
            print(f"  {label} {value}  (n {v['n']}: {v['denominator']})")
    _print_perturbations(args, perturbations)
    _print_extra(extra)
    return 0


def register(commands) -> None:
    p = commands.add_parser("evaluate", help="precision, recall, F1 of a model (and adapter) on labelled data")
    add_model_options(p, max_length_default=None)
    p.add_argument("--adapter", default=None, help="the --out folder of `fraudft train`, or its adapter/")
    add_base_check_option(p)
    p.add_argument("--data", required=True)
    add_data_format_options(p)
    add_task_format_options(p)
    p.add_argument("--mode", choices=["score", "generate"], default="score")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--max-new-tokens", type=int, default=None,
                   help="generate mode's reply limit (default: the one saved with the adapter, else 32)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--perturb", action="append", default=None, metavar="NAME",
                   help="also score the counterfactual NAME of the data, repeatable, each set on its own (a set registered in "
                        "fraudft.audit.counterfactuals, e.g. neutralize_speakers; an unknown NAME lists them all) and report "
                        "the flip rate, mean change of P(fraud) and MCC delta with 95%% intervals")
    p.add_argument("--train", default=None, help="--perturb mask_top_ngrams: the train split the n-grams are found on")
    p.add_argument("--perturb-seed", type=int, default=0, help="--perturb swap_speaker_names: the seed of the draws")
    p.add_argument("--extra-test", action="append", default=None, metavar="NAME=PATH",
                   help="also score this out-of-distribution set (read with --format/--column-map); repeatable")
    p.add_argument("--n-resamples", type=int, default=10_000, help="bootstrap draws of the --perturb intervals")
    p.set_defaults(func=cmd_evaluate)
