"""Evaluate a classifier LM on labelled records: batched label scoring or free generation.

    fraudft evaluate --model tiny --adapter runs/r8/adapter --data eval.jsonl --mode score

Both modes encode each prompt once (`encode_prompts`), cutting the dialogue's end to fit
`max_length` with room for the answer; evaluate() reports how many records were cut (`truncated`)
and the tokens removed (`tokens_removed`). Batches are left-padded and every forward pass gets
position ids counted from each row's first real token, so a record's figure does not depend on the
batch it lands in (learned absolute positions, as GPT-2's, would otherwise shift with the padding).

`score` (default): prompts are sorted by length, longest first, and left-padded into batches
that hold at most `max_batch_tokens` positions (batch x padded length; as lm-evaluation-harness
sorts), followed by the answer's common prefix `{"is_fraud": `. One forward pass per batch gives
logits at the last position only; P(fraud) is the softmax over the two tokens where the `true`
and `false` answers first differ, compared with a threshold. The task (fraudft.task, the format's
`task`) owns both steps: Task.label_split finds the prefix and each label's token, Task.scores
reads the score (a binary task: P(positive)); predictions are its positive class at or above the
threshold, else its negative one.

`generate`: the reference procedure (greedy, JSON reply, ```json fence stripped), batched with
left padding, `batch_size` prompts at a time. Decoding is an explicit greedy GenerationConfig
(no sampling, one beam, no repetition or length penalty) whatever the model's own
generation_config says. A reply that does not parse is counted as `invalid`, and as a wrong answer in the
strict metrics; the reference's figures, where invalid means "not fraud", are reported beside them;
metrics `invalid_cut` (stopped by max_new_tokens, unfinished) and `invalid_malformed` (ended on
their own) split the invalid count. max_new_tokens None means DEFAULT_MAX_NEW_TOKENS here; the CLI
and the bench size it from the longest trained answer (taskformat.answer_token_budget). Under the
three-field answer the metrics add speaker accuracy and reason ROUGE-L (fraudft.metrics.answers).

The prompt and the answer (hence score mode's shared prefix) follow `EvalConfig.format`.
Each reply is kept with its parse status: "ok" or "invalid: <why>" (not JSON, not a JSON object,
duplicated key 'K' at any depth, no is_fraud key, is_fraud not a bool), with "; cut at
max_new_tokens" added when generation stopped at the limit before any stop token.

Scores that are not finite (weights that hold NaN or infinities: a diverged run's adapter) stop
scoring with NonFiniteScores, a one-line error saying how many.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Literal

import torch
from sklearn.metrics import confusion_matrix
from tqdm.auto import tqdm
from transformers import GenerationConfig

from fraudft.core.errors import UsageError
from fraudft.engine.measure import peak_memory
from fraudft.modeling.collate import Collator
from fraudft.modeling.encode import EncodeConfig, Encoder
from fraudft.modeling.taskformat import TaskFormat
from fraudft.engine.replies import Reply, parse_reply, read_reply, reply_object, reply_status
from fraudft.task import Task, get_task

DEFAULT_MAX_NEW_TOKENS = 32  # generate mode, when nothing sized max_new_tokens from the trained answers

__all__ = [
    "EvalConfig", "Prompts", "Reply", "answer_split", "encode_prompts", "evaluate", "metric_figures",
    "generate_replies", "greedy_config", "parse_reply", "read_reply", "reply_status", "score", "NonFiniteScores",
]


class NonFiniteScores(UsageError):
    """The model scored records NaN or infinite: its weights are not finite (a diverged run's adapter?)."""


@dataclass(frozen=True)
class EvalConfig:
    mode: Literal["score", "generate"] = "score"
    batch_size: int = 16  # generate mode; score mode too when max_batch_tokens is None
    max_batch_tokens: int | None = 16384  # score mode: positions (batch x padded length) per batch
    threshold: float = 0.5
    max_length: int = 2048
    max_new_tokens: int | None = None  # None: DEFAULT_MAX_NEW_TOKENS (callers size it from the trained answers)
    progress: bool = True
    format: TaskFormat = field(default_factory=TaskFormat)

    def __post_init__(self):
        if self.mode not in ("score", "generate"):
            raise ValueError(f"mode: got {self.mode!r}, expected 'score' or 'generate'")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size: got {self.batch_size!r}, expected a positive integer")
        if self.max_batch_tokens is not None and (not isinstance(self.max_batch_tokens, int) or self.max_batch_tokens < 1):
            raise ValueError(f"max_batch_tokens: got {self.max_batch_tokens!r}, expected a positive integer or None")
        if not 0 < self.threshold < 1:
            raise ValueError(f"threshold: got {self.threshold!r}, expected a number in (0, 1)")
        if self.max_new_tokens is not None and (not isinstance(self.max_new_tokens, int) or self.max_new_tokens < 1):
            raise ValueError(f"max_new_tokens: got {self.max_new_tokens!r}, expected a positive integer or None")
        if not isinstance(self.format, TaskFormat):
            raise ValueError(f"format: got {self.format!r}, expected a TaskFormat")

    @property
    def new_tokens(self) -> int:
        """max_new_tokens, DEFAULT_MAX_NEW_TOKENS when None."""
        return self.max_new_tokens if self.max_new_tokens is not None else DEFAULT_MAX_NEW_TOKENS

    def encoder(self, tokenizer) -> Encoder:
        """The Encoder of this config's max_length and format."""
        return Encoder(tokenizer, EncodeConfig(max_length=self.max_length, format=self.format))


def answer_split(encoder: Encoder) -> tuple[list[int], int, int]:
    """A binary task's answers' common prefix ids and the ids of the positive (`true`) and negative
    (`false`) answers where they first differ (Task.label_split)."""
    task = encoder.task
    prefix, label_ids = task.label_split(encoder.target_ids)
    return prefix, label_ids[task.positive], label_ids[task.negative]


@dataclass(frozen=True)
class Prompts:
    """The prompt token ids of records, in the records' order, each cut to fit max_length.

    removed[i]: the tokens cut from record i's prompt (the dialogue's end); 0 when it fits whole."""

    ids: list[list[int]]
    removed: list[int]

    @property
    def truncated(self) -> int:
        """How many records were cut."""
        return sum(n > 0 for n in self.removed)

    @property
    def tokens_removed(self) -> int:
        """Tokens cut over all records."""
        return sum(self.removed)


def encode_prompts(tokenizer, records: list[dict], config: EvalConfig) -> Prompts:
    """Each record's prompt within config.max_length less the answer's length (score mode appends
    the answer's common prefix to it, generate mode the reply); raises UsageError when a prompt
    cannot fit even without its dialogue."""
    encoder = config.encoder(tokenizer)
    budget = config.max_length - encoder.longest_target
    fitted = [encoder.fit_prompt(record, budget) for record in records]
    return Prompts(ids=[ids for ids, _ in fitted], removed=[removed for _, removed in fitted])


def _examples(prompt_ids: list[list[int]], suffix: list[int]) -> list[dict]:
    """Unpadded examples: each prompt followed by `suffix` (score mode: the answer's common prefix)."""
    return [{"input_ids": ids + suffix, "attention_mask": [1] * (len(ids) + len(suffix))} for ids in prompt_ids]


def _batches(model, tokenizer, examples: list[dict], batches: list[list[int]], desc: str, progress: bool):
    """(indices, batch on the model's device) per index batch: left-padded, with position ids from
    the attention mask (HF numbers positions from the first pad otherwise)."""
    collate, device = Collator(tokenizer, side="left", position_ids=True), _device_of(model)
    for batch_idx in tqdm(batches, desc=desc, disable=not progress):
        yield batch_idx, {k: v.to(device) for k, v in collate([examples[i] for i in batch_idx]).items()}


def _length_sorted_batches(examples: list[dict], batch_size: int, max_tokens: int | None = None):
    """Index batches of examples, longest first (the first batch shows the peak memory): of
    `batch_size` examples, or (max_tokens) as many as keep batch x padded length within budget."""
    order = sorted(range(len(examples)), key=lambda i: -len(examples[i]["input_ids"]))
    if max_tokens is None:
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    batches = []
    for i in order:  # descending lengths: a batch's padded length is that of its first example
        if batches and (len(batches[-1]) + 1) * len(examples[batches[-1][0]]["input_ids"]) <= max_tokens:
            batches[-1].append(i)
        else:
            batches.append([i])  # an example longer than the budget still gets a batch of its own
    return batches


def greedy_config(max_new_tokens: int, stop_ids: list[int], pad_id: int) -> GenerationConfig:
    """Plain greedy decoding. generate() fills only the fields left None from the model's own
    generation_config, so every knob that changes greedy output is set explicitly."""
    return GenerationConfig(
        do_sample=False, num_beams=1, repetition_penalty=1.0, encoder_repetition_penalty=1.0,
        length_penalty=1.0, no_repeat_ngram_size=0, min_length=0, min_new_tokens=0,
        max_new_tokens=max_new_tokens, eos_token_id=stop_ids, pad_token_id=pad_id,
    )


def _device_of(model) -> torch.device:
    return next(model.parameters()).device


@torch.inference_mode()
def score(model, tokenizer, records: list[dict] | Prompts, config: EvalConfig = EvalConfig()) -> list[float]:
    """The task's score (is_fraud: P(fraud)) for each record, in the records' order (records, or
    their encode_prompts)."""
    prompts = records if isinstance(records, Prompts) else encode_prompts(tokenizer, records, config)
    encoder = config.encoder(tokenizer)
    prefix, label_ids = encoder.task.label_split(encoder.target_ids)
    examples = _examples(prompts.ids, prefix)
    probs = [0.0] * len(examples)
    model.eval()
    batches = _length_sorted_batches(examples, config.batch_size, config.max_batch_tokens)
    for batch_idx, batch in _batches(model, tokenizer, examples, batches, "score", config.progress):
        logits = model(**batch, logits_to_keep=1).logits[:, -1]
        for i, p in zip(batch_idx, encoder.task.scores(logits, label_ids)):
            probs[i] = p
    bad = sum(not math.isfinite(p) for p in probs)
    if bad:
        raise NonFiniteScores(f"scores: {bad} of {len(probs)} records scored NaN or infinite; the model's weights "
                              "hold non-finite values (an adapter of a diverged training run?)")
    return probs


@torch.inference_mode()
def generate_replies(model, tokenizer, records: list[dict] | Prompts, config: EvalConfig = EvalConfig()) -> list[Reply]:
    """Greedy replies to each record's prompt (records, or their encode_prompts), in the records'
    order: the text without special tokens, and `cut` when max_new_tokens ran out before a stop
    token (the answer terminator or eos)."""
    prompts = records if isinstance(records, Prompts) else encode_prompts(tokenizer, records, config)
    encoder = config.encoder(tokenizer)
    examples = _examples(prompts.ids, [])
    stop_ids = sorted({encoder.terminator, tokenizer.eos_token_id} - {None})
    replies = [Reply("")] * len(examples)
    greedy = greedy_config(config.new_tokens, stop_ids, encoder.terminator)
    model.eval()
    batches = _length_sorted_batches(examples, config.batch_size)
    for batch_idx, batch in _batches(model, tokenizer, examples, batches, "generate", config.progress):
        out = model.generate(**batch, generation_config=greedy)
        new_tokens = out[:, batch["input_ids"].shape[1] :]
        # A finished row is padded with the terminator, itself a stop id: no stop id means cut.
        stopped = torch.isin(new_tokens, torch.tensor(stop_ids, device=new_tokens.device)).any(dim=1).tolist()
        texts = tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        for i, text, stop in zip(batch_idx, texts, stopped):
            replies[i] = Reply(text, cut=not stop)
    return replies


def metric_figures(labels: list[bool], predictions: list[bool | None], scores: list[float] | None = None,
                   task: Task | None = None) -> dict:
    """An evaluation's stored figures: confusion counts (tn, fp, fn, tp), every metric of the registry
    (fraudft.metrics.registry) at its point value, accuracy, invalid and n. A registry metric that is
    undefined here is None (null in a record), never 0, with the registry's reason in `undefined`
    ({name: why}). `task` (None: the default, is_fraud) says which label is the positive class.

    A None prediction is invalid and counts as wrong (the opposite of the label). The score metrics
    read `scores` (P(fraud)); without them each is None with "no scores (generate mode)".
    Raises ValueError when there are no labels."""
    from fraudft.metrics.stats import point_values

    task = task or get_task()
    positive = task.positive  # ValueError for a task with no positive class
    if not labels:
        raise ValueError("labels: got none, expected at least one")
    invalid = sum(p is None for p in predictions)
    codes = [int(y == positive) for y in labels]
    strict = [1 - y if p is None else int(p == positive) for y, p in zip(codes, predictions)]
    # labels=[0, 1] pins the order: ravel() gives tn, fp, fn, tp (the series once swapped it).
    tn, fp, fn, tp = (int(x) for x in confusion_matrix(codes, strict, labels=[0, 1]).ravel())
    figures = point_values(codes, strict, scores)
    return {"tn": tn, "fp": fp, "fn": fn, "tp": tp, **{name: f["value"] for name, f in figures.items()},
            "accuracy": (tp + tn) / len(labels), "invalid": invalid, "n": len(labels),
            "undefined": {name: f["undefined"] for name, f in figures.items() if f["value"] is None}}


def reply_metrics(records: list[dict], replies: list[Reply], predictions: list[bool | None], fmt: TaskFormat) -> dict:
    """Generate mode's figures beside the classification metrics: invalid_cut (invalid replies cut at
    max_new_tokens) and invalid_malformed (invalid replies that ended on their own), and, when the
    answer has fraud_speaker and reason, speaker_accuracy and reason_rouge_l (fraudft.metrics.answers:
    value, n and what n counts)."""
    from fraudft.metrics.answers import reason_rouge_l, speaker_accuracy

    out = {"invalid_cut": sum(p is None and r.cut for r, p in zip(replies, predictions)),
           "invalid_malformed": sum(p is None and not r.cut for r, p in zip(replies, predictions))}
    if "fraud_speaker" in fmt.fields:
        task = fmt.task_spec
        objects = [reply_object(r.text, task) for r in replies]
        out["speaker_accuracy"] = speaker_accuracy([r[task.label_field] for r in records],
                                                   [r["fraud_speaker"] for r in records], objects)
        out["reason_rouge_l"] = reason_rouge_l([r.get("reason") for r in records], objects)
    return out


def evaluate(model, tokenizer, records: list[dict], config: EvalConfig = EvalConfig()) -> dict:
    """Metrics of the model on records, with examples/s and (generate mode) reference-style figures.

    Returns a dict: mode, threshold (score mode; else None), metrics (metric_figures: the registry's
    metrics, strict, an undefined one None with its reason), seconds and examples_per_s (prompt encoding included), peak_memory, predictions (per
    record: bool, or None for an invalid reply), truncated (records whose dialogue was cut to fit
    max_length) and tokens_removed (tokens cut over all records); score mode adds probabilities;
    generate mode adds replies ([{"reply": text, "status": reply_status}] per record), cut (replies
    that hit max_new_tokens before a stop token), max_new_tokens (the limit used), reference_metrics
    (invalid = "not fraud") and reply_metrics' figures in metrics.
    Raises ValueError when there are no records.
    """
    if not records:
        raise ValueError("records: got none, expected at least one labelled record")
    task = config.format.task_spec
    if not task.binary:  # the classification metrics below count one positive class
        raise ValueError(f"task: got {task.name}, expected a binary task (one positive class)")
    labels = [r[task.label_field] for r in records]
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    prompts = encode_prompts(tokenizer, records, config)
    if config.mode == "score":
        probs = score(model, tokenizer, prompts, config)
        predictions = [task.positive if p >= config.threshold else task.negative for p in probs]
        extra = {"probabilities": probs}
    else:
        replies = generate_replies(model, tokenizer, prompts, config)
        predictions = [parse_reply(r.text, task) for r in replies]
        extra = {
            "max_new_tokens": config.new_tokens,
            "replies": [{"reply": r.text, "status": reply_status(r, task)} for r in replies],
            "cut": sum(r.cut for r in replies),
            # The reference counts an unparseable reply as "not fraud" (REFERENCE §5).
            "reference_metrics": metric_figures(
                labels, [task.negative if p is None else p for p in predictions], task=task),
        }
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    metrics = metric_figures(labels, predictions, extra.get("probabilities"), task=task)
    if config.mode == "generate":
        metrics.update(reply_metrics(records, replies, predictions, config.format))
    return {
        "mode": config.mode,
        "threshold": config.threshold if config.mode == "score" else None,
        "metrics": metrics,
        "seconds": seconds,
        "examples_per_s": len(records) / seconds,
        "peak_memory": peak_memory(),  # CUDA: of this evaluation; CPU: the process's peak RSS so far
        "truncated": prompts.truncated,
        "tokens_removed": prompts.tokens_removed,
        "predictions": predictions,
        **extra,
    }
