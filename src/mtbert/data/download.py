"""The download step as a whole: every registry file fetched, verified, unpacked, and listed in a manifest."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from mtbert.data import fetch as F
from mtbert.data.sources import SOURCES, RemoteFile
from mtbert.io import atomic_dir, write_json

MANIFEST = "MANIFEST.json"


@dataclass
class DownloadConfig:
    sources: list[str] = field(default_factory=lambda: list(SOURCES))
    timeout_s: float = 60.0


@dataclass
class CheckpointConfig:
    """The `model` keys that choose which pretrained checkpoint to fetch."""

    checkpoint: str = "sentence-transformers/all-MiniLM-L6-v2"
    revision: str = "main"


def download_all(files: list[RemoteFile], out_dir: Path, mirror: Path | None, timeout: float = 60.0) -> dict:
    """Fetch `files` into a staging copy of `out_dir` that replaces it only when all went well."""
    records = []
    with atomic_dir(out_dir) as staging:
        for rf in tqdm(files, desc="download", unit="file"):
            record = F.fetch(rf, staging, mirror, timeout)
            if record.status == "ok":
                path = staging / rf.path
                F.verify(rf, path, record)
                if rf.extract:
                    record.extracted = F.safe_extract(path, path.parent)
            records.append(record)
        manifest = {
            "files": [dataclasses.asdict(r) for r in records],
        }
        write_json(staging / MANIFEST, manifest)
    return manifest


def available(raw_dir: Path, path: str) -> bool:
    """Whether the manifest of a finished download lists `path` as present."""
    manifest = json.loads((raw_dir / MANIFEST).read_text())
    return any(f["path"] == path and f["status"] == "ok" for f in manifest["files"])
