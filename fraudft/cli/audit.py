"""`fraudft audit` and `fraudft mitigate`: find shortcuts and leaks in splits, and remove them.

    fraudft audit train.jsonl eval.jsonl test.jsonl [--json] [--fail-on warn|fail|never]
    fraudft mitigate train.jsonl eval.jsonl test.jsonl --out-dir clean/ --neutralize-speakers --dedupe
    fraudft audit train.csv eval.csv test.csv --column-map label=is_fraud   # any format of fraudft.data.formats

mitigate writes JSONL (clean/train.jsonl for train.csv). Its reports number records as in the input
files (line, item or row), whichever transforms ran before.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fraudft.core import jsonio
from fraudft.core.errors import UsageError
from fraudft.cli.options import add_data_format_options, read_named_splits, split_places
from fraudft.data.records import write_jsonl

# The audit's levels that can set the exit code (fraudft.audit.FAIL_ON; a test keeps them equal).
# Spelled out here so that building the parser does not import the audit and numpy.
FAIL_ON = ("warn", "fail", "never")


def cmd_audit(args) -> int:
    from fraudft.audit import AuditConfig, audit, load_tokenizer_or_none

    splits = read_named_splits(args, args.files)
    tokenizer = load_tokenizer_or_none(args.tokenizer)
    report = audit(splits, AuditConfig(), tokenizer=tokenizer, places=split_places(args, args.files, splits))
    if tokenizer is not None:
        report.tokenizer = args.tokenizer
    if args.json:
        print(jsonio.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(report.to_text())
    return report.exit_code(args.fail_on)


def cmd_mitigate(args) -> int:
    from fraudft.data.transforms import (
        describe_change,
        drop_cross_split_duplicates,
        drop_shared_lines,
        drop_within_split_duplicates,
        neutralize_speakers,
    )

    if not (args.neutralize_speakers or args.dedupe or args.drop_shared_lines):
        raise UsageError("mitigate: no transform chosen, expected --neutralize-speakers, --dedupe and/or --drop-shared-lines")
    paths = [Path(p) for p in args.files]
    out_dir = Path(args.out_dir)
    targets = [out_dir / f"{p.stem}.jsonl" for p in paths]  # JSONL, whatever the input format
    if len({t.name for t in targets}) < len(targets):
        raise UsageError("files: two files have the same stem, expected distinct file names for --out-dir (it gets STEM.jsonl)")
    for path, target in zip(paths, targets):
        if target.resolve() == path.resolve():
            raise UsageError(f"{target}: --out-dir: would overwrite the input, expected another folder")
    splits = read_named_splits(args, paths)
    names = list(splits)
    places = split_places(args, paths, splits)
    if (args.dedupe or args.drop_shared_lines) and args.keep not in splits:
        raise UsageError(f"--keep: got {args.keep!r}, expected one of the splits ({', '.join(names)})")
    reports = {}
    if args.neutralize_speakers:
        reports["neutralize_speakers"] = {}
        for name in names:
            splits[name], reports["neutralize_speakers"][name] = neutralize_speakers(splits[name])
    numbers = {name: list(range(1, len(splits[name]) + 1)) for name in names}  # each record's number in its file
    if args.dedupe:
        reports["drop_within_split_duplicates"] = {}
        for name in names:
            splits[name], reports["drop_within_split_duplicates"][name] = drop_within_split_duplicates(splits[name])
            _renumber(reports["drop_within_split_duplicates"][name], numbers, name)
        splits, reports["drop_cross_split_duplicates"] = drop_cross_split_duplicates(splits, keep=args.keep)
        for name in names:
            _renumber(reports["drop_cross_split_duplicates"]["splits"][name], numbers, name)
    if args.drop_shared_lines:
        splits, reports["drop_shared_lines"] = drop_shared_lines(splits, keep=args.keep)
        for name in names:
            _renumber(reports["drop_shared_lines"]["splits"][name], numbers, name)
    for name, target in zip(names, targets):
        write_jsonl(splits[name], target)
    if args.json:
        print(jsonio.dumps({"files": {name: str(t) for name, t in zip(names, targets)}, "changes": reports},
                         ensure_ascii=False, indent=2))
        return 0
    for transform, report in reports.items():
        print(f"{transform}:")
        if transform in ("neutralize_speakers", "drop_within_split_duplicates"):
            for name, r in report.items():
                print(f"  {name}: " + describe_change(r, places[name])[0])
        else:
            print("\n".join("  " + line for line in describe_change(report)))
    for name, target in zip(names, targets):
        print(f"{target}: wrote {len(splits[name])} records ({name})", file=sys.stderr)
    return 0


def _renumber(report: dict, numbers: dict[str, list[int]], name: str) -> None:
    """Rewrite a drop transform's record numbers (1-based, in the records it was given) as numbers in
    the split's file, and forget the dropped ones in `numbers[name]`."""
    current = numbers[name]
    to_file = lambda k: current[k - 1]
    report["dropped_lines"] = [to_file(k) for k in report["dropped_lines"]]
    for group in report.get("duplicates", ()):
        group["kept"], group["dropped"] = to_file(group["kept"]), [to_file(k) for k in group["dropped"]]
    if "conflicts" in report:
        report["conflicts"] = [[to_file(k) for k in g] for g in report["conflicts"]]
    gone = set(report["dropped_lines"])
    numbers[name] = [n for n in current if n not in gone]


def register(commands) -> None:
    p = commands.add_parser("audit", help="find label shortcuts, leakage between splits and inconsistent records")
    p.add_argument("files", nargs="+", metavar="FILE", help="one file per split (named by its stem), any format of fraudft.data.formats")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--fail-on", choices=FAIL_ON, default="fail",
                   help="exit 1 when a finding reaches this level (default: fail; never: only report)")
    p.add_argument("--tokenizer", default="qwen2-offline",
                   help="qwen2-offline (default), a local path or hub id for token counts, or none")
    add_data_format_options(p)
    p.set_defaults(func=cmd_audit)

    p = commands.add_parser("mitigate", help="write transformed copies of splits (neutral speakers, no leaks)")
    p.add_argument("files", nargs="+", metavar="FILE", help="one file per split (named by its stem), any format of fraudft.data.formats")
    p.add_argument("--out-dir", required=True, help="folder for the transformed files, as JSONL (STEM.jsonl for each input file)")
    p.add_argument("--neutralize-speakers", action="store_true", help="rename each dialogue's speakers 发言人1, 发言人2, ...")
    p.add_argument("--dedupe", action="store_true",
                   help="drop repeated inputs inside each split (the first copy kept; a group with conflicting labels "
                        "dropped whole), then from other splits the inputs also in the kept split")
    p.add_argument("--drop-shared-lines", action="store_true",
                   help="drop from other splits the records sharing a meaningful line with the kept split")
    p.add_argument("--keep", default="train", help="the split that keeps its records (default: train)")
    p.add_argument("--json", action="store_true", help="print the change reports as JSON")
    add_data_format_options(p)
    p.set_defaults(func=cmd_mitigate)
