"""The dialogue templates of the synthetic data, loaded and checked from JSON package data.

    from fraudft.synthetic.scripts import FRAUD_SCRIPTS, NEGATIVE_SCRIPTS, FILLERS, PHRASES
    load_scripts(Path("my_scripts/fraud"))   # the same checks on your own templates

Layout under `fraudft/synthetic/templates/`:
- `fraud/NN_<scheme>.json`, `negative/NN_<kind>.json`: one scheme or benign situation per file, loaded
  in file-name order (the NN prefix fixes it, and with it the generated data). Fields: `roles`
  (name-style tags of the main speaker A under shortcut="speaker_tag"), `opening`, `core` (each line
  alone carries the scheme or the benign situation), `closing` (lines of A) and `replies` (lines of
  the other speaker B). Lines may hold `{slot}`s named in fillers.json.
- `fillers.json`: slot name -> list of values to choose from, or `{"randrange": [start, stop],
  "format": "{:04d}"}` for a formatted random integer.
- `phrases.json`: phrases shared by both classes (neutral replies, bystander lines, padding, person
  tags), so they carry no label information.

A malformed file raises DataError naming the file, the field and what was expected.
"""

from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from fraudft.core.errors import DataError

TEMPLATES_DIR = Path(__file__).with_name("templates")
SCRIPT_FIELDS = ("roles", "opening", "core", "closing", "replies")
PHRASE_FIELDS = ("neutral_replies", "bystander_lines", "pad_prefixes", "pad_suffixes", "person_tags")
# The most lines speaker A says in one dialogue (up to 12 turns); with no opening or closing drawn,
# they all come from `core`, and B's lines come from `replies` plus the neutral replies.
MAX_A_LINES = 6
LINE_ENDINGS = ("。", "？")  # the last character is what the "！" punctuation draws replace


@dataclass(frozen=True)
class Script:
    """One scheme or negative kind: lines of the main speaker (A) and of the other speaker (B)."""

    name: str
    roles: tuple[str, ...]
    opening: tuple[str, ...]
    core: tuple[str, ...]
    closing: tuple[str, ...]
    replies: tuple[str, ...]


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataError(path, err.lineno, "json", f"{err.msg}, expected a JSON object") from err
    if not isinstance(data, dict):
        raise DataError(path, None, "json", f"got {type(data).__name__}, expected a JSON object")
    return data


def _keys(path: Path, data: dict, expected) -> None:
    missing, extra = [k for k in expected if k not in data], sorted(set(data) - set(expected))
    if missing or extra:
        field = (missing or extra)[0]
        raise DataError(path, None, field, f"{'missing' if missing else 'unknown'} field, expected exactly {', '.join(expected)}")


def _strings(path: Path, data: dict, field: str, minimum: int = 1) -> tuple[str, ...]:
    values = data[field]
    if not isinstance(values, list) or len(values) < minimum:
        raise DataError(path, None, field, f"got {values!r:.60}, expected a list of at least {minimum} strings")
    for i, value in enumerate(values):
        if not isinstance(value, str) or not value.strip():
            raise DataError(path, None, f"{field}[{i}]", f"got {value!r}, expected a non-empty string")
    if len(set(values)) < len(values):
        raise DataError(path, None, field, "has duplicate entries, expected distinct strings")
    return tuple(values)


def _check_lines(path: Path, field: str, lines: tuple[str, ...], slots) -> None:
    for i, line in enumerate(lines):
        where = f"{field}[{i}]"
        if "！" in line or "\n" in line or ":" in line:
            raise DataError(path, None, where, f"{line!r}: expected no '！', ':' or newline (they mark shortcuts and speakers)")
        if not line.endswith(LINE_ENDINGS):
            raise DataError(path, None, where, f"{line!r}: expected to end with one of {' '.join(LINE_ENDINGS)}")
        try:
            names = [name for _, name, _, _ in string.Formatter().parse(line) if name is not None]
        except ValueError as err:
            raise DataError(path, None, where, f"{line!r}: {err}, expected {{slot}} fields only") from err
        for name in names:
            if name not in slots:
                raise DataError(path, None, where, f"unknown slot {{{name}}}, expected one of fillers.json: {', '.join(sorted(slots))}")


def load_fillers(path: Path = TEMPLATES_DIR / "fillers.json") -> dict[str, Callable[[random.Random], str]]:
    """Slot name -> a function drawing one value with the dialogue's random generator."""
    fillers = {}
    for name, spec in _read(path).items():
        if isinstance(spec, list):
            options = _strings(path, {name: spec}, name)
            fillers[name] = lambda rng, options=options: rng.choice(options)
            continue
        if not isinstance(spec, dict) or set(spec) != {"randrange", "format"}:
            raise DataError(path, None, name, 'expected a list of strings or {"randrange": [start, stop], "format": "{...}"}')
        bounds, fmt = spec["randrange"], spec["format"]
        if not (isinstance(bounds, list) and len(bounds) == 2 and all(type(b) is int for b in bounds) and bounds[0] < bounds[1]):
            raise DataError(path, None, f"{name}.randrange", f"got {bounds!r}, expected [start, stop] integers, start < stop")
        try:
            fmt.format(bounds[0])
        except (AttributeError, ValueError, IndexError, KeyError) as err:
            raise DataError(path, None, f"{name}.format", f"got {fmt!r}, expected a format string for one integer") from err
        fillers[name] = lambda rng, start=bounds[0], stop=bounds[1], fmt=fmt: fmt.format(rng.randrange(start, stop))
    return fillers


def load_phrases(path: Path = TEMPLATES_DIR / "phrases.json") -> dict[str, tuple[str, ...]]:
    """The phrases shared by both classes, by PHRASE_FIELDS name."""
    data = _read(path)
    _keys(path, data, PHRASE_FIELDS)
    phrases = {field: _strings(path, data, field) for field in PHRASE_FIELDS}
    for field in ("neutral_replies", "bystander_lines"):
        _check_lines(path, field, phrases[field], {})
    return phrases


def load_script(path: Path, slots, neutral_replies: tuple[str, ...] = ()) -> Script:
    """One scheme file; its name is the file name without the NN_ prefix."""
    data = _read(path)
    _keys(path, data, SCRIPT_FIELDS)
    fields = {field: _strings(path, data, field, MAX_A_LINES if field == "core" else 1) for field in SCRIPT_FIELDS}
    for field in ("opening", "core", "closing", "replies"):
        _check_lines(path, field, fields[field], slots)
    if len(fields["replies"]) + len(neutral_replies) < MAX_A_LINES:
        raise DataError(path, None, "replies", f"expected at least {MAX_A_LINES} lines together with the neutral replies")
    return Script(path.stem.split("_", 1)[-1], **fields)


def load_scripts(folder: Path, slots=None, neutral_replies: tuple[str, ...] | None = None) -> tuple[Script, ...]:
    """Every `*.json` script in `folder`, in file-name order."""
    slots = FILLERS if slots is None else slots
    neutral_replies = PHRASES["neutral_replies"] if neutral_replies is None else neutral_replies
    paths = sorted(folder.glob("*.json"))
    if not paths:
        raise DataError(folder, None, "scripts", "no *.json files, expected one file per scheme or kind")
    return tuple(load_script(path, slots, neutral_replies) for path in paths)


FILLERS = load_fillers()
PHRASES = load_phrases()
FRAUD_SCRIPTS = load_scripts(TEMPLATES_DIR / "fraud")
NEGATIVE_SCRIPTS = load_scripts(TEMPLATES_DIR / "negative")
