"""Data parallelism under `torchrun --nproc_per_node N`: every rank draws the same batches (same seeds), trains on
its shard of each, and gradients are averaged across ranks, so every rank applies the update one process would apply
to the whole batch. PyTorch DDP reduces the summed backward; a gradient method's task gradients (J) are reduced
before they are combined. NCCL on GPUs (with gloo beside it for CPU tensors), gloo on CPU.

No random state is ever communicated: every draw a step makes comes from a seed derived from the run's seed, the
step and, for dropout, the rank (mtbert.seeds), so ranks agree on the method's draws without a collective."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_nn
from torch import nn


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    group: Any = None  # the process group of the data collectives; None: the default one

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        """Only the main rank writes checkpoints, logs and metrics."""
        return self.rank == 0

    def device(self) -> torch.device:
        if torch.cuda.is_available():
            return torch.device("cuda", self.local_rank)
        return torch.device("cpu")

    def shard(self, index: np.ndarray) -> np.ndarray:
        """This rank's part of a batch (contiguous, sizes differing by at most one)."""
        if len(index) < self.world:
            raise ValueError(f"a batch of {len(index)} cannot be split over {self.world} ranks: raise train.batch_size "
                             f"to at least the number of processes")
        return np.array_split(index, self.world)[self.rank]

    def loss_scale(self, shard: int, batch: int) -> float:
        """Scale of a rank's mean loss such that the ranks' averaged gradient is the whole batch's mean-loss gradient."""
        return shard * self.world / batch

    def average_(self, tensor: torch.Tensor) -> torch.Tensor:
        if self.enabled:
            dist.all_reduce(tensor, group=self.group)
            tensor /= self.world
        return tensor

    def any_(self, mask: torch.Tensor) -> torch.Tensor:
        """An integer mask set wherever it is set on any rank."""
        if self.enabled:
            dist.all_reduce(mask, op=dist.ReduceOp.MAX, group=self.group)
        return mask

    def gather_rows(self, z: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Every rank's rows of `z` stacked in rank order, with the gradient flowing back to each rank's own rows, and
        where this rank's rows start (shards may differ in size by a row)."""
        if not self.enabled:
            return z, 0
        size = torch.tensor([len(z)], device=z.device)
        sizes = [torch.zeros_like(size) for _ in range(self.world)]
        dist.all_gather(sizes, size, group=self.group)
        counts = [int(s) for s in sizes]
        padded = torch.cat([z, z.new_zeros(max(counts) - len(z), *z.shape[1:])])
        parts = dist_nn.all_gather(padded, group=self.group or dist.group.WORLD)
        return torch.cat([part[:n] for part, n in zip(parts, counts)]), sum(counts[:self.rank])

    def gather_objects(self, obj: Any) -> list[Any]:
        """Every rank's `obj`, in rank order (e.g. each rank's random state for a resumable training state)."""
        if not self.enabled:
            return [obj]
        out: list[Any] = [None] * self.world
        dist.all_gather_object(out, obj, group=self.group)
        return out


class NoLive:
    """What ranks other than the main one log to."""

    def log_metric(self, name: str, value: float) -> None:
        pass

    def next_step(self) -> None:
        pass


# NCCL has no CPU backend: a collective on a CPU tensor (a random state, an object) would fail with "No backend type
# associated with device type cpu"; gloo beside it takes those.
BACKENDS = {"nccl": "cpu:gloo,cuda:nccl", "gloo": "gloo"}


def setup(backend: str = "auto") -> Ranks:
    """The ranks torchrun launched (RANK, WORLD_SIZE, LOCAL_RANK), with the process group initialised; one rank when
    not launched by torchrun. `backend`: auto (nccl on GPUs, gloo on CPU) | nccl | gloo."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    ranks = Ranks(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))
    if ranks.enabled and not dist.is_initialized():
        chosen = ("nccl" if torch.cuda.is_available() else "gloo") if backend == "auto" else backend
        if chosen == "nccl":
            torch.cuda.set_device(ranks.local_rank)
        dist.init_process_group(BACKENDS[chosen])
    return ranks


def teardown(ranks: Ranks) -> None:
    if ranks.enabled and dist.is_initialized():
        dist.destroy_process_group()


class Wrapped(nn.Module):
    """A callable as a module, so DDP can wrap a multi-task step's forward (every task's pass in one forward call)."""

    def __init__(self, model: nn.Module, fn):
        super().__init__()
        self.model, self.fn = model, fn

    def forward(self, *args, **kwargs):
        return self.fn(self.model, *args, **kwargs)


def data_parallel(model: nn.Module, fn, ranks: Ranks):
    """fn(model, ...) under DDP when several ranks run, so the backward of its output averages the gradients across
    ranks (parameters a step does not reach, e.g. the heads of tasks not in it, are allowed); fn itself otherwise."""
    if not ranks.enabled:
        return lambda *a, **k: fn(model, *a, **k)
    device_ids = [ranks.local_rank] if torch.cuda.is_available() else None
    return nn.parallel.DistributedDataParallel(Wrapped(model, fn), device_ids=device_ids, find_unused_parameters=True)
