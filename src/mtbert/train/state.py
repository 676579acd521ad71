"""Resumable training state on disk: tensors in safetensors, everything else in JSON (nothing is pickled), written
atomically, and tagged with a fingerprint of the code and params that wrote it, so a rerun resumes only a state its
own code and params would have written and otherwise starts fresh, saying why."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from mtbert.io import atomic_dir, recover_dir

TENSORS, META = "state.safetensors", "state.json"


def pack(obj: Any, tensors: dict[str, torch.Tensor], path: str = "") -> Any:
    """`obj` as JSON-able data, its tensors and arrays moved into `tensors` under their path in `obj`."""
    if isinstance(obj, torch.Tensor):
        tensors[path] = obj.detach().cpu().clone().contiguous()  # a copy: safetensors refuses shared (tied) storage
        return {"__tensor__": path}
    if isinstance(obj, np.ndarray):
        tensors[path] = torch.from_numpy(np.ascontiguousarray(obj))
        return {"__ndarray__": path}
    if isinstance(obj, dict):
        return {"__dict__": [[pack(k, tensors, f"{path}.k{i}"), pack(v, tensors, f"{path}.{i}")]
                             for i, (k, v) in enumerate(obj.items())]}
    if isinstance(obj, (list, tuple)):
        return {"__tuple__" if isinstance(obj, tuple) else "__list__":
                [pack(v, tensors, f"{path}.{i}") for i, v in enumerate(obj)]}
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store a {type(obj).__name__} in a training state ({path or 'top level'})")


def unpack(data: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(data, dict):
        if "__tensor__" in data:
            return tensors[data["__tensor__"]]
        if "__ndarray__" in data:
            return tensors[data["__ndarray__"]].numpy()
        if "__dict__" in data:
            return {unpack(k, tensors): unpack(v, tensors) for k, v in data["__dict__"]}
        if "__tuple__" in data:
            return tuple(unpack(v, tensors) for v in data["__tuple__"])
        return [unpack(v, tensors) for v in data["__list__"]]
    return data


def fingerprint(stage: str, params: dict, files: list[Path]) -> str:
    """What a state was written by: the stage, its params sections, and the bytes of its code and input files."""
    h = hashlib.sha256(json.dumps({"stage": stage, "params": params}, sort_keys=True, default=str).encode())
    for root in sorted(files):
        for path in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if path.is_file() and "__pycache__" not in path.parts:
                h.update(path.as_posix().encode())
                h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:16]


def stage_deps(stage: str, dvc_yaml: Path = Path("dvc.yaml")) -> list[Path]:
    """The files and folders a DVC stage depends on (dvc.yaml), for its state's fingerprint."""
    import yaml

    deps = yaml.safe_load(dvc_yaml.read_text())["stages"][stage].get("deps", [])
    return [Path(d) for d in deps if isinstance(d, str)]


def rng_state() -> dict:
    """Every generator a training step may draw from: torch (CPU and CUDA), numpy's global one, Python's."""
    import random

    return {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": np.random.get_state(), "python": random.getstate()}


def set_rng_state(state: dict) -> None:
    import random

    torch.set_rng_state(state["torch"])
    if state["cuda"]:
        torch.cuda.set_rng_state_all(state["cuda"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys, pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))


@dataclass
class StateStore:
    """Where a stage keeps its resumable state, the fingerprint a state must carry to be resumed, and how often
    (in steps; 0: at epoch ends only) one is written."""

    directory: Path
    fingerprint: str
    every: int = 0

    def save(self, state: dict, files: dict[str, Path] | None = None) -> None:
        """Replace the stored state at once (a kill mid-write leaves the previous one); `files` are copied beside it
        (e.g. the best checkpoint so far, which the stage's output loses when DVC reruns it)."""
        tensors: dict[str, torch.Tensor] = {}
        meta = {"fingerprint": self.fingerprint, "state": pack(state, tensors)}
        with atomic_dir(self.directory) as tmp:
            save_file(tensors, str(tmp / TENSORS))
            (tmp / META).write_text(json.dumps(meta))
            for name, source in (files or {}).items():
                if source.is_dir():
                    shutil.copytree(source, tmp / name)

    def load(self) -> tuple[dict | None, str]:
        """(the stored state, or None) and what was decided, in words."""
        recover_dir(self.directory)
        meta_path = self.directory / META
        if not meta_path.exists():
            return None, "no saved state: starting fresh"
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            return None, f"the saved state in {self.directory} is unreadable ({err}): starting fresh"
        if meta.get("fingerprint") != self.fingerprint:
            return None, (f"the saved state in {self.directory} was written by other code or params "
                          f"({meta.get('fingerprint')} != {self.fingerprint}): starting fresh")
        return unpack(meta["state"], load_file(str(self.directory / TENSORS))), f"resuming from {self.directory}"

    def clear(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
