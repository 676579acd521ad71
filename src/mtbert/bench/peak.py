"""This machine's measured fp32 matrix-multiply rate: the ceiling a training step's FLOP rate is read against."""

from __future__ import annotations

import time

import torch


def gemm_peak(size: int = 2048, repeats: int = 5, device: torch.device | str = "cpu") -> float:
    """The best FLOP/s of `repeats` fp32 products of two size x size matrices (2 n³ FLOPs each), after one warm-up."""
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        torch.mm(a, b)
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best


def paired_ratio(numerators: list[float], denominators: list[float]) -> tuple[float, float, float]:
    """Round by round a / b (the same round: the machine's speed drifts between minutes), as (median, lowest, highest)."""
    ratios = sorted(a / b for a, b in zip(numerators, denominators))
    if not ratios:
        raise ValueError("no paired rounds to take a ratio of")
    mid = len(ratios) // 2
    median = ratios[mid] if len(ratios) % 2 else (ratios[mid - 1] + ratios[mid]) / 2
    return median, ratios[0], ratios[-1]
