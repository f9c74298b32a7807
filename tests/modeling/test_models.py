"""fraudft.modeling.models: presets, checkpoints from a folder (safetensors only, one-line errors), LoRA
settings and the reference's parameter counts (REFERENCE §4)."""

from __future__ import annotations

import json
import math
import shutil

import pytest
import torch

from fraudft.core.errors import UsageError
from fraudft.modeling.lora import (
    REFERENCE_TARGET_MODULES,
    LoraSettings,
    add_lora,
    parameter_counts,
)
from fraudft.modeling.models import PRESETS, QWEN2_VOCAB, load_model, preset_config

ENDOFTEXT = 151643  # the pad token and answer terminator of the Qwen2 tokenizer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _rope_theta(config) -> float:
    # transformers 5 keeps it in rope_parameters; older versions as an attribute.
    params = getattr(config, "rope_parameters", None) or {}
    return params.get("rope_theta", getattr(config, "rope_theta", None))


@pytest.fixture(scope="module")
def meta_arch():
    return load_model("qwen2-1.5b-arch", device="meta")


@pytest.fixture(scope="module")
def tiny():
    return load_model("tiny", device="cpu")


# --- qwen2-1.5b-arch: the reference's figures without any weights -------------------------------


def test_arch_preset_has_the_reference_parameter_count(meta_arch):
    assert all(p.device.type == "meta" for p in meta_arch.parameters())
    assert sum(p.numel() for p in meta_arch.parameters()) == 1_543_714_304


def test_arch_preset_with_reference_lora_prints_the_reference_counts():
    # A fresh meta model: add_lora wraps (and mutates) the model it is given.
    model = add_lora(load_model("qwen2-1.5b-arch", device="meta"), LoraSettings())
    trainable, total = parameter_counts(model)
    assert (trainable, total) == (9_232_384, 1_552_946_688)
    assert f"{100 * trainable / total:.4f}" == "0.5945"


def test_arch_preset_config_is_qwen2_1_5b_instruct(meta_arch):
    for config in (preset_config("qwen2-1.5b-arch"), meta_arch.config):
        assert config.hidden_size == 1536
        assert config.num_hidden_layers == 28
        assert config.num_attention_heads == 12
        assert config.num_key_value_heads == 2
        assert config.intermediate_size == 8960
        assert config.vocab_size == QWEN2_VOCAB == 151936
        assert config.tie_word_embeddings is True
        assert _rope_theta(config) == 1_000_000.0
        assert config.rms_norm_eps == 1e-6
    assert meta_arch.get_output_embeddings().weight is meta_arch.get_input_embeddings().weight


# --- tiny ------------------------------------------------------------------------------------------


def test_tiny_is_a_small_fp32_cpu_model_with_the_real_vocabulary(tiny):
    params = list(tiny.parameters())
    assert all(p.device.type == "cpu" and p.dtype == torch.float32 for p in params)
    assert tiny.config.vocab_size == QWEN2_VOCAB
    assert tiny.get_input_embeddings().weight.shape[0] == QWEN2_VOCAB
    assert 1_000_000 < sum(p.numel() for p in params) < 15_000_000
    assert tiny.get_output_embeddings().weight is tiny.get_input_embeddings().weight


def test_tiny_is_deterministic_per_seed(tiny):
    same = load_model("tiny", device="cpu", seed=0)
    other = load_model("tiny", device="cpu", seed=1)
    ours, theirs = tiny.state_dict(), same.state_dict()
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert not torch.equal(tiny.get_input_embeddings().weight, other.get_input_embeddings().weight)
    assert not torch.equal(tiny.model.layers[0].self_attn.q_proj.weight, other.model.layers[0].self_attn.q_proj.weight)


def test_tiny_terminator_embedding_is_learnable(tiny):
    # With a pad_token_id the embedding row of <|endoftext|> would be zeroed; with the tied head its
    # logit would then be stuck at 0 and the answer's terminator could never be learned.
    assert tiny.config.pad_token_id is None
    row = tiny.get_input_embeddings().weight[ENDOFTEXT]
    assert row.abs().sum() > 0
    # The wide embedding of the tiny preset (std 0.4, see model.EMBEDDING_STD) reaches every row.
    assert 0.3 < tiny.get_input_embeddings().weight.std().item() < 0.5


def test_presets_have_no_pad_token():
    for name in PRESETS:
        assert preset_config(name).pad_token_id is None


def test_add_lora_freezes_the_base_and_trains_only_adapters():
    model = add_lora(load_model("tiny", device="cpu"), LoraSettings())
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(".lora_A." in n or ".lora_B." in n for n in trainable)
    adapted = {n.split(".lora_")[0].rsplit(".", 1)[1] for n in trainable}
    assert adapted == set(REFERENCE_TARGET_MODULES)
    layers = model.get_base_model().config.num_hidden_layers
    assert len(trainable) == 2 * len(REFERENCE_TARGET_MODULES) * layers
    trainable_count, total = parameter_counts(model)
    assert trainable_count == sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert total == sum(p.numel() for p in model.parameters())


# --- LoraSettings ----------------------------------------------------------------------------------


