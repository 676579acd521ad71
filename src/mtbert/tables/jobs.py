"""Table runs as jobs, through submitit: N at once on one machine (each pinned to its own GPU, or N CPU workers), or
one SLURM job per (variant, seed). Every job runs in a workspace of its own at the submitted commit, with the shared
DVC cache, one `dvc exp run`; the submitting process writes each result into the store as its job finishes,
resubmits a failed or pre-empted job up to `retries` times, and reports the ones that still failed. Rerunning submits
only what is still missing."""

from __future__ import annotations

import importlib
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtbert.io import write_json
from mtbert.tables import run as R


@dataclass
class JobSpec:
    """What a job needs, all of it plain data (it is pickled to the job)."""

    repo: str  # the repository the workspace is cloned from
    commit: str
    cache: str  # the DVC cache every workspace shares
    workspace: str
    exp_name: str
    variant: str
    overrides: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)
    runner: str = "mtbert.tables.jobs:dvc_experiment"  # module:function(spec) -> record, run inside the workspace


def prepare_workspace(spec: JobSpec) -> Path:
    """A clone of the repository at the job's commit (made once per workspace, reset for every job)."""
    ws = Path(spec.workspace)
    if not (ws / ".git").exists():
        ws.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "-q", "--shared", spec.repo, str(ws)], check=True)
        subprocess.run(["git", "-C", str(ws), "config", "user.email", "mtbert@localhost"], check=True)
        subprocess.run(["git", "-C", str(ws), "config", "user.name", "mtbert"], check=True)
    subprocess.run(["git", "-C", str(ws), "fetch", "-q", spec.repo, spec.commit], check=True)
    subprocess.run(["git", "-C", str(ws), "checkout", "-q", "--force", "--detach", spec.commit], check=True)
    if Path(spec.cache).exists():
        subprocess.run(["dvc", "cache", "dir", "--local", spec.cache], cwd=ws, check=True, capture_output=True)
    return ws


def dvc_experiment(spec: JobSpec) -> dict:
    """One `dvc exp run` in the current workspace and the record `make tables` keeps (diverged runs included)."""
    subprocess.run(["dvc", "checkout", "--quiet"], check=False, capture_output=True)
    return R.experiment(spec.exp_name, spec.variant, spec.overrides)


def run_job(spec: JobSpec) -> dict:
    """The job's entry point: its workspace, its environment, its run, its CPU time. The workspace's own `src/` comes
    first on the path of every stage, so that the job runs the submitted commit's code even where mtbert is installed
    editable from another checkout."""
    import resource

    ws = prepare_workspace(spec)
    os.environ.update(spec.env)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ws / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])
    os.chdir(ws)
    module, name = spec.runner.split(":")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    record = getattr(importlib.import_module(module), name)(spec)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return record | {"cpu_seconds": round(cpu, 1)}


@dataclass
class Slot:
    """Where local jobs run: a workspace and, for a GPU worker, the device it is pinned to, for a CPU worker its
    share of the cores (intra-op threads)."""

    name: str
    gpu: int | None = None
    threads: int | None = None

    def env(self) -> dict[str, str]:
        return {} if self.threads is None else {"OMP_NUM_THREADS": str(self.threads), "MKL_NUM_THREADS": str(self.threads)}


