"""Run a study's (variant, seed) pairs as `dvc exp run`s and keep each result as it finishes; a rerun resumes."""

from __future__ import annotations

import collections
import json
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from mtbert.io import write_json
from mtbert.profiles import flatten, override_flags
from mtbert.report import plots
from mtbert.report.results import git_commit
from mtbert.study.spec import load_study, result_key, runs, seed_overrides

RESULTS = Path("reports/studies")


def _mean_metric(live: Path, name: str) -> float | None:
    df = plots.read_live_metric(live, name)
    return None if df is None else float(df["value"].mean())


def collect(variant: str, overrides: dict, seconds: float | None) -> dict:
    """The workspace's results right after `dvc exp run`: metrics, per-epoch diagnostics averaged, cost."""
    live = Path("dvclive/finetune")
    metrics = json.loads(Path("metrics.json").read_text())
    run = json.loads(Path("models/finetuned/run.json").read_text())
    diagnostics = {}
    for path in sorted((live / "plots" / "metrics").rglob("*.tsv")):
        name = path.relative_to(live / "plots" / "metrics").with_suffix("").as_posix()
        if name.split("/")[0] in ("grad", "steps", "time") or name.endswith("/relative_size"):
            diagnostics[name] = _mean_metric(live, name)
    curves = {}  # dev metrics after each epoch: was the run still learning when it stopped?
    for path in sorted((live / "plots" / "metrics" / "dev").glob("*.tsv")):
        df = plots.read_live_metric(live, f"dev/{path.stem}")
        curves[path.stem] = [float(v) for v in df["value"]]
    pretrained = Path("models/pretrained/pretrain.json")
    extra = {"pretrain_mlm": json.loads(pretrained.read_text())["history"]} if pretrained.exists() else {}
    return {"variant": variant, "overrides": overrides, "metrics": metrics, "best_epoch": run.get("best", {}).get("epoch"),
            "notes": run.get("notes", []), "stopped": run.get("stopped"), "diagnostics": diagnostics, "curves": curves, "wall_seconds": None if seconds is None else round(seconds, 1)} | extra


def pending(study: dict, results: dict, only: list[str] | None, rerun: bool) -> list[tuple[str, str, int | None, dict, str]]:
    """(result key, variant, seed, params overrides, experiment name) of every run still to do, in run order."""
    out = []
    for variant, seed in runs(study):
        key = result_key(variant, seed)
        if (only and variant not in only) or (key in results and not rerun):
            continue
        merged = flatten(study["budget"]) | flatten(study["variants"][variant] or {}) | seed_overrides(seed)
        out.append((key, variant, seed, merged, f"{study['name']}-{key}".replace("_", "-").replace("@", "-")))
    return out


NON_FINITE = ("non-finite", "no epoch gave a dev score")  # what a run that diverged says when its stage fails


def exp_run(name: str, overrides: dict) -> tuple[bool, float, str]:
    """One `dvc exp run` from HEAD's params with `overrides`, its output passed through live: (finished, seconds, the
    output's last lines). A run that fails because training diverged (non-finite loss or metrics) returns
    finished=False; any other failure raises."""
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
    if any(marker in text for marker in NON_FINITE):
        return False, seconds, text
    raise subprocess.CalledProcessError(proc.returncode, cmd, output=text)


def run_study(path: Path, only: list[str] | None = None, rerun: bool = False) -> None:
    """Every (variant, seed) not yet in reports/studies/<name>.json (all of them with `rerun`), one `dvc exp run` each."""
    study = load_study(path)
    store = RESULTS / f"{study['name']}.json"
    results = json.loads(store.read_text()) if store.exists() else {}
    for key, variant, seed, merged, name in pending(study, results, only, rerun):
        finished, seconds, tail = exp_run(name, merged)
        if not finished:
            raise RuntimeError(f"{name} diverged; see its output above")
        results[key] = collect(variant, merged, seconds) | {"commit": git_commit(), "seed": seed}
        write_json(store, results)  # after every run: a long study survives an interruption and resumes here


def _queue_busy() -> bool:
    status = subprocess.run(["dvc", "queue", "status"], capture_output=True, text=True, check=True).stdout
    return bool(re.search(r"\b(Queued|Running)\b", status))


def refuse_dirty() -> None:
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True,
                           check=True).stdout.strip()
    if dirty:
        raise RuntimeError(f"queued experiments run from HEAD: commit or stash these changes first:\n{dirty}")


def queue_runs(runs: list[tuple[str, dict]], jobs: int, collect: Callable[[int], None], poll_s: float = 30.0) -> None:
    """`dvc exp run --queue` each (name, overrides), `dvc queue start --jobs N`, wait, then apply each finished
    experiment to the workspace in turn and call collect(i) on it; the workspace is put back to HEAD at the end (so
    what `collect` gathers must be written after this returns). Queued experiments see only committed files."""
    refuse_dirty()
    for name, overrides in runs:
        subprocess.run(["dvc", "exp", "run", "--queue", "-n", name, *override_flags(overrides)], check=True)
    subprocess.run(["dvc", "queue", "start", "--jobs", str(jobs)], check=True)
    while _queue_busy():
        time.sleep(poll_s)
    try:
        for i, (name, _) in enumerate(runs):
            if subprocess.run(["dvc", "exp", "apply", name], check=False).returncode != 0:
                print(f"{name}: no finished experiment to collect (see `dvc queue logs`)", flush=True)
                continue
            collect(i)
    finally:
        subprocess.run(["git", "checkout", "HEAD", "--", "."], check=True)
        subprocess.run(["dvc", "checkout", "--quiet"], check=False)


def queue_study(path: Path, jobs: int, only: list[str] | None = None, rerun: bool = False, poll_s: float = 30.0) -> None:
    """A study's pending runs through DVC's queue, `jobs` at a time (`dvc queue start --jobs`), each in its own
    temporary copy of HEAD, collected when the queue is done. The workspace must be clean."""
    refuse_dirty()
    study = load_study(path)
    store = RESULTS / f"{study['name']}.json"
    results = json.loads(store.read_text()) if store.exists() else {}
    todo = pending(study, results, only, rerun)
    commit = git_commit()

    def gather(i: int) -> None:
        key, variant, seed, merged, _ = todo[i]
        results[key] = collect(variant, merged, None) | {"commit": commit, "seed": seed, "queued": True}

    try:
        queue_runs([(name, merged) for _, _, _, merged, name in todo], jobs, gather, poll_s)
    finally:
        write_json(store, results)  # after the workspace is back: `exp apply` had put HEAD's copy of the store there