def test_lora_settings_defaults_are_the_reference():
    s = LoraSettings()
    assert (s.r, s.alpha, s.dropout, s.rslora) == (8, 16, 0.05, False)
    assert s.target_modules is None  # the model family's: for Qwen2, the reference's seven projections
    assert REFERENCE_TARGET_MODULES == ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(r=0), "r"),
        (dict(r=-4), "r"),
        (dict(r=2.5), "r"),
        (dict(r="8"), "r"),
        (dict(alpha=0), "lora_alpha"),
        (dict(lora_alpha=-16), "lora_alpha"),
        (dict(alpha=float("nan")), "lora_alpha"),
        (dict(dropout=-0.1), "lora_dropout"),
        (dict(lora_dropout=1.0), "lora_dropout"),
        (dict(dropout=float("nan")), "lora_dropout"),
        (dict(target_modules=()), "target_modules"),
        (dict(target_modules=("q_proj", "")), "target_modules"),
        (dict(target_modules=("q_proj", 3)), "target_modules"),
    ],
)
def test_lora_settings_rejects_bad_values(kwargs, field):
    with pytest.raises(ValueError, match=rf"^{field}: got .*, expected "):
        LoraSettings(**kwargs)


def test_lora_settings_accepts_a_list_of_modules_and_stores_a_tuple():
    s = LoraSettings(target_modules=["q_proj", "v_proj"])
    assert s.target_modules == ("q_proj", "v_proj")
    assert hash(s) == hash(LoraSettings(target_modules=("q_proj", "v_proj")))


@pytest.mark.parametrize("r, alpha", [(8, 16), (16, 32), (8, 32), (4, 1), (1, 1)])
def test_scale_is_alpha_over_r_or_over_sqrt_r_with_rslora(r, alpha):
    assert LoraSettings(r=r, alpha=alpha).scale == pytest.approx(alpha / r)
    assert LoraSettings(r=r, alpha=alpha, rslora=True).scale == pytest.approx(alpha / math.sqrt(r))


def test_to_dict_is_plain_in_peft_names_and_includes_scale():
    d = LoraSettings(r=16, alpha=32, dropout=0.2, rslora=True).to_dict()
    assert d == {
        "r": 16, "lora_alpha": 32, "lora_dropout": 0.2, "target_modules": None,
        "use_rslora": True, "scale": pytest.approx(32 / 4),
    }
    assert isinstance(LoraSettings(target_modules=("q_proj",)).to_dict()["target_modules"], list)


@pytest.mark.parametrize("rslora", [False, True])
def test_peft_config_reflects_the_settings(rslora):
    config = LoraSettings(r=4, alpha=8, dropout=0.1, target_modules=("q_proj", "down_proj"), rslora=rslora).peft_config()
    assert config.r == 4 and config.lora_alpha == 8 and config.lora_dropout == 0.1
    assert set(config.target_modules) == {"q_proj", "down_proj"}
    assert config.use_rslora is rslora
    assert str(config.task_type).endswith("CAUSAL_LM")


@pytest.mark.parametrize("rslora", [False, True])
def test_adapter_layers_use_the_settings_scale(rslora):
    settings = LoraSettings(r=4, alpha=8, rslora=rslora)
    model = add_lora(load_model("tiny", device="cpu"), settings)
    layer = model.get_base_model().model.layers[0].self_attn.q_proj
    assert layer.scaling["default"] == pytest.approx(settings.scale)


# --- checkpoints from a folder --------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [None, torch.bfloat16])
def test_a_checkpoint_folder_loads_on_cpu(tiny_checkpoint, tiny, dtype):
    model = load_model(str(tiny_checkpoint), device="cpu", dtype=dtype)
    assert type(model).__name__ == "Qwen2ForCausalLM" and model.device.type == "cpu"
    assert model.dtype == (dtype or torch.float32)  # fp32 by default on CPU
    assert model.config.vocab_size == QWEN2_VOCAB
    expected = tiny.get_input_embeddings().weight.to(model.dtype)
    torch.testing.assert_close(model.get_input_embeddings().weight, expected, rtol=0, atol=0)
    ids = torch.tensor([[151644, 872, 198, ENDOFTEXT]])
    with torch.no_grad():
        assert torch.isfinite(model(input_ids=ids).logits.float()).all()


def partial_copy(checkpoint, folder, *names):
    folder.mkdir()
    for name in names:
        shutil.copy(checkpoint / name, folder / name)
    return folder


def assert_one_line_usage_error(folder, match, **kwargs):
    with pytest.raises(UsageError, match=match) as err:
        load_model(str(folder), device="cpu", **kwargs)
    assert str(folder) in str(err.value) and "\n" not in str(err.value)


def test_a_folder_without_weights_is_a_usage_error(tiny_checkpoint, tmp_path):
    assert_one_line_usage_error(partial_copy(tiny_checkpoint, tmp_path / "m", "config.json"), "no weights")


def test_pickled_weights_are_refused(tiny_checkpoint, tmp_path):
    folder = partial_copy(tiny_checkpoint, tmp_path / "m", "config.json")
    (folder / "pytorch_model.bin").write_bytes(b"never unpickled")
    assert_one_line_usage_error(folder, r"only pickled weights \(pytorch_model.bin\), expected \*.safetensors")


def test_a_folder_without_config_is_a_usage_error(tiny_checkpoint, tmp_path):
    assert_one_line_usage_error(partial_copy(tiny_checkpoint, tmp_path / "m", "model.safetensors"), "no config.json")


def test_a_missing_folder_is_a_usage_error(tmp_path):
    assert_one_line_usage_error(tmp_path / "absent", "no such model folder")
    with pytest.raises(UsageError, match="no such model folder"):
        load_model("./absent/model", device="cpu")


def test_remote_code_needs_to_be_asked_for(tiny_checkpoint, tmp_path):
    folder = partial_copy(tiny_checkpoint, tmp_path / "m", "config.json", "model.safetensors")
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "modeling_evil.EvilForCausalLM"}
    (folder / "config.json").write_text(json.dumps(config))
    assert_one_line_usage_error(folder, "ships its own model code.*--trust-remote-code")
