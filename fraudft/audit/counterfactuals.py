"""Counterfactual test sets: label-keeping rewrites of records that change one feature only.

    from fraudft.audit.counterfactuals import COUNTERFACTUALS, counterfactual
    records, report = counterfactual("swap_speaker_names", test, seed=0)
    records, report = counterfactual("mask_top_ngrams", test, train=train)   # n-grams found on train
    report["records_changed"], report["records_unchanged"], report["unchanged"]  # [{"line", "why"}]

Each transform takes a list of records ({"input", "label", "fraud_speaker", ...}) and returns new
records in the same order with the same labels (the input is left untouched) and a change report
of plain JSON types: "transform", "records", "records_changed", "records_unchanged", "unchanged"
(one {"line": 1-based index, "why": reason} per record left as it is, e.g. "no speaker tags") and
"unchanged_why" ({reason: count}). A record a transform cannot change is counted and named there,
so that a flip rate of 0 is never read off records nothing happened to.

- neutralize_speakers: speakers renamed 发言人1, 发言人2, ... in order of appearance (fraudft.data.transforms).
- swap_speaker_names: a fraud record's speakers get names drawn (seeded) from the speaker names of
  the non-fraud records, and vice versa; numbered tags (发言人N) are not names and are left as they are.
- remove_role_words: the audit's role words (fraudft.data.dialogue.ROLE_WORDS: 诈骗, 骗子, 受害, 客服,
  警官, ...) removed from speaker names, with a 者/人/方 right after one; a name left empty, or
  with digits only, becomes 发言人K (K: its order of appearance).
- normalize_width: NFKC (full-width letters, digits and punctuation to half-width) and every line
  ending to LF.
- mask_top_ngrams: the audit's most label-predictive character n-grams of the TRAIN split (the
  ngrams check: both classes' top_k, fraudft.audit.config) replaced by □ of the same length; n-grams
  with whitespace or a colon are skipped so that the dialogue's lines and speaker tags survive.

- append_transfer_request (directional, not label-keeping in meaning): a non-fraud dialogue gets a
  last line asking for a transfer, said by one of its own speakers; fraud records are unchanged.
  The label is kept as the data has it: the test is that P(fraud) does not fall (DIRECTIONAL).

Errors: ValueError for an unknown name, or for mask_top_ngrams without train records.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from fraudft.core.registry import Registry
from fraudft.data.dialogue import LINE_BREAK, ROLE_WORDS, SPEAKER_LINE, speaker_format, speakers_of
from fraudft.data.transforms import NEUTRAL_PREFIX, neutralize_speakers as _neutralize

__all__ = ["COUNTERFACTUALS", "counterfactual", "mask_top_ngrams", "neutralize_speakers", "normalize_width",
           "remove_role_words", "swap_speaker_names", "top_ngrams"]

MASK = "□"
NO_TAGS = "no speaker tags"
_ROLE = re.compile("(" + "|".join(sorted(map(re.escape, ROLE_WORDS), key=len, reverse=True)) + ")[者人方]?")


def _report(name: str, records: list[dict], out: list[dict], why: dict[int, str], **extra) -> dict:
    """The change report; why: {index: reason} of the records left unchanged (others count as changed)."""
    unchanged = [{"line": i + 1, "why": why.get(i, "nothing to change")}
                 for i, (a, b) in enumerate(zip(records, out)) if a == b]
    return {"transform": name, "records": len(records), "records_changed": len(records) - len(unchanged),
            "records_unchanged": len(unchanged), "unchanged": unchanged,
            "unchanged_why": dict(Counter(u["why"] for u in unchanged)), **extra}


def _rename(record: dict, mapping: dict[str, str]) -> dict:
    """The record with its speaker tags (and fraud_speaker) renamed by mapping; line endings kept."""
    parts = re.split(f"({LINE_BREAK.pattern})", record["input"])  # lines at even places, their breaks between
    for k in range(0, len(parts), 2):
        match = SPEAKER_LINE.match(parts[k]) if parts[k].strip() else None
        if match and match["tag"].strip() in mapping:
            parts[k] = match["lead"] + mapping[match["tag"].strip()] + match["sep"] + match["text"]
    speaker = record.get("fraud_speaker", "").strip()
    new = {**record, "input": "".join(parts)}
    if speaker in mapping:
        new["fraud_speaker"] = mapping[speaker]
    return new


def neutralize_speakers(records: list[dict]) -> tuple[list[dict], dict]:
    """Speakers renamed 发言人1, 发言人2, ... (fraudft.data.transforms.neutralize_speakers), with the report above."""
    out, change = _neutralize(records)
    why = {i: NO_TAGS if not speakers_of(r["input"]) else "speakers already 发言人1, 发言人2, ..."
           for i, r in enumerate(records)}
    extra = {k: change[k] for k in ("distinct_tags_before", "distinct_tags_after", "fraud_speaker_not_found")}
    return out, _report("neutralize_speakers", records, out, why, **extra)


def _names(records: list[dict]) -> list[str]:
    """Distinct speaker names (not numbered tags) of the records, in order of appearance."""
    return list(dict.fromkeys(t for r in records for t in speakers_of(r["input"]) if speaker_format(t) != "numbered"))


def swap_speaker_names(records: list[dict], seed: int = 0) -> tuple[list[dict], dict]:
    """Each record's named speakers renamed with names drawn (seeded, distinct within a record) from
    the speaker names of the records of the other class; numbered tags are kept."""
    pools = {label: _names([r for r in records if bool(r["label"]) == label]) for label in (True, False)}
    rng = random.Random(seed)
    out, why = [], {}
    for i, record in enumerate(records):
        tags = speakers_of(record["input"])
        named = [t for t in tags if speaker_format(t) != "numbered"]
        pool = [n for n in pools[not bool(record["label"])] if n not in tags]
        if not tags:
            why[i] = NO_TAGS
        elif not named:
            why[i] = "numbered speaker tags only"
        elif len(pool) < len(named):
            why[i] = "too few names in the other class"
        if i in why:
            out.append(dict(record))
            continue
        out.append(_rename(record, dict(zip(named, rng.sample(pool, len(named))))))
    return out, _report("swap_speaker_names", records, out, why, seed=seed,
                        names_fraud=len(pools[True]), names_not_fraud=len(pools[False]))


def remove_role_words(records: list[dict]) -> tuple[list[dict], dict]:
    """Role words (ROLE_WORDS, with a 者/人/方 after them) removed from speaker names; a name left
    empty or digits only becomes 发言人K; two speakers never end up with one name."""
    out, why = [], {}
    for i, record in enumerate(records):
        tags = speakers_of(record["input"])
        mapping, used = {}, set()
        for k, tag in enumerate(tags, start=1):
            new = _ROLE.sub("", tag).strip()
            if new != tag:
                if not new or new.isdigit() or new in used or new in tags:
                    new = f"{NEUTRAL_PREFIX}{k}"
                mapping[tag] = new
            used.add(mapping.get(tag, tag))
        if not tags:
            why[i] = NO_TAGS
        elif not mapping:
            why[i] = "no role words in speaker names"
        out.append(_rename(record, mapping) if mapping else dict(record))
    return out, _report("remove_role_words", records, out, why)


def normalize_width(records: list[dict]) -> tuple[list[dict], dict]:
    """NFKC of input and fraud_speaker (full-width to half-width, compatibility forms) and every line
    ending (\\r\\n, \\r) to \\n."""
    out, why = [], {}
    for i, record in enumerate(records):
        new = {**record, "input": LINE_BREAK.sub("\n", unicodedata.normalize("NFKC", record["input"]))}
        if "fraud_speaker" in record:
            new["fraud_speaker"] = unicodedata.normalize("NFKC", record["fraud_speaker"])
        if new == record:
            why[i] = "already half-width with LF line endings"
        out.append(new)
    return out, _report("normalize_width", records, out, why)


def top_ngrams(train: list[dict], config=None) -> list[str]:
    """The audit's most label-predictive character n-grams of `train` (both classes' top_k of the
    ngrams check), without those holding whitespace or a colon; [] when the check finds none."""
    from fraudft.audit.checks.ngrams import check_ngrams
    from fraudft.audit.config import AuditConfig
    from fraudft.audit.features import prepare_split

    if not train:
        raise ValueError("train: got no records, expected the train split the n-grams are found on")
    figures = check_ngrams(prepare_split("train", train, None), config or AuditConfig()).figures or {}
    grams = [row["ngram"] for side in ("fraud", "not_fraud") for row in figures.get(side, ())]
    return [g for g in dict.fromkeys(grams) if not re.search(r"[\s:：]", g)]


def mask_top_ngrams(records: list[dict], train: list[dict] | None = None, ngrams: list[str] | None = None,
                    mask: str = MASK) -> tuple[list[dict], dict]:
    """Every occurrence of the n-grams (top_ngrams(train) unless given), longest first, replaced by
    `mask` repeated to the n-gram's length."""
    if ngrams is None:
        if train is None:
            raise ValueError("mask_top_ngrams: give train (the split the n-grams are found on) or ngrams")
        ngrams = top_ngrams(train)
    pattern = re.compile("|".join(map(re.escape, sorted(ngrams, key=len, reverse=True)))) if ngrams else None
    out, why = [], {}
    for i, record in enumerate(records):
        if pattern is None or not pattern.search(record["input"]):
            why[i] = "no top n-gram in it"
            out.append(dict(record))
            continue
        out.append({**record, "input": pattern.sub(lambda m: mask * len(m.group()), record["input"])})
    return out, _report("mask_top_ngrams", records, out, why, ngrams=list(ngrams))


