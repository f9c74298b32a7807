"""Load a tokenizer: a local path, a hub id, or the built-in offline Qwen2 tokenizer.

    fraudft encode data.jsonl --tokenizer qwen2-offline

`qwen2-offline` is Qwen2's byte-level BPE rebuilt without network from the `qwen.tiktoken`
vocabulary that ships inside the Apache-2.0 `dashscope` package (REFERENCE §3). The build takes
a second or two and is cached on disk. A tokenizer from a folder or the hub must know the ChatML
tokens `<|im_start|>`/`<|im_end|>` of the reference prompt (REFERENCE §2) as single tokens.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from transformers import AutoTokenizer, PreTrainedTokenizerFast

from fraudft.core.cache import cache_dir
from fraudft.core.errors import UsageError

OFFLINE_QWEN2 = "qwen2-offline"
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")  # ids 151643, 151644, 151645
CHAT_TOKENS = SPECIAL_TOKENS[1:]  # what the reference prompt is written in
QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def default_cache_dir() -> Path:
    """Where built tokenizers are cached: $FRAUDFT_CACHE, else ~/.cache/fraudft."""
    return cache_dir()


def _tiktoken_file() -> Path:
    try:
        return Path(str(resources.files("dashscope") / "resources" / "qwen.tiktoken"))
    except ModuleNotFoundError as err:
        raise RuntimeError(
            "the qwen2-offline tokenizer needs the vocabulary shipped in `dashscope`: "
            "pip install 'dashscope>=1.24,<1.25' tiktoken (or pip install -e '.[test]')"
        ) from err


def build_qwen2_offline(out_dir: Path) -> PreTrainedTokenizerFast:
    """Convert dashscope's qwen.tiktoken into a Qwen2 fast tokenizer and save it in out_dir."""
    from tokenizers import AddedToken, normalizers
    from transformers.convert_slow_tokenizer import TikTokenConverter

    backend = TikTokenConverter(vocab_file=str(_tiktoken_file()), pattern=QWEN2_PATTERN).converted()
    backend.normalizer = normalizers.NFC()
    # Added in this order they take ids 151643-151645, as in Qwen2.
    backend.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=list(SPECIAL_TOKENS[1:]),
        model_max_length=32768,
        clean_up_tokenization_spaces=False,
    )
    tokenizer.chat_template = QWEN2_CHAT_TEMPLATE
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(out_dir)
    return tokenizer


def load_tokenizer(name_or_path: str = OFFLINE_QWEN2, cache_dir: Path | None = None,
                   trust_remote_code: bool = False, chat_tokens: tuple[str, ...] = CHAT_TOKENS):
    """Load `qwen2-offline` (built once, then cached), a local directory, or a hub id.

    Anything but `qwen2-offline` must encode each of `chat_tokens` as one token (pass () to skip).
    """
    if name_or_path != OFFLINE_QWEN2:
        folder = Path(name_or_path)
        if folder.exists() or name_or_path.startswith(("/", ".")) or name_or_path.count("/") > 1:
            _check_tokenizer_folder(folder)
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, trust_remote_code=trust_remote_code)
        _check_chat_tokens(tokenizer, name_or_path, chat_tokens)
        return tokenizer
    cached = (cache_dir or default_cache_dir()) / "qwen2-offline-tokenizer"
    if (cached / "tokenizer.json").exists():
        return AutoTokenizer.from_pretrained(cached)
    return build_qwen2_offline(cached)


def _check_tokenizer_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such tokenizer folder, expected {OFFLINE_QWEN2}, a folder or a hub id")
    if not any((folder / name).is_file() for name in ("tokenizer.json", "tokenizer_config.json")):
        raise UsageError(f"{folder}: no tokenizer.json or tokenizer_config.json, expected a tokenizer folder "
                         "(tokenizer.save_pretrained)")


def _check_chat_tokens(tokenizer, where: str, chat_tokens: tuple[str, ...]) -> None:
    vocab = tokenizer.get_vocab()
    missing = [t for t in chat_tokens if t not in vocab or tokenizer(t, add_special_tokens=False)["input_ids"] != [vocab[t]]]
    if missing:
        raise UsageError(f"{where}: tokenizer lacks the chat tokens {', '.join(missing)}, expected each as one token "
                         "(the reference prompt is ChatML)")
