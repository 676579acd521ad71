"""Readers for the raw inputs. Every known quirk is handled explicitly and counted in a `ReadLog`; anything else that
is malformed (a wrong header, a row cut short, an empty sentence, a label out of range, bytes that are not UTF-8) is
refused with a FormatError naming the file and line, so no malformed row reaches a prepared table."""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mtbert.data.prepared import PAIR, SINGLE  # noqa: F401  (the text columns a reader yields, as prepared tables name them)


class FormatError(ValueError):
    """A raw file whose layout is not the one this reader knows."""


@dataclass
class ReadLog:
    """Quirks met and rows dropped while reading one file."""

    file: str
    rows_read: int = 0
    quirks: Counter = field(default_factory=Counter)
    dropped: list[dict] = field(default_factory=list)

    def drop(self, row: int, row_id: str, reason: str) -> None:
        # line = data row + 2: the header is line 1 and rows count from 0
        self.dropped.append({"line": row + 2, "id": row_id, "reason": reason})


def _read_raw(path: Path) -> pd.DataFrame:
    # The CS224N files are tab-separated despite `.csv`; keep every field a string so labels are checked by us.
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):  # every CS224N file ends its last row with a newline
        line = data.count(b"\n") + 1
        raise FormatError(f"{path}, line {line}: the file ends inside a row (no final newline): a truncated file?")
    try:
        return pd.read_csv(path, sep="\t", header=None, dtype=str, keep_default_na=False, na_filter=False,
                           encoding="utf-8")
    except UnicodeDecodeError:
        read_utf8(path)  # names the line
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise FormatError(f"{path}: not a tab-separated table: {err}") from None


