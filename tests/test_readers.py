import pandas as pd
import pytest
from conftest import write_tsv

from mtbert.data import readers


def test_labelled_file_keeps_index_strips_spaces_and_counts_it(tmp_path):
    path = write_tsv(tmp_path / "ids-sst-train.csv", ["", "id", "sentence", "sentiment"],
                     [[7, "a1", " Good film .", 4], [9, "a2", "Bad .", 0]])
    df, log = readers.read_cs224n(path, readers.SINGLE, "sentiment", "class5")
    assert df["sentence"].tolist() == ["Good film .", "Bad ."]
    assert df["orig_index"].tolist() == [7, 9]
    assert df["label"].tolist() == [4, 0]
    assert log.quirks["leading/trailing whitespace stripped"] == 1
    assert log.quirks["unnamed pandas index column kept as orig_index"] == 2


def test_odd_test_student_header_reads_the_float_index(tmp_path):
    path = write_tsv(tmp_path / "ids-sst-test-student.csv", ["0", "", "id", "sentence"],
                     [[1, "0.0", "b1", " One ."], [2, "1.0", "b2", " Two ."]])
    df, log = readers.read_cs224n(path, readers.SINGLE, None, "class5")
    assert df["orig_index"].tolist() == [0, 1]
    assert df["id"].tolist() == ["b1", "b2"]
    assert df["label"].isna().all()
    assert sum(v for k, v in log.quirks.items() if k.startswith("odd test-student header")) == 2


def test_odd_header_with_a_wrong_index_column_is_refused(tmp_path):
    path = write_tsv(tmp_path / "t.csv", ["0", "", "id", "sentence"], [[1, "5.0", "b1", "x"]])
    with pytest.raises(readers.FormatError, match="index column is not 0..0"):
        readers.read_cs224n(path, readers.SINGLE, None, "class5")


def test_unknown_header_names_the_file_and_header(tmp_path):
    path = write_tsv(tmp_path / "weird.csv", ["", "id", "text", "label"], [[0, "a", "x", 1]])
    with pytest.raises(readers.FormatError, match=r"weird\.csv: header \['', 'id', 'text', 'label'\]"):
        readers.read_cs224n(path, readers.SINGLE, "sentiment", "class5")


def test_quora_malformed_rows_are_dropped_and_recorded(tmp_path):
    path = tmp_path / "quora-dev.csv"
    path.write_text(
        "\tid\tsentence1\tsentence2\tis_duplicate\n"
        "11\tq1\tHow?\tWhy?\t1.0\n"
        '12\tq2\tAny idea?\t"""Where can I find a dress?"\t\n'
        '13\tq3\t"""Given a set of intervals?"\t\t\n'
        "14\tq4\tWhat?\tWhat is it?\t0.0\n",
        encoding="utf-8",
    )
    df, log = readers.read_cs224n(path, readers.PAIR, "is_duplicate", "binary")
    assert df["id"].tolist() == ["q1", "q4"]
    assert df["label"].tolist() == [1, 0]
    assert [(d["line"], d["id"]) for d in log.dropped] == [(3, "q2"), (4, "q3")]
    assert all("label field empty" in d["reason"] for d in log.dropped)
    assert log.quirks["binary label written as float (0.0/1.0)"] == 2


@pytest.mark.parametrize("label, kind, expected", [("5", "class5", "class 0-4"), ("0.5", "binary", "label 0 or 1"),
                                                    ("5.5", "score", "score in 0-5"), ("x", "score", "score in 0-5"),
                                                    ("inf", "class5", "class 0-4")])
def test_a_label_out_of_range_is_refused_naming_file_and_line(tmp_path, label, kind, expected):
    path = write_tsv(tmp_path / "f.csv", ["", "id", "sentence1", "sentence2", "lab"], [[0, "a", "x", "y", 1], [1, "b", "x", "y", label]])
    with pytest.raises(readers.FormatError, match=rf"f\.csv, line 3 \(id 'b'\): lab {label!r} is not a {expected}"):
        readers.read_cs224n(path, readers.PAIR, "lab", kind)


def test_an_empty_sentence_is_refused(tmp_path):
    path = write_tsv(tmp_path / "f.csv", ["", "id", "sentence", "sentiment"], [[0, "a", "  ", 1], [1, "b", "ok", 2]])
    with pytest.raises(readers.FormatError, match=r"f\.csv, line 2 \(id 'a'\): empty sentence"):
        readers.read_cs224n(path, readers.SINGLE, "sentiment", "class5")


def test_an_empty_label_without_the_quora_quirk_is_refused(tmp_path):
    path = write_tsv(tmp_path / "f.csv", ["", "id", "sentence1", "sentence2", "is_duplicate"], [[0, "a", "How?", "Why?", ""]])
    with pytest.raises(readers.FormatError, match=r"line 2 \(id 'a'\): empty is_duplicate label"):
        readers.read_cs224n(path, readers.PAIR, "is_duplicate", "binary")


def test_a_truncated_file_and_undecodable_bytes_are_refused(tmp_path):
    cut = tmp_path / "cut.csv"
    cut.write_text("\tid\tsentence\tsentiment\n0\ta\tGood .\t4\n1\tb\tBad", encoding="utf-8")
    with pytest.raises(readers.FormatError, match=r"cut\.csv, line 3: the file ends inside a row"):
        readers.read_cs224n(cut, readers.SINGLE, "sentiment", "class5")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("\tid\tsentence\tsentiment\n0\ta\tcaf\xe9 .\t4\n".encode("latin-1"))
    with pytest.raises(readers.FormatError, match=r"latin\.csv, line 2: not UTF-8 text"):
        readers.read_cs224n(latin, readers.SINGLE, "sentiment", "class5")


def test_sst_tree_leaves_keep_non_breaking_spaces_inside_tokens(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text("(1 (2 (2 nearly) (2 2\u00a01\\/2)) (1 (2 -LRB-) (1 dull)))\n(4 (4 Great))\n", encoding="utf-8")
    assert readers.read_sst_trees(path) == [(1, "nearly 2\u00a01\\/2 -LRB- dull"), (4, "Great")]


def test_unbalanced_tree_is_refused(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("(1 (2 a) (2 b)\n", encoding="utf-8")
    with pytest.raises(readers.FormatError, match=r"bad\.txt:1"):
        readers.read_sst_trees(path)


def test_stsbenchmark_concatenates_splits_and_tolerates_extra_fields(tmp_path):
    d = tmp_path / "stsbenchmark"
    d.mkdir()
    (d / "sts-train.csv").write_text("g\tf\t2012\t1\t2.5\tA \"quoted\" one.\tB.\n", encoding="utf-8")
    (d / "sts-dev.csv").write_text("g\tf\t2012\t2\t4.0\tC.\tD.\tsrc1\tsrc2\n", encoding="utf-8")
    (d / "sts-test.csv").write_text("g\tf\t2012\t3\t0.0\tE.\tF.\n", encoding="utf-8")
    stsb = readers.read_stsbenchmark(d)
    assert stsb["score"].tolist() == [2.5, 4.0, 0.0]
    assert stsb["sentence1"].tolist() == ['A "quoted" one.', "C.", "E."]
    assert stsb["official_split"].tolist() == ["train", "dev", "test"]


def test_cad_reader_maps_sentiment(tmp_path):
    path = tmp_path / "test.tsv"
    pd.DataFrame({"Sentiment": ["Positive", "Negative"], "Text": ["good", "bad"]}).to_csv(path, sep="\t", index=False)
    assert readers.read_cad(path)["label"].tolist() == [1, 0]
