"""Measuring a training run: what it did (TrainStats), wall time with the device synchronised,
peak memory, and the sums over the processes of a data-parallel run (torchrun)."""

from __future__ import annotations

import resource
import time
from dataclasses import asdict, dataclass, field

import torch


@dataclass
class TrainStats:
    """What a run did, measured over the steps actually run. A resumed run's counters and times
    cover the whole run: those saved with its checkpoint plus this process's (fraudft.engine.resume)."""

    steps: int = 0
    world_size: int = 1  # processes of a data-parallel run; the counters and rates below cover them all
    train_seconds: float = 0.0  # trainer.train() wall time minus evaluation, saving and best-model reload
    save_seconds: float = 0.0  # checkpoint saving and the best-model reload
    eval_seconds: float = 0.0
    evaluations: int = 0
    train_samples: int = 0
    train_tokens: int = 0  # non-pad tokens fed to the model
    computed_tokens: int = 0  # positions the model ran over: batch x padded length, or the packed length
    padding_fraction: float = 0.0  # 1 - train_tokens / computed_tokens
    label_positions: int = 0  # positions that carry a label (the loss's items)
    model_flops: float = 0.0  # analytic matmul FLOPs of the real tokens, forward + backward
    executed_flops: float = 0.0  # as run: padding, packed attention, checkpointing's recomputed forward
    flops_per_step: float = 0.0  # model FLOPs per optimizer step
    mfu: dict = field(default_factory=dict)  # model FLOPs utilisation per device; null with a reason off known GPUs
    batching: str = ""
    adapted_modules: list = field(default_factory=list)  # the modules peft put LoRA on (families.adapted_modules)
    gradient_checkpointing: dict = field(default_factory=dict)  # {"enabled": bool, "why": str}
    notes: list = field(default_factory=list)  # fallbacks and warnings of this run
    # {"max_length": n, "train"/"eval": {"records", "dialogues_shortened", "tokens_removed"}}: what
    # max_length cut from the dialogues (fraudft.modeling.truncation)
    truncation: dict = field(default_factory=dict)
    resumed_from_step: int | None = None  # the checkpoint's step a resumed run continued from
    tokens_per_s: float = 0.0
    samples_per_s: float = 0.0
    peak_memory: dict = field(default_factory=dict)  # this process's: in a data-parallel run's record, rank 0's
    best_eval_loss: float | None = None
    stopped_early: bool = False
    log_history: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)



class timed:
    """Adds the wall time of a block (device synchronised) to a TrainStats field."""

    def __init__(self, stats: TrainStats, name: str):
        self.stats, self.name = stats, name

    def __enter__(self):
        synchronize()
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        synchronize()
        setattr(self.stats, self.name, getattr(self.stats, self.name) + time.perf_counter() - self.start)


# TrainStats fields summed over the processes of a data-parallel run, and those taken from the slowest
SUMMED_STATS = ("train_samples", "train_tokens", "computed_tokens", "label_positions", "model_flops", "executed_flops")
SLOWEST_STATS = ("train_seconds", "eval_seconds", "save_seconds")


def reduce_across_processes(stats: TrainStats) -> None:
    """Under torch.distributed: sum the counters over the processes, take the slowest one's times."""
    if not distributed():
        return
    stats.world_size = torch.distributed.get_world_size()
    device = "cuda" if torch.distributed.get_backend() == "nccl" else "cpu"  # nccl reduces CUDA tensors only
    for names, op in ((SUMMED_STATS, torch.distributed.ReduceOp.SUM), (SLOWEST_STATS, torch.distributed.ReduceOp.MAX)):
        values = torch.tensor([getattr(stats, name) for name in names], dtype=torch.float64, device=device)
        torch.distributed.all_reduce(values, op=op)
        for name, value in zip(names, values.tolist()):
            setattr(stats, name, type(getattr(stats, name))(value))  # float64 holds the int counts exactly


def distributed() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def is_main_process() -> bool:
    """False in the processes of a data-parallel run other than global rank 0 (they neither save nor print)."""
    return not distributed() or torch.distributed.get_rank() == 0


def synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def peak_memory() -> dict:
    """CUDA peak allocated and reserved bytes on GPU; the process's peak RSS on CPU."""
    if torch.cuda.is_available():
        return {
            "device": "cuda",
            "peak_allocated_bytes": torch.cuda.max_memory_allocated(),
            "peak_reserved_bytes": torch.cuda.max_memory_reserved(),
        }
    # ru_maxrss is in KiB on Linux; it is the peak of the whole process so far.
    return {"device": "cpu", "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
