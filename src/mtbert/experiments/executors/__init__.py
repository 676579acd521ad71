"""Executors: how a study's pending runs are run, behind one interface. `run(todo, done)` runs each, calls
`done(run, record)` as each record is ready and returns the runs that failed, with their last error.

    dvc      one `dvc exp run` after another in this workspace (the default)
    queue    DVC's queue, N at once, each in a temporary copy of HEAD
    local    submitit jobs on this machine, one per GPU present (or N CPU workers), each in a clone of HEAD
    slurm    one submitit SLURM job per run, each in a clone of HEAD
    direct   no DVC and no git: dvc.yaml's stages run in scratch workspaces, N at once (e.g. on a lent GPU)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mtbert.experiments.study import Run

Done = Callable[["Run", dict], None]


class Executor(Protocol):
    def run(self, todo: list[Run], done: Done) -> list[tuple[Run, str]]: ...


KINDS = ("dvc", "queue", "local", "slurm", "direct")


def make(kind: str, workers: int | None = None, threads: int | None = None, retries: int = 2,
         resources: dict[str, Any] | None = None) -> Executor:
    """The executor `kind` (one of KINDS) with its options: runs at once (`workers`), threads per run (direct),
    resubmissions of a failed job and SLURM resources (local, slurm)."""
    if kind == "dvc":
        from mtbert.experiments.executors.dvc import Sequential

        return Sequential()
    if kind == "queue":
        from mtbert.experiments.executors.dvc import Queue

        return Queue(workers or 1)
    if kind in ("local", "slurm"):
        from mtbert.experiments.executors.jobs import Jobs

        return Jobs(kind, workers, retries, resources or {})
    if kind == "direct":
        from mtbert.experiments.executors.direct import Direct

        return Direct(workers or 1, threads)
    raise ValueError(f"no executor {kind!r}; executors: {', '.join(KINDS)}")
