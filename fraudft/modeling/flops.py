"""Analytic matmul FLOPs of a LoRA training step on a decoder-only transformer, and MFU.

    from fraudft.modeling.flops import ModelShape, BatchLayout, step_flops
    flops = step_flops(ModelShape.of(model), BatchLayout.of(batch), lora_r=8, loss="label_positions")

Only matrix products are counted (2 FLOPs per multiply-add), as torch's FlopCounterMode and the
usual MFU convention (PaLM, Megatron) do; norms, rotary embeddings, softmax and the activation are
left out. Per linear layer `d_in -> d_out` over `T` positions:

- frozen base weight: forward 2*T*d_in*d_out, backward only the activation gradient (same again),
  no weight gradient; the activation gradient is skipped where the layer's input needs no gradient
  (the first layer's q/k/v read the frozen embeddings, unless checkpointing made the embedding
  output require grad);
- LoRA (A: d_in -> r, B: r -> d_out): forward 2*T*r*(d_in+d_out), backward weight gradients of A
  and B plus the activation gradients (the last again skipped where the input needs none);
- attention: QK^T and PV, 4*heads*head_dim FLOPs per query-key pair forward, twice that backward
  (the full square, as SDPA kernels and FlopCounterMode count it, causal or not);
- LM head (tied, frozen): forward and activation gradient over the rows it is applied to, i.e. the
  label positions with the label-position loss, every position with the full loss.

Two figures come from each batch: `model` FLOPs (the real tokens only, no recomputation: the
numerator of MFU) and `executed` FLOPs (padded rows, packed attention over the whole packed row,
the forward recomputed under gradient checkpointing: what the device actually ran).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from fraudft.modeling.encode import IGNORE_INDEX
from fraudft.modeling.families import gated_projections, matches, shape_dims

# Peak dense bf16 FLOP/s (no sparsity) by substring of torch.cuda.get_device_name(), most specific first.
PEAK_BF16_FLOPS = (
    ("H200", 989e12),
    ("H100 PCIe", 756e12),
    ("H100", 989e12),  # SXM and NVL report "H100 80GB HBM3"
    ("A100", 312e12),
    ("L40S", 362e12),
    ("L4", 121e12),
    ("A10G", 70e12),
    ("RTX 4090", 165e12),
)


@dataclass(frozen=True)
class ModelShape:
    """The dimensions of a decoder that its matmul FLOPs depend on, and the projections of one layer.

    `projections`: (in-layer path, d_in, d_out) of each linear layer of a decoder layer, as the
    model's family gives them (fraudft.modeling.families); none given (a shape written by hand):
    the Llama/Qwen2-style q/k/v/o and gated MLP of these dimensions. `first_layer_inputs`: the
    projections reading the frozen embeddings' output in the first layer (Qwen2's q/k/v; its MLP
    already reads the attention output), whose input gradient is not computed."""

    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    projections: tuple[tuple[str, int, int], ...] = ()
    first_layer_inputs: tuple[str, ...] = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj")

    @classmethod
    def of(cls, model) -> "ModelShape":
        """The shape of a transformers CausalLM (or a peft wrapper around one), read as its family
        says (a nested text_config included), or from its modules for an unknown family."""
        dims = shape_dims(model)
        dims["projections"] = tuple((name, d_in, d_out) for name, (d_in, d_out) in dims["projections"].items())
        dims["first_layer_inputs"] = tuple(dims["first_layer_inputs"])
        return cls(**dims)

    def linears(self) -> dict[str, tuple[int, int]]:
        """(d_in, d_out) of each projection in one decoder layer, by its path in the layer."""
        if self.projections:
            return {name: (d_in, d_out) for name, d_in, d_out in self.projections}
        return gated_projections(asdict(self))


@dataclass(frozen=True)
class BatchLayout:
    """What one micro-batch holds: real sequence lengths, the rows computed, the label positions."""

    lengths: tuple[int, ...]  # real (non-pad) length of each sequence
    rows: int  # positions run through the decoder (batch x padded length, or the packed length)
    packed: bool  # padding-free: all sequences in one row
    label_positions: int  # positions whose next-token label is not -100

    @classmethod
    def of(cls, batch: dict) -> "BatchLayout":
        """From a collated batch: padded (attention_mask) or flattened (position_ids, no mask)."""
        ids = batch["input_ids"]
        mask = batch.get("attention_mask")
        if mask is None and "position_ids" in batch:
            # DataCollatorWithFlattening: a new sequence starts wherever the position restarts at 0.
            starts = (batch["position_ids"].reshape(-1) == 0).nonzero().flatten().tolist() + [ids.numel()]
            lengths = tuple(b - a for a, b in zip(starts, starts[1:]))
            packed = True
        else:
            lengths = tuple((mask if mask is not None else torch.ones_like(ids)).sum(dim=1).tolist())
            packed = False
        labels = batch.get("labels")
        n_labels = int((labels[:, 1:] != IGNORE_INDEX).sum()) if labels is not None else 0
        return cls(lengths=lengths, rows=int(ids.numel()), packed=packed, label_positions=n_labels)

    @property
    def tokens(self) -> int:
        return sum(self.lengths)


def _pass_flops(shape: ModelShape, rows: int, pairs: int, head_rows: int, lora_r: int,
                lora_targets: frozenset[str], first_layer_input_grad: bool) -> tuple[int, int]:
    """(forward, backward) matmul FLOPs of one pass over `rows` positions and `pairs` query-key pairs."""
    forward = backward = 0
    for name, (d_in, d_out) in shape.linears().items():
        first_layer_input = name in shape.first_layer_inputs
        layers_with_input_grad = shape.layers - (0 if first_layer_input_grad or not first_layer_input else 1)
        forward += shape.layers * 2 * rows * d_in * d_out
        backward += layers_with_input_grad * 2 * rows * d_in * d_out
        if any(matches(name, target) for target in lora_targets):
            lora = 2 * rows * lora_r * (d_in + d_out)
            forward += shape.layers * lora
            # weight gradients of A and B, the gradient into B's input, and into A's input where needed
            backward += shape.layers * (lora + 2 * rows * lora_r * d_out) + layers_with_input_grad * 2 * rows * lora_r * d_in
    attention = shape.layers * 4 * shape.heads * shape.head_dim * pairs
    head = 2 * head_rows * shape.hidden * shape.vocab
    return forward + attention + head, backward + 2 * attention + head


def step_flops(shape: ModelShape, layout: BatchLayout, lora_r: int, lora_targets, loss: str,
               checkpointing: bool = False, varlen_attention: bool = False) -> dict:
    """Model and executed matmul FLOPs (forward + backward) of one micro-batch.

    `lora_targets`: the adapted projections, as peft's target_modules names them (a layer path or
    its suffix: `q_proj`, `self_attn.q_proj`; fraudft.modeling.families.adapted_modules gives them).

    `checkpointing`: the decoder's forward is recomputed during backward, and the embedding output
    requires grad (so the first layer's input gradients are computed too). `varlen_attention`: a
    packed batch's attention covers each sequence's own square (flash-attention varlen kernels)
    rather than the whole packed row under a block mask (SDPA, eager).
    """
    if loss not in ("label_positions", "full"):
        raise ValueError(f"loss: got {loss!r}, expected 'label_positions' or 'full'")
    targets = frozenset(lora_targets)
    real_pairs = sum(n * n for n in layout.lengths)
    if layout.packed:
        executed_pairs = real_pairs if varlen_attention else layout.rows**2
    else:
        executed_pairs = len(layout.lengths) * (layout.rows // max(1, len(layout.lengths))) ** 2
    full = loss == "full"
    fwd, bwd = _pass_flops(shape, layout.tokens, real_pairs, layout.tokens if full else layout.label_positions,
                           lora_r, targets, checkpointing)
    ex_fwd, ex_bwd = _pass_flops(shape, layout.rows, executed_pairs, layout.rows if full else layout.label_positions,
                                 lora_r, targets, checkpointing)
    recompute = 0
    if checkpointing:  # the decoder layers' forward again, without the LM head
        recompute = ex_fwd - 2 * (layout.rows if full else layout.label_positions) * shape.hidden * shape.vocab
    return {"model": fwd + bwd, "executed": ex_fwd + ex_bwd + recompute}


def peak_flops(device_name: str | None) -> tuple[float | None, str]:
    """(peak dense bf16 FLOP/s, why) for a CUDA device name; None where it is not in the table."""
    if device_name is None:
        return None, "no CUDA device: MFU is defined against an accelerator's peak"
    for key, value in PEAK_BF16_FLOPS:
        if key in device_name:
            return value, f"{device_name}: {value:.3g} bf16 FLOP/s dense (table entry {key!r})"
    return None, f"{device_name!r} is not in fraudft.modeling.flops.PEAK_BF16_FLOPS"


def mfu(model_flops: float, seconds: float, device_name: str | None, devices: int = 1) -> dict:
    """Model FLOPs utilisation per device: the model FLOP/s achieved by `devices` such devices together
    over their summed peak (null with a reason); peak_flops_per_s is one device's."""
    peak, why = peak_flops(device_name)
    achieved = model_flops / seconds if seconds > 0 else None
    value = achieved / (peak * devices) if peak and achieved is not None else None
    return {"mfu": value, "achieved_flops_per_s": achieved, "peak_flops_per_s": peak, "devices": devices, "reason": why}


def activation_bytes(shape: ModelShape, tokens: int, logit_rows: int, dtype_bytes: int) -> int:
    """A rough upper estimate of the activations one micro-batch keeps for backward.

    Per token and layer a Qwen2 block with LoRA on every projection saves about 10*hidden +
    5*intermediate values (norm outputs, q/k/v, attention output, gate/up/act/product, the LoRA
    inputs; attention probabilities are not kept by SDPA/flash kernels), plus the fp32 logits and
    their softmax gradient at the LM head's rows.
    """
    per_token = shape.layers * (10 * shape.hidden + 5 * shape.intermediate) * dtype_bytes
    return tokens * per_token + logit_rows * shape.vocab * (dtype_bytes + 8)
