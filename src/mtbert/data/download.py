"""The download step as a whole: every registry file fetched, verified, unpacked, and listed in a manifest."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from tqdm import tqdm

from mtbert.data import fetch as F
from mtbert.data.sources import RemoteFile
from mtbert.io import atomic_dir, write_json


def manifest_path(raw_dir: Path) -> Path:
    """The manifest sits beside data/raw, tracked by git, so every file's sha256 is pinned in the repository."""
    return raw_dir.with_name(raw_dir.name + ".manifest.json")


def download_all(files: list[RemoteFile], out_dir: Path, mirror: Path | None, timeout: float = 60.0,
                 origins: tuple[str, ...] = F.ORIGINS) -> dict:
    """Fetch `files` into a staging copy of `out_dir` that replaces it only when all went well; write the manifest."""
    records = []
    with atomic_dir(out_dir) as staging:
        for rf in tqdm(files, desc="download", unit="file"):
            record = F.fetch(rf, staging, mirror, timeout, origins)
            if record.status == "ok":
                path = staging / rf.path
                F.verify(rf, path, record)
                if rf.extract:
                    record.extracted = F.safe_extract(path, path.parent)
            records.append(record)
    manifest = {"files": [dataclasses.asdict(r) for r in records]}
    write_json(manifest_path(out_dir), manifest)
    return manifest


def available(raw_dir: Path, path: str) -> bool:
    """Whether the manifest of a finished download lists `path` as present."""
    manifest = json.loads(manifest_path(raw_dir).read_text())
    return any(f["path"] == path and f["status"] == "ok" for f in manifest["files"])
