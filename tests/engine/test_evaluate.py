"""fraudft.engine.evaluate: metrics with a pinned label order, reply parsing (duplicated keys rejected, a
reason for every invalid reply), order-preserving batched scoring and generation (left padding,
length-sorted batches), truncation counts, and the evaluate() summary."""

from __future__ import annotations

import random

import pytest
import torch

from fraudft.engine import evaluate as evaluate_module
from fraudft.engine.evaluate import (
    EvalConfig,
    Reply,
    _length_sorted_batches,
    answer_split,
    evaluate,
    generate_replies,
    metric_figures,
    parse_reply,
    read_reply,
    reply_status,
    score,
)
from fraudft.metrics.registry import METRICS
from fraudft.modeling.encode import EncodeConfig, Encoder
from fraudft.modeling.models import load_model
from fraudft.modeling.taskformat import TaskFormat
from fraudft.synthetic import SynthConfig, generate

pytestmark = pytest.mark.usefixtures("one_torch_thread")

T, F = True, False
MAX_LENGTH = 160


@pytest.fixture(scope="module")
def tiny():
    return load_model("tiny", device="cpu")


@pytest.fixture(scope="module")
def records(tokenizer):
    """Six records of clearly different prompt lengths (some cut to MAX_LENGTH)."""
    candidates = generate(SynthConfig(n=40, seed=3))
    encoder = Encoder(tokenizer, EncodeConfig(max_length=MAX_LENGTH))
    by_length = {}
    for record in candidates:
        by_length.setdefault(len(encoder.prompt_ids(record, MAX_LENGTH - 8)[0]), record)
    lengths = sorted(by_length)
    picked = [by_length[n] for n in lengths[:: max(1, len(lengths) // 6)][:6]]
    assert len({len(encoder.prompt_ids(r, MAX_LENGTH - 8)[0]) for r in picked}) == 6
    return picked


# --- metric_figures: confusion counts and the metric registry's values ---------------------------


def test_confusion_order_is_pinned():
    m = metric_figures([T, T, F, F, F], [T, F, F, T, F])
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (2, 1, 1, 1)
    assert m["precision"] == 0.5 and m["recall"] == 0.5
    assert m["f1"] == 0.5 and m["accuracy"] == 0.6
    assert m["n"] == 5 and m["invalid"] == 0


def test_every_registered_metric_is_there_the_score_ones_from_scores():
    m = metric_figures([T, T, F, F], [T, F, F, F], [0.9, 0.4, 0.3, 0.1])
    assert set(METRICS) <= set(m) and m["undefined"] == {}
    assert m["roc_auc"] == 1.0 and m["mcc"] == pytest.approx(1 / 3 ** 0.5)
    without = metric_figures([T, T, F, F], [T, F, F, F])  # generate mode: no scores
    assert without["roc_auc"] is None and without["undefined"]["roc_auc"] == "no scores (generate mode)"


def test_confusion_order_is_not_symmetric():
    # Swapping the classes (the series' slip) would swap fp and fn here.
    m = metric_figures([T, T, T, F], [F, F, T, F])
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (1, 0, 2, 1)
    assert m["precision"] == 1.0 and m["recall"] == pytest.approx(1 / 3)


def test_invalid_predictions_count_as_wrong():
    labels = [T, T, F, F]
    m = metric_figures(labels, [None, T, None, F])
    # None on a positive -> a false negative; None on a negative -> a false positive.
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (1, 1, 1, 1)
    assert m["invalid"] == 2 and m["accuracy"] == 0.5


def test_all_invalid():
    m = metric_figures([T, F], [None, None])
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (0, 1, 1, 0)
    assert m["invalid"] == 2 and m["accuracy"] == 0.0


def test_no_positive_prediction_makes_precision_null_with_its_reason():
    m = metric_figures([T, F, F], [F, F, F])
    assert m["precision"] is None and m["undefined"]["precision"] == "no positive prediction"
    assert m["recall"] == 0.0 and m["f1"] == 0.0  # defined: a fraud missed
    assert "recall" not in m["undefined"] and "f1" not in m["undefined"]
    assert m["accuracy"] == pytest.approx(2 / 3)


def test_no_positive_label_makes_recall_and_f1_null():
    m = metric_figures([F, F], [F, F])
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (2, 0, 0, 0)
    assert m["precision"] is None and m["recall"] is None and m["f1"] is None
    assert m["undefined"]["precision"] == "no positive prediction"
    assert m["undefined"]["recall"] == "no positive label"
    assert m["undefined"]["f1"] == "no positive label or prediction"
    assert m["accuracy"] == 1.0


def test_only_positives_all_predicted():
    m = metric_figures([T, T, T], [T, T, T])
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (0, 0, 0, 3)
    assert m["precision"] == m["recall"] == m["f1"] == 1.0
    assert m["mcc"] is None and m["undefined"]["mcc"] == "test labels of one class"


def test_no_labels_is_an_error():
    with pytest.raises(ValueError, match="labels"):
        metric_figures([], [])


def test_positive_only_collapse_figures_of_the_reference():
    # "trained on positives only" (REFERENCE §6): every prediction is fraud.
    labels = [F] * 1167 + [T] * 1182
    m = metric_figures(labels, [T] * len(labels))
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (0, 1167, 0, 1182)
    assert round(m["precision"], 4) == 0.5032 and m["recall"] == 1.0


# --- parse_reply -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply, expected",
    [
        ('{"is_fraud": true}', True),
        ('{"is_fraud": false}', False),
        ('{"is_fraud":true}', True),
        ('  \n{"is_fraud": false}\n ', False),
        ('```json\n{"is_fraud": true}\n```', True),
        ('```json{"is_fraud": false}```', False),
        ('```\n{"is_fraud": true}\n```', True),
        ('  ```json\n{"is_fraud": false}\n```  \n', False),
        ('{"is_fraud": true, "fraud_speaker": "发言人1"}', True),
        ('{"is_fraud": "true"}', None),
        ('{"is_fraud": 1}', None),
        ('{"is_fraud": null}', None),
        ('{"fraud": true}', None),
        ("{}", None),
        ("[true]", None),
        ("true", None),
        ('"is_fraud"', None),
        ("", None),
        ("是诈骗", None),
        ('{"is_fraud": tru', None),
        ('{"is_fraud": true} 因为对方索要验证码', None),
        ('```json\n{"is_fraud": true}\n``` 解释', None),
        ("```json\n```", None),
        # json.loads alone keeps the last of repeated keys: both verdicts at once are no answer.
        ('{"is_fraud": true, "is_fraud": false}', None),
        ('{"is_fraud": false, "is_fraud": false}', None),
        ('{"is_fraud": true, "detail": {"speaker": "发言人1", "speaker": "发言人2"}}', None),
        ('{"is_fraud": true, "items": [{"a": 1}, {"a": 1, "a": 2}]}', None),
    ],
)
def test_parse_reply(reply, expected):
    assert parse_reply(reply) is expected


@pytest.mark.parametrize(
    "reply, status",
    [
        ('{"is_fraud": true}', "ok"),
        ('```json\n{"is_fraud": false}\n```', "ok"),
        ('{"is_fraud": true, "is_fraud": false}', "invalid: duplicated key 'is_fraud'"),
        ('{"is_fraud": true, "x": {"y": 1, "y": 2}}', "invalid: duplicated key 'y'"),
        ('{"is_fraud": tru', "invalid: not JSON"),
        ("是诈骗", "invalid: not JSON"),
        ("", "invalid: not JSON"),
        ("[true]", "invalid: not a JSON object (got list)"),
        ('{"fraud": true}', "invalid: no is_fraud key"),
        ('{"is_fraud": "true"}', 'invalid: is_fraud is not a bool (got "true")'),
        ('{"is_fraud": null}', "invalid: is_fraud is not a bool (got null)"),
        ('{"is_fraud": "' + "长" * 60 + '"}', 'invalid: is_fraud is not a bool (got "' + "长" * 39 + '...)'),
    ],
)
def test_read_reply_says_why_a_reply_is_invalid(reply, status):
    verdict, got = read_reply(reply)
    assert got == status
    assert verdict is parse_reply(reply) and (verdict is None) == (status != "ok")


def test_reply_status_says_when_generation_was_cut():
    assert reply_status(Reply('{"is_fraud": true}')) == "ok"
    cut = "cut at max_new_tokens (no stop token)"
    assert reply_status(Reply('{"is_fraud": tr', cut=True)) == f"invalid: not JSON; {cut}"
    assert reply_status(Reply('{"is_fraud": true}', cut=True)) == f"ok; {cut}"


# --- answer_split ------------------------------------------------------------------------------


def test_answer_split_on_the_offline_tokenizer(tokenizer):
    encoder = Encoder(tokenizer)
    prefix, true_id, false_id = answer_split(encoder)
    assert tokenizer.decode(prefix) == '{"is_fraud":'
    assert true_id != false_id
    assert tokenizer.decode([true_id]) == " true" and tokenizer.decode([false_id]) == " false"
    assert encoder.target_ids[True][: len(prefix) + 1] == prefix + [true_id]
    assert encoder.target_ids[False][: len(prefix) + 1] == prefix + [false_id]


# --- score and generate_replies ------------------------------------------------------------------


def test_score_keeps_the_records_order(tiny, tokenizer, records):
    config = EvalConfig(max_length=MAX_LENGTH, batch_size=4, progress=False)
    single = [score(tiny, tokenizer, [r], config)[0] for r in records]
    assert all(0.0 <= p <= 1.0 for p in single)
    # The untrained model's probabilities differ per record, so a misplaced one would show.
    assert min(abs(a - b) for i, a in enumerate(single) for b in single[i + 1 :]) > 1e-5
    order = list(range(len(records)))
    random.Random(0).shuffle(order)
    shuffled = score(tiny, tokenizer, [records[i] for i in order], config)
    assert len(shuffled) == len(records)
    for got, i in zip(shuffled, order):
        assert got == pytest.approx(single[i], rel=1e-4, abs=1e-7)
    whole = score(tiny, tokenizer, records, EvalConfig(max_length=MAX_LENGTH, batch_size=len(records), progress=False))
    assert whole == pytest.approx(single, rel=1e-4, abs=1e-7)


def test_score_reads_the_answer_tokens(tiny, tokenizer, records):
    # P(fraud) is the softmax over the " true" and " false" logits after the common prefix.
    import torch

    encoder = Encoder(tokenizer, EncodeConfig(max_length=MAX_LENGTH))
    prefix, true_id, false_id = answer_split(encoder)
    record = records[0]
    ids = encoder.prompt_ids(record, MAX_LENGTH - len(encoder.target_ids[True]))[0] + prefix
    with torch.no_grad():
        logits = tiny(input_ids=torch.tensor([ids])).logits[0, -1]
    expected = torch.softmax(logits[[true_id, false_id]], dim=-1)[0].item()
    got = score(tiny, tokenizer, [record], EvalConfig(max_length=MAX_LENGTH, progress=False))[0]
    assert got == pytest.approx(expected, rel=1e-4, abs=1e-7)


def test_generate_replies_keep_order_and_match_single_records(tiny, tokenizer, records):
    config = EvalConfig(mode="generate", max_length=MAX_LENGTH, batch_size=3, max_new_tokens=4, progress=False)
    single = [generate_replies(tiny, tokenizer, [r], config)[0] for r in records]
    assert all(isinstance(s, Reply) and isinstance(s.text, str) for s in single)
    order = [3, 0, 5, 1, 4, 2]
    batched = generate_replies(tiny, tokenizer, [records[i] for i in order], config)
    assert batched == [single[i] for i in order]


# --- evaluate ------------------------------------------------------------------------------------


def test_evaluate_score_mode(tiny, tokenizer, records):
    result = evaluate(tiny, tokenizer, records, EvalConfig(max_length=MAX_LENGTH, progress=False))
    assert result["mode"] == "score" and result["threshold"] == 0.5
    m = result["metrics"]
    assert m["n"] == len(records) and m["tn"] + m["fp"] + m["fn"] + m["tp"] == len(records)
    assert m["invalid"] == 0
    assert result["seconds"] > 0 and result["examples_per_s"] == pytest.approx(len(records) / result["seconds"])
    assert len(result["probabilities"]) == len(records)
    assert result["predictions"] == [p >= 0.5 for p in result["probabilities"]]
    assert "reference_metrics" not in result
    # the registry's figures, the score metrics from P(fraud); an undefined one null with its reason
    assert m == metric_figures([r["label"] for r in records], result["predictions"], result["probabilities"])
    assert all((m[name] is None) == (name in m["undefined"]) for name in METRICS)


def test_evaluate_threshold(tiny, tokenizer, records):
    probs = score(tiny, tokenizer, records, EvalConfig(max_length=MAX_LENGTH, progress=False))
    threshold = sorted(probs)[len(probs) // 2]  # the upper half is predicted fraud
    result = evaluate(tiny, tokenizer, records, EvalConfig(max_length=MAX_LENGTH, threshold=threshold, progress=False))
    assert result["threshold"] == threshold
    assert sum(result["predictions"]) == len(probs) - len(probs) // 2


def test_evaluate_generate_mode_reports_reference_metrics(tiny, tokenizer, records, monkeypatch):
    labels = [r["label"] for r in records]
    replies = [Reply('{"is_fraud": true}'), Reply("garbage"), Reply('```json\n{"is_fraud": false}\n```'),
               Reply('{"is_fraud": tr', cut=True), Reply('{"is_fraud": true, "is_fraud": false}'),
               Reply('{"is_fraud": true}')][: len(records)]

    def fake_generate(model, tokenizer, prompts, config):
        assert len(prompts.ids) == len(records) and config.mode == "generate"
        return replies

    monkeypatch.setattr(evaluate_module, "generate_replies", fake_generate)
    result = evaluate(tiny, tokenizer, records, EvalConfig(mode="generate", progress=False))
    parsed = [parse_reply(r.text) for r in replies]
    assert result["mode"] == "generate" and result["threshold"] is None
    assert result["predictions"] == parsed
    assert [r["reply"] for r in result["replies"]] == [r.text for r in replies]
    assert [r["status"] for r in result["replies"]] == [
        "ok", "invalid: not JSON", "ok", "invalid: not JSON; cut at max_new_tokens (no stop token)",
        "invalid: duplicated key 'is_fraud'", "ok"]
    assert result["cut"] == 1
    # the invalid replies split: one cut at max_new_tokens, two that ended malformed
    assert result["metrics"] == {**metric_figures(labels, parsed), "invalid_cut": 1, "invalid_malformed": 2}
    assert result["metrics"]["invalid"] == 3
    # The reference counts an unparseable reply as "not fraud".
    assert result["reference_metrics"] == metric_figures(labels, [p is True for p in parsed])
    assert result["reference_metrics"]["invalid"] == 0


def test_evaluate_generate_mode_on_a_real_model(tiny, tokenizer, records):
    result = evaluate(tiny, tokenizer, records[:3], EvalConfig(mode="generate", max_length=MAX_LENGTH,
                                                               max_new_tokens=3, progress=False))
    assert len(result["replies"]) == 3 and all(isinstance(r["reply"], str) for r in result["replies"])
    # An untrained model does not say its stop token within 3 tokens: every reply is cut and invalid.
    assert result["cut"] == 3
    assert all(r["status"].startswith("invalid: ") and r["status"].endswith("; cut at max_new_tokens (no stop token)")
               for r in result["replies"])
    for key in ("metrics", "reference_metrics"):
        m = result[key]
        assert m["n"] == 3 and m["tn"] + m["fp"] + m["fn"] + m["tp"] == 3
    # Whatever an untrained model says, the reference-style figures never count an invalid reply.
    assert result["reference_metrics"]["invalid"] == 0
    assert result["examples_per_s"] > 0


def test_generate_replies_tell_a_stopped_reply_from_a_cut_one(tiny, tokenizer, records, monkeypatch):
    encoder = Encoder(tokenizer)
    stop = encoder.terminator
    config = EvalConfig(mode="generate", max_length=MAX_LENGTH, batch_size=3, max_new_tokens=4, progress=False)
    plain = generate_replies(tiny, tokenizer, records[:3], config)
    assert all(r.cut for r in plain)  # the untrained model never says a stop token here

    def stop_on_row_0(self, input_ids, attention_mask, generation_config, **kwargs):
        """Row 0 says `{"` then the terminator (the batch pads it with the terminator after); the others go on."""
        prompt = input_ids.shape[1]
        say = tokenizer('{"', add_special_tokens=False)["input_ids"] + [stop]
        out = torch.full((input_ids.shape[0], prompt + 4), 42, dtype=input_ids.dtype)
        out[:, :prompt] = input_ids
        out[0, prompt:] = torch.tensor((say + [stop] * 4)[:4])
        return out

    monkeypatch.setattr(type(tiny), "generate", stop_on_row_0)
    replies = generate_replies(tiny, tokenizer, records[:3], config)
    stopped = [r for r in replies if not r.cut]
    assert len(stopped) == 1 and stopped[0].text == '{"'
    assert sum(r.cut for r in replies) == 2


# --- truncation counts (issue 16.3) ------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["score", "generate"])
def test_evaluate_counts_the_dialogues_cut_to_fit_max_length(tiny, tokenizer, records, mode):
    # The prompt each record needs whole, against the room max_length leaves beside the answer.
    encoder = Encoder(tokenizer, EncodeConfig(max_length=MAX_LENGTH))
    whole = [len(encoder.prompt_ids(r)[0]) for r in records]
    max_length = sorted(whole)[len(whole) // 2] + len(encoder.target_ids[True])  # the longer half must be cut
    budget = max_length - len(encoder.target_ids[True])
    config = EvalConfig(mode=mode, max_length=max_length, max_new_tokens=1, progress=False)
    kept = [len(encoder.prompt_ids(r, budget)[0]) for r in records]
    assert all(k <= budget for k in kept)

    result = evaluate(tiny, tokenizer, records, config)
    assert result["truncated"] == sum(n > budget for n in whole) == len(records) - len(records) // 2 - 1
    assert result["tokens_removed"] == sum(w - k for w, k in zip(whole, kept)) >= result["truncated"]

    roomy = evaluate(tiny, tokenizer, records, EvalConfig(mode=mode, max_length=max(whole) + 16, max_new_tokens=1,
                                                          progress=False))
    assert (roomy["truncated"], roomy["tokens_removed"]) == (0, 0)


def test_evaluate_needs_records(tiny, tokenizer):
    with pytest.raises(ValueError, match="records"):
        evaluate(tiny, tokenizer, [], EvalConfig(progress=False))


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(mode="greedy"), "mode"),
        (dict(batch_size=0), "batch_size"),
        (dict(batch_size=2.0), "batch_size"),
        (dict(threshold=0.0), "threshold"),
        (dict(threshold=1.0), "threshold"),
        (dict(threshold=float("nan")), "threshold"),
        (dict(max_new_tokens=0), "max_new_tokens"),
    ],
)
def test_eval_config_rejects_bad_values(kwargs, field):
    with pytest.raises(ValueError, match=rf"^{field}: got "):
        EvalConfig(**kwargs)


def test_eval_config_defaults():
    c = EvalConfig()
    assert (c.mode, c.batch_size, c.threshold) == ("score", 16, 0.5)


# --- token-budget batches, peak memory, explicit greedy decoding (issues 11, 9.6) ------------------


def test_token_budget_batches_hold_batch_times_padded_length_within_budget():
    examples = [{"input_ids": [0] * n} for n in (3, 10, 8, 3, 8, 3, 30)]
    batches = _length_sorted_batches(examples, batch_size=1, max_tokens=20)
    assert batches == [[6], [1, 2], [4, 0], [3, 5]]  # longest first; 30 > 20 still gets its own batch
    assert all(len(b) * len(examples[b[0]]["input_ids"]) <= 20 for b in batches[1:])
    with pytest.raises(ValueError, match="^max_batch_tokens: got "):
        EvalConfig(max_batch_tokens=0)


def test_score_with_a_token_budget_matches_single_records(tiny, tokenizer, records):
    single = [score(tiny, tokenizer, [r], EvalConfig(max_length=MAX_LENGTH, progress=False))[0] for r in records]
    budget = EvalConfig(max_length=MAX_LENGTH, max_batch_tokens=2 * MAX_LENGTH, progress=False)
    assert score(tiny, tokenizer, records, budget) == pytest.approx(single, rel=1e-4, abs=1e-7)


def test_evaluate_reports_peak_memory(tiny, tokenizer, records):
    result = evaluate(tiny, tokenizer, records[:2], EvalConfig(max_length=MAX_LENGTH, progress=False))
    assert result["peak_memory"]["device"] in ("cpu", "cuda")


def test_generation_ignores_the_model_s_own_sampling_settings(tiny, tokenizer, records, monkeypatch):
    config = EvalConfig(mode="generate", max_length=MAX_LENGTH, batch_size=3, max_new_tokens=8, progress=False)
    import torch

    plain = generate_replies(tiny, tokenizer, records, config)
    prompt = torch.tensor([Encoder(tokenizer).prompt_ids(records[0], MAX_LENGTH)[0]])
    default = tiny.generate(prompt, do_sample=False, max_new_tokens=8, pad_token_id=0)
    monkeypatch.setattr(tiny.generation_config, "repetition_penalty", 1.5)
    monkeypatch.setattr(tiny.generation_config, "no_repeat_ngram_size", 1)
    # the settings bite where generate() is left to the model's config (the tiny model repeats itself) ...
    assert not torch.equal(tiny.generate(prompt, do_sample=False, max_new_tokens=8, pad_token_id=0), default)
    # ... and change nothing through fraudft's explicit greedy config
    assert generate_replies(tiny, tokenizer, records, config) == plain


# --- the three-field answer ------------------------------------------------------------------------

THREE = TaskFormat(answer="is_fraud_speaker_reason")


def test_score_is_the_same_under_the_three_field_answer(tiny, tokenizer, records):
    # is_fraud comes first in both schemas: score mode reads the same prefix and verdict tokens.
    # (Room for the longer answer cuts prompts sooner under max_length: a length that cuts none.)
    one = score(tiny, tokenizer, records, EvalConfig(max_length=4096, progress=False))
    three = score(tiny, tokenizer, records, EvalConfig(max_length=4096, progress=False, format=THREE))
    assert three == pytest.approx(one, rel=1e-5, abs=1e-7)


def test_reply_metrics_count_cut_apart_from_malformed_and_read_the_fields():
    from fraudft.engine.evaluate import reply_metrics

    records = [{"label": True, "fraud_speaker": "张三", "reason": "冒充客服"},
               {"label": True, "fraud_speaker": "李四", "reason": "刷单返利"},
               {"label": False, "fraud_speaker": "", "reason": ""},
               {"label": True, "fraud_speaker": "王五", "reason": "冒充客服"}]
    replies = [Reply('{"is_fraud": true, "fraud_speaker": "张三", "reason": "冒充客服"}'),
               Reply('{"is_fraud": true, "fraud_speaker": "李四", "rea', cut=True),
               Reply('not json'),
               Reply('{"is_fraud": true, "fraud_speaker": "赵六", "reason": "冒充"}')]
    predictions = [parse_reply(r.text) for r in replies]
    got = reply_metrics(records, replies, predictions, THREE)
    assert (got["invalid_cut"], got["invalid_malformed"]) == (1, 1)
    assert got["speaker_accuracy"]["value"] == pytest.approx(1 / 3) and got["speaker_accuracy"]["n"] == 3
    # ROUGE-L F1 on characters: 1 (exact), 0 (invalid reply), 2/3 (冒充 of 冒充客服: P 1, R 1/2)
    assert got["reason_rouge_l"]["value"] == pytest.approx((1 + 0 + 2 / 3) / 3) and got["reason_rouge_l"]["n"] == 3
    assert set(reply_metrics(records, replies, predictions, TaskFormat())) == {"invalid_cut", "invalid_malformed"}


def test_generate_mode_reports_the_three_field_metrics(tiny, tokenizer, records):
    reasoned = [{**r, "reason": "冒充客服" if r["label"] else "", "fraud_speaker": "张三" if r["label"] else ""}
                for r in records]
    config = EvalConfig(mode="generate", max_length=MAX_LENGTH, batch_size=3, max_new_tokens=3, progress=False,
                        format=THREE)
    result = evaluate(tiny, tokenizer, reasoned, config)
    m = result["metrics"]
    assert result["max_new_tokens"] == 3
    assert m["invalid_cut"] + m["invalid_malformed"] == m["invalid"]
    assert m["invalid_cut"] == sum(r["status"].endswith("cut at max_new_tokens (no stop token)") and
                                   r["status"].startswith("invalid") for r in result["replies"])
    assert m["speaker_accuracy"]["n"] == sum(r["label"] for r in reasoned)
    assert m["reason_rouge_l"]["n"] == sum(bool(r["reason"]) for r in reasoned)
    # an untrained model's three-token replies are no valid answer: every one a miss
    assert m["speaker_accuracy"]["value"] == 0.0 and m["reason_rouge_l"]["value"] == 0.0


def test_max_new_tokens_none_means_the_default():
    from fraudft.engine.evaluate import DEFAULT_MAX_NEW_TOKENS

    assert EvalConfig().new_tokens == DEFAULT_MAX_NEW_TOKENS and EvalConfig(max_new_tokens=7).new_tokens == 7
