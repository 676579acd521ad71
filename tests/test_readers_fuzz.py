"""Property-based: the CS224N reader reads every well-formed file exactly and refuses every malformed row, naming the
file and the line, so no malformed row reaches a prepared table."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtbert.data import readers

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC.,!?'-é", min_size=1, max_size=8)
SENTENCE = st.lists(WORD, min_size=1, max_size=6).map(" ".join)
KINDS = {"class5": st.integers(0, 4).map(str), "binary": st.sampled_from(["0", "1", "0.0", "1.0"]),
         "score": st.floats(0, 5, allow_nan=False).map(lambda x: f"{x:.2f}")}
BAD_LABELS = {"class5": ["5", "-1", "2.5", "x", "nan", "inf"], "binary": ["2", "0.5", "-1", "yes"],
              "score": ["5.5", "-0.1", "x", "nan"]}


def write(path: Path, rows: list[tuple[str, str, str]]) -> bytes:
    lines = ["\tid\tsentence\tlabel"] + [f"{i}\t{rid}\t{text}\t{label}" for i, (rid, text, label) in enumerate(rows)]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    path.write_bytes(data)
    return data


def rows_of(kind: str):
    return st.lists(st.tuples(SENTENCE, KINDS[kind]), min_size=1, max_size=12).map(
        lambda rs: [(f"id{i}", text, label) for i, (text, label) in enumerate(rs)])


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(kind=st.sampled_from(sorted(KINDS)), data=st.data())
def test_well_formed_files_read_back_exactly(tmp_path, kind, data):
    rows = data.draw(rows_of(kind))
    path = tmp_path / "ok.csv"
    write(path, rows)
    df, log = readers.read_cs224n(path, readers.SINGLE, "label", kind)
    assert df["id"].tolist() == [r[0] for r in rows] and df["sentence"].tolist() == [r[1] for r in rows]
    assert [float(x) for x in df["label"]] == pytest.approx([float(r[2]) for r in rows], abs=1e-9)
    assert log.dropped == []


@SETTINGS
@given(kind=st.sampled_from(sorted(KINDS)), data=st.data(),
       mutation=st.sampled_from(["empty sentence", "bad label", "empty label", "truncated", "not utf-8"]))
def test_every_malformed_row_is_refused_naming_file_and_line(tmp_path, kind, data, mutation):
    rows = data.draw(rows_of(kind))
    k = data.draw(st.integers(0, len(rows) - 1))  # the row to break; its line is k + 2 (line 1: the header)
    rid, text, label = rows[k]
    if mutation == "empty sentence":
        rows[k] = (rid, data.draw(st.sampled_from(["", " ", "  "])), label)
    elif mutation == "bad label":
        rows[k] = (rid, text, data.draw(st.sampled_from(BAD_LABELS[kind])))
    elif mutation == "empty label":
        rows[k] = (rid, text, "")
    path = tmp_path / "broken.csv"
    raw = write(path, rows)
    if mutation == "truncated":  # cut the file inside row k
        start = raw.index(f"\t{rid}\t".encode())
        path.write_bytes(raw[:data.draw(st.integers(start + 1, start + len(rid) + 2 + len(text.encode())))])
    elif mutation == "not utf-8":
        start = raw.index(f"\t{rid}\t".encode()) + len(rid) + 2
        path.write_bytes(raw[:start] + b"\xff" + raw[start:])
    with pytest.raises(readers.FormatError) as err:
        readers.read_cs224n(path, readers.SINGLE, "label", kind)
    assert str(err.value).startswith(f"{path}, line {k + 2}")
