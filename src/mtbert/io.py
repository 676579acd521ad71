"""Atomic file and directory writes, so a crash never leaves a half-written output behind."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """Yield a temporary sibling path; it replaces `target` only if the block finishes."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        tmp_path.chmod(0o644)  # mkstemp's 0600 is not what a plain open() would have made
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(target: Path | str) -> Iterator[Path]:
    """Yield a fresh staging directory that replaces `target` as a whole on success. The old `target` is renamed
    aside before the new one takes its place, so a kill between the two renames leaves it for `recover_dir`."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_dir(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would make outputs unreadable to others
    try:
        yield staging
        previous = _previous(target)
        if target.exists():
            os.replace(target, previous)
        os.replace(staging, target)
        shutil.rmtree(previous, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def _previous(target: Path) -> Path:
    return target.with_name(f".{target.name}.previous")


def recover_dir(target: Path | str) -> None:
    """Put back the directory an interrupted `atomic_dir` had moved aside, or drop that copy if `target` was written."""
    target = Path(target)
    previous = _previous(target)
    if previous.exists():
        if target.exists():
            shutil.rmtree(previous)
        else:
            os.replace(previous, target)


def write_text(target: Path | str, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(target: Path | str, obj: Any) -> None:
    write_text(target, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def write_disabled(*targets: Path | str) -> None:
    """A disabled stage's declared output directories, each holding only a DISABLED.json marker."""
    for target in targets:
        with atomic_dir(target) as out:
            write_json(out / "DISABLED.json", {"enabled": False})


def stage_disabled(enabled: bool, *targets: Path | str, why: str) -> bool:
    """True for a stage that is off, after its declared output directories got their DISABLED markers and `why` was
    printed (DVC needs every declared output to exist, even with nothing in it)."""
    if enabled:
        return False
    write_disabled(*targets)
    print(why)
    return True
