"""Shared fixtures: tiny raw files written by the tests themselves, and the offline mirror when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def write_tsv(path: Path, header: list[str], rows: list[list]) -> Path:
    """A CS224N-style tab-separated file, written verbatim (no quoting added)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["\t".join(header)] + ["\t".join(str(c) for c in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The offline mirror named by $MTL_MIRROR; without it real-data tests skip, except in CI where they fail."""
    value = os.environ.get("MTL_MIRROR")
    if not value or not (Path(value) / "cs224n" / "quora-dev.csv").exists():
        message = f"needs the offline mirror: set MTL_MIRROR=../shared/mirror (MTL_MIRROR={value!r})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return Path(value).resolve()
