"""Scratch workspaces that run the pipeline's own stage scripts without DVC: this repository's data read in place,
the stages and dvc.yaml copied, a params.yaml of their own. The dry run and the study's direct executor use them."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import runpy
import shutil
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

STAGES = ("augment", "pretrain_mlm", "pretrain_heads", "finetune", "evaluate")
# Stages whose outputs depend on their own params section alone (and the data): run once per distinct section, as
# DVC's run cache would, and copied into every later variant that has the same section.
MEMO = {"augment": ("augment", ["data/augmented"]),
        "pretrain_mlm": ("pretrain_mlm", ["models/pretrained", "dvclive/pretrain_mlm"])}


def tree(flat: dict[str, Any]) -> dict[str, Any]:
    """{"train.lr": 1} -> {"train": {"lr": 1}}."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        *path, last = key.split(".")
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return out


def merge(base: dict, overlay: dict) -> dict:
    """`overlay`'s leaves written into `base` (in place; returned)."""
    for k, v in overlay.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            merge(base[k], v)
        else:
            base[k] = v
    return base


def scratch(root: Path, workspace: Path, eval_rows: int = 0) -> Path:
    """A workspace whose data/raw and data/prepared are this one's (read only), with the stages and dvc.yaml; with
    `eval_rows`, each dev and test split cut to its first that many rows (scoring whole splits is most of a dry run's
    cost, and not what it checks)."""
    if workspace.exists():
        shutil.rmtree(workspace)
    (workspace / "data").mkdir(parents=True)
    (workspace / "data" / "raw").symlink_to((root / "data" / "raw").resolve())
    prepared = (root / "data" / "prepared").resolve()
    if not eval_rows:
        (workspace / "data" / "prepared").symlink_to(prepared)
    else:
        for path in prepared.rglob("*"):
            target = workspace / "data" / "prepared" / path.relative_to(prepared)
            if path.is_dir():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix == ".csv" and path.stem in ("dev", "test"):
                pd.read_csv(path).head(eval_rows).to_csv(target, index=False)
            else:
                target.symlink_to(path)
    shutil.copytree(root / "stages", workspace / "stages")
    shutil.copy(root / "dvc.yaml", workspace / "dvc.yaml")
    return workspace


def _memo_key(stage: str, params: dict[str, Any]) -> str:
    section, _ = MEMO[stage]
    wanted = {"section": params.get(section), "checkpoint": params.get("model", {}).get("checkpoint")}
    return hashlib.sha256(json.dumps(wanted, sort_keys=True, default=str).encode()).hexdigest()[:16]


def run_stage(stage: str, workspace: Path, params: dict[str, Any], memo: Path, log: TextIO | None = None) -> None:
    """One stage script in this process (its output into `log`, or silenced), or its outputs from the memo. The
    current directory must be `workspace`."""
    if stage in MEMO:
        kept = memo / f"{stage}-{_memo_key(stage, params)}"
        if kept.exists():
            for out in MEMO[stage][1]:
                if (kept / out).exists():
                    shutil.copytree(kept / out, workspace / out, dirs_exist_ok=True)
            return
    sink = log or io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        try:
            runpy.run_path(str(workspace / "stages" / f"{stage}.py"), run_name="__main__")
        except SystemExit as exit_:
            if exit_.code not in (0, None):
                raise RuntimeError(f"stage {stage} exited with {exit_.code}") from None
    if stage in MEMO:
        for out in MEMO[stage][1]:
            if (workspace / out).exists():
                shutil.copytree(workspace / out, kept / out, dirs_exist_ok=True)
