"""Model families: what fraudft needs to know of an architecture, in one table (FAMILIES).

    from fraudft.modeling.families import family_of, shape_dims, lora_targets, adapted_modules
    family_of(model).name                   # 'qwen2', 'phi3', 'gpt2', ... or 'fallback'
    lora_targets(model, None)               # the family's default LoRA targets (checked against the model)
    lora_targets(model, ("q_proj", "v_prj"))  # UsageError: v_prj matches no module; candidates named
    adapted_modules(peft_model)             # ['self_attn.q_proj', ...]: what really got a LoRA layer

A family, registered under its `model_type` (a composite config such as Gemma-3's is looked up by
its own model_type, then by its nested `text_config`'s), gives:
- `target_modules`: the default LoRA targets when none are asked for (module-name suffixes, as
  peft's `target_modules` reads them): every projection of a decoder layer;
- `dims(config)`: hidden, intermediate, layers, heads, kv_heads, head_dim, vocab read from the
  text config (`config.get_text_config()`, so a nested `text_config` is read too);
- `projections(dims)`: {in-layer module path: (d_in, d_out)} of one decoder layer, for the FLOPs
  (fraudft.modeling.flops.ModelShape), and `first_layer_inputs`, those reading the embeddings;
- `chat_template_kwargs`: keyword arguments for the tokenizer's chat template (Qwen3:
  enable_thinking=False), passed wherever fraudft.modeling.taskformat renders it, for a tokenizer
  whose checkpoint (the config.json beside it) is of that family.

Any other architecture uses FALLBACK, which needs no code: the shape and the projections are read
from the loaded model's modules (the nn.Linear / transformers Conv1D layers of its first decoder
layer, the embedding, the decoder's layer list), and its default targets are all those projections.
"""

from __future__ import annotations

import functools
import json
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fraudft.core.errors import UsageError
from fraudft.core.registry import Registry


class TargetWarning(UserWarning):
    """The default LoRA targets matched only part of the model's projections."""


