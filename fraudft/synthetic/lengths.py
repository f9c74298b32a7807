"""Length profiles: per-record dialogue lengths drawn from a shipped quantile table.

    generate(SynthConfig(lengths="reference"))        # lengths like the real eval split
    fraudft data synth --n 1500 --lengths reference --out train.jsonl

`profiles/reference.json` holds quantiles (numbers only) of the real eval split eval0819: characters
and tokens (qwen2-offline) of `input`, and tokens of whole encoded examples. A record's target
is drawn from the `input_tokens` quantiles by inverse-CDF sampling, the same way for both classes
(so length is no shortcut), and turned into characters with `synthetic_chars_per_token`, the ratio
measured on the synthetic text itself (the templates need more tokens per character than the real
transcripts, so matching characters would overshoot the tokens). Refit the table from the real split:

    python -c "from fraudft.data.loading import load_jsonl; from fraudft.synthetic.lengths import fit_profile; \
        from fraudft.modeling.tokenizer import load_tokenizer; from fraudft.modeling.encode import Encoder; \
        tok = load_tokenizer('qwen2-offline'); enc = Encoder(tok); import json; print(json.dumps(fit_profile( \
        load_jsonl('../shared/data/eval0819.jsonl'), lambda t: len(tok(t, add_special_tokens=False)['input_ids']), \
        lambda r: len(enc.encode(r)['input_ids'])), indent=1))"
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from fraudft.core.errors import DataError
from fraudft.synthetic.scripts import MAX_A_LINES

LENGTHS: tuple[str, ...] = ("synthetic", "reference")  # "synthetic": the generator's own short dialogues
PROFILES_DIR = Path(__file__).with_name("profiles")
PERCENTILES = tuple(range(0, 101, 2))
MAX_TURNS = 2 * MAX_A_LINES  # A speaks at most every other turn
CHARS_PER_TURN = (30, 50)  # drawn per record: longer dialogues have more turns, as in the reference
MIN_LINE_CHARS = 4  # the cut keeps at least this much of the first line of A (the fraud speaker)


@dataclass(frozen=True)
class LengthProfile:
    """Target lengths: `input_tokens` quantiles at `percentiles`, turned into characters."""

    name: str
    percentiles: tuple[float, ...]
    input_tokens: tuple[float, ...]
    synthetic_chars_per_token: float

    def target_chars(self, rng: random.Random) -> int:
        """One target length in characters, by inverse-CDF sampling of the token quantiles."""
        tokens = float(np.interp(rng.random() * 100, self.percentiles, self.input_tokens))
        return max(1, round(tokens * self.synthetic_chars_per_token))

    def turns(self, rng: random.Random, target: int) -> int:
        """Turns for a dialogue of `target` characters (from the target alone, never the label)."""
        return min(MAX_TURNS, max(2, round(target / rng.uniform(*CHARS_PER_TURN))))


def _numbers(path: Path, data: dict, field: str, count: int | None = None) -> tuple[float, ...]:
    values = data.get(field)
    ok = isinstance(values, list) and all(type(v) in (int, float) and v >= 0 for v in values)
    if not ok or (count is not None and len(values) != count) or list(values) != sorted(values):
        expected = f"{count} " if count is not None else ""
        raise DataError(path, None, field, f"got {values!r:.60}, expected {expected}non-decreasing numbers >= 0")
    return tuple(float(v) for v in values)


@lru_cache(maxsize=None)
def load_profile(name: str) -> LengthProfile:
    """The profile `profiles/<name>.json` (quantile table and chars-per-token ratio)."""
    path = PROFILES_DIR / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataError(path, err.lineno, "json", f"{err.msg}, expected a JSON object") from err
    percentiles = _numbers(path, data, "percentiles")
    if len(percentiles) < 2 or percentiles[0] != 0 or percentiles[-1] != 100:
        raise DataError(path, None, "percentiles", "expected an increasing list from 0 to 100")
    tokens = _numbers(path, data, "input_tokens", len(percentiles))
    ratio = data.get("synthetic_chars_per_token")
    if type(ratio) not in (int, float) or not 0.1 <= ratio <= 10:
        raise DataError(path, None, "synthetic_chars_per_token", f"got {ratio!r}, expected a number in [0.1, 10]")
    return LengthProfile(name, percentiles, tokens, float(ratio))


def fit_profile(
    records: list[dict],
    count_tokens: Callable[[str], int],
    count_encoded: Callable[[dict], int],
    synthetic_chars_per_token: float | None = None,
) -> dict:
    """The quantile table of `records` with a non-empty input (the JSON stored in profiles/)."""
    kept = [r for r in records if r["input"].strip()]
    measures = {
        "input_chars": [len(r["input"]) for r in kept],
        "input_tokens": [count_tokens(r["input"]) for r in kept],
        "encoded_tokens": [count_encoded(r) for r in kept],
    }
    table = {"records": len(kept), "left_out_empty": len(records) - len(kept), "percentiles": list(PERCENTILES)}
    for field, values in measures.items():
        table[field] = [round(float(q), 1) for q in np.percentile(values, PERCENTILES)]
    if synthetic_chars_per_token is not None:
        table["synthetic_chars_per_token"] = synthetic_chars_per_token
    return table


def cut(lines: list[str], target: int, keep: int) -> list[str]:
    """The dialogue's first `target` characters (lines joined by "\\n"), whole `tag: text` lines only
    where the cut falls inside a tag; line `keep` (the first of A) keeps its tag and some text."""
    start = sum(len(line) + 1 for line in lines[:keep])
    floor = start + lines[keep].index(": ") + 2 + MIN_LINE_CHARS
    kept = "\n".join(lines)[: max(target, floor)].split("\n")
    last = kept[-1]
    if len(last) <= lines[len(kept) - 1].index(": ") + 2:  # nothing left of the text after the tag
        kept.pop()
    return kept
