"""Causal-LM loss computed from the LM head at label positions only.

The reference computes logits over the 151,936-token vocabulary at every position although only
the ~8 answer tokens carry loss. Here the backbone runs as usual, but the LM head is applied only to
the hidden states whose next-token label is not -100. The value (and gradients) equal the standard
shifted cross-entropy of transformers' ForCausalLMLoss, including its `num_items_in_batch`
normalisation under gradient accumulation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fraudft.modeling.encode import IGNORE_INDEX


def causal_lm_of(model):
    """The transformers CausalLM inside a peft wrapper (or the model itself)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def label_position_loss(model, batch: dict, num_items_in_batch: int | torch.Tensor | None = None) -> torch.Tensor:
    """Shifted cross-entropy over the positions that carry a label, with logits only there."""
    causal_lm = causal_lm_of(model)
    hidden = causal_lm.get_decoder()(
        input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask"),
        position_ids=batch.get("position_ids"), use_cache=False,  # padding-free batches restart positions
    ).last_hidden_state
    targets = batch["labels"][:, 1:]
    keep = targets != IGNORE_INDEX
    logits = causal_lm.get_output_embeddings()(hidden[:, :-1][keep]).float()
    if num_items_in_batch is None:
        return F.cross_entropy(logits, targets[keep])
    loss = F.cross_entropy(logits, targets[keep], reduction="sum")
    return loss / torch.as_tensor(num_items_in_batch, device=loss.device)
