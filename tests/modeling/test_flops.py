"""fraudft.modeling.flops: the analytic count by hand, and against torch's FlopCounterMode."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from fraudft.modeling.encode import IGNORE_INDEX
from fraudft.modeling.flops import BatchLayout, ModelShape, mfu, peak_flops, step_flops
from fraudft.modeling.lora import LoraSettings, adapted_modules, add_lora
from fraudft.modeling.loss import label_position_loss
from fraudft.modeling.models import load_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SHAPE = ModelShape(hidden=4, intermediate=8, layers=1, heads=2, kv_heads=1, head_dim=2, vocab=10)


def test_hand_computed_case():
    layout = BatchLayout(lengths=(3,), rows=3, packed=False, label_positions=1)
    flops = step_flops(SHAPE, layout, lora_r=1, lora_targets={"q_proj"}, loss="label_positions")
    T = 3
    base_fwd = 2 * T * (4 * 4 + 4 * 2 + 4 * 2 + 4 * 4 + 4 * 8 + 4 * 8 + 8 * 4)
    base_bwd = 2 * T * (4 * 4 + 4 * 8 + 4 * 8 + 8 * 4)  # not q/k/v: the first layer's input needs no grad
    lora_fwd = 2 * T * 1 * (4 + 4)
    lora_bwd = lora_fwd + 2 * T * 1 * 4  # dA, dB, and the gradient into B's input
    attn_fwd = 2 * 2 * (2 * T * T * 2)  # heads x (QK^T + PV), each 2*T*T*head_dim
    head_fwd = 2 * 1 * 4 * 10  # one label position
    expected = base_fwd + base_bwd + lora_fwd + lora_bwd + 3 * attn_fwd + 2 * head_fwd
    assert flops == {"model": expected, "executed": expected} == {"model": 2248, "executed": 2248}


def test_padding_and_checkpointing_cost_executed_flops_only():
    padded = BatchLayout(lengths=(3, 1), rows=6, packed=False, label_positions=2)
    plain = step_flops(SHAPE, padded, 1, {"q_proj"}, "full")
    ckpt = step_flops(SHAPE, padded, 1, {"q_proj"}, "full", checkpointing=True)
    assert plain["executed"] > plain["model"]
    assert ckpt["model"] > plain["model"]  # the first layer's input gradients are now computed
    assert ckpt["executed"] - ckpt["model"] > plain["executed"] - plain["model"]  # + the recomputed forward
    packed = BatchLayout(lengths=(3, 1), rows=4, packed=True, label_positions=2)
    block = step_flops(SHAPE, packed, 1, {"q_proj"}, "full")
    varlen = step_flops(SHAPE, packed, 1, {"q_proj"}, "full", varlen_attention=True)
    assert varlen["executed"] == varlen["model"] == block["model"] < block["executed"] < plain["executed"]


def test_batch_layout_of_padded_and_flattened_batches():
    padded = {"input_ids": torch.zeros(2, 5, dtype=torch.long),
              "attention_mask": torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]]),
              "labels": torch.tensor([[IGNORE_INDEX] * 3 + [7, 8], [IGNORE_INDEX, 9] + [IGNORE_INDEX] * 3])}
    assert BatchLayout.of(padded) == BatchLayout(lengths=(5, 2), rows=10, packed=False, label_positions=3)
    flat = {"input_ids": torch.zeros(1, 7, dtype=torch.long), "position_ids": torch.tensor([[0, 1, 2, 3, 0, 1, 2]]),
            "labels": torch.tensor([[IGNORE_INDEX, IGNORE_INDEX, 5, 6, IGNORE_INDEX, IGNORE_INDEX, 4]])}
    assert BatchLayout.of(flat) == BatchLayout(lengths=(4, 3), rows=7, packed=True, label_positions=3)


def test_mfu_needs_a_known_device():
    assert peak_flops("NVIDIA H100 80GB HBM3")[0] == 989e12
    assert peak_flops("NVIDIA H100 PCIe")[0] == 756e12
    assert mfu(989e12, 2.0, "NVIDIA H200")["mfu"] == pytest.approx(0.5)
    assert mfu(2 * 989e12, 2.0, "NVIDIA H200", devices=2)["mfu"] == pytest.approx(0.5)  # per device
    unknown = mfu(1e12, 1.0, "Some GPU")
    assert unknown["mfu"] is None and "not in" in unknown["reason"]
    assert mfu(1e12, 1.0, None)["mfu"] is None


@pytest.mark.parametrize("loss", ["label_positions", "full"])
def test_formula_matches_flop_counter_on_the_tiny_model(loss):
    """Forward + backward of the LoRA tiny model (eager attention, so FlopCounterMode sees the
    attention matmuls: it has no formula for CPU SDPA). The one known difference: the rotary
    embedding's inv_freq x positions outer product (2*rows*head_dim/2 FLOPs per forward), which
    the formula leaves out as negligible; hence a 0.1% tolerance."""
    torch.manual_seed(0)
    model = load_model("tiny", device="cpu")
    model.set_attn_implementation("eager")
    model = add_lora(model, LoraSettings(r=8, dropout=0.0))
    batch = {"input_ids": torch.randint(0, 1000, (2, 24)),
             "attention_mask": torch.ones(2, 24, dtype=torch.long)}
    batch["attention_mask"][1, 17:] = 0
    labels = torch.full((2, 24), IGNORE_INDEX)
    labels[0, 18:22] = 5
    labels[1, 12:16] = 6
    batch["labels"] = labels
    with FlopCounterMode(display=False) as counter:
        if loss == "full":
            model(**batch).loss.backward()
        else:
            label_position_loss(model, batch).backward()
    counted = counter.get_total_flops()
    expected = step_flops(ModelShape.of(model), BatchLayout.of(batch), 8, adapted_modules(model), loss)
    assert expected["executed"] > expected["model"]  # row 1 is padded
    assert counted == pytest.approx(expected["executed"], rel=1e-3)
