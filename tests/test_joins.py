import pandas as pd
import pytest

from mtbert.data import joins


def _single(sentences, labels=None):
    return pd.DataFrame({"id": [f"i{k}" for k in range(len(sentences))], "orig_index": range(len(sentences)),
                         "sentence": sentences, "label": pd.array(labels or [None] * len(sentences), dtype="Int64")})


def _pairs(index, s1, s2, labels=None):
    return pd.DataFrame({"id": [f"p{k}" for k in range(len(index))], "orig_index": index, "sentence1": s1,
                         "sentence2": s2, "label": pd.array(labels or [None] * len(index), dtype="float64")})


def test_sst_join_takes_root_labels_row_by_row():
    out, info = joins.join_sst_trees(_single(["Fine .", "Awful ."]), [(3, "Fine ."), (0, "Awful .")], "test")
    assert out["label"].tolist() == [3, 0]
    assert info["sentence_matches"] == 2


def test_sst_join_refuses_a_mismatched_row_and_names_it():
    with pytest.raises(joins.LabelJoinError, match=r"ids-sst-test-student\.csv row 1 \(id i1\): sentence 'Awful \.' != tree leaves 'Dull \.'"):
        joins.join_sst_trees(_single(["Fine .", "Awful ."]), [(3, "Fine ."), (0, "Dull .")], "ids-sst-test-student.csv")


def test_sst_join_checks_labels_it_already_has():
    with pytest.raises(joins.LabelJoinError, match="label 4 != tree root label 3"):
        joins.join_sst_trees(_single(["Fine ."], [4]), [(3, "Fine .")], "train")


def test_sst_join_refuses_different_lengths():
    with pytest.raises(joins.LabelJoinError, match="2 rows but 1 trees"):
        joins.join_sst_trees(_single(["a", "b"]), [(1, "a")], "f")


STSB = pd.DataFrame({"official_split": ["train", "dev", "test"], "score": [1.0, 2.5, 4.2],
                     "sentence1": ["a", "b", "c"], "sentence2": ["x", "y", "z"]})


def test_sts_join_uses_the_index_into_official_stsb():
    out, info = joins.join_stsbenchmark(_pairs([2, 0], ["c", "a"], ["z", "x"]), STSB, "sts-test-student.csv")
    assert out["label"].tolist() == [4.2, 1.0]
    assert info["official_splits"] == {"test": 1, "train": 1}


def test_sts_join_refuses_a_mismatched_sentence():
    with pytest.raises(joins.LabelJoinError, match=r"sts-test-student\.csv row 0 \(id p0\).*STS-B row 1"):
        joins.join_stsbenchmark(_pairs([1], ["b"], ["not y"]), STSB, "sts-test-student.csv")


def test_sts_join_refuses_an_index_out_of_range():
    with pytest.raises(joins.LabelJoinError, match="index 3 outside STS-B's 3 rows"):
        joins.join_stsbenchmark(_pairs([3], ["a"], ["x"]), STSB, "f")


def test_cfimdb_join_undoes_retokenisation_and_reports_the_match_rate():
    cad = pd.DataFrame({"label": [1, 0], "text": ["I'm glad, it's great.", "Awful film!"]})
    df = _single(["I 'm glad , it 's great .", "Awful film !", "Unknown review ."])
    out, info = joins.join_cfimdb(df, cad, "ids-cfimdb-test-student.csv")
    assert out["label"].tolist()[:2] == [1, 0] and pd.isna(out["label"][2])
    assert info["matched"] == 2 and info["match_rate"] == pytest.approx(2 / 3, abs=1e-4)


def test_cfimdb_join_refuses_a_contradicting_label():
    cad = pd.DataFrame({"label": [1], "text": ["Great ."]})
    with pytest.raises(joins.LabelJoinError, match="label 0 != counterfactual-IMDB label 1"):
        joins.join_cfimdb(_single(["Great ."], [0]), cad, "train")
