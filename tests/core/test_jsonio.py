"""fraudft.core.jsonio: what fraudft writes is strict JSON; a non-finite float is null with its reason."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fraudft.core import jsonio
from fraudft.results.record import Evaluation, RunRecord
from fraudft.results.store import write_json_atomic, write_record


def test_non_finite_floats_are_null_with_their_reason_beside_them():
    obj = {"step": 3, "loss": float("nan"), "grad_norm": float("inf"), "low": -math.inf, "lr": 1e-3,
           "scores": [0.5, float("nan")], "nested": ({"x": np.float32("nan"), "n": np.int64(2)},)}
    back = jsonio.loads_strict(jsonio.dumps(obj))
    assert back == {"step": 3, "loss": None, "grad_norm": None, "low": None, "lr": 1e-3, "scores": [0.5, None],
                    "nested": [{"x": None, "n": 2, "nonfinite": {"x": "nan"}}],
                    "nonfinite": {"loss": "nan", "grad_norm": "inf", "low": "-inf"}}


def test_numpy_booleans_are_json_booleans():
    """Issue 32: `significant` of a bootstrap (p < 0.05 on numpy floats) is a numpy.bool_, which json cannot write."""
    p = np.float64(0.01)
    assert jsonio.loads_strict(jsonio.dumps({"significant": p < 0.05, "all": [np.bool_(False)], "n": np.int32(3)})) == \
        {"significant": True, "all": [False], "n": 3}


def test_raise_mode_names_the_path_of_the_value():
    with pytest.raises(ValueError, match=r"^\$\.records\[1\]\.score: got nan, expected a finite number"):
        jsonio.dumps({"records": [{"score": 1.0}, {"score": float("nan")}]}, nonfinite="raise")


def test_the_strict_reader_refuses_what_python_json_writes_for_nan():
    with pytest.raises(ValueError, match="NaN"):
        jsonio.loads_strict(json.dumps({"loss": float("nan")}))


def test_a_file_written_with_nan_inside_reads_back_with_a_strict_parser(tmp_path):
    path = tmp_path / "run.json"
    write_json_atomic({"train_info": {"status": "failed", "log_history": [{"step": 2, "eval_loss": float("nan")}],
                                      "best_eval_loss": float("inf")}}, path)
    text = path.read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    info = jsonio.loads_strict(text)["train_info"]
    assert info["log_history"] == [{"step": 2, "eval_loss": None, "nonfinite": {"eval_loss": "nan"}}]
    assert info["best_eval_loss"] is None and info["nonfinite"] == {"best_eval_loss": "inf"}


def test_a_record_with_a_nan_figure_is_written_strict_and_reads_back(tmp_path):
    evaluation = Evaluation(name="test", labels=[0, 1], predictions=[0, 1], scores=[0.1, 0.9],
                            metrics={"f1": 1.0, "eval_seconds": float("nan")})
    record = RunRecord(arm="reference", seed=0, recipe="cpu-tiny", model="tiny", device="cpu",
                       run_info={"commit": "abc", "config": {}},
                       train_info={"status": "success", "steps": 1, "log_history": [{"loss": float("nan"), "step": 1}]},
                       evaluations=[evaluation])
    path = write_record(record, tmp_path)
    data = jsonio.loads_strict(path.read_text(encoding="utf-8"))
    assert data["train_info"]["log_history"][0] == {"loss": None, "step": 1, "nonfinite": {"loss": "nan"}}
    back = RunRecord.read(path)
    assert back.test.metrics["eval_seconds"] is None and back.test.metrics["nonfinite"] == {"eval_seconds": "nan"}
