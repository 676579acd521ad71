"""A task's forward pass with its own random numbers: encoder and head dropout reseeded from (run seed, purpose, task,
step, rank) before each, so a regularizer's extra passes, a gradient method's draws or another task's batch never shift
the masks a pass sees, and a replayed pass (SMART's perturbed ones) sees exactly the masks of the pass it replays."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from mtbert.model.heads import Features
from mtbert.seeds import generator, reseed


@dataclass(frozen=True)
class PassSeeds:
    """Where one task's pass at one step draws from; `rank`: each data-parallel rank draws its own masks."""

    seed: int
    task: str
    step: int
    rank: int = 0

    def key(self, *purpose: object) -> tuple:
        return (*purpose, self.task, self.step, self.rank)

    def generator(self, purpose: str, device: torch.device | str = "cpu") -> torch.Generator:
        """A generator of its own for a regularizer's draws (SMART's noise)."""
        return generator(self.seed, *self.key(purpose), device=device)

    @contextlib.contextmanager
    def global_stream(self, purpose: str, device: torch.device) -> Iterator[None]:
        """Within: torch's global generators set for `purpose` (dropout modules draw from them), and afterwards as
        they were before."""
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            reseed(self.seed, *self.key(purpose))
            yield


def encode(model, batch: dict, seeds: PassSeeds, inputs_embeds: torch.Tensor | None = None,
           purpose: str = "encoder") -> Features:
    """The encoder pass with its dropout from `seeds` (a second view of the batch passes another `purpose`)."""
    device = batch["input_ids"].device
    with seeds.global_stream(f"dropout/{purpose}", device):
        return model.encode(batch, inputs_embeds)


def head(model, task: str, features: Features, seeds: PassSeeds, purpose: str = "head") -> torch.Tensor:
    """The task head on `features` with its dropout from `seeds` (another `purpose`: masks of its own)."""
    with seeds.global_stream(f"dropout/{purpose}", features.pooled.device):
        return model.head(task, features)