def standard_dims(config) -> dict:
    """The shape from the usual transformers names of a (text) config."""
    text = config.get_text_config(decoder=True)
    heads = text.num_attention_heads
    return dict(hidden=text.hidden_size, intermediate=text.intermediate_size, layers=text.num_hidden_layers,
                heads=heads, kv_heads=getattr(text, "num_key_value_heads", None) or heads,
                head_dim=getattr(text, "head_dim", None) or text.hidden_size // heads, vocab=text.vocab_size)


def gpt2_dims(config) -> dict:
    """GPT-2: n_inner (None: 4 x hidden) is the MLP width; every head has its own keys and values."""
    text = config.get_text_config(decoder=True)
    heads = text.num_attention_heads
    return dict(hidden=text.hidden_size, intermediate=text.n_inner or 4 * text.hidden_size,
                layers=text.num_hidden_layers, heads=heads, kv_heads=heads, head_dim=text.hidden_size // heads,
                vocab=text.vocab_size)


def gated_projections(d) -> dict[str, tuple[int, int]]:
    """Llama-style: q/k/v/o attention and a gated MLP (gate, up, down)."""
    q, kv, h, i = d["heads"] * d["head_dim"], d["kv_heads"] * d["head_dim"], d["hidden"], d["intermediate"]
    return {"self_attn.q_proj": (h, q), "self_attn.k_proj": (h, kv), "self_attn.v_proj": (h, kv),
            "self_attn.o_proj": (q, h), "mlp.gate_proj": (h, i), "mlp.up_proj": (h, i), "mlp.down_proj": (i, h)}


def phi3_projections(d) -> dict[str, tuple[int, int]]:
    """Phi-3: q, k and v fused in qkv_proj, gate and up in gate_up_proj."""
    q, kv, h, i = d["heads"] * d["head_dim"], d["kv_heads"] * d["head_dim"], d["hidden"], d["intermediate"]
    return {"self_attn.o_proj": (q, h), "self_attn.qkv_proj": (h, q + 2 * kv),
            "mlp.gate_up_proj": (h, 2 * i), "mlp.down_proj": (i, h)}


def gpt2_projections(d) -> dict[str, tuple[int, int]]:
    """GPT-2 (Conv1D layers): fused c_attn, the attention's c_proj, the MLP's c_fc and c_proj."""
    h, i = d["hidden"], d["intermediate"]
    return {"attn.c_attn": (h, 3 * h), "attn.c_proj": (h, h), "mlp.c_fc": (h, i), "mlp.c_proj": (i, h)}


@dataclass(frozen=True)
class Family:
    name: str
    target_modules: tuple[str, ...]
    dims: Callable = standard_dims  # dims(config) -> {hidden, intermediate, layers, heads, kv_heads, head_dim, vocab}
    projections: Callable = gated_projections  # projections(dims) -> {in-layer path: (d_in, d_out)}
    first_layer_inputs: tuple[str, ...] = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj")
    chat_template_kwargs: Mapping = field(default_factory=dict)


FAMILIES: Registry[Family] = Registry("model family")
GATED_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
for _name in ("qwen2", "llama", "mistral", "gemma", "gemma2", "gemma3_text"):
    FAMILIES.add(_name, Family(_name, GATED_TARGETS))
FAMILIES.add("qwen3", Family("qwen3", GATED_TARGETS, chat_template_kwargs={"enable_thinking": False}))
FAMILIES.add("phi3", Family("phi3", ("qkv_proj", "o_proj", "gate_up_proj", "down_proj"),
                            projections=phi3_projections, first_layer_inputs=("self_attn.qkv_proj",)))
FAMILIES.add("gpt2", Family("gpt2", ("c_attn", "c_proj", "c_fc"), dims=gpt2_dims, projections=gpt2_projections,
                            first_layer_inputs=("attn.c_attn",)))
# Unknown families: everything read from the model's modules (module_dims); no first-layer exemption
# is known, so the first layer's input projections are counted with an input gradient (a small overcount).
FALLBACK = Family("fallback", (), dims=None, projections=None, first_layer_inputs=())


def _base(model):
    """The transformers model inside a peft wrapper (or the model itself)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def _model_types(config) -> list[str]:
    types = [getattr(config, "model_type", None)]
    text = config.get_text_config(decoder=True) if hasattr(config, "get_text_config") else config
    return [t for t in types + [getattr(text, "model_type", None)] if t]


def family_of(model) -> Family:
    """The family of a model (or a peft wrapper around one): its model_type's, else its text
    config's, else FALLBACK."""
    for model_type in _model_types(_base(model).config):
        if model_type in FAMILIES:
            return FAMILIES[model_type]
    return FALLBACK


# ---- the decoder layers, read from the modules ----------------------------------------------------

def decoder_layers(model) -> tuple[str, list]:
    """(full path of the decoder's layer list, its layers): the first non-empty nn.ModuleList inside
    the model's text decoder (`get_decoder()`: a multimodal model's language model, not its vision tower)."""
    import torch

    base = _base(model)
    decoder = base.get_decoder() if hasattr(base, "get_decoder") else base
    decoder_path = next((name for name, module in base.named_modules() if module is decoder), "")
    for name, module in decoder.named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module):
            return ".".join(p for p in (decoder_path, name) if p), list(module)
    raise UsageError(f"{type(base).__name__}: found no decoder layers (an nn.ModuleList) in its decoder, "
                     "expected a transformers decoder-only or encoder-decoder LM")


def _linear_dims(module) -> tuple[int, int] | None:
    """(d_in, d_out) of an nn.Linear or a transformers Conv1D, else None."""
    import torch
    from transformers.pytorch_utils import Conv1D

    if isinstance(module, torch.nn.Linear):
        return module.in_features, module.out_features
    if isinstance(module, Conv1D):
        return module.nx, module.nf
    return None


def layer_linears(layer) -> dict[str, tuple[int, int]]:
    """{in-layer path: (d_in, d_out)} of one decoder layer's linear layers; inside a peft wrapper,
    the wrapped base layer (its LoRA A/B matrices are not projections of the model)."""
    found = {}
    for name, module in layer.named_modules():
        parts = name.split(".")
        if any(p.startswith("lora_") for p in parts):
            continue
        dims = _linear_dims(module)
        if dims is not None:
            found[name.removesuffix(".base_layer")] = dims
    return found