def local_slots(workers: int | None, cores: int | None = None) -> list[Slot]:
    """One slot per GPU present; without a GPU, `workers` CPU slots (default 1), the cores shared out between them
    (two processes of one thread each do more on 2 cores than one of two threads: docs/speed.md)."""
    import torch

    if torch.cuda.is_available():
        return [Slot(f"gpu{k}", k) for k in range(torch.cuda.device_count())]
    n = workers or 1
    share = max(1, (cores or os.cpu_count() or 1) // n)
    return [Slot(f"cpu{k}", threads=share if n > 1 else None) for k in range(n)]


def make_executor(kind: str, folder: Path, slot: Slot | None, resources: dict[str, Any]):
    """A submitit executor: `local` (subprocesses on this machine, one slot's device visible) or `slurm`."""
    import submitit

    if kind == "local":
        ex = submitit.LocalExecutor(folder=folder)
        ex.update_parameters(timeout_min=resources.get("timeout_min", 24 * 60),
                             **({"visible_gpus": (slot.gpu,), "gpus_per_node": 1} if slot and slot.gpu is not None
                                else {}))
        return ex
    ex = submitit.AutoExecutor(folder=folder, cluster=kind)
    ex.update_parameters(**resources)
    return ex


def last_error(text: str) -> str:
    """The exception line of a job's trace ("RuntimeError: ..."), else its last line."""
    import re

    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    found = [line for line in lines if re.match(r"^[A-Za-z_.]*(Error|Exception|Interrupt)\b", line)]
    return found[-1] if found else (lines[-1] if lines else "")


@dataclass
class Submitted:
    pending: R.Pending
    job: Any
    attempt: int
    slot: Slot | None


def run_jobs(todo: list[R.Pending], profile: str, code: str, kind: str = "local", workers: int | None = None,
             retries: int = 2, resources: dict[str, Any] | None = None, root: Path = Path("."),
             jobs_dir: Path = Path(".jobs"), runner: str = "mtbert.tables.jobs:dvc_experiment",
             env: dict[str, str] | None = None, poll_s: float = 5.0,
             on_result: Callable[[R.Pending, dict], None] | None = None) -> list[tuple[R.Pending, str]]:
    """Every pending run as a job, each result written into its study's store as it finishes; returns the runs that
    failed every attempt, with their last error."""
    root, jobs_dir = root.resolve(), jobs_dir.resolve()
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                            check=True).stdout.strip()
    cache = subprocess.run(["dvc", "cache", "dir"], cwd=root, capture_output=True, text=True).stdout.strip() or str(
        root / ".dvc" / "cache")
    env = dict(env or {}, **{k: os.environ[k] for k in ("MTL_MIRROR",) if k in os.environ})
    slots = local_slots(workers) if kind == "local" else [None]
    queue = [(p, 0) for p in todo]
    running: list[Submitted] = []
    failed: list[tuple[R.Pending, str]] = []

    def submit(p: R.Pending, attempt: int, slot: Slot | None) -> None:
        name = slot.name if slot else p.exp_name
        spec = JobSpec(str(root), commit, cache, str(jobs_dir / "workspaces" / name), p.exp_name, p.variant,
                       p.overrides, env | (slot.env() if slot else {}), runner)
        executor = make_executor(kind, jobs_dir / "logs", slot, resources or {})
        running.append(Submitted(p, executor.submit(run_job, spec), attempt, slot))
        print(f"submitted {p.exp_name} (attempt {attempt + 1}{f', {slot.name}' if slot else ''})", flush=True)

    while queue or running:
        busy = {s.slot.name for s in running if s.slot is not None}
        for slot in slots:
            if queue and (slot is None or slot.name not in busy):
                p, attempt = queue.pop(0)
                submit(p, attempt, slot)
                if slot is not None:
                    busy.add(slot.name)
        time.sleep(poll_s if running else 0)
        for s in [s for s in running if s.job.done()]:
            running.remove(s)
            try:
                record = s.job.result()
            except Exception as err:  # noqa: BLE001 - a failed or pre-empted job: retried, then reported
                message = last_error(str(err)) or type(err).__name__
                if s.attempt < retries:
                    print(f"{s.pending.exp_name} failed ({message}); retrying", flush=True)
                    queue.insert(0, (s.pending, s.attempt + 1))
                else:
                    failed.append((s.pending, message))
                continue
            results = R.load_results(s.pending.study, profile)
            results[s.pending.key] = record | R._stamp(s.pending, profile, code) | {"attempts": s.attempt + 1}
            write_json(R.store_path(s.pending.study, profile), results)
            if on_result:
                on_result(s.pending, record)
    for p, message in failed:
        print(f"{p.exp_name}: failed {retries + 1} times; last error: {message}", flush=True)
    return failed
