"""Tiny checkpoints of other chat-model families, saved as a user brings them (`save_pretrained`).

    folder = save_tiny_family("llama3", tmp_path)     # Llama-3-style chat template, no pad token
    folder = save_tiny_family("gemma2", tmp_path)     # Gemma-2-style template (no system role), soft-capped logits

Each is a randomly initialised two-layer model whose tokenizer is the offline Qwen2 vocabulary plus
the family's own special tokens, with the family's published chat template (copied from the
Meta-Llama-3-8B-Instruct and gemma-2-2b-it tokenizer configs). No download: the weights are random
and the vocabulary is the one fraudft builds offline (REFERENCE §3).
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import Gemma2Config, Gemma2ForCausalLM, LlamaConfig, LlamaForCausalLM

from fraudft.modeling.tokenizer import load_tokenizer

LLAMA3_CHAT_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim "
    "+ '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
GEMMA2_CHAT_TEMPLATE = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}"
    "{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"
)
FAMILIES = {
    # name: (special tokens added, bos, eos, pad or None, chat template)
    "llama3": (("<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"),
               "<|begin_of_text|>", "<|eot_id|>", None, LLAMA3_CHAT_TEMPLATE),
    "gemma2": (("<bos>", "<eos>", "<pad>", "<start_of_turn>", "<end_of_turn>"),
               "<bos>", "<eos>", "<pad>", GEMMA2_CHAT_TEMPLATE),
}


def family_tokenizer(family: str):
    """The offline Qwen2 vocabulary with `family`'s special tokens and chat template."""
    added, bos, eos, pad, template = FAMILIES[family]
    tokenizer = load_tokenizer("qwen2-offline")
    tokenizer.add_special_tokens({"additional_special_tokens": list(added)})
    tokenizer.bos_token, tokenizer.eos_token = bos, eos
    tokenizer.pad_token = pad  # None: Llama-3's tokenizers ship without a pad token
    tokenizer.chat_template = template
    return tokenizer


def _model(family: str, tokenizer):
    ids = dict(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
               pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    if family == "llama3":
        return LlamaForCausalLM(LlamaConfig(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=2048, **ids))
    return Gemma2ForCausalLM(Gemma2Config(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=8, query_pre_attn_scalar=8, max_position_embeddings=2048, sliding_window=64,
        final_logit_softcapping=30.0, **ids))


def save_tiny_family(family: str, folder: Path) -> Path:
    """Save a tiny random `family` model and its tokenizer into `folder` (safetensors); returns it."""
    tokenizer = family_tokenizer(family)
    _model(family, tokenizer).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder
