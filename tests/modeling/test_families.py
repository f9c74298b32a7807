"""fraudft.modeling.families: the per-family table against the modules of real (tiny, random)
checkpoints of each family, the LoRA targets it resolves and checks, and the FLOPs it shapes."""

from __future__ import annotations

import re
import warnings

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode
from transformers import AutoModelForCausalLM, GPTNeoXConfig, GPTNeoXForCausalLM, Qwen3Config

from fraudft.core.errors import UsageError
from fraudft.modeling import families
from fraudft.modeling.encode import IGNORE_INDEX
from fraudft.modeling.families import (
    FALLBACK,
    FAMILIES,
    Family,
    TargetWarning,
    adapted_modules,
    chat_template_kwargs,
    family_of,
    lora_targets,
    module_dims,
    shape_dims,
)
from fraudft.modeling.flops import BatchLayout, ModelShape, step_flops
from fraudft.modeling.lora import REFERENCE_TARGET_MODULES, LoraSettings, add_lora
from fraudft.modeling.loss import label_position_loss
from fraudft.modeling.models import load_model
from fraudft.modeling.taskformat import TaskFormat
from tests.families import ARCHITECTURES, FAMILIES as CHAT_FAMILIES, family_tokenizer, save_tiny_family

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CHECKPOINTS = sorted({**CHAT_FAMILIES, **ARCHITECTURES})  # gemma2, gemma3, gpt2, llama3, phi3
# what each checkpoint's family table entry is (gemma3: its nested text_config's model_type)
FAMILY_NAMES = {"gemma2": "gemma2", "gemma3": "gemma3_text", "gpt2": "gpt2", "llama3": "llama", "phi3": "phi3"}


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict:
    return {name: save_tiny_family(name, tmp_path_factory.mktemp(name)) for name in CHECKPOINTS}


def load(folders, name):
    return AutoModelForCausalLM.from_pretrained(folders[name], dtype=torch.float32)


@pytest.mark.parametrize("name", CHECKPOINTS)
def test_each_family_reads_the_shape_its_modules_have(folders, name):
    model = load(folders, name)
    assert family_of(model).name == FAMILY_NAMES[name]
    table, modules = shape_dims(model), module_dims(model)
    # the table's config reading and projection formula agree with the fallback's module reading
    assert {k: v for k, v in table.items() if k != "first_layer_inputs"} == \
           {k: v for k, v in modules.items() if k != "first_layer_inputs"}
    assert table["layers"] == 2 and table["hidden"] == 32
    assert set(table["first_layer_inputs"]) <= set(table["projections"])


def test_gemma3_reads_its_nested_text_config(folders):
    model = load(folders, "gemma3")
    assert type(model).__name__ == "Gemma3ForConditionalGeneration"  # what AutoModelForCausalLM loads
    assert not hasattr(model.config, "intermediate_size") and model.config.text_config.intermediate_size == 64
    shape = ModelShape.of(model)
    assert (shape.hidden, shape.intermediate, shape.heads, shape.kv_heads, shape.head_dim) == (32, 64, 4, 2, 8)


def test_qwen2_keeps_the_reference_targets():
    model = load_model("tiny", device="cpu")
    assert family_of(model).name == "qwen2"
    assert lora_targets(model, None) == list(REFERENCE_TARGET_MODULES) == \
           ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    peft_model = add_lora(model, LoraSettings())
    assert set(peft_model.peft_config["default"].target_modules) == set(REFERENCE_TARGET_MODULES)
    assert adapted_modules(peft_model) == ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                           "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]


@pytest.mark.parametrize("name, adapted", [
    ("phi3", ["self_attn.o_proj", "self_attn.qkv_proj", "mlp.gate_up_proj", "mlp.down_proj"]),
    ("gpt2", ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"]),
    ("gemma3", ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]),
])
def test_default_targets_adapt_every_projection_of_the_decoder(folders, name, adapted):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # peft: fan_in_fan_out set for GPT-2's Conv1D
        model = add_lora(load(folders, name), LoraSettings())
    assert adapted_modules(model) == adapted
    lora_layers = [n for n, m in model.named_modules() if n.endswith(".lora_A")]
    assert len(lora_layers) == 2 * len(adapted)  # two decoder layers; none in Gemma-3's vision tower
    assert all(".language_model." in n for n in lora_layers) or name != "gemma3"


def test_a_typo_in_the_targets_is_one_line_naming_it_and_the_candidates(folders):
    model = load(folders, "phi3")
    with pytest.raises(UsageError) as err:
        lora_targets(model, ("qkv_proj", "gate_up_prj"))
    assert str(err.value) == ("target_modules: gate_up_prj matches no module of Phi3ForCausalLM (phi3 family), "
                              "expected some of its linear layers: o_proj, qkv_proj, gate_up_proj, down_proj")
    # Qwen2's names on Phi-3: an error naming the five it lacks, not LoRA on 2 of its projections
    with pytest.raises(UsageError, match=r"^target_modules: q_proj, k_proj, v_proj, gate_proj, up_proj match no module"):
        add_lora(model, LoraSettings(target_modules=REFERENCE_TARGET_MODULES))


def test_default_targets_matching_part_of_the_model_warn_naming_what_is_adapted(monkeypatch):
    model = load_model("tiny", device="cpu")
    monkeypatch.setattr(families, "family_of", lambda m: Family("partial", ("q_proj", "wqkv")))
    with pytest.warns(TargetWarning, match=r"^target_modules: the partial defaults wqkv match no module of "
                                           r"Qwen2ForCausalLM \(partial family\); adapting q_proj$"):
        assert lora_targets(model, None) == ["q_proj"]
    monkeypatch.setattr(families, "family_of", lambda m: Family("none", ("wqkv",)))
    with pytest.raises(UsageError, match="wqkv matches no module"):
        lora_targets(model, None)