TRANSFER_REQUEST = "请您现在把钱转到这个安全账户。"


def append_transfer_request(records: list[dict], text: str = TRANSFER_REQUEST) -> tuple[list[dict], dict]:
    """A directional test (CheckList): each NON-fraud dialogue gets one more line, `text` (a request to
    transfer money), said by one of its own speakers (the first one who did not say the last line, so
    no new speaker tag appears), with the dialogue's own tag separator and line ending. Fraud records,
    and dialogues without speaker tags, are left as they are (counted, with why). Labels are kept: the
    data's label of such a dialogue is still "not fraud"; what is tested is that P(fraud) does not fall."""
    out, why = [], {}
    for i, record in enumerate(records):
        turns = _turns(record["input"])
        if record["label"]:
            why[i] = "a fraud record (the set changes non-fraud dialogues only)"
        elif not turns:
            why[i] = NO_TAGS
        if i in why:
            out.append(dict(record))
            continue
        tags = list(dict.fromkeys(tag for tag, _ in turns))
        speaker = next((t for t in tags if t != turns[-1][0]), tags[0])
        sep = next(m["sep"] for m in (SPEAKER_LINE.match(line) for _, line in turns) if m)
        brk = LINE_BREAK.search(record["input"])
        body = record["input"].rstrip("\r\n")
        tail = record["input"][len(body):]  # a final line break stays final
        out.append({**record, "input": f"{body}{brk.group() if brk else chr(10)}{speaker}{sep}{text}{tail}"})
    return out, _report("append_transfer_request", records, out, why, appended=text)


