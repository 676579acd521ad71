import numpy as np
import pandas as pd
import pytest

from mtbert.config.evaluate import ReferenceConfig
from mtbert.data.batching import tokenize
from mtbert.eval.reference import best_threshold, cosine, embed, majority, no_finetuning, sst_classifier
from mtbert.model.checkpoint import load_pretrained
from mtbert.text.tokenizer import Tokenizer


def test_the_sst_classifier_separates_a_toy_separable_set_with_c_chosen_on_train():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-2, 0.5, (40, 3)), rng.normal(2, 0.5, (40, 3))])
    y = np.array([0] * 40 + [4] * 40)
    clf = sst_classifier(x, y, ReferenceConfig(cv_folds=4, Cs=5))
    assert (clf.predict(x) == y).all()
    assert clf.predict([[-2.0, -2.0, -2.0], [2.0, 2.0, 2.0]]).tolist() == [0, 4]
    assert clf.C_ in np.logspace(-4, 4, 5)


def test_best_threshold_maximises_train_accuracy_by_hand():
    scores = np.array([0.1, 0.2, 0.35, 0.4, 0.8, 0.9])
    labels = np.array([0, 0, 1, 0, 1, 1])
    # cuts between sorted scores: > 0.3 gets 5/6 right (only 0.4 wrong), > 0.6 gets 5/6 too; the lowest wins
    assert best_threshold(scores, labels) == pytest.approx(0.275)
    assert best_threshold(np.array([0.5, 0.7]), np.array([1, 1])) == pytest.approx(-0.5)  # everything positive


def test_cosine_of_pairs():
    pairs = np.array([[[1.0, 0.0], [1.0, 0.0]], [[1.0, 0.0], [0.0, 2.0]], [[1.0, 1.0], [-1.0, -1.0]]])
    assert cosine(pairs) == pytest.approx([1.0, 0.0, -1.0])


def _data(tok):
    sst = pd.DataFrame({"id": list("abcdef"), "sentence": ["good film", "great fun", "very good", "bad plot", "awful", "dull plot"],
                        "label": [4, 4, 4, 0, 0, 0]})
    pairs = pd.DataFrame({"id": list("abcd"), "sentence1": ["good film", "bad plot", "the actor", "fun"],
                          "sentence2": ["good film", "good actor", "the actor", "dull"], "label": [1.0, 0.0, 1.0, 0.0]})
    return ({"sst": tokenize(tok, sst, "sst", "single"), "quora": tokenize(tok, pairs, "quora", "siamese"),
             "sts": tokenize(tok, pairs.assign(label=[5.0, 1.0, 4.5, 0.5]), "sts", "siamese")})


def test_embeddings_are_masked_means_in_row_order_and_identical_sentences_match(tiny_checkpoint_dir):
    tok = Tokenizer.from_checkpoint(tiny_checkpoint_dir)
    enc, _, _ = load_pretrained(tiny_checkpoint_dir)
    data = _data(tok)
    z = embed(enc, data["quora"], 3, tok.pad_id)
    assert z.shape == (4, 2, 32)
    assert np.allclose(z[0, 0], z[0, 1], atol=1e-6) and np.allclose(z[2, 0], z[2, 1], atol=1e-6)
    single = embed(enc, data["sst"], 4, tok.pad_id)
    alone = embed(enc, tokenize(tok, pd.DataFrame({"id": ["x"], "sentence": ["awful"], "label": [0]}), "sst", "single"), 4, tok.pad_id)
    assert np.allclose(single[4], alone[0], atol=1e-5)  # padding never counts, order kept


def test_no_finetuning_and_majority_on_tiny_data(tiny_checkpoint_dir):
    tok = Tokenizer.from_checkpoint(tiny_checkpoint_dir)
    enc, _, _ = load_pretrained(tiny_checkpoint_dir)
    data = _data(tok)
    metrics, chosen = no_finetuning(enc, data, {"dev": data}, tok.pad_id, ReferenceConfig(cv_folds=3, Cs=3))
    assert set(metrics["dev"]) == {"sst_acc", "quora_acc", "sts_pearson", "overall"}
    assert metrics["dev"]["quora_acc"] >= 0.75  # the identical pairs are the duplicates: a cosine threshold finds them
    assert set(chosen) == {"sst_C", "quora_threshold"}
    base = majority(data, {"dev": data})
    assert base["dev"] == {"sst_acc": 0.5, "quora_acc": 0.5}
