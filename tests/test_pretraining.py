import io
import tarfile

import numpy as np
import pytest
import torch

from mtbert.config.pretrain import PretrainConfig
from mtbert.data.imdb import read_reviews
from mtbert.model.checkpoint import load_pretrained, save_pretrained
from mtbert.pretrain.examples import IS_NEXT, NOT_NEXT, mask_tokens, nsp_pairs
from mtbert.pretrain.loop import Masker, encode_pairs, pretrain, sentence_docs
from mtbert.text.sentences import split_sentences
from mtbert.text.tokenizer import Tokenizer


@pytest.mark.parametrize("text,expected", [
    ("Mr. Smith went to Washington. He liked it.", ["Mr. Smith went to Washington.", "He liked it."]),
    ("Dr. No vs. Goldfinger, e.g. the best. Really!", ["Dr. No vs. Goldfinger, e.g. the best.", "Really!"]),
    ("I saw it in the U.S. last year. It was great!", ["I saw it in the U.S. last year.", "It was great!"]),
    ("J. R. R. Tolkien wrote it... And then? Nothing.", ["J. R. R. Tolkien wrote it...", "And then?", "Nothing."]),
    ("It was... okay. Fine", ["It was... okay.", "Fine"]),
    ('He said "Stop!" Then he left.', ['He said "Stop!"', "Then he left."]),
    ('"Wow." She left. (What a film.) 10/10', ['"Wow."', "She left.", "(What a film.)", "10/10"]),
    ("Great film.<br /><br />would watch again<br/>Twice", ["Great film.", "would watch again", "Twice"]),
    ("Rated 7.5 out of 10 by 3.5 million people. Wow!!! Really?!", ["Rated 7.5 out of 10 by 3.5 million people.", "Wow!!!", "Really?!"]),
    ("", []),
])
def test_sentence_splitter_on_tricky_cases(text, expected):
    assert split_sentences(text) == expected


def _docs(n: int = 200) -> list[list[str]]:
    rng = np.random.default_rng(1)
    return [[f"review {d} sentence {k} ." for k in range(int(rng.integers(1, 6)))] for d in range(n)]


def test_nsp_pairs_are_half_true_next_and_random_halves_come_from_other_reviews():
    docs = _docs()
    pairs = nsp_pairs(docs, np.random.default_rng(0), max_words=8)
    assert len(pairs) == sum(len(d) >= 2 for d in docs)
    labels = [p.label for p in pairs]
    assert abs(labels.count(IS_NEXT) - labels.count(NOT_NEXT)) <= 1
    for p in pairs:
        a_sents = [s + " ." for s in p.a.split(" . ") if s]
        if p.label == NOT_NEXT:
            assert p.b_doc != p.doc and p.b.startswith(f"review {p.b_doc} ")
        else:  # b is the sentence right after a's last one, in the same review
            assert p.b_doc == p.doc
            last = int(a_sents[-1].split()[3])
            assert p.b.startswith(f"review {p.doc} sentence {last + 1} .")
        assert p.a.startswith(f"review {p.doc} ")


def test_masking_rates_are_15_percent_and_80_10_10_and_never_touch_special_tokens():
    gen = torch.Generator().manual_seed(0)
    vocab, mask_id, specials = 1000, 4, torch.tensor([0, 1, 2, 3, 4])
    ids = torch.randint(5, vocab, (400, 128), generator=gen)
    ids[:, 0], ids[:, 60], ids[:, -1], ids[::2, 100:] = 2, 3, 3, 0  # [CLS], [SEP], [SEP], [PAD]s
    special = torch.isin(ids, specials)
    replacements = torch.arange(5, vocab)
    masked, labels = mask_tokens(ids, special, replacements, mask_id, gen, prob=0.15)
    chosen = labels != -100
    assert not chosen[special].any() and torch.equal(masked[special], ids[special])
    assert chosen[~special].float().mean().item() == pytest.approx(0.15, abs=0.005)
    assert torch.equal(labels[chosen], ids[chosen]) and torch.equal(masked[~chosen], ids[~chosen])
    n = chosen.sum().item()
    as_mask = (masked[chosen] == mask_id).sum().item() / n
    kept = (masked[chosen] == ids[chosen]).sum().item() / n
    assert as_mask == pytest.approx(0.8, abs=0.015)
    assert kept == pytest.approx(0.1 + 0.1 / len(replacements), abs=0.01)  # a random draw can hit the same token
    assert 1 - as_mask - kept == pytest.approx(0.1, abs=0.01)
    assert not torch.isin(masked[chosen & (masked != mask_id)], specials).any()


def test_masker_never_masks_cls_sep_or_pad_of_real_pairs(tiny_checkpoint_dir):
    tok = Tokenizer.from_checkpoint(tiny_checkpoint_dir, max_length=32)
    docs = sentence_docs(["The film was good. The plot was dull. I do not know why."] * 30)
    ex = encode_pairs(nsp_pairs(docs, np.random.default_rng(0), 6), tok)
    batch = Masker(tok, prob=0.5)(ex, np.arange(len(ex)), torch.Generator().manual_seed(0))
    chosen = batch["mlm_labels"] != -100
    originals = torch.where(chosen, batch["mlm_labels"], batch["input_ids"])
    assert chosen.any()
    for special in (tok.cls_id, tok.sep_id, tok.pad_id):
        assert not chosen[originals == special].any()
    assert not chosen[batch["attention_mask"] == 0].any()
    assert batch["nsp_labels"].tolist() == ex.labels.tolist()


