"""Shared fixtures for the fraudft tests.

The `tokenizer` fixture builds the offline Qwen2 tokenizer once per session (cached with the
session's encoded datasets in a temporary $FRAUDFT_CACHE unless one is set). `shared_eval_path` points at the real eval split in
`../shared/data/` and skips where it is absent: the project must pass its tests without it.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path

import pytest

from fraudft.modeling.tokenizer import load_tokenizer
from fraudft.data.records import REFERENCE_INSTRUCTION

# Encoded-data and tokenizer caches of the test session go to a temporary folder, not ~/.cache.
os.environ.setdefault("FRAUDFT_CACHE", tempfile.mkdtemp(prefix="fraudft-test-cache-"))


@pytest.fixture(scope="session")
def tokenizer():
    return load_tokenizer("qwen2-offline")


@pytest.fixture(scope="session")
def small_data_dir(tmp_path_factory) -> Path:
    """A data folder (train.jsonl, eval.jsonl, test.jsonl: 40, 8 and 16 synthetic records) for
    `pytest bench --data-dir` runs in a subprocess: small, so a real-model recipe scores it in seconds."""
    from fraudft.data.records import write_jsonl
    from fraudft.synthetic import SynthConfig, generate

    folder = tmp_path_factory.mktemp("small_data")
    for name, n, seed in (("train", 40, 1), ("eval", 8, 2), ("test", 16, 3)):
        write_jsonl(generate(SynthConfig(n=n, seed=seed)), folder / f"{name}.jsonl")
    return folder


@pytest.fixture
def shared_eval_path() -> Path:
    path = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "eval0819.jsonl"
    if not path.exists():
        pytest.skip("../shared/data/eval0819.jsonl is absent")
    return path


def _make_record(
    input: str = "发言人1: 你好。\n发言人2: 你好，请问有什么事？",
    label: bool = False,
    fraud_speaker: str = "",
    instruction: str = REFERENCE_INSTRUCTION,
    **extra,
) -> dict:
    return {"input": input, "label": label, "fraud_speaker": fraud_speaker, "instruction": instruction, **extra}


@pytest.fixture
def make_record():
    """`make_record(input=..., label=..., **extra)`: a valid record in the reference format."""
    return _make_record


@pytest.fixture
def write_jsonl_lines(tmp_path):
    """`write_jsonl_lines(lines, name=...)`: write raw lines (str: JSON-encoded if not already a
    str, bytes: as they are) joined by newlines, with a final newline; return the path."""
    counter = iter(range(10**6))

    def write(lines, name: str | None = None, final_newline: bool = True) -> Path:
        chunks = []
        for line in lines:
            if isinstance(line, bytes):
                chunks.append(line)
            elif isinstance(line, str):
                chunks.append(line.encode("utf-8"))
            else:
                chunks.append(json.dumps(line, ensure_ascii=False).encode("utf-8"))
        body = b"\n".join(chunks) + (b"\n" if final_newline and chunks else b"")
        path = tmp_path / (name or f"data{next(counter)}.jsonl")
        path.write_bytes(body)
        return path

    return write


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module's tiny-model work on one intra-op thread, then restore the setting.

    On a small, shared CPU machine torch's thread pool spins against other processes and makes
    tiny-model forward/backward passes many times slower; one thread gives the same results.
    Opt in with `pytestmark = pytest.mark.usefixtures("one_torch_thread")`.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def restore_warning_state(monkeypatch):
    """cli.main installs its own warning format and filter: keep them from leaking into other tests."""
    monkeypatch.setattr(warnings, "formatwarning", warnings.formatwarning)
    monkeypatch.setattr(warnings, "filters", list(warnings.filters))


@pytest.fixture
def run_cli(capsys):
    """Run `fraudft ARGV...` in-process; return (exit code, stdout, stderr)."""
    from fraudft import cli

    def run(*argv) -> tuple[int, str, str]:
        rc = cli.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return rc, out, err

    return run


# Qwen2-Instruct's chat template (tokenizer_config.json of Qwen/Qwen2-1.5B-Instruct), written out here
# so that the fixture does not depend on the code under test.
QWEN2_INSTRUCT_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A folder as a user would bring it: the `tiny` Qwen2 (real 151,936 vocabulary) saved as
    safetensors only, and the qwen2-offline tokenizer with Qwen2-Instruct's chat template."""
    from fraudft.modeling.models import load_model

    folder = tmp_path_factory.mktemp("tiny_checkpoint")
    load_model("tiny", device="cpu").save_pretrained(folder, safe_serialization=True)
    tokenizer = load_tokenizer("qwen2-offline")
    tokenizer.chat_template = QWEN2_INSTRUCT_CHAT_TEMPLATE
    tokenizer.save_pretrained(folder)
    assert not list(folder.glob("*.bin")) and list(folder.glob("*.safetensors"))
    return folder
