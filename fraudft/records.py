"""Load, validate, summarise and split JSONL data in the reference format (REFERENCE §1).

    fraudft data validate train.jsonl eval.jsonl
    fraudft data stats eval.jsonl --json

    from fraudft.records import load_jsonl, load_named_splits
    splits = load_named_splits(["train.jsonl", "test.jsonl"])  # {"train": [...], "test": [...]}

One record a line: `input` (str, the dialogue), `label` (JSON bool), `fraud_speaker` (str, may be
empty), `instruction` (str); an optional `reason` (str) and any unknown extra fields are kept.
The label must be a JSON bool: the strings "true"/"false" and the numbers 0/1 are rejected, so
that a mislabelled file is caught instead of silently coerced.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path

from fraudft.errors import DataError, DataWarning, UsageError

REFERENCE_INSTRUCTION = (
    "\n下面是一段对话文本, 请分析对话内容是否有诈骗风险，以json格式输出你的判断结果(is_fraud: true/false)。\n"
)
REQUIRED_FIELDS = {"input": str, "label": bool, "fraud_speaker": str, "instruction": str}
OPTIONAL_FIELDS = {"reason": str}
JSON_TYPE_NAMES = {str: "a JSON string", bool: "a JSON bool (true or false)"}


def _describe(value) -> str:
    return f"{type(value).__name__} {json.dumps(value, ensure_ascii=False)[:40]}"


def validate_record(record, path: str | Path, line: int) -> dict:
    """Check one decoded record against the reference format; return it unchanged."""
    if not isinstance(record, dict):
        raise DataError(path, line, "record", f"got {_describe(record)}, expected a JSON object")
    for field, kind in {**REQUIRED_FIELDS, **OPTIONAL_FIELDS}.items():
        if field not in record:
            if field in REQUIRED_FIELDS:
                raise DataError(path, line, field, f"missing, expected {JSON_TYPE_NAMES[kind]}")
            continue
        if type(record[field]) is not kind:  # `type is`, not isinstance: 0/1 are not bools
            raise DataError(
                path, line, field, f"got {_describe(record[field])}, expected {JSON_TYPE_NAMES[kind]}"
            )
    return record


def load_jsonl(path: str | Path) -> list[dict]:
    """Read and validate a JSONL file; raise DataError on the first bad line.

    Records with an empty `input` are kept and reported in one DataWarning with their lines.
    """
    path = Path(path)
    try:
        raw_lines = path.read_bytes().split(b"\n")
    except OSError as err:
        raise DataError(path, None, "file", f"cannot be read ({err.strerror})") from err
    if raw_lines and raw_lines[-1].strip() == b"":
        raw_lines.pop()  # the newline that ends the last record
    if not raw_lines:
        raise DataError(path, None, "file", "is empty, expected one JSON record per line")
    records, empty_inputs = [], []
    for line_no, raw in enumerate(raw_lines, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise DataError(
                path, line_no, "encoding", f"byte {err.start} is not valid UTF-8, expected UTF-8 text"
            ) from err
        if not text.strip():
            raise DataError(path, line_no, "record", "blank line, expected a JSON object")
        try:
            record = json.loads(text)
        except json.JSONDecodeError as err:
            raise DataError(
                path, line_no, "json", f"{err.msg} at column {err.colno}, expected one JSON object"
            ) from err
        records.append(validate_record(record, path, line_no))
        if not record["input"].strip():
            empty_inputs.append(line_no)
    if empty_inputs:
        warnings.warn(
            f"{path}: {len(empty_inputs)} record(s) with an empty input, at line(s) "
            f"{', '.join(map(str, empty_inputs))}",
            DataWarning,
            stacklevel=2,
        )
    return records


def write_jsonl(records: list[dict], path: str | Path) -> None:
    """Write records as UTF-8 JSONL, atomically (a temp file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False) as tmp:
        try:
            for record in records:
                tmp.write(json.dumps(record, ensure_ascii=False) + "\n")
        except BaseException:
            os.unlink(tmp.name)  # leave no temp file behind when a record cannot be written
            raise
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp.name, 0o666 & ~umask)  # the usual mode of a new file, not the temp file's 0600
    os.replace(tmp.name, path)


def count_turns(dialogue: str) -> int:
    """Number of non-empty lines of a dialogue."""
    return sum(1 for line in dialogue.split("\n") if line.strip())


def summarize(records: list[dict]) -> dict:
    """Label distribution (as the article's view_data_distribution) and length statistics per class."""
    import pandas as pd  # imported here: `fraudft data validate` needs neither pandas nor sklearn

    frame = pd.DataFrame(
        {
            "label": [r["label"] for r in records],
            "chars": [len(r["input"]) for r in records],
            "turns": [count_turns(r["input"]) for r in records],
        }
    )
    per_class = {}
    for label, name in ((True, "true"), (False, "false")):
        part = frame[frame["label"] == label]
        per_class[name] = {
            column: {
                stat: (float(part[column].agg(stat)) if len(part) else None)
                for stat in ("mean", "median", "min", "max")
            }
            for column in ("chars", "turns")
        }
    return {
        "total_count": len(frame),
        "true_count": int(frame["label"].sum()),
        "false_count": int((~frame["label"].astype(bool)).sum()),
        "per_class": per_class,
    }


def stratified_split(
    records: list[dict], fractions: tuple[float, ...] = (0.8, 0.1, 0.1), seed: int = 0
) -> list[list[dict]]:
    """Split records into len(fractions) parts with the same label ratio in each (seeded)."""
    from sklearn.model_selection import train_test_split

    if any(f <= 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions: got {fractions}, expected positive numbers summing to 1")
    parts, rest, left = [], list(records), 1.0
    for fraction in fractions[:-1]:
        taken, rest = train_test_split(
            rest, train_size=fraction / left, random_state=seed, stratify=[r["label"] for r in rest]
        )
        parts.append(taken)
        left -= fraction
    parts.append(rest)
    return parts


def load_named_splits(paths: list[str | Path]) -> dict[str, list[dict]]:
    """Load files as splits named by their stem (train.jsonl -> train); by path if stems collide."""
    paths = [Path(p) for p in paths]
    if len({p.resolve() for p in paths}) < len(paths):
        raise UsageError(f"files: {', '.join(map(str, paths))}: a file is given twice, expected distinct files")
    stems = [p.stem for p in paths]
    names = stems if len(set(stems)) == len(stems) else [str(p) for p in paths]
    return {name: load_jsonl(path) for name, path in zip(names, paths)}
