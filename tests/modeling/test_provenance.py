"""fraudft.modeling.provenance: the fingerprints that tell one base from another (issue 26, item 1)."""

from __future__ import annotations

import copy

import pytest
import torch

from fraudft.core.errors import UsageError
from fraudft.modeling.models import load_model
from fraudft.modeling.provenance import (
    BaseWarning,
    base_record,
    check_base,
    save_base,
    weights_fingerprint,
)
from fraudft.modeling.encode import tokenizer_fingerprint

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny():
    return load_model("tiny", seed=0)


def test_the_weights_fingerprint_tells_seeds_apart_and_ignores_the_dtype_and_the_copy(tiny, tmp_path):
    assert weights_fingerprint(tiny) == weights_fingerprint(load_model("tiny", seed=0))
    assert weights_fingerprint(tiny) != weights_fingerprint(load_model("tiny", seed=1))
    assert weights_fingerprint(tiny) == weights_fingerprint(copy.deepcopy(tiny).to(torch.bfloat16))  # GPU's dtype
    tiny.save_pretrained(tmp_path / "base")
    assert weights_fingerprint(load_model(str(tmp_path / "base"))) == weights_fingerprint(tiny)


def test_the_weights_fingerprint_sees_one_changed_layer(tiny):
    changed = copy.deepcopy(tiny)
    with torch.no_grad():
        changed.model.layers[1].self_attn.q_proj.weight.add_(1e-2)  # a fine-tune of one matrix
    assert weights_fingerprint(changed) != weights_fingerprint(tiny)


def test_the_tokenizer_fingerprint_follows_its_state_not_its_calls(tokenizer):
    before = tokenizer_fingerprint(tokenizer)
    tokenizer("一段对话", truncation=True, max_length=3)  # sets the backend's truncation: not the tokenizer's identity
    assert tokenizer_fingerprint(tokenizer) == before
    edited = copy.deepcopy(tokenizer)
    edited.chat_template = "{{ messages }}"
    assert tokenizer_fingerprint(edited) != before


def test_check_base_names_both_bases_in_one_line(tiny, tokenizer, tmp_path):
    trained = base_record(tiny, tokenizer, "tiny", 0, "qwen2-offline")
    save_base(tmp_path, trained)
    assert check_base(tmp_path, trained, "runs/x") == trained
    other = base_record(load_model("tiny", seed=1), tokenizer, "tiny", 1, "qwen2-offline")
    with pytest.raises(UsageError) as caught:
        check_base(tmp_path, other, "runs/x")
    assert str(caught.value) == (
        f"--adapter runs/x: trained on tiny (model seed 0, weights {trained['weights'][:12]}...), loading tiny "
        f"(model seed 1, weights {other['weights'][:12]}...); pass --allow-other-base to load it anyway")
    assert check_base(tmp_path, other, "runs/x", allow_other=True) == trained
    with pytest.warns(BaseWarning, match="cannot be checked"):
        assert check_base(tmp_path / "none", other, "runs/old") is None


def test_a_different_tokenizer_is_named(tiny, tokenizer, tmp_path):
    trained = base_record(tiny, tokenizer, "tiny", 0, "qwen2-offline")
    save_base(tmp_path, trained)
    loading = {**trained, "tokenizer": "./other", "tokenizer_fingerprint": "f" * 64}
    with pytest.raises(UsageError, match=r"tokenizer qwen2-offline .*, loading tiny .*tokenizer \./other ffffffffffff"):
        check_base(tmp_path, loading, "runs/x")
