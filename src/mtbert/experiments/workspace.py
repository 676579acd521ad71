"""Scratch workspaces that run the pipeline's stages without DVC, as dvc.yaml lists them: this repository's data read
in place, the stages and dvc.yaml copied, a params.yaml of their own. The direct executor and the dry run use them;
nothing else runs a stage script outside DVC."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import runpy
import shlex
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import pandas as pd
import yaml

from mtbert.profiles import apply, flatten, tree

PROVIDED = ("data/raw", "data/prepared")  # read in place from this repository: their stages never run here
TARGET = "evaluate"  # the stage whose outputs (metrics.json) a run is for
STATE = ".state"  # where the stage scripts keep their resumable states (stages/finetune.py, stages/pretrain_mlm.py)
# Stages whose outputs depend on their declared params, the code and the data alone, and cost minutes: run once per
# distinct key, as DVC's run cache would, and copied into every later run with the same key.
MEMO = ("augment", "pretrain_mlm")


def _paths(entries: list) -> list[str]:
    """dvc.yaml's deps or outs as paths (an out may be `{path: {cache: false}}`)."""
    return [e if isinstance(e, str) else next(iter(e)) for e in entries or []]


def _under(a: str, b: str) -> bool:
    return a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")


def stages(dvc_yaml: Path = Path("dvc.yaml"), target: str = TARGET) -> dict[str, dict]:
    """dvc.yaml's stages that `target` depends on (itself included), in the file's order, leaving out those that make
    what is PROVIDED."""
    listed = yaml.safe_load(dvc_yaml.read_text())["stages"]
    outs = {name: _paths(s.get("outs")) + _paths(s.get("metrics")) for name, s in listed.items()}
    needed, frontier = {target}, [target]
    while frontier:
        deps = _paths(listed[frontier.pop()].get("deps"))
        for name, produced in outs.items():
            if name not in needed and any(_under(d, o) for d in deps for o in produced):
                needed.add(name)
                frontier.append(name)
    return {name: s for name, s in listed.items()
            if name in needed and not any(_under(o, p) for p in PROVIDED for o in outs[name])}


def scratch(root: Path, workspace: Path, eval_rows: int = 0) -> Path:
    """A workspace whose data/raw and data/prepared are this one's (read only), with the stages and dvc.yaml, and the
    resumable states a cut-off run in the same place left (each stage resumes only a state its code and params wrote);
    with
    `eval_rows`, each dev and test split cut to its first that many rows (scoring whole splits is most of a dry run's
    cost, and not what it checks)."""
    kept = workspace.with_name(workspace.name + ".state")  # a cut-off run's resumable states (stages check they fit)
    if (workspace / STATE).exists():
        shutil.rmtree(kept, ignore_errors=True)
        (workspace / STATE).rename(kept)
    if workspace.exists():
        shutil.rmtree(workspace)
    (workspace / "data").mkdir(parents=True)
    if kept.exists():
        kept.rename(workspace / STATE)
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


def run_params(params: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A run's params.yaml: `params` under its flat overrides (an empty map among them pins that map empty)."""
    return tree(apply(flatten(params, keep_empty=True), overrides))


@contextlib.contextmanager
def entered(root: Path, workspace: Path, overrides: dict[str, Any], eval_rows: int = 0) -> Iterator[dict[str, Any]]:
    """A fresh scratch workspace (`scratch`) whose params.yaml is `root`'s under `overrides`, as the current
    directory while inside; yields its params."""
    params = run_params(yaml.safe_load((root / "params.yaml").read_text()), overrides)
    scratch(root, workspace, eval_rows)
    (workspace / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    here = Path.cwd()
    os.chdir(workspace)
    try:
        yield params
    finally:
        os.chdir(here)


def memo_key(name: str, stage: dict, params: dict[str, Any], code: str) -> str:
    """What a stage's outputs were made from: its command, the values of the params dvc.yaml declares for it, and
    the code id (pipeline code, pinned dependencies, data)."""
    flat = flatten(params)
    declared = {p: {k: v for k, v in flat.items() if k == p or k.startswith(p + ".")} for p in stage.get("params") or []}
    wanted = {"stage": name, "cmd": stage["cmd"], "params": declared, "code": code}
    return hashlib.sha256(json.dumps(wanted, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _execute(cmd: str, sink: TextIO) -> None:
    """The stage's command: `python <script> ...` in this process (a fresh module namespace), anything else in a
    shell."""
    argv = shlex.split(cmd)
    if argv[0] not in ("python", "python3"):
        import subprocess

        subprocess.run(cmd, shell=True, check=True, stdout=sink, stderr=sink)
        return
    saved = sys.argv
    sys.argv = argv[1:]
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            runpy.run_path(argv[1], run_name="__main__")
    except SystemExit as exit_:
        if exit_.code not in (0, None):
            raise RuntimeError(f"`{cmd}` exited with {exit_.code}") from None
    finally:
        sys.argv = saved


def _copy(outs: list[str], source: Path, target: Path) -> None:
    """The stage outputs (folders or files) present under `source`, copied to the same paths under `target`."""
    for out in outs:
        if (source / out).is_dir():
            shutil.copytree(source / out, target / out, dirs_exist_ok=True)
        elif (source / out).exists():
            (target / out).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source / out, target / out)


def run_stages(workspace: Path, params: dict[str, Any], code: str, memo: Path | None = None,
               log: TextIO | None = None) -> None:
    """Every stage the target needs, in dvc.yaml's order, in `workspace` (the current directory), each MEMO stage's
    outputs taken from `memo` when made before from the same key (and kept there when not)."""
    sink = log or io.StringIO()
    for name, stage in stages(workspace / "dvc.yaml").items():
        outs = _paths(stage.get("outs"))
        kept = memo / f"{name}-{memo_key(name, stage, params, code)}" if memo and name in MEMO else None
        if kept is not None and kept.exists():
            _copy(outs, kept, workspace)
            continue
        _execute(stage["cmd"], sink)
        if kept is not None:  # whole or not at all: concurrent runs may make the same key
            part = kept.with_name(f"{kept.name}.{os.getpid()}.part")
            _copy(outs, workspace, part)
            with contextlib.suppress(OSError):
                part.rename(kept)
            shutil.rmtree(part, ignore_errors=True)