def read_utf8(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        line = path.read_bytes()[:err.start].count(b"\n") + 1
        raise FormatError(f"{path}, line {line}: not UTF-8 text (byte {err.start}: {err.reason})") from None


def unbalanced_quote(text: str) -> bool:
    return text.count('"') % 2 == 1


def read_cs224n(path: Path, text_cols: tuple[str, ...], label_col: str | None, label_kind: str) -> tuple[pd.DataFrame, ReadLog]:
    """One CS224N task file as columns id, orig_index, <text_cols>, label (NA when the file has no labels).

    `label_kind` is "class5" (SST, 0..4), "binary" (Quora/cfimdb, 0/1 possibly written 0.0/1.0) or "score" (STS, 0..5).
    """
    log = ReadLog(file=path.name)
    raw = _read_raw(path)
    header = [str(h) for h in raw.iloc[0].tolist()]
    body = raw.iloc[1:].reset_index(drop=True)
    wanted = ["id", *text_cols] + ([label_col] if label_col else [])
    if header[0] == "" and header[1:] == wanted:
        body.columns = ["orig_index", *wanted]
        log.quirks["unnamed pandas index column kept as orig_index"] = len(body)
    elif header[:2] == ["0", ""] and header[2:] == wanted:
        # The test-student files were saved with an extra row-number column and a float copy of the index.
        body.columns = ["row_number", "orig_index", *wanted]
        as_float = pd.to_numeric(body["orig_index"], errors="coerce")
        if as_float.isna().any() or (as_float != body.index).any():
            raise FormatError(f"{path}: odd test-student header, but its index column is not 0..{len(body) - 1}")
        body["orig_index"] = as_float.astype(int).astype(str)
        body = body.drop(columns="row_number")
        log.quirks["odd test-student header (row-number column dropped, float index read as int)"] = len(body)
    else:
        raise FormatError(f"{path}: header {header} is neither ['', {wanted}] nor the test-student ['0', '', {wanted}]")
    log.rows_read = len(body)

    keep = []
    labels: list[float | int | None] = []
    for i, row in body.iterrows():
        where = f"{path}, line {i + 2} (id {row['id']!r})"  # line 1 is the header
        texts = [row[c] for c in text_cols]
        if label_col and row[label_col] == "":
            if any(unbalanced_quote(t) for t in texts):
                # Quora's two malformed rows: the source text breaks off at an unbalanced quote and the label is empty.
                log.drop(i, row["id"], "label field empty (malformed row: text cut at an unbalanced quote)")
                continue
            raise FormatError(f"{where}: empty {label_col} label")
        empty = [c for c, t in zip(text_cols, texts) if t.strip() == ""]
        if empty:
            raise FormatError(f"{where}: empty {', '.join(empty)}")
        label = None
        if label_col:
            label = _parse_label(row[label_col], label_kind)
            if label is None:
                raise FormatError(f"{where}: {label_col} {row[label_col]!r} is not a {LABEL_KINDS[label_kind]}")
            if label_kind == "binary" and "." in row[label_col]:
                log.quirks["binary label written as float (0.0/1.0)"] += 1
        for t in texts:
            if t != t.strip():
                log.quirks["leading/trailing whitespace stripped"] += 1
                break
        keep.append(i)
        labels.append(label)
    out = body.loc[keep, ["id", "orig_index", *text_cols]].copy()
    for c in text_cols:
        out[c] = out[c].str.strip()
    dtype = "float64" if label_kind == "score" else "Int64"
    out["label"] = pd.array(labels if label_col else [None] * len(out), dtype=dtype)
    out["orig_index"] = out["orig_index"].astype(int)
    return out.reset_index(drop=True), log


LABEL_KINDS = {"class5": "class 0-4", "binary": "label 0 or 1", "score": "score in 0-5"}


def _parse_label(text: str, kind: str) -> float | int | None:
    try:
        value = float(text)
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    if kind == "score":
        return value if 0.0 <= value <= 5.0 else None
    if value != int(value):
        return None
    top = 4 if kind == "class5" else 1
    return int(value) if 0 <= value <= top else None


TREE_LEAF = re.compile(r"\((\d+) ([^() ]+)\)")  # tokens may hold U+00A0, so split on plain spaces only


def read_sst_trees(path: Path) -> list[tuple[int, str]]:
    """SST PTB trees, one per line, as (root label, leaves joined by single spaces)."""
    out = []
    for n, line in enumerate(read_utf8(path).splitlines(), start=1):
        m = re.match(r"\((\d) ", line)
        if not m or line.count("(") != line.count(")"):
            raise FormatError(f"{path}:{n}: not a labelled PTB tree: {line[:80]!r}")
        out.append((int(m.group(1)), " ".join(leaf.group(2) for leaf in TREE_LEAF.finditer(line))))
    return out


STSB_SPLITS = ("train", "dev", "test")


def read_stsbenchmark(directory: Path) -> pd.DataFrame:
    """Official STS-B train+dev+test concatenated (row number = CS224N's index) as score, sentence1, sentence2."""
    rows = []
    for split in STSB_SPLITS:
        path = directory / f"sts-{split}.csv"
        # Quoting is not used in these files (QUOTE_NONE); some rows carry 2 extra source fields.
        for n, line in enumerate(read_utf8(path).splitlines(), start=1):
            fields = line.split("\t")
            if len(fields) not in (7, 9):
                raise FormatError(f"{path}:{n}: expected 7 or 9 tab-separated fields, found {len(fields)}")
            score = _parse_label(fields[4], "score")
            if score is None or not fields[5].strip() or not fields[6].strip():
                raise FormatError(f"{path}:{n}: expected a score in 0-5 and two sentences, found {fields[4:7]}")
            rows.append({"official_split": split, "score": score, "sentence1": fields[5].strip(), "sentence2": fields[6].strip()})
    return pd.DataFrame(rows)


CAD_LABELS = {"Negative": 0, "Positive": 1}


def read_cad(path: Path) -> pd.DataFrame:
    """Counterfactually augmented IMDB (Kaushik et al.) as label (0/1), text."""
    df = pd.read_csv(io.StringIO(read_utf8(path)), sep="\t", dtype=str, keep_default_na=False)
    if list(df.columns) != ["Sentiment", "Text"]:
        raise FormatError(f"{path}: expected columns ['Sentiment', 'Text'], found {list(df.columns)}")
    bad = df.index[~df["Sentiment"].isin(list(CAD_LABELS))].tolist()
    if bad:
        raise FormatError(f"{path}: row {bad[0] + 2} has sentiment {df['Sentiment'][bad[0]]!r}; expected {list(CAD_LABELS)}")
    empty = df.index[df["Text"].str.strip() == ""].tolist()
    if empty:
        raise FormatError(f"{path}: row {empty[0] + 2} has an empty text")
    return pd.DataFrame({"label": df["Sentiment"].map(CAD_LABELS).astype(int), "text": df["Text"]})
