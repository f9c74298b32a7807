"""A fixed calibration workload, so speed budgets hold on any machine.

    from fraudft.experiment.calibration import calibrate
    tokens_per_s = calibrate(model, batch_size=16, seq_len=128)

Forward and backward passes of the model's decoder, its weights frozen as under LoRA (activation
gradients only), on a fixed random batch (no LM head, no optimizer, no data pipeline), timed in the same process just before an arm trains. A recipe's
`min_relative_throughput` budget holds training tokens/s to a share of this figure: a slower or
busier machine lowers both, while a regression in fraudft's training path lowers only the first.
"""

from __future__ import annotations

import time

import torch


def calibrate(model, batch_size: int, seq_len: int = 128, steps: int = 3, seed: int = 0) -> float:
    """Tokens/s of decoder forward+backward on a fixed random batch (one warm-up step not timed)."""
    decoder = model.get_decoder()
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)  # a local generator: the global RNG is left as it is
    ids = torch.randint(0, model.config.vocab_size, (batch_size, seq_len), generator=generator).to(device)
    with torch.no_grad():
        embeds = model.get_input_embeddings()(ids)
    trainable = [p for p in model.parameters() if p.requires_grad]
    was_training = model.training
    model.train()
    try:
        for p in trainable:
            p.requires_grad_(False)
        for step in range(steps + 1):
            if step == 1:
                _synchronize(device)
                start = time.perf_counter()
            inputs = embeds.detach().requires_grad_()
            # One unpadded batch: the default positions 0..seq_len-1 are right, no attention mask needed.
            hidden = decoder(inputs_embeds=inputs, use_cache=False).last_hidden_state
            hidden.float().pow(2).mean().backward()
        _synchronize(device)
        seconds = time.perf_counter() - start
    finally:
        for p in trainable:
            p.requires_grad_(True)
        model.train(was_training)
    return batch_size * seq_len * steps / seconds


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
