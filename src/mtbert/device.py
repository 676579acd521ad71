"""Where computation runs, and the peak memory it took there."""

from __future__ import annotations

import resource

import torch


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def peak_memory_mb(device: torch.device) -> float:
    """Peak allocated GPU memory on CUDA; on CPU the process's peak resident size (ru_maxrss, KiB on Linux)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