def _turns(text: str) -> list[tuple[str, str]]:
    """(speaker tag, the whole line) of each tagged line of a dialogue, in order."""
    turns = []
    for line in LINE_BREAK.split(text):
        match = SPEAKER_LINE.match(line) if line.strip() else None
        if match and match["tag"].strip():
            turns.append((match["tag"].strip(), line))
    return turns


@dataclass(frozen=True)
class Counterfactual:
    """A registered counterfactual set: `make(records, ...) -> (changed records, change report)`.

    direction: for a directional set, the way P(fraud) must not go against on the records it changes
    ("up": must not fall; fraudft.metrics.flips.directional reports the share that went the wrong
    way); None for an invariant set (the answer must not change). needs_train: `make` takes the train
    split (keyword `train`); seeded: `make` takes `seed`."""

    make: Callable[..., tuple[list[dict], dict]]
    direction: str | None = None
    needs_train: bool = False
    seeded: bool = False


COUNTERFACTUALS: Registry[Counterfactual] = Registry("counterfactual set")
COUNTERFACTUALS.add("neutralize_speakers", Counterfactual(neutralize_speakers))
COUNTERFACTUALS.add("swap_speaker_names", Counterfactual(swap_speaker_names, seeded=True))
COUNTERFACTUALS.add("remove_role_words", Counterfactual(remove_role_words))
COUNTERFACTUALS.add("normalize_width", Counterfactual(normalize_width))
COUNTERFACTUALS.add("mask_top_ngrams", Counterfactual(mask_top_ngrams, needs_train=True))
COUNTERFACTUALS.add("append_transfer_request", Counterfactual(append_transfer_request, direction="up"))
DIRECTIONAL = {name: c.direction for name, c in COUNTERFACTUALS.items() if c.direction}  # derived, read-only use


def counterfactual(name: str, records: list[dict], train: list[dict] | None = None, seed: int = 0) -> tuple[list[dict], dict]:
    """The named counterfactual of records, with its change report; train: the split mask_top_ngrams
    finds its n-grams on (ignored by the others); seed: swap_speaker_names's draws."""
    entry = COUNTERFACTUALS.lookup(name, option="counterfactual")
    kwargs = {**({"train": train} if entry.needs_train else {}), **({"seed": seed} if entry.seeded else {})}
    return entry.make(records, **kwargs)