def tiny_neox():
    torch.manual_seed(0)
    return GPTNeoXForCausalLM(GPTNeoXConfig(vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                                            num_attention_heads=4, max_position_embeddings=128))


def test_an_unknown_family_is_read_from_its_modules():
    model = tiny_neox()
    assert "gpt_neox" not in FAMILIES and family_of(model) is FALLBACK
    shape = ModelShape.of(model)
    assert (shape.hidden, shape.intermediate, shape.layers, shape.heads, shape.head_dim, shape.vocab) == \
           (32, 64, 3, 4, 8, 300)
    assert shape.linears() == {"attention.query_key_value": (32, 96), "attention.dense": (32, 32),
                               "mlp.dense_h_to_4h": (32, 64), "mlp.dense_4h_to_h": (64, 32)}
    assert lora_targets(model, None) == ["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"]
    assert adapted_modules(add_lora(model, LoraSettings())) == list(shape.linears())


def batch_for(vocab: int) -> dict:
    torch.manual_seed(1)
    batch = {"input_ids": torch.randint(0, vocab, (2, 20)), "attention_mask": torch.ones(2, 20, dtype=torch.long)}
    batch["attention_mask"][1, 14:] = 0
    labels = torch.full((2, 20), IGNORE_INDEX)
    labels[0, 15:18], labels[1, 10:13] = 5, 6
    batch["labels"] = labels
    return batch


@pytest.mark.parametrize("name", ["gpt2", "phi3", "gemma3"])
def test_flops_of_each_family_match_the_flop_counter(folders, name):
    """As tests/modeling/test_flops.py does for Qwen2: eager attention, so FlopCounterMode sees the
    attention matmuls; the rotary/position terms the formula leaves out stay under 1%."""
    model = load(folders, name)
    model.set_attn_implementation("eager")
    shape = ModelShape.of(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = add_lora(model, LoraSettings(r=4, dropout=0.0))
    batch = batch_for(shape.vocab)
    with FlopCounterMode(display=False) as counter:
        label_position_loss(model, batch).backward()
    expected = step_flops(shape, BatchLayout.of(batch), 4, adapted_modules(model), "label_positions")
    assert counter.get_total_flops() == pytest.approx(expected["executed"], rel=1e-2)


QWEN3_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
                  "{% if add_generation_prompt %}<|im_start|>assistant\n{% if enable_thinking is defined and "
                  "enable_thinking is false %}<think>\n\n</think>\n\n{% endif %}{% endif %}")


def test_a_families_chat_template_kwargs_reach_the_prompt(tmp_path):
    """A Qwen3 checkpoint's template is rendered with enable_thinking=False (its empty think block);
    the same template from a folder of another family gets no such argument."""
    for model_type, folder in (("qwen3", tmp_path / "qwen3"), ("qwen2", tmp_path / "qwen2")):
        config = Qwen3Config() if model_type == "qwen3" else load_model("tiny", device="meta").config
        config.save_pretrained(folder)
        tokenizer = family_tokenizer("gpt2")
        tokenizer.chat_template = QWEN3_TEMPLATE
        tokenizer.save_pretrained(folder)
    from transformers import AutoTokenizer

    qwen3, qwen2 = (AutoTokenizer.from_pretrained(tmp_path / name) for name in ("qwen3", "qwen2"))
    assert chat_template_kwargs(qwen3) == {"enable_thinking": False} and chat_template_kwargs(qwen2) == {}
    fmt = TaskFormat(prompt="chat_template")
    assert fmt.prompt_text(qwen3, "判断", "对话").endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert fmt.prompt_text(qwen2, "判断", "对话").endswith("<|im_start|>assistant\n")
    assert re.search(r"<\|im_end\|>", fmt.prompt_text(qwen3, "判断", "对话"))


# ---- LoRA on tied modules (issue 26, item 5) ------------------------------------------------------

def test_lora_on_a_tied_head_is_refused_by_name_or_regex():
    model = load_model("tiny")  # tie_word_embeddings: lm_head.weight is the input embeddings
    with pytest.raises(UsageError) as caught:
        lora_targets(model, ["q_proj", "v_proj", "lm_head"])
    assert "lm_head selects lm_head, whose weight is tied to model.embed_tokens (tie_word_embeddings)" in str(caught.value)
    assert str(caught.value).endswith("; drop lm_head") and "\n" not in str(caught.value)
    with pytest.raises(UsageError, match="whose weight is tied to lm_head"):
        lora_targets(model, ["embed_tokens"])
    with pytest.raises(UsageError, match=r"^target_modules: .\*\(q_proj\|lm_head\) selects lm_head"):
        lora_targets(model, r".*(q_proj|lm_head)")
    assert lora_targets(model, r".*q_proj") == r".*q_proj"


def test_an_untied_head_takes_lora_and_merging_leaves_the_embeddings_alone():
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    model = Qwen2ForCausalLM(Qwen2Config(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=1, tie_word_embeddings=False))
    assert lora_targets(model, ["q_proj", "lm_head"]) == ["q_proj", "lm_head"]
    embeddings = model.get_input_embeddings().weight.detach().clone()
    peft_model = add_lora(model, LoraSettings(target_modules=("q_proj", "lm_head"), init_lora_weights=False))
    merged = peft_model.merge_and_unload()
    assert torch.equal(merged.get_input_embeddings().weight, embeddings)
