"""The command-line tools the project drives (dvc, git), found in the Python environment that runs it first, so that
`.venv/bin/mtbert tables ...` works without the virtualenv on PATH."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def own_bin_first() -> None:
    """Put this interpreter's bin/ (a virtualenv's, where pip put dvc) first on PATH for every subprocess we start."""
    own = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if parts[:1] != [own]:
        os.environ["PATH"] = os.pathsep.join([own, *[p for p in parts if p != own]])


def tool(name: str) -> str:
    """The path of `name`, this environment's first; a clear error naming what to do when it is nowhere."""
    own_bin_first()
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"{name}: not found beside {sys.executable} nor on PATH; install the project's requirements "
                         f"(make venv) or put {name} on PATH")
    return found
