"""fraudft.experiment.budgets and calibration: speed budgets as ratios, floors for named devices only."""

import pytest

from fraudft.experiment.budgets import budget_violations
from fraudft.experiment.calibration import calibrate
from fraudft.modeling.models import load_model
from fraudft.results.record import RunRecord


def _record(tokens_per_s=1000.0, calibration=2000.0, rss_gb=1.0, device="cpu (x86_64, 2 cores)", **info):
    return RunRecord(arm="reference", seed=0, recipe="cpu-tiny", model="tiny", device="cpu", run_info={},
                     train_info=info or {"steps": 10, "tokens_per_s": tokens_per_s, "calibration_tokens_per_s": calibration,
                                         "relative_throughput": tokens_per_s / calibration,
                                         "peak_memory": {"device": "cpu", "peak_rss_bytes": rss_gb * 2**30}},
                     meta_info={"device": device})


def test_a_slow_but_proportionally_slow_machine_keeps_the_budget():
    budgets = {"min_relative_throughput": 0.4, "max_peak_rss_gb": 3.0}
    assert budget_violations(_record(1000, 2000), budgets) == []
    assert budget_violations(_record(100, 200), budgets) == []  # a busy machine: both figures drop
    assert "below the floor of 0.4x" in budget_violations(_record(100, 2000), budgets)[0]


def test_absolute_floors_apply_to_their_named_device_only():
    budgets = {"device_floors": {"NVIDIA H100 80GB HBM3": 50000}}
    assert budget_violations(_record(1000), budgets) == []
    assert budget_violations(_record(1000, device="NVIDIA H100 80GB HBM3"), budgets)


def test_memory_ceilings_and_untrained_runs():
    assert "above the ceiling" in budget_violations(_record(rss_gb=4.0), {"max_peak_rss_gb": 3.0})[0]
    assert budget_violations(_record(steps=0), {"min_relative_throughput": 10}) == []


def test_calibration_leaves_the_model_as_it_was(one_torch_thread):
    import torch

    model = load_model("tiny")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    assert calibrate(model, batch_size=2, seq_len=16, steps=1) > 0
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None and p.requires_grad for p in model.parameters())
    assert torch.equal(rng, torch.get_rng_state())


@pytest.fixture
def one_torch_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
