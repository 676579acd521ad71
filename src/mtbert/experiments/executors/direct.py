"""Runs without DVC or git, N at once: each (variant, seed) runs dvc.yaml's stages in a scratch workspace that reads
this repository's data and params (experiments/workspace.py), for a machine that has the code and the prepared data
but not DVC, such as a lent GPU. Stages whose key repeats (augmentation, further pretraining) run once, their
outputs kept in a memo shared by every run."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

from mtbert.experiments.executors import Done
from mtbert.experiments.executors.ledger import Ledger
from mtbert.experiments.provenance import code_version
from mtbert.experiments.record import collect, diverged, diverged_record, now
from mtbert.experiments.study import Run
from mtbert.experiments.workspace import STATE, entered, run_stages


def run_one(root: str, variant: str, overrides: dict[str, Any], workspace: str, threads: int, code: str,
            memo: str) -> dict:
    """Every stage of one (variant, seed) in a fresh scratch workspace; the record made there, with the device it
    ran on. Stage output goes to the workspace's run.log."""
    import torch

    torch.set_num_threads(threads)
    started, ws = now(), Path(workspace).resolve()
    with entered(Path(root).resolve(), ws, overrides) as params, Ledger(Path(STATE) / "ledger.json") as ledger:
        device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU, {threads} threads"

        def where() -> dict:  # when this leg ran (runs at once overlap: the profile's wall time counts them once)
            return {"device": device, "threads": threads, "direct": True, "started": started, "finished": now()}

        try:
            with open("run.log", "w") as log:
                run_stages(ws, params, code, Path(memo), log)
        except Exception as err:
            reason = diverged(f"{Path('run.log').read_text()}\n{err}")
            if reason is None:
                raise
            spent = ledger.totals()
            return diverged_record(variant, overrides, reason, spent["wall_seconds"]) | where() | spent
        spent = ledger.totals()
        return collect(variant, overrides, spent["wall_seconds"]) | where() | spent


def shares(todo: list[Run]) -> list[float]:
    """Each run's share of the work: its expected seconds (its kind's pilot), the mean of those known where not;
    equal shares when none is known."""
    known = [r.expected for r in todo if r.expected]
    fill = sum(known) / len(known) if known else 1.0
    weights = [r.expected or fill for r in todo]
    return [w / sum(weights) for w in weights]


def progress(n: int, total: int, key: str, seconds: float, elapsed: float, share_done: float | None = None) -> str:
    """One finished run, with the time so far and what is left at the pace so far: the runs' share of the work done
    (`share_done`, by their pilots' times; by count where not given) per hour of wall."""
    share_done = share_done or n / total
    left = elapsed * (1 - share_done) / share_done
    pace = f"{elapsed / 3600:.1f} h elapsed" + (f", about {left / 3600:.1f} h left at this pace" if n < total else "")
    return f"[{n}/{total}] {key} done in {seconds:.0f} s · {pace}"


class Direct:
    """`workers` runs at once, each `threads` intra-op threads (default: the cores shared out)."""

    def __init__(self, workers: int = 1, threads: int | None = None, scratch_root: Path = Path(".direct")):
        self.workers, self.scratch_root = workers, scratch_root
        self.threads = threads or max(1, (os.cpu_count() or 1) // workers)

    def run(self, todo: list[Run], done: Done) -> list[tuple[Run, str]]:
        code = code_version(strict=False)
        memo = (self.scratch_root / "memo").resolve()
        memo.mkdir(parents=True, exist_ok=True)
        print(f"{len(todo)} runs pending; {self.workers} at once, {self.threads} threads each", flush=True)
        failed: list[tuple[Run, str]] = []
        start, share, done_share = time.monotonic(), dict(zip(map(id, todo), shares(todo))), 0.0
        # spawn: each run gets a fresh interpreter (CUDA cannot be forked into, and no state leaks between runs)
        with concurrent.futures.ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                    max_tasks_per_child=1) as pool:
            futures = {pool.submit(run_one, ".", r.variant, r.overrides, str(self.scratch_root / r.name),
                                   self.threads, code, str(memo)): r for r in todo}
            for n, future in enumerate(concurrent.futures.as_completed(futures), 1):
                r = futures[future]
                try:
                    record = future.result()
                except Exception as err:  # noqa: BLE001 - a failed run is named, the others go on
                    failed.append((r, f"{type(err).__name__}: {err}"))
                    print(f"[{n}/{len(todo)}] {r.key} FAILED: {type(err).__name__}: {err}", flush=True)
                    continue
                done(r, record)
                done_share += share[id(r)]
                print(progress(n, len(todo), r.key, record["wall_seconds"], time.monotonic() - start, done_share),
                      flush=True)
        return failed