HEAD_DIM_NAMES = ("head_dim", "head_size")  # transformers attention modules' attribute names
HEADS_NAMES = ("num_heads", "num_attention_heads")


def _int_attr(obj, names) -> int | None:
    values = (getattr(obj, name, None) for name in names)
    return next((v for v in values if isinstance(v, int) and not isinstance(v, bool) and v > 0), None)


def module_dims(model) -> dict:
    """FALLBACK's shape of any model, from its modules: the embedding's width and rows, the layer
    list's length, the first layer's linears, the attention module's head counts."""
    base = _base(model)
    _, layers = decoder_layers(base)
    embedding = base.get_input_embeddings()
    hidden, vocab = embedding.embedding_dim, embedding.num_embeddings
    projections = layer_linears(layers[0])
    # the MLP's width: the widest input of a projection back to the hidden size (down_proj, c_proj)
    intermediate = max((d_in for d_in, d_out in projections.values() if d_out == hidden), default=hidden)
    # heads: the attention module's own counts where it keeps them, else the text config's
    text = base.config.get_text_config(decoder=True)
    attention = next((m for m in layers[0].modules() if _int_attr(m, HEAD_DIM_NAMES) is not None), None)
    heads = _int_attr(attention, HEADS_NAMES) or _int_attr(text, ("num_attention_heads",))
    if heads is None:
        raise UsageError(f"{type(base).__name__}: its attention heads are neither an attribute of its attention "
                         f"module ({', '.join(HEADS_NAMES)}) nor num_attention_heads of its config, expected one "
                         f"(or a family in {', '.join(FAMILIES)})")
    head_dim = _int_attr(attention, HEAD_DIM_NAMES) or _int_attr(text, ("head_dim",)) or hidden // heads
    groups = _int_attr(attention, ("num_key_value_groups",)) or 1
    return dict(hidden=hidden, intermediate=intermediate, layers=len(layers), heads=heads,
                kv_heads=max(1, heads // groups), head_dim=head_dim, vocab=vocab,
                projections=projections, first_layer_inputs=FALLBACK.first_layer_inputs)


def shape_dims(model) -> dict:
    """ModelShape's fields for a model: its family's dims and projections, or FALLBACK's module_dims."""
    family = family_of(model)
    if family is FALLBACK:
        return module_dims(model)
    dims = family.dims(_base(model).config)
    return {**dims, "projections": family.projections(dims), "first_layer_inputs": family.first_layer_inputs}


# ---- LoRA targets -------------------------------------------------------------------------------

def matches(name: str, target: str) -> bool:
    """Whether module `name` is one peft's `target_modules` entry `target` selects (the whole name,
    or a suffix after a dot)."""
    return name == target or name.endswith("." + target)


def candidate_names(model) -> list[str]:
    """The last names of the decoder layers' linear layers, in model order (what targets can name)."""
    _, layers = decoder_layers(model)
    return list(dict.fromkeys(path.rsplit(".", 1)[-1] for path in layer_linears(layers[0])))


def lora_targets(model, requested) -> list[str] | str:
    """peft's `target_modules` for `model`: `requested` (a list of names, checked; or a regex string,
    passed as is), or None for the family's defaults. A requested name matching no module is a
    UsageError naming it and the model's linear layers; a default matching none is a TargetWarning
    naming what is adapted. Defaults that would also select modules outside the decoder layers (a
    multimodal model's vision tower) are restricted to them by a regex. A target that selects a module
    whose weight is tied to another's (lm_head and the input embeddings under tie_word_embeddings) is
    a UsageError (check_untied)."""
    if isinstance(requested, str):
        check_untied(model, lambda name: re.fullmatch(requested, name) is not None, requested,
                     "change the regex so that it leaves that module out")
        return requested
    base = _base(model)
    family = family_of(base)
    default = requested is None
    names = list(family.target_modules or candidate_names(base)) if default else list(requested)
    modules = [name for name, _ in base.named_modules()]
    unmatched = [t for t in names if not any(matches(m, t) for m in modules)]
    matched = [t for t in names if t not in unmatched]
    where = f"{type(base).__name__} ({family.name} family)"
    if unmatched and (not default or not matched):
        raise UsageError(f"target_modules: {', '.join(unmatched)} match{'es' if len(unmatched) == 1 else ''} no "
                         f"module of {where}, expected some of its linear layers: {', '.join(candidate_names(base))}")
    if unmatched:
        warnings.warn(f"target_modules: the {family.name} defaults {', '.join(unmatched)} match no module of "
                      f"{where}; adapting {', '.join(matched)}", TargetWarning, stacklevel=2)
    for target in matched:
        check_untied(base, lambda name: matches(name, target), target, f"drop {target}")
    if default:
        prefix, _ = decoder_layers(base)
        outside = [m for m in modules if any(matches(m, t) for t in matched) and not m.startswith(prefix + ".")]
        if outside:
            return rf"{re.escape(prefix)}\.\d+\.(?:.*\.)?(?:{'|'.join(map(re.escape, matched))})"
    return matched


def tied_modules(model) -> dict[str, list[str]]:
    """{module name: the other modules holding the very same weight tensor} for every module whose
    weight is shared (lm_head and model.embed_tokens under tie_word_embeddings); {} when none is."""
    owners: dict[int, list[str]] = {}
    for name, module in _base(model).named_modules():
        weight = getattr(module, "weight", None)
        if weight is not None:
            owners.setdefault(id(weight), []).append(name)
    return {name: [o for o in names if o != name] for names in owners.values() if len(names) > 1 for name in names}


def check_untied(model, selects: Callable[[str], bool], target: str, advice: str) -> None:
    """UsageError (one line) when the target selects a module whose weight is tied to another module's.
    LoRA on it would not keep the tie: peft saves the whole tied matrix with the adapter (the head:
    vocabulary x hidden values, not a low-rank pair) and merging writes the update into the shared
    tensor, moving the other module (the input embeddings) too."""
    tied = {name: others for name, others in tied_modules(model).items() if selects(name)}
    if tied:
        name, others = next(iter(tied.items()))
        raise UsageError(f"target_modules: {target} selects {name}, whose weight is tied to {', '.join(others)} "
                         f"(tie_word_embeddings), expected untied modules: LoRA there would save the whole tied matrix "
                         f"with the adapter and merging would change {', '.join(others)} too; {advice}")


def adapted_modules(model) -> list[str]:
    """The modules a peft model put a LoRA layer on, in model order: their path inside a decoder layer
    (`self_attn.q_proj`), or their full name outside the layers (e.g. `lm_head`)."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    prefix, _ = decoder_layers(model)
    pattern = re.compile(rf"{re.escape(prefix)}\.\d+\.(.+)")
    names = []
    for name, module in _base(model).named_modules():
        if isinstance(module, BaseTunerLayer):
            inside = pattern.fullmatch(name)
            names.append(inside.group(1) if inside else name)
    return list(dict.fromkeys(names))


# ---- chat templates -----------------------------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _checkpoint_family(name_or_path: str) -> Family | None:
    """The family of the checkpoint a tokenizer was loaded from: the config.json beside it (a local
    folder, or the hub cache of a hub id; nothing is downloaded), None where there is none."""
    config_file = Path(name_or_path) / "config.json"
    if not config_file.is_file():
        try:
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(name_or_path, "config.json")
        except Exception:  # noqa: BLE001  not a hub id (e.g. a built tokenizer's cache folder)
            cached = None
        if not isinstance(cached, str):
            return None
        config_file = Path(cached)
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    types = [config.get("model_type"), (config.get("text_config") or {}).get("model_type")]
    return next((FAMILIES[t] for t in types if t in FAMILIES), None)


def chat_template_kwargs(tokenizer) -> dict:
    """The chat-template keyword arguments of the tokenizer's checkpoint's family ({} if none)."""
    name = getattr(tokenizer, "name_or_path", None)
    family = _checkpoint_family(str(name)) if name else None
    return dict(family.chat_template_kwargs) if family else {}
