"""Run a study's (variant, seed) pairs as `dvc exp run`s and keep each result as it finishes; a rerun resumes."""

from __future__ import annotations

import json
import subprocess
import time
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


def collect(variant: str, overrides: dict, seconds: float) -> dict:
    """The workspace's results right after `dvc exp run`: metrics, per-epoch diagnostics averaged, cost."""
    live = Path("dvclive/finetune")
    metrics = json.loads(Path("metrics.json").read_text())
    run = json.loads(Path("models/finetuned/run.json").read_text())
    diagnostics = {}
    for path in sorted((live / "plots" / "metrics").rglob("*.tsv")):
        name = path.relative_to(live / "plots" / "metrics").with_suffix("").as_posix()
        if name.split("/")[0] in ("grad", "steps", "time"):
            diagnostics[name] = _mean_metric(live, name)
    pretrained = Path("models/pretrained/pretrain.json")
    extra = {"pretrain_mlm": json.loads(pretrained.read_text())["history"]} if pretrained.exists() else {}
    return {"variant": variant, "overrides": overrides, "metrics": metrics, "best_epoch": run.get("best", {}).get("epoch"),
            "notes": run.get("notes", []), "diagnostics": diagnostics, "wall_seconds": round(seconds, 1)} | extra


def run_study(path: Path, only: list[str] | None = None, rerun: bool = False) -> None:
    """Every (variant, seed) not yet in reports/studies/<name>.json (all of them with `rerun`), one `dvc exp run` each."""
    study = load_study(path)
    store = RESULTS / f"{study['name']}.json"
    results = json.loads(store.read_text()) if store.exists() else {}
    for variant, seed in runs(study):
        key = result_key(variant, seed)
        if (only and variant not in only) or (key in results and not rerun):
            continue
        merged = flatten(study["budget"]) | flatten(study["variants"][variant] or {}) | seed_overrides(seed)
        name = f"{study['name']}-{key}".replace("_", "-").replace("@", "-")
        # No --force: stages whose deps and params are unchanged (download, prepare, reference) are not rerun
        cmd = ["dvc", "exp", "run", "-n", name, *override_flags(merged)]
        # `dvc exp run` leaves the last experiment's params in the workspace: start every run from HEAD's
        subprocess.run(["git", "checkout", "HEAD", "--", "params.yaml"], check=True)
        print("+", " ".join(cmd), flush=True)
        start = time.perf_counter()
        subprocess.run(cmd, check=True)
        results[key] = collect(variant, merged, time.perf_counter() - start) | {"commit": git_commit(), "seed": seed}
        write_json(store, results)  # after every run: a long study survives an interruption and resumes here