def test_pretraining_lowers_heldout_mlm_loss_and_saves_a_loadable_checkpoint(tiny_checkpoint_dir, tmp_path):
    class Live:
        def __init__(self):
            self.logged = []

        def log_metric(self, name, value):
            self.logged.append(name)

        def next_step(self):
            pass

    tok = Tokenizer.from_checkpoint(tiny_checkpoint_dir, max_length=32)
    texts = ["The film was good. The plot was fun. I like the actor."] * 40 + ["A bad movie. It was awful. Why?"] * 40
    ex = encode_pairs(nsp_pairs(sentence_docs(texts), np.random.default_rng(0), 8), tok)
    encoder, heads, report = load_pretrained(tiny_checkpoint_dir, with_heads=True)
    assert "cls.seq_relationship.weight" in report["fresh"]
    assert heads.predictions.decoder.weight is encoder.embeddings.word_embeddings.weight
    live = Live()
    cfg = PretrainConfig(epochs=2, steps_per_epoch=15, batch_size=16, lr=3e-3, warmup_ratio=0.0)
    history = pretrain(encoder, heads, ex, ex, Masker(tok, 0.15), cfg, torch.device("cpu"), live)
    assert [h["epoch"] for h in history] == [0, 1, 2]
    assert history[-1]["heldout/mlm_loss"] < 0.7 * history[0]["heldout/mlm_loss"]
    assert {"heldout/mlm_accuracy", "heldout/nsp_accuracy", "train/mlm_loss"} <= set(live.logged)
    save_pretrained(encoder, tmp_path / "ckpt", heads, vocab=tiny_checkpoint_dir / "vocab.txt")
    encoder2, heads2, report2 = load_pretrained(tmp_path / "ckpt", with_heads=True)
    assert report2["fresh"] == []
    for (k, v), (_, w) in zip(encoder.state_dict().items(), encoder2.state_dict().items()):
        assert torch.equal(v, w), k
    torch.testing.assert_close(heads2.seq_relationship.weight, heads.seq_relationship.weight)


def test_imdb_reader_takes_only_the_chosen_splits(tmp_path):
    archive = tmp_path / "imdb.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for name in ("aclImdb/train/unsup/1_0.txt", "aclImdb/train/pos/2_9.txt", "aclImdb/test/neg/3_1.txt", "aclImdb/README"):
            data = f"text of {name}".encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    assert [r[0] for r in read_reviews(archive, ["unsup", "train"])] == ["train/unsup/1_0", "train/pos/2_9"]
    assert read_reviews(archive, ["test"]) == [("test/neg/3_1", "text of aclImdb/test/neg/3_1.txt")]
    with pytest.raises(ValueError, match="pretrain_mlm.splits: unknown \\['dev'\\]"):
        read_reviews(archive, ["dev"])


class _Killed(Exception):
    pass


@pytest.mark.parametrize("kill_after", [2, 3])  # mid-epoch 1 (step 4 of 5), and at the end of epoch 1
def test_pretraining_resumed_from_a_state_ends_exactly_where_an_uninterrupted_run_ends(tiny_checkpoint_dir, tmp_path,
                                                                                        monkeypatch, kill_after):
    from mtbert.train import state as S

    class Live:
        def __init__(self):
            self.logged = []

        def log_metric(self, name, value):
            self.logged.append((name, value))

        def next_step(self):
            self.logged.append("step")

    tok = Tokenizer.from_checkpoint(tiny_checkpoint_dir, max_length=32)
    texts = ["The film was good. The plot was fun. I like the actor."] * 20 + ["A bad movie. It was awful. Why?"] * 20
    ex = encode_pairs(nsp_pairs(sentence_docs(texts), np.random.default_rng(0), 8), tok)
    cfg = PretrainConfig(epochs=2, steps_per_epoch=5, batch_size=8, lr=3e-3, warmup_ratio=0.2)

    def run(store):
        torch.manual_seed(0)
        encoder, heads, _ = load_pretrained(tiny_checkpoint_dir, with_heads=True)
        live = Live()
        history = pretrain(encoder, heads, ex, ex, Masker(tok, 0.15), cfg, torch.device("cpu"), live, store=store)
        return encoder.state_dict(), history, live.logged

    whole = run(None)
    store = S.StateStore(tmp_path / "state", "fp", every=2)
    real, saves = S.StateStore.save, []

    def save_then_die(self, state, files=None):
        real(self, state, files)
        saves.append(state["position"])
        if len(saves) == kill_after:
            raise _Killed

    monkeypatch.setattr(S.StateStore, "save", save_then_die)
    with pytest.raises(_Killed):
        run(store)
    assert saves == [(1, 2), (1, 4), (2, 0)][:kill_after]
    monkeypatch.setattr(S.StateStore, "save", real)
    weights, history, logged = run(store)
    assert history == whole[1] and logged == whole[2]
    assert all(torch.equal(weights[k], whole[0][k]) for k in weights)
    assert not (tmp_path / "state").exists()
