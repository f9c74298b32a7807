"""Export: a LoRA adapter merged into its base, saved as a plain transformers model, and checked.

    fraudft export --adapter runs/r8 --out exported/r8 [--dtype bf16|fp32] [--check test.jsonl]

The folder holds what serving needs and nothing of fraudft's code: the merged model
(save_pretrained, config.json + safetensors, in the chosen dtype), the tokenizer, the task format
(fraudft.modeling.taskformat.save_format: `fraudft evaluate --model DIR` prompts and scores it as the
adapter was), and SERVING (serving_spec): the prompt around a record's text and the token ids score
mode reads, for code that has only transformers (SERVING_EXAMPLE, the README's snippet;
tests/engine/test_export.py runs it). The merge is peft's merge_and_unload on the fp32 base, cast to the dtype afterwards.

The check (check_export) scores a split with the adapter on its base (fp32) and with the exported
folder as it loads (its own dtype) and reports the largest |ΔP(fraud)| and the predictions that flip
at the threshold. TOLERANCE holds each dtype's default limit on the largest difference:
- fp32: 1e-4. The merged weights equal base + B·A up to fp32 rounding: measured on the tiny preset
  (60 steps, 200 test records), max |ΔP(fraud)| 3.7e-6; a difference near 1e-4 is a wrong merge.
- bf16: 0.05. bf16 keeps 8 bits of mantissa: rounding every weight and computing in bf16 moved
  P(fraud) by up to 0.028 (mean 0.011) on that run (and by up to 0.03 in the issue's hand-made
  merge); 0.05 leaves about twice that for rounding, while a merge gone wrong (an adapter dropped or
  applied twice) moves scores by far more. Flips at the threshold are reported, not limited: a weak
  model's scores crowd 0.5 (10 of those 200 flipped in bf16).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from fraudft.modeling.taskformat import PROMPTS, TaskFormat, save_format

SERVING = "fraudft_serving.json"  # written beside the exported model
CHECK = "fraudft_export.json"  # the export's check, beside the model
DTYPES = {"fp32": "float32", "bf16": "bfloat16"}  # --dtype -> torch's name (torch imported where used: the CLI's help)
TOLERANCE = {"fp32": 1e-4, "bf16": 0.05}  # default largest |ΔP(fraud)|: see the module docstring
_TEXT = "\x00FRAUDFT-TEXT\x00"  # stands for a record's text while the prompt is rendered

# Serving an export with transformers alone (the README shows it; tests/engine/test_export.py runs it).
# A dialogue longer than spec["max_length"] tokens: fraudft cuts its end to fit, this code does not.
SERVING_EXAMPLE = """\
import json, torch
from transformers import AutoModelForCausalLM, AutoTokenizer

folder = "exported/r8"  # fraudft export --out
model = AutoModelForCausalLM.from_pretrained(folder).eval()
tokenizer = AutoTokenizer.from_pretrained(folder)
with open(f"{folder}/fraudft_serving.json", encoding="utf-8") as f:
    spec = json.load(f)

def p_fraud(instruction: str, dialogue: str) -> float:
    text = spec["prompt_before"] + instruction + spec["separator"] + dialogue + spec["prompt_after"]
    ids = tokenizer(text, add_special_tokens=False)["input_ids"] + spec["answer_prefix_ids"]
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0, -1]
    return torch.softmax(logits[spec["score_token_ids"]].float(), dim=-1)[0].item()
"""


def merge(peft_model, dtype: str):
    """The base with the adapter merged in (peft's merge_and_unload, in the base's dtype), cast to `dtype`."""
    return peft_model.merge_and_unload().to(torch_dtype(dtype))


def torch_dtype(dtype: str):
    """The torch dtype of a --dtype name (DTYPES)."""
    import torch

    return getattr(torch, DTYPES[dtype])


def serving_spec(tokenizer, fmt: TaskFormat, max_length: int) -> dict:
    """What plain transformers needs to score a record as fraudft does: the prompt string before and
    after `instruction + separator + input`, the answer's shared prefix ids appended to the prompt's
    ids, and the two token ids whose softmax gives P(positive) (positive first)."""
    from fraudft.engine.evaluate import EvalConfig, answer_split

    config = EvalConfig(max_length=max_length, format=fmt, progress=False)
    prefix, positive, negative = answer_split(config.encoder(tokenizer))
    before, after = PROMPTS[fmt.prompt].render(tokenizer, fmt, _TEXT).split(_TEXT)
    return {"prompt_before": before, "separator": fmt.separator, "prompt_after": after,
            "answer_prefix_ids": prefix, "score_token_ids": [positive, negative], "max_length": max_length,
            "format": fmt.to_dict()}


def save_export(model, tokenizer, fmt: TaskFormat, max_new_tokens: int, max_length: int, out) -> None:
    """Write the merged model, its tokenizer, the task format and SERVING to the folder `out`."""
    out = Path(out)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    save_format(out, fmt, max_new_tokens, max_length)
    spec = serving_spec(tokenizer, fmt, max_length)
    (out / SERVING).write_text(json.dumps(spec, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class ExportCheck:
    """The exported model against the adapter on its base, on one split."""

    data: str
    records: int
    dtype: str
    max_abs_diff: float  # the largest |ΔP(fraud)|
    mean_abs_diff: float
    flips: int  # predictions at `threshold` that differ
    threshold: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= self.tolerance

    def line(self) -> str:
        return (f"export check on {self.data} ({self.records} records, {self.dtype}): max |ΔP(fraud)| "
                f"{self.max_abs_diff:.3g} (mean {self.mean_abs_diff:.3g}), {self.flips} flips at threshold "
                f"{self.threshold}; tolerance {self.tolerance:g}")

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def check_export(adapter_scores: list[float], exported, tokenizer, records: list[dict], config, data: str, dtype: str,
                 tolerance: float) -> ExportCheck:
    """Compare the adapter-on-base's P(fraud) of `records` (engine.evaluate.score, before the merge changed
    the base in place) with the exported model's under the same EvalConfig (ExportCheck)."""
    import torch

    from fraudft.engine.evaluate import score

    before = torch.tensor(adapter_scores, dtype=torch.float64)
    after = torch.tensor(score(exported, tokenizer, records, config), dtype=torch.float64)
    diff = (after - before).abs()
    flips = int(((before >= config.threshold) != (after >= config.threshold)).sum())
    return ExportCheck(data=data, records=len(records), dtype=dtype, max_abs_diff=float(diff.max()),
                       mean_abs_diff=float(diff.mean()), flips=flips, threshold=config.threshold, tolerance=tolerance)
