"""Tiny checkpoints of other chat-model families, saved as a user brings them (`save_pretrained`).

    folder = save_tiny_family("llama3", tmp_path)     # Llama-3-style chat template, no pad token
    folder = save_tiny_family("gemma2", tmp_path)     # Gemma-2-style template (no system role), soft-capped logits
    folder = save_tiny_family("gpt2", tmp_path)       # GPT-2 (Conv1D layers, n_embd/n_inner config names)
    folder = save_tiny_family("gemma3", tmp_path)     # Gemma-3 as published: sizes in a nested text_config
    folder = save_tiny_family("phi3", tmp_path)       # Phi-3: fused qkv_proj and gate_up_proj

FAMILIES are the chat families the bench runs (tests/experiment/test_model_families.py);
ARCHITECTURES add the architectures whose module names or config differ (tests/modeling/test_families.py).
Each is a randomly initialised two-layer model whose tokenizer is the offline Qwen2 vocabulary plus
the family's own special tokens, with the family's published chat template (copied from the
Meta-Llama-3-8B-Instruct and gemma-2-2b-it tokenizer configs). No download: the weights are random
and the vocabulary is the one fraudft builds offline (REFERENCE §3).
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import (
    Gemma2Config,
    Gemma2ForCausalLM,
    Gemma3Config,
    Gemma3ForConditionalGeneration,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    Phi3Config,
    Phi3ForCausalLM,
)

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
# The tokenizers of these keep the Qwen2 vocabulary's own tokens (the reference prompt's ChatML).
ARCHITECTURES = {
    "gpt2": ((), "<|endoftext|>", "<|endoftext|>", None, None),
    "gemma3": FAMILIES["gemma2"],
    "phi3": (("<|user|>", "<|assistant|>", "<|end|>"), "<|endoftext|>", "<|endoftext|>", "<|endoftext|>",
             "{% for message in messages %}{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}"
             "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"),
}


def family_tokenizer(family: str):
    """The offline Qwen2 vocabulary with `family`'s special tokens and chat template."""
    added, bos, eos, pad, template = {**FAMILIES, **ARCHITECTURES}[family]
    tokenizer = load_tokenizer("qwen2-offline")
    tokenizer.add_special_tokens({"additional_special_tokens": list(added)})
    tokenizer.bos_token, tokenizer.eos_token = bos, eos
    tokenizer.pad_token = pad  # None: Llama-3's tokenizers ship without a pad token
    if template is not None:
        tokenizer.chat_template = template
    return tokenizer


def _model(family: str, tokenizer):
    ids = dict(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
               pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    sizes = dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048)
    if family == "llama3":
        return LlamaForCausalLM(LlamaConfig(**sizes, **ids))
    if family == "phi3":
        return Phi3ForCausalLM(Phi3Config(**sizes, **ids))
    if family == "gpt2":
        return GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_embd=32, n_layer=2, n_head=4, n_inner=48,
                                          n_positions=2048, **ids))
    if family == "gemma3":  # what AutoModelForCausalLM loads for a Gemma-3 config: the multimodal model
        text = dict(sizes, head_dim=8, query_pre_attn_scalar=8, sliding_window=64, **ids)
        vision = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                      image_size=28, patch_size=14)
        return Gemma3ForConditionalGeneration(Gemma3Config(text_config=text, vision_config=vision,
                                                           mm_tokens_per_image=4, **ids))
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
