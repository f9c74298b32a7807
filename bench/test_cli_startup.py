"""The CLI's start-up cost, a speed target (moved here from tests/: tests assert behaviour, never
time): `fraudft data validate` on a two-record file starts about as fast as Python itself, at most
6x a bare `python -c pass`, so that what is compared is the CLI's own start-up (imports kept light:
no torch, transformers, peft or datasets before a handler needs them).

Measured as CPU time (user + system) of the child processes (resource.getrusage(RUSAGE_CHILDREN)),
not wall time: a loaded machine makes a process wait, not work, so the ratio holds under load (the
wall-time version of this test once failed on a machine busy with other jobs). CPU time is counted
in clock ticks, coarse beside a 20 ms process: each command runs ROUNDS times, interleaved with the
other, and the totals are compared.

    pytest bench -k cli_startup

Measured 2026-11-30 on the 2-core CPU dev machine (wall time): 0.07 s against 0.02 s (ratio about 3.5).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys

MAX_RATIO = 6
ROUNDS = 10


def cpu_seconds(argv: list[str]) -> float:
    """User + system CPU seconds of running argv to its end (the children's rusage before and after)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def test_cli_startup_data_validate(tmp_path):
    record = {"input": "发言人1: 你好。", "label": False, "fraud_speaker": "", "instruction": "判断是否诈骗。"}
    path = tmp_path / "two.jsonl"
    path.write_text("".join(json.dumps({**record, "label": label}, ensure_ascii=False) + "\n"
                            for label in (False, True)), encoding="utf-8")
    bare = validate = 0.0
    for _ in range(ROUNDS):  # interleaved: a change of the machine's state between them touches both
        bare += cpu_seconds([sys.executable, "-c", "pass"])
        validate += cpu_seconds([sys.executable, "-m", "fraudft.cli", "data", "validate", str(path)])
    assert bare > 0, "no CPU time counted for the children: getrusage(RUSAGE_CHILDREN) unsupported here"
    print(f"CPU time per run: fraudft data validate {validate / ROUNDS:.3f} s, python -c pass {bare / ROUNDS:.3f} s: "
          f"ratio {validate / bare:.1f}")
    assert validate / bare < MAX_RATIO, (f"fraudft data validate {validate / ROUNDS:.3f} s vs python -c pass "
                                         f"{bare / ROUNDS:.3f} s of CPU time per run")
