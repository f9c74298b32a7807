"""Other chat-model families through the real-model bench (issue 19): a Llama-3-style checkpoint
(its own chat template, no pad token) and a Gemma-2-style one (no system role, soft-capped logits),
saved with `save_pretrained` as a user brings them, run by

    pytest bench -m gpu --model FOLDER --data-dir DIR --device cpu --steps 2 --arms untuned,reference --seeds 1

The gpu recipe prompts with the tokenizer's chat template (`[format] prompt = "chat_template"`), so
neither family needs the ChatML tokens of the reference prompt; the records name the format, and the
label-position loss equals the model's own full-logit loss on batches encoded in that format.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from fraudft.modeling.collate import Collator, position_ids_for
from fraudft.modeling.encode import EncodeConfig, Encoder
from fraudft.modeling.loss import label_position_loss
from fraudft.modeling.taskformat import TaskFormat
from fraudft.results.store import load_records
from fraudft.synthetic import SynthConfig, generate
from tests.families import FAMILIES, save_tiny_family

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.usefixtures("one_torch_thread")


STOP_TOKENS = {"llama3": "<|eot_id|>", "gemma2": "<end_of_turn>"}  # what each template writes after an answer


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family(request, tmp_path_factory) -> tuple[str, Path]:
    return request.param, save_tiny_family(request.param, tmp_path_factory.mktemp(request.param))


def test_the_gpu_recipe_runs_another_family_on_cpu(family, small_data_dir, tmp_path):
    _, family_folder = family
    command = [sys.executable, "-m", "pytest", "bench", "-q", "-p", "no:cacheprovider", "-m", "gpu",
               "--model", str(family_folder), "--data-dir", str(small_data_dir), "--device", "cpu", "--steps", "2", "--arms", "untuned,reference",
               "--seeds", "1", "--rerun", "--results-dir", str(tmp_path)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (commit,) = [p.name for p in tmp_path.iterdir() if p.is_dir()]
    records = {r.arm: r for r in load_records(tmp_path, commit)}
    assert set(records) == {"untuned", "reference"}
    for record in records.values():
        assert record.ok, record.error
        assert record.format == TaskFormat(prompt="chat_template").to_dict()
        assert record.config["backend"]["model"] == str(family_folder)
    reference = records["reference"]
    assert reference.steps == 2
    assert len(reference.test.predictions) == len(reference.test.labels) > 0


def test_label_position_loss_equals_the_full_loss(family):
    name, family_folder = family
    tokenizer = AutoTokenizer.from_pretrained(family_folder)
    model = AutoModelForCausalLM.from_pretrained(family_folder).eval()
    encoder = Encoder(tokenizer, EncodeConfig(max_length=256, format=TaskFormat(prompt="chat_template")))
    examples = encoder.encode_all(generate(SynthConfig(n=4, seed=5)))
    stop = tokenizer.convert_tokens_to_ids(STOP_TOKENS[name])
    assert all(example["labels"][-1] == stop for example in examples)  # the answer ends as the template ends a turn
    batch = Collator(tokenizer, side="left")([{k: e[k] for k in ("input_ids", "attention_mask", "labels")}
                                              for e in examples])
    with torch.no_grad():
        full = model(**batch, position_ids=position_ids_for(batch["attention_mask"])).loss
        ours = label_position_loss(model, batch)
    assert ours.item() == pytest.approx(full.item(), rel=1e-5, abs=1e-5)
