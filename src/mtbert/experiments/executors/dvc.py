"""Runs as DVC experiments in this workspace: one `dvc exp run` after another (Sequential), or N at once through DVC's
queue (Queue). Either starts from a workspace equal to HEAD and puts it back there afterwards, the stores kept."""

from __future__ import annotations

import collections
import os
import re
import resource
import subprocess
import time
from typing import Any

from mtbert.experiments import record as R
from mtbert.experiments.executors import Done
from mtbert.experiments.study import STUDY_STORES, TABLE_STORES, Run
from mtbert.profiles import override_flags

STORES = (STUDY_STORES.as_posix(), TABLE_STORES.as_posix())  # what runs write into the workspace and must survive


def refuse_dirty() -> None:
    """Experiments leave their params, lock and outputs in the workspace, which is put back to HEAD afterwards: so
    nothing tracked may differ from HEAD first (the stores excepted)."""
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                            *(f":!{s}" for s in STORES)], capture_output=True, text=True, check=True).stdout.strip()
    if dirty:
        raise RuntimeError("runs start from HEAD and put the workspace back to it: commit or stash these changes first "
                           f"(after an interrupted run: git checkout HEAD -- . && dvc checkout):\n{dirty}")


def restore_workspace() -> None:
    """The pipeline's files back to HEAD's (every experiment leaves its own), the stores kept."""
    subprocess.run(["git", "checkout", "HEAD", "--", ".", *(f":!{s}" for s in STORES)], check=True)
    subprocess.run(["dvc", "checkout", "--quiet"], check=False, capture_output=True)


def exp_run(name: str, overrides: dict[str, Any]) -> tuple[bool, float, str]:
    """One `dvc exp run` from HEAD's params with `overrides`, its output passed through live: (finished, seconds, the
    output's last lines). A run that fails because training diverged returns finished=False; any other failure
    raises."""
    # No --force: stages whose deps and params are unchanged (download, prepare, reference) are not rerun
    cmd = ["dvc", "exp", "run", "-n", name, *override_flags(overrides)]
    # `dvc exp run` leaves the last experiment's params in the workspace: start every run from HEAD's
    subprocess.run(["git", "checkout", "HEAD", "--", "params.yaml"], check=True)
    print("+", " ".join(cmd), flush=True)
    start = time.perf_counter()
    tail: collections.deque[str] = collections.deque(maxlen=40)
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        for line in proc.stdout:
            print(line, end="", flush=True)
            tail.append(line)
    seconds, text = time.perf_counter() - start, "".join(tail)
    if proc.returncode == 0:
        return True, seconds, text
    if R.diverged(text):
        return False, seconds, text
    raise subprocess.CalledProcessError(proc.returncode, cmd, output=text)


def threads() -> int:
    """The intra-op threads the run's stages get: OMP_NUM_THREADS where set (a CPU worker's share), else torch's
    default of one per core."""
    return int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1)


def _children_cpu_seconds() -> float:
    """User + system time of every finished child process and its waited-for descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def experiment(name: str, variant: str, overrides: dict[str, Any]) -> dict:
    """One `dvc exp run` in the workspace and its record (diverged runs included), with when it ran, on how many
    threads (float sums, and so the last digits, depend on the thread count) and its CPU time."""
    started, cpu = R.now(), _children_cpu_seconds()
    finished, seconds, tail = exp_run(name, overrides)
    when = {"started": started, "finished": R.now(), "threads": threads(),
            "cpu_seconds": round(_children_cpu_seconds() - cpu, 1)}  # dvc and every stage it ran, all cores together
    if finished:
        return R.collect(variant, overrides, seconds) | when
    return R.diverged_record(variant, overrides, R.diverged(tail), seconds) | when


class Sequential:
    """One `dvc exp run` after another in this workspace."""

    def run(self, todo: list[Run], done: Done) -> list[tuple[Run, str]]:
        refuse_dirty()
        try:
            for r in todo:
                done(r, experiment(r.name, r.variant, r.overrides))
        finally:
            restore_workspace()
        return []


def _queue_busy() -> bool:
    status = subprocess.run(["dvc", "queue", "status"], capture_output=True, text=True, check=True).stdout
    return bool(re.search(r"\b(Queued|Running)\b", status))


class Queue:
    """`dvc exp run --queue` each run, `dvc queue start --jobs N`, wait, then apply each finished experiment to the
    workspace in turn and read its record; the records are handed on once the workspace is back at HEAD. Queued
    experiments see only committed files. A diverged run is not collected: it stays missing."""

    def __init__(self, jobs: int, poll_s: float = 30.0):
        self.jobs, self.poll_s = jobs, poll_s

    def run(self, todo: list[Run], done: Done) -> list[tuple[Run, str]]:
        refuse_dirty()
        for r in todo:
            subprocess.run(["dvc", "exp", "run", "--queue", "-n", r.name, *override_flags(r.overrides)], check=True)
        subprocess.run(["dvc", "queue", "start", "--jobs", str(self.jobs)], check=True)
        while _queue_busy():
            time.sleep(self.poll_s)
        gathered, failed = [], []
        try:
            for r in todo:
                if subprocess.run(["dvc", "exp", "apply", r.name], check=False).returncode != 0:
                    failed.append((r, "no finished experiment to collect (see `dvc queue logs`)"))
                    continue
                gathered.append((r, R.collect(r.variant, r.overrides, None) | {"queued": True}))
        finally:
            restore_workspace()
            for r, rec in gathered:  # after the workspace is back: `exp apply` had put HEAD's copy of the stores there
                done(r, rec)
        return failed
