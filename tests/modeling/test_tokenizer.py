"""fraudft.modeling.tokenizer: the offline Qwen2 tokenizer (REFERENCE §3)."""

from __future__ import annotations

import types

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

import fraudft.modeling.tokenizer as tokmod
from fraudft.core.errors import UsageError
from fraudft.modeling.tokenizer import (
    OFFLINE_QWEN2,
    SPECIAL_TOKENS,
    default_cache_dir,
    load_tokenizer,
)


def test_golden_ids(tokenizer):
    assert tokenizer("你是谁")["input_ids"] == [105043, 100165]


def test_no_special_tokens_added_by_default(tokenizer):
    # Qwen2 adds no BOS/EOS: with or without add_special_tokens the ids are the same.
    assert tokenizer("你是谁", add_special_tokens=False)["input_ids"] == [105043, 100165]


def test_special_token_ids(tokenizer):
    assert tokenizer.convert_tokens_to_ids(list(SPECIAL_TOKENS)) == [151643, 151644, 151645]
    assert tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.pad_token_id == 151643
    assert tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.eos_token_id == 151645


def test_special_tokens_in_text_are_single_ids(tokenizer):
    ids = tokenizer("<|im_start|>user\n你是谁<|im_end|><|endoftext|>", add_special_tokens=False)["input_ids"]
    assert ids[0] == 151644
    assert ids[-2:] == [151645, 151643]


def test_vocabulary_size(tokenizer):
    assert len(tokenizer) == 151646


def test_round_trip_decode(tokenizer):
    text = "发言人3: 现在我所在这个哪里，能够 tell me 123?\n发言人1: 就是"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids) == text


def test_chat_template_is_qwen2(tokenizer):
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": "你是谁"}], tokenize=False, add_generation_prompt=True
    )
    assert rendered == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n你是谁<|im_end|>\n<|im_start|>assistant\n"
    )


def test_default_cache_dir_honours_env(monkeypatch, tmp_path):
    monkeypatch.setenv("FRAUDFT_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.delenv("FRAUDFT_CACHE")
    assert default_cache_dir().parts[-2:] == (".cache", "fraudft")


def test_cache_is_built_then_reused(tmp_path, monkeypatch, tokenizer):
    built = load_tokenizer(OFFLINE_QWEN2, cache_dir=tmp_path)
    cached_file = tmp_path / "qwen2-offline-tokenizer" / "tokenizer.json"
    assert cached_file.is_file()

    # The second load must read the cache, not rebuild.
    def no_rebuild(out_dir):
        raise AssertionError(f"rebuilt the tokenizer in {out_dir} instead of reading the cache")

    monkeypatch.setattr(tokmod, "build_qwen2_offline", no_rebuild)
    reloaded = load_tokenizer(OFFLINE_QWEN2, cache_dir=tmp_path)

    text = "发言人1: 你是谁？\n发言人2: 我是银行客服，your account 12345 has a problem."
    expected = tokenizer(text)["input_ids"]
    assert built(text)["input_ids"] == expected
    assert reloaded(text)["input_ids"] == expected
    assert len(reloaded) == 151646
    assert (reloaded.pad_token_id, reloaded.eos_token_id) == (151643, 151645)
    assert reloaded.chat_template == built.chat_template


def test_missing_dashscope_is_a_clear_error(tmp_path, monkeypatch):
    def files(package):
        raise ModuleNotFoundError(f"No module named {package!r}", name=package)

    monkeypatch.setattr(tokmod, "resources", types.SimpleNamespace(files=files))
    with pytest.raises(RuntimeError, match="dashscope"):
        load_tokenizer(OFFLINE_QWEN2, cache_dir=tmp_path)
    assert not (tmp_path / "qwen2-offline-tokenizer" / "tokenizer.json").exists()


# --- tokenizers from a folder ---------------------------------------------------------------------


def test_a_checkpoint_folder_tokenizer_is_qwen2_with_its_chat_template(tiny_checkpoint, tokenizer):
    loaded = load_tokenizer(str(tiny_checkpoint))
    assert loaded("你是谁")["input_ids"] == [105043, 100165]
    assert [loaded.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS] == [151643, 151644, 151645]
    messages = [{"role": "user", "content": "你好"}]
    assert loaded.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n你好<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_a_tokenizer_without_chat_tokens_is_a_usage_error(tmp_path):
    backend = Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1, "b": 2}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]").save_pretrained(tmp_path)
    with pytest.raises(UsageError, match=r"lacks the chat tokens <\|im_start\|>, <\|im_end\|>") as err:
        load_tokenizer(str(tmp_path))
    assert str(tmp_path) in str(err.value) and "\n" not in str(err.value)
    assert load_tokenizer(str(tmp_path), chat_tokens=())("a b")["input_ids"] == [1, 2]  # when asked not to check


def test_a_folder_without_a_tokenizer_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match=f"{tmp_path}: no tokenizer.json"):
        load_tokenizer(str(tmp_path))
    with pytest.raises(UsageError, match="no such tokenizer folder"):
        load_tokenizer(str(tmp_path / "absent"))
