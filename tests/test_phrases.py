"""SST's tree phrases: every node of a hand-made tree, the distinct phrase table with its exclusions and label votes, and
the rows training adds (min_words, a seeded sample, the sentences kept first)."""

from __future__ import annotations

import pandas as pd
import pytest

from mtbert.config.train import PhrasesConfig
from mtbert.data.batching import load_task
from mtbert.data.phrases import phrase_table, tree_nodes
from mtbert.data.prepared import PHRASES
from mtbert.data.readers import FormatError
from mtbert.train.phrases import training_phrases

TREE = "(1 (2 It) (1 (2 is) (1 (2 not) (3 (2 very) (4 good)))))"


def test_every_node_of_a_tree_comes_children_first_with_its_label_and_leaves():
    assert tree_nodes(TREE) == [(2, "It"), (2, "is"), (2, "not"), (2, "very"), (4, "good"), (3, "very good"),
                                (1, "not very good"), (1, "is not very good"), (1, "It is not very good")]


@pytest.mark.parametrize("bad", ["(2 (3 good)", "(x good)", "good (2 bad)"])
def test_a_broken_tree_is_an_error_naming_where(bad):
    with pytest.raises(FormatError, match="t.txt:7"):
        tree_nodes(bad, "t.txt:7")


def test_the_phrase_table_holds_distinct_inner_phrases_without_the_sentences_of_any_split(tmp_path):
    trees = tmp_path / "train.txt"
    # "very good" is labelled 3, 3 and 4: the majority, 3; "not bad" 1 and 2 once each: the one nearer neutral, 2
    trees.write_text("\n".join([TREE, "(3 (2 Really) (3 (2 very) (4 good)))", "(4 (2 So) (4 (2 very) (4 good)))",
                                "(2 (1 (2 not) (1 bad)) (2 .))", "(3 (2 (2 not) (1 bad)) (2 !))"]) + "\n")
    table, summary = phrase_table(trees, exclude={"is not very good"})  # as if it were a sentence of some split
    assert dict(zip(table["sentence"], table["label"])) == {
        "It": 2, "is": 2, "not": 2, "very": 2, "good": 4, "very good": 3, "not very good": 1, "Really": 2, "So": 2,
        "bad": 1, "not bad": 2, ".": 2, "!": 2}
    assert dict(zip(table["sentence"], table["words"]))["not very good"] == 3
    assert table["id"].is_unique and table["id"].str.startswith("phrase-").all()
    assert summary == {"phrases": 13, "left_out_as_sentences": 1, "conflicting_labels": 2}


def _phrase_file(prepared, n=40):
    path = prepared / "sst" / PHRASES
    path.parent.mkdir(parents=True)
    pd.DataFrame({"id": [f"p{i}" for i in range(n)], "sentence": [" ".join(["w"] * (1 + i % 4)) + f" {i}" for i in range(n)],
                  "label": [i % 5 for i in range(n)], "words": [2 + i % 4 for i in range(n)],
                  "split": "train", "split_source": "x"}).to_csv(path, index=False)


def test_training_phrases_keep_min_words_and_a_seeded_sample(tmp_path):
    _phrase_file(tmp_path)
    assert training_phrases(tmp_path, PhrasesConfig(), 0) is None  # off by default
    long = training_phrases(tmp_path, PhrasesConfig(enabled=True, min_words=4), 0)
    assert len(long) == 20 and (long["words"] >= 4).all()
    a = training_phrases(tmp_path, PhrasesConfig(enabled=True, min_words=2, max_phrases=7), 3)
    b = training_phrases(tmp_path, PhrasesConfig(enabled=True, min_words=2, max_phrases=7), 3)
    c = training_phrases(tmp_path, PhrasesConfig(enabled=True, min_words=2, max_phrases=7), 4)
    assert len(a) == 7 and a.equals(b) and not a.equals(c)


def test_enabled_phrases_without_their_table_name_the_stage_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="dvc repro prepare"):
        training_phrases(tmp_path, PhrasesConfig(enabled=True), 0)


class _Tok:
    def encode(self, texts, pairs=None):
        from mtbert.text.tokenizer import Encoded
        return [Encoded([1] * len(t.split()), [0] * len(t.split())) for t in texts]


def test_the_training_table_is_the_sentences_then_the_phrases(tmp_path):
    _phrase_file(tmp_path)
    pd.DataFrame({"id": ["s0", "s1"], "sentence": ["a good film", "a bad one"], "label": [4, 0], "split": "train",
                  "split_source": "x"}).to_csv(tmp_path / "sst" / "train.csv", index=False)
    extra = training_phrases(tmp_path, PhrasesConfig(enabled=True, min_words=5), 0)
    data = load_task(tmp_path, _Tok(), "sst", "train", "single", extra=extra)
    assert data.ids == ["s0", "s1", *extra["id"]]
    assert list(data.labels) == [4.0, 0.0, *extra["label"].astype(float)]
