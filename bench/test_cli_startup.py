"""The CLI's start-up cost, a speed target (moved here from tests/: tests assert behaviour, never
time): `fraudft data validate` on a two-record file starts about as fast as Python itself, at most
6x a bare `python -c pass`, minima of five runs each measured side by side in this test, so that
what is compared is the CLI's own start-up (imports kept light: no torch, transformers, peft or
datasets before a handler needs them), not the speed of a shared machine.

    pytest bench -k cli_startup

Measured 2026-11-30 on the 2-core CPU dev machine: 0.07 s against 0.02 s (ratio about 3.5).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

MAX_RATIO = 6


def wall_seconds(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def test_cli_startup_data_validate(tmp_path):
    record = {"input": "发言人1: 你好。", "label": False, "fraud_speaker": "", "instruction": "判断是否诈骗。"}
    path = tmp_path / "two.jsonl"
    path.write_text("".join(json.dumps({**record, "label": label}, ensure_ascii=False) + "\n"
                            for label in (False, True)), encoding="utf-8")
    bare = min(wall_seconds([sys.executable, "-c", "pass"]) for _ in range(5))
    validate = min(wall_seconds([sys.executable, "-m", "fraudft.cli", "data", "validate", str(path)]) for _ in range(5))
    print(f"fraudft data validate {validate:.3f} s, python -c pass {bare:.3f} s: ratio {validate / bare:.1f}")
    assert validate / bare < MAX_RATIO, f"fraudft data validate {validate:.3f} s vs python -c pass {bare:.3f} s"
