"""A study's runs without DVC or git, N at once: each (variant, seed) runs the pipeline's own stage scripts in a scratch
workspace that reads this repository's data and params, and its record goes into the study's store as it finishes
(a rerun resumes). For a machine that has the code and the prepared data but not DVC, such as a lent GPU."""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
import os
import time
from pathlib import Path

import yaml

from mtbert.io import write_json
from mtbert.study.runner import RESULTS, collect, pending
from mtbert.study.spec import load_study
from mtbert.study.workspace import STAGES, merge, run_stage, scratch, tree


def run_one(root: str, variant: str, overrides: dict, workspace: str, threads: int) -> dict:
    """Every stage of one (variant, seed) in a fresh scratch workspace; the record `collect` makes there, with the
    device it ran on. Stage output goes to the workspace's run.log."""
    import torch

    torch.set_num_threads(threads)
    base, ws = Path(root).resolve(), Path(workspace).resolve()
    params = merge(yaml.safe_load((base / "params.yaml").read_text()), tree(overrides))
    scratch(base, ws)
    (ws / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    here, start = Path.cwd(), time.perf_counter()
    try:
        os.chdir(ws)
        with open("run.log", "w") as log:
            for stage in STAGES:
                run_stage(stage, ws, params, ws / ".memo", log)
        device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU, {threads} threads"
        return collect(variant, overrides, time.perf_counter() - start) | {"device": device, "threads": threads}
    finally:
        os.chdir(here)


def run_direct(path: Path, workers: int, commit: str, store: Path | None = None, scratch_root: Path = Path(".direct"),
               only: list[str] | None = None, rerun: bool = False, threads: int | None = None) -> list[str]:
    """The study's pending runs, `workers` at a time (each `threads` intra-op threads: by default the cores shared
    out); each record is written into `store` as it finishes. Returns the keys of runs that failed."""
    study = load_study(path)
    store = store or RESULTS / f"{study['name']}.json"
    results = json.loads(store.read_text()) if store.exists() else {}
    todo = pending(study, results, only, rerun)
    threads = threads or max(1, (os.cpu_count() or 1) // workers)
    print(f"{len(todo)} runs of {study['name']} pending; {workers} at once, {threads} threads each", flush=True)
    failed: list[str] = []
    # spawn: each run gets a fresh interpreter (CUDA cannot be forked into, and no state leaks between runs)
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                                max_tasks_per_child=1) as pool:
        futures = {pool.submit(run_one, ".", variant, merged, str(scratch_root / name), threads): (key, seed)
                   for key, variant, seed, merged, name in todo}
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            key, seed = futures[future]
            try:
                record = future.result()
            except Exception as err:  # noqa: BLE001 - a failed run is named, the others go on
                failed.append(key)
                print(f"[{done}/{len(todo)}] {key} FAILED: {type(err).__name__}: {err}", flush=True)
                continue
            results[key] = record | {"commit": commit, "seed": seed, "direct": True}
            write_json(store, results)  # after every run: a cut-off study resumes here
            print(f"[{done}/{len(todo)}] {key} done in {record['wall_seconds']:.0f} s", flush=True)
    return failed
