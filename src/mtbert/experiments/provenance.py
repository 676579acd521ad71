"""What a result was computed with, as two ids: the code id (the pipeline code, the pinned dependencies and the data
version) and the params id (every param the run set: its table profile's, or params.yaml's, with its study's and
variant's overrides). A record stays current while both are unchanged; runners refuse uncommitted inputs, so that an id
always names a commit's files."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from mtbert.profiles import apply

NOT_PIPELINE = ("report",)  # stages that only render: their code does not change a result
PINS = ("requirements.lock",)  # the pinned dependencies: a torch or torchjd upgrade can move every number
DATA_STAGES = ("download", "prepare")  # their outputs in dvc.lock pin the data every run reads


def pipeline_code(dvc_yaml: Path = Path("dvc.yaml")) -> list[str]:
    """The files a result depends on besides its params: every dep under src/ or stages/ of the pipeline's computing
    stages, dvc.yaml and the pinned dependencies (requirements.lock, where there is one)."""
    stages = yaml.safe_load(dvc_yaml.read_text())["stages"]
    paths = {"dvc.yaml"} | {p for p in PINS if Path(p).exists()}
    for name, stage in stages.items():
        if name not in NOT_PIPELINE:
            paths |= {d for d in stage.get("deps", []) if isinstance(d, str) and d.startswith(("src/", "stages/"))}
    return sorted(paths)


def blob_id(path: Path) -> str:
    """git's object id of a file's content (what `git rev-parse HEAD:path` gives for a committed file), computed
    without git, so that a copied tree (a lent GPU) names its code the same way; a folder's id is that of its files'
    paths and ids (bytecode caches left out); '' for a path that is not here."""
    if path.is_dir():
        files = sorted(f for f in path.rglob("*") if f.is_file() and "__pycache__" not in f.parts)
        text = "\n".join(f"{f.relative_to(path).as_posix()} {blob_id(f)}" for f in files)
        return hashlib.sha1(text.encode()).hexdigest()
    if not path.exists():
        return ""
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def data_version(lock: Path = Path("dvc.lock")) -> str:
    """The data every run reads, as dvc.lock pins it: the hashes of the download and prepare stages' outputs ('' where
    the repository has no dvc.lock yet)."""
    if not lock.exists():
        return ""
    stages = (yaml.safe_load(lock.read_text()) or {}).get("stages", {})
    outs = {name: [(o.get("path"), o.get("md5")) for o in stages.get(name, {}).get("outs", [])] for name in DATA_STAGES}
    return json.dumps(outs, sort_keys=True)


def uncommitted(paths: list[str]) -> str:
    """`git status` of these paths ('' when clean, or where this is not a git checkout: nothing to compare with)."""
    try:
        return subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", *paths],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def code_version(strict: bool = True) -> str:
    """The id of the pipeline code, pinned dependencies and data pin (a run's params go into its params id, not here).
    `strict` (for running) refuses uncommitted changes to any of them or to params.yaml."""
    paths = pipeline_code()
    dirty = uncommitted([*paths, "dvc.lock", *(["params.yaml"] if Path("params.yaml").exists() else [])])
    if dirty and strict:
        raise RuntimeError(f"runs use committed code, params and data pins: commit or stash these changes first:\n"
                           f"{dirty}")
    text = "\n".join(f"{p} {blob_id(Path(p))}" for p in paths) + "\ndata " + data_version()
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def budget_id(overrides: dict[str, Any]) -> str:
    """The params id: what the overrides set once applied in order (an empty map counts as unset, so that pinning a
    map empty names the same run as leaving params.yaml's empty map alone)."""
    applied = {k: v for k, v in apply({}, overrides).items() if v != {}}
    return hashlib.sha256(json.dumps(applied, sort_keys=True).encode()).hexdigest()[:16]


def is_current(record: dict | None, code: str, overrides: dict[str, Any]) -> bool:
    return record is not None and record.get("code") == code and record.get("budget") == budget_id(overrides)
