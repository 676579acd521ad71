"""Where computation runs, the peak memory it took there, and how the process keeps memory it freed."""

from __future__ import annotations

import ctypes
import resource
import sys

import torch


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def peak_memory_mb(device: torch.device) -> float:
    """Peak allocated GPU memory on CUDA; on CPU the process's peak resident size (ru_maxrss, KiB on Linux)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


def reuse_freed_memory() -> bool:
    """Keep freed memory in the process for reuse instead of handing it back to the kernel (glibc's malloc: no heap
    trimming below 2 GiB, blocks up to 32 MiB from the heap rather than fresh mmaps). Every training step frees and
    re-allocates gradients and activations of the same sizes; each fresh page costs a fault, which on this 2-core CPU
    cost a bert-base summed step ~9% and a step that keeps the task gradients apart ~15%
    (reports/performance.md). Returns whether it applied: a no-op off Linux or without glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_TRIM_THRESHOLD, 2**31 - 1)) and bool(mallopt(M_MMAP_THRESHOLD, 32 * 2**20))
