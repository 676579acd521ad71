"""What `mtbert predict` reads (sentences from arguments, CSV, TSV or JSON Lines) and writes (the same formats)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from mtbert.io import atomic_path
from mtbert.predict.predictor import sentence_columns

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl"}


class BadInput(ValueError):
    """Input a task cannot read, with the file (or argument) and row that is wrong."""


def file_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise BadInput(f"{path}: unknown format {path.suffix!r}; use one of {sorted(FORMATS)}")
    return fmt


def from_arguments(task: str, texts: list[str]) -> pd.DataFrame:
    """One sentence per argument, or (pair tasks) consecutive arguments as the two sentences of a pair."""
    columns = sentence_columns(task)
    if len(columns) == 2 and len(texts) % 2:
        raise BadInput(f"{task} scores pairs: give an even number of sentences (first and second of each pair in "
                       f"turn), got {len(texts)}")
    rows = [texts[i:i + len(columns)] for i in range(0, len(texts), len(columns))]
    return checked(pd.DataFrame(rows, columns=columns), task, "arguments")


def read_file(path: Path, task: str) -> pd.DataFrame:
    """A CSV/TSV with a header, or JSON Lines of objects, holding the task's sentence columns (others are kept)."""
    fmt = file_format(path)
    if not path.exists():
        raise BadInput(f"{path}: no such file")
    try:
        if fmt == "jsonl":
            rows = []
            for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as err:
                        raise BadInput(f"{path}, line {i}: not JSON ({err.msg})") from None
                    if not isinstance(rows[-1], dict):
                        raise BadInput(f"{path}, line {i}: a JSON object per line expected, got {type(rows[-1]).__name__}")
            frame = pd.DataFrame(rows)
        else:
            frame = pd.read_csv(path, sep="\t" if fmt == "tsv" else ",", dtype=str, keep_default_na=False,
                                encoding="utf-8")
    except UnicodeDecodeError as err:
        raise BadInput(f"{path}: not UTF-8 text (byte {err.start})") from None
    except pd.errors.ParserError as err:
        raise BadInput(f"{path}: not a readable {fmt.upper()} ({err})") from None
    return checked(frame, task, str(path))


def checked(frame: pd.DataFrame, task: str, source: str) -> pd.DataFrame:
    """Every row has the task's sentence columns as non-empty text; errors name the row (1 = the first data row)."""
    columns = sentence_columns(task)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise BadInput(f"{source}: {task} reads the columns {columns}; missing {missing} (found {list(frame.columns)})")
    if frame.empty:
        raise BadInput(f"{source}: no rows")
    for column in columns:
        for i, value in enumerate(frame[column], start=1):
            if not isinstance(value, str) or not value.strip():
                raise BadInput(f"{source}, row {i}: {column} must be non-empty text, got {value!r}")
    return frame


def write(frame: pd.DataFrame, path: Path | None) -> None:
    """To `path` (format by suffix, written atomically), or CSV on standard output."""
    if path is None:
        frame.to_csv(sys.stdout, index=False, float_format="%.4f")
        return
    fmt = file_format(path)
    with atomic_path(path) as tmp:
        if fmt == "jsonl":
            frame.to_json(tmp, orient="records", lines=True, force_ascii=False)
        else:
            frame.to_csv(tmp, sep="\t" if fmt == "tsv" else ",", index=False, float_format="%.6f")
