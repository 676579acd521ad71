"""Common random numbers: every source of randomness gets its own seed, derived from the run's seed and its purpose
(e.g. ("dropout", "encoder", "sst", step)), so switching one technique on changes no other source's draws."""

from __future__ import annotations

import hashlib
import json

import torch


def derive(seed: int, *purpose: object) -> int:
    """A 63-bit seed for `purpose` under the run's `seed`, the same on every machine and Python process."""
    digest = hashlib.sha256(json.dumps([seed, *purpose], default=str).encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def generator(seed: int, *purpose: object, device: torch.device | str = "cpu") -> torch.Generator:
    """A fresh torch generator on `device` for `purpose`."""
    return torch.Generator(device=device).manual_seed(derive(seed, *purpose))


def reseed(seed: int, *purpose: object) -> None:
    """Set torch's global generators (CPU and every CUDA device) for draws we cannot hand a generator to: dropout
    modules and library code."""
    torch.manual_seed(derive(seed, *purpose))
