"""Metrics of the three-field answer's other fields in generate mode: fraud_speaker and reason.

    speaker_accuracy(labels, gold_speakers, replied)   # {"value": 0.5, "correct": 1, "n": 2, ...}
    reason_rouge_l(gold_reasons, replied)               # {"value": 0.42, "n": 2, ...}

As the series' v2 evaluation did: speaker accuracy is the exact match of the reply's fraud_speaker
with the record's, over the records whose gold label is fraud (the denominator `n`); reason ROUGE-L
is the mean ROUGE-L F1 on characters (Chinese has no spaces to split words on) of the reply's reason
against the record's, over the records with a non-empty gold reason. A reply that is invalid
(fraudft.engine.replies) or lacks the field counts as a miss (0) in both. `value` is None, with `undefined`
saying why, when the denominator is 0.

Not in the metric registry (fraudft.metrics.registry): its metrics are functions of 0/1 predictions or
P(fraud) scores, vectorised over bootstrap weights; these compare strings.
"""

from __future__ import annotations

from rouge_score import rouge_scorer


class CharTokenizer:
    """rouge-score's tokenizer interface: one token per character (whitespace dropped)."""

    def tokenize(self, text: str) -> list[str]:
        return [c for c in text if not c.isspace()]


_SCORER = rouge_scorer.RougeScorer(["rougeL"], tokenizer=CharTokenizer())


def _field(obj: dict | None, name: str):
    return obj.get(name) if isinstance(obj, dict) else None


def speaker_accuracy(labels: list[bool], gold_speakers: list[str], replied: list[dict | None]) -> dict:
    """Exact-match accuracy of replied fraud_speaker on the gold-fraud records.

    labels, gold_speakers, replied: one per record (replied: the reply's JSON object, or None when
    invalid). Returns {"value": float or None, "correct": int, "n": int (gold-fraud records),
    "denominator": "records whose gold label is fraud", "undefined": why or None}."""
    rows = [(gold, _field(obj, "fraud_speaker")) for y, gold, obj in zip(labels, gold_speakers, replied) if y]
    correct = sum(isinstance(said, str) and said == gold for gold, said in rows)
    return {"value": correct / len(rows) if rows else None, "correct": correct, "n": len(rows),
            "denominator": "records whose gold label is fraud", "undefined": None if rows else "no fraud record"}


def rouge_l_chars(reference: str, candidate: str) -> float:
    """ROUGE-L F1 of candidate against reference, on characters (rouge-score's LCS)."""
    return _SCORER.score(reference, candidate)["rougeL"].fmeasure


def reason_rouge_l(gold_reasons: list[str | None], replied: list[dict | None]) -> dict:
    """Mean character ROUGE-L F1 of replied reason on the records with a non-empty gold reason.

    Returns {"value": float or None, "n": int, "denominator": "records with a non-empty gold reason",
    "undefined": why or None}; a reply without a string reason scores 0."""
    scores = []
    for gold, obj in zip(gold_reasons, replied):
        if isinstance(gold, str) and gold.strip():
            said = _field(obj, "reason")
            scores.append(rouge_l_chars(gold, said) if isinstance(said, str) else 0.0)
    return {"value": sum(scores) / len(scores) if scores else None, "n": len(scores),
            "denominator": "records with a non-empty gold reason",
            "undefined": None if scores else "no record with a gold reason"}
