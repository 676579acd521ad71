"""The record a run leaves in its study's store, read from the workspace it ran in: metrics, per-epoch dev curves,
diagnostics averaged over epochs, notes and cost; or, for a run whose training diverged, status "diverged" and the
line that says so."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mtbert.report import plots

NON_FINITE = ("non-finite", "no epoch gave a dev score")  # what a run that diverged says when its stage fails


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _mean_metric(live: Path, name: str) -> float | None:
    df = plots.read_live_metric(live, name)
    return None if df is None else float(df["value"].mean())


def collect(variant: str, overrides: dict[str, Any], seconds: float | None, root: Path = Path(".")) -> dict:
    """The workspace's results right after its stages ran: metrics, per-epoch diagnostics averaged, cost."""
    live = root / "dvclive/finetune"
    metrics = json.loads((root / "metrics.json").read_text())
    run = json.loads((root / "models/finetuned/run.json").read_text())
    diagnostics = {}
    for path in sorted((live / "plots" / "metrics").rglob("*.tsv")):
        name = path.relative_to(live / "plots" / "metrics").with_suffix("").as_posix()
        if name.split("/")[0] in ("grad", "steps", "time") or name.endswith("/relative_size"):
            diagnostics[name] = _mean_metric(live, name)
    curves = {}  # dev metrics after each epoch: was the run still learning when it stopped?
    for path in sorted((live / "plots" / "metrics" / "dev").glob("*.tsv")):
        df = plots.read_live_metric(live, f"dev/{path.stem}")
        curves[path.stem] = [float(v) for v in df["value"]]
    pretrained = root / "models/pretrained/pretrain.json"
    extra = {"pretrain_mlm": json.loads(pretrained.read_text())["history"]} if pretrained.exists() else {}
    return {"variant": variant, "overrides": overrides, "status": "ok", "metrics": metrics,
            "best_epoch": run.get("best", {}).get("epoch"), "notes": run.get("notes", []), "stopped": run.get("stopped"),
            "diagnostics": diagnostics, "curves": curves,
            "wall_seconds": None if seconds is None else round(seconds, 1)} | extra


def diverged(output: str) -> str | None:
    """The line saying training diverged, when the output of a failed run has one (else None: a broken run)."""
    lines = output.splitlines()
    return next((line.strip() for line in reversed(lines) if any(m in line for m in NON_FINITE)), None)


def diverged_record(variant: str, overrides: dict[str, Any], reason: str, seconds: float) -> dict:
    return {"variant": variant, "overrides": overrides, "status": "diverged", "error": reason, "metrics": {},
            "diagnostics": {}, "notes": [], "wall_seconds": round(seconds, 1)}
