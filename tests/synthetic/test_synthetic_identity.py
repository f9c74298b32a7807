"""generate() output is pinned byte for byte: moving the templates to JSON changed nothing.

The hashes were recorded with the code before the move (templates as Python literals), as the
sha256 of `json.dumps(generate(config), ensure_ascii=False)`. A deliberate change of the data
(a new template, a new draw) changes them: record the new hashes in the same commit and say so.
"""

import hashlib
import json

import pytest

from fraudft.synthetic import SynthConfig, generate

PINNED = [
    (dict(n=200, seed=0), "ddc8dc5a6c0c2b27d330b3821b1cbf9e84adb1157ad03e92ed122b6d02095322"),
    (dict(n=200, seed=0, shortcut="speaker_tag"), "6ffb5ae3622020166725042c1a9e7adf51b47fe59694241bbe82d9fea4236816"),
    (dict(n=200, seed=0, shortcut="length"), "0f3526a11c0d339e82273afee239e7f15def9a776c52fbb2c7b620375e8e2c39"),
    (dict(n=200, seed=0, shortcut="turns"), "5daa56f4b7b3da637dffe462a95f751ed35f79156bdac4442d7167b6766dc81f"),
    (dict(n=200, seed=0, shortcut="instruction"), "770666f7494aa36c8a3e4ed3f8c020519c42c31b8ee3beee61f97644af42b8fb"),
    (dict(n=200, seed=0, shortcut="punctuation"), "120280d98d07e6ef649050ded149e20013993393cfe5466ee3a9949a2bb351f6"),
    (dict(n=200, seed=1), "5e6cb60ba2aa5a274239a48910855a26372d7c799f8739e1737b5e31aeef7d1b"),
    (dict(n=200, seed=3, shortcut="turns"), "9d8b8f54181357fb665c54034b45e556b2040d53788f3e2c38279c9531adafd2"),
    (dict(n=1500, seed=0), "a0c784c2111b0defdf3834ca3399bbcf78caf6d015af546adb5629387e660c78"),
    (dict(n=200, seed=5, fraud_ratio=0.0, label_noise=0.1), "a69d2d7e878b3d960cbaa94e80fba7b9e3e84ccadd065f4ca2a5272a44a084b2"),
    (dict(n=200, seed=5, fraud_ratio=0.3, label_noise=0.5), "9d45b611c618ec7d0d3c5a4a8070b3ebcf533ff80c0d8bccd191a4815c6ef74c"),
    (dict(n=200, seed=5, fraud_ratio=1.0), "b7aaea5ff0ca38a5a9a714dbb2e9b5b42ca1742567b401cdc7680cb410ad15ea"),
    (dict(n=1, seed=-7), "5081b279a10e96914bf76231626147b81184b107b979fbbbc148772e4b25b199"),
    (
        dict(n=301, seed=2**40, fraud_ratio=0.7, label_noise=0.25, shortcut="speaker_tag"),
        "b766c3c94a7a3b208e2a00e4558b6e23975e9280ffd84539a5b4592880ede1b8",
    ),
]


@pytest.mark.parametrize("config, sha256", PINNED, ids=lambda v: json.dumps(v) if isinstance(v, dict) else "")
def test_output_is_pinned(config, sha256):
    text = json.dumps(generate(SynthConfig(**config)), ensure_ascii=False)
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == sha256


def test_default_lengths_profile_is_the_old_behaviour():
    config = SynthConfig(n=200, seed=0)
    assert config.lengths == "synthetic"
    assert generate(config) == generate(SynthConfig(n=200, seed=0, lengths="synthetic"))
