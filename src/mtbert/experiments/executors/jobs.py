"""Runs as jobs, through submitit: N at once on one machine (each pinned to its own GPU, or N CPU workers), or one
SLURM job per (variant, seed). Every job runs in a workspace of its own at the submitted commit, with the shared DVC
cache, one `dvc exp run`; each record is handed on as its job finishes, a failed or pre-empted job is resubmitted up to
`retries` times, and the ones that still failed are returned."""

from __future__ import annotations

import importlib
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtbert.experiments.executors import Done
from mtbert.experiments.study import Run


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
    runner: str  # module:function(spec) -> record, run inside the workspace
    env: dict[str, str] = field(default_factory=dict)


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
    from mtbert.experiments.executors.dvc import experiment

    subprocess.run(["dvc", "checkout", "--quiet"], check=False, capture_output=True)
    return experiment(spec.exp_name, spec.variant, spec.overrides)


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
    run: Run
    job: Any
    attempt: int
    slot: Slot | None


@dataclass
class Jobs:
    """submitit's `local` or `slurm` executor; the job entry point is `runner` (module:function(spec) -> record)."""

    kind: str = "local"
    workers: int | None = None
    retries: int = 2
    resources: dict[str, Any] = field(default_factory=dict)
    root: Path = Path(".")
    jobs_dir: Path = Path(".jobs")
    runner: str = f"{__name__}:dvc_experiment"
    env: dict[str, str] = field(default_factory=dict)
    poll_s: float = 5.0

    def run(self, todo: list[Run], done: Done) -> list[tuple[Run, str]]:
        root, jobs_dir = self.root.resolve(), self.jobs_dir.resolve()
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True).stdout.strip()
        cache = subprocess.run(["dvc", "cache", "dir"], cwd=root, capture_output=True, text=True).stdout.strip() or str(
            root / ".dvc" / "cache")
        env = dict(self.env, **{k: os.environ[k] for k in ("MTL_MIRROR",) if k in os.environ})
        slots = local_slots(self.workers) if self.kind == "local" else [None]
        queue = [(r, 0) for r in todo]
        running: list[Submitted] = []
        failed: list[tuple[Run, str]] = []

        def submit(r: Run, attempt: int, slot: Slot | None) -> None:
            spec = JobSpec(str(root), commit, cache, str(jobs_dir / "workspaces" / (slot.name if slot else r.name)),
                           r.name, r.variant, r.overrides, self.runner, env | (slot.env() if slot else {}))
            executor = make_executor(self.kind, jobs_dir / "logs", slot, self.resources)
            running.append(Submitted(r, executor.submit(run_job, spec), attempt, slot))
            print(f"submitted {r.name} (attempt {attempt + 1}{f', {slot.name}' if slot else ''})", flush=True)

        while queue or running:
            busy = {s.slot.name for s in running if s.slot is not None}
            for slot in slots:
                if queue and (slot is None or slot.name not in busy):
                    r, attempt = queue.pop(0)
                    submit(r, attempt, slot)
                    if slot is not None:
                        busy.add(slot.name)
            time.sleep(self.poll_s if running else 0)
            for s in [s for s in running if s.job.done()]:
                running.remove(s)
                try:
                    record = s.job.result()
                except Exception as err:  # noqa: BLE001 - a failed or pre-empted job: retried, then reported
                    message = last_error(str(err)) or type(err).__name__
                    if s.attempt < self.retries:
                        print(f"{s.run.name} failed ({message}); retrying", flush=True)
                        queue.insert(0, (s.run, s.attempt + 1))
                    else:
                        failed.append((s.run, message))
                    continue
                done(s.run, record | {"attempts": s.attempt + 1})
        return failed
