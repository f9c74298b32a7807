"""Fixtures of the fraudft.audit tests: `only` (the one finding of a check), random unique
dialogues (`han`, `random_split`), clean synthetic splits, planted leaks, and the real eval split."""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import pytest

from fraudft.audit import AuditReport, Finding, audit
from fraudft.data.loading import load_jsonl
from fraudft.synthetic import SynthConfig, generate

REAL_EVAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "eval0819.jsonl"


def _only(report: AuditReport, check: str, split: str | None = None) -> Finding:
    found = report.select(check, split)
    assert len(found) == 1, found
    return found[0]


def _han(rng: random.Random, n: int) -> str:
    return "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(n))


@pytest.fixture
def only():
    """`only(report, check, split=None)`: the single finding of that check (and split)."""
    return _only


@pytest.fixture
def han():
    """`han(rng, n)`: n random CJK characters, a line no template shares."""
    return _han


@pytest.fixture
def random_split(make_record):
    """`random_split(rng, n)`: n records of three random 20-character lines, labels alternating."""

    def make(rng: random.Random, n: int) -> list[dict]:
        out = []
        for i in range(n):
            label = i % 2 == 0
            text = "\n".join(f"发言人{k % 2 + 1}: {_han(rng, 20)}。" for k in range(3))
            out.append(make_record(text, label, "发言人1" if label else ""))
        return out

    return make


@pytest.fixture(scope="module")
def clean_splits():
    return {"train": generate(SynthConfig(n=600, seed=0)), "eval": generate(SynthConfig(n=600, seed=1))}


@pytest.fixture
def planted(random_split):
    """100 train and 50 test records of unique random lines, with planted leaks:
    test 0-3 repeat train 0-3 (whitespace changed); test 10-15 each carry one line of train 20-25
    under another speaker tag; train 40-42 repeat train 30, 31, 32 (41 with the other label)."""
    rng = random.Random(7)
    train, test = random_split(rng, 100), random_split(rng, 50)
    for k in range(4):
        test[k] = {**test[k], "input": train[k]["input"].replace(": ", ":   ") + "\n", "label": train[k]["label"],
                   "fraud_speaker": train[k]["fraud_speaker"]}
    for k in range(6):
        lines = test[10 + k]["input"].split("\n")
        lines[1] = "客服: " + train[20 + k]["input"].split("\n")[1].split(": ", 1)[1]
        test[10 + k] = {**test[10 + k], "input": "\n".join(lines)}
    for k in range(3):
        source = train[30 + k]
        flip = k == 1
        train[40 + k] = {**source, "label": source["label"] != flip,
                         "fraud_speaker": "发言人1" if source["label"] != flip else ""}
    return {"train": train, "test": test}


@pytest.fixture(scope="module")
def real_eval():
    if not REAL_EVAL.exists():
        pytest.skip("../shared/data/eval0819.jsonl is absent")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its 3 empty inputs
        return load_jsonl(REAL_EVAL)


@pytest.fixture(scope="module")
def real_report(real_eval):
    return audit({"eval": real_eval})
