"""python -m mtbert.bench.phases: where one training step of our loop spends its time, on the first pass over a set of
steps (every batch shape new) against a repeat of the same steps (every shape seen), phase by phase, then the
profiler's busiest operators. On a GPU it tells launch- and host-bound steps from compute-bound ones."""

from __future__ import annotations

import argparse

import torch
from torch.profiler import ProfilerActivity, profile

from mtbert.bench import loops
from mtbert.bench.measure import seconds_per_step
from mtbert.bench.workload import load_workload
from mtbert.device import pick_device
from mtbert.train.loop import task_losses
from mtbert.train.methods.backward import backward


def launch_microseconds(device: torch.device, n: int = 2000) -> float:
    """Host time per tiny kernel: the floor under a step made of thousands of small ones."""
    x = torch.zeros(1, device=device)
    return seconds_per_step(lambda _: x.add_(1), [None] * n, device) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shape", default="minilm", choices=loops.SHAPES)
    ap.add_argument("--method", default="sum")
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args()
    device = pick_device()
    work = load_workload(args.steps)
    tcfg, steps = work.tcfg, work.steps
    run = loops.build("ours", args.shape, args.method, work.mcfg, tcfg, work.checkpoint, device)

    def forward(step):
        return task_losses(run.model, step, device, tcfg)

    def forward_backward(step):
        results = forward(step)
        run.optim.zero_grad()
        backward(run.model, {t: r[0] for t, r in results.items()}, run.method, jacobian=False, buffers=run.buffers)

    print(f"{device}: {launch_microseconds(device):.1f} us per tiny kernel; {args.shape} {args.method}, "
          f"{len(steps)} steps of {tcfg.batch_size} per task")
    print(f"first pass (new shapes): forward {seconds_per_step(forward, steps, device):.4f} s/step, "
          f"forward+backward {seconds_per_step(forward_backward, steps, device):.4f}")
    print(f"repeat (shapes seen): forward {seconds_per_step(forward, steps, device):.4f}, forward+backward "
          f"{seconds_per_step(forward_backward, steps, device):.4f}, "
          f"optimizer {seconds_per_step(lambda s: run.optim.step(list(s)), steps, device):.4f}, "
          f"whole step {seconds_per_step(run.step, steps, device):.4f}")
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        seconds_per_step(run.step, steps[:5], device)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


if __name__ == "__main__":
    main()
