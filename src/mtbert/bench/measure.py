"""Time a loop's steps in a fresh process, so each configuration's peak memory is its own."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import time
from dataclasses import dataclass

import torch

from mtbert.bench import loops
from mtbert.bench.workload import Step
from mtbert.device import peak_memory_mb, pick_device


@dataclass
class Timing:
    seconds_per_step: float
    peak_memory_mb: float  # process peak RSS on CPU; peak allocated on a GPU


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds_per_step(run_step, steps: list, device: torch.device) -> float:
    """Mean seconds of `run_step` over `steps`, the device's queued work included."""
    _sync(device)
    start = time.perf_counter()
    for step in steps:
        run_step(step)
    _sync(device)
    return (time.perf_counter() - start) / len(steps)


def time_steps(run_step, steps: list[Step], warmup: int, device: torch.device) -> float:
    """Mean seconds per step over `steps` after `warmup` untimed passes over the same steps: the steady state of a long
    run, in which every batch shape has been seen and the process holds its peak memory. The first pass pays costs a
    run pays once (page faults while the heap grows, a kernel plan per new shape on a GPU); `python -m
    mtbert.bench.phases` times it apart."""
    for _ in range(warmup):
        for step in steps:
            run_step(step)
    return seconds_per_step(run_step, steps, device)


def _child(loop: str, shape: str, method: str, mcfg, tcfg, checkpoint, steps: list[Step], warmup: int) -> Timing:
    device = pick_device()
    runner = loops.build(loop, shape, method, mcfg, tcfg, checkpoint, device)
    seconds = time_steps(runner.step, steps, warmup, device)
    return Timing(seconds, peak_memory_mb(device))


def in_fresh_process(fn, *args):
    """fn(*args) in a spawned process (one per call: its peak memory starts from nothing)."""
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        return pool.submit(fn, *args).result()


def measure(loop: str, shape: str, method: str, mcfg, tcfg, checkpoint, steps: list[Step], warmup: int) -> Timing:
    return in_fresh_process(_child, loop, shape, method, mcfg, tcfg, checkpoint, steps, warmup)
