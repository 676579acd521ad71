"""A fine-tuned checkpoint as the ecosystem loads it: sentence-transformers computes the embedding our heads read (every
pooling), so the STS Pearson of a cosine head is the same number; the heads load with safetensors alone; the card."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from test_training import PAIRS

from mtbert.config.model import ModelConfig
from mtbert.config.train import TrainConfig
from mtbert.data.batching import collate, tokenize
from mtbert.device import reuse_freed_memory
from mtbert.eval import predict as P
from mtbert.model.card import render_card
from mtbert.model.checkpoint import load_pretrained
from mtbert.model.export import write_heads, write_sentence_transformers
from mtbert.model.multitask import MultitaskModel, save_multitask
from mtbert.text.tokenizer import Tokenizer
from mtbert.train.loop import resolved_config

st = pytest.importorskip("sentence_transformers")
SENTENCES = ["good film", "the very dull plot not fun", "how learn python", "why"]


def _export(directory, tmp_path, pooling, sts_head="cosine_sbert"):
    encoder, _, _ = load_pretrained(directory)
    torch.manual_seed(0)
    model = MultitaskModel(encoder, ModelConfig(pooling=pooling, heads={"sst": "linear", "quora": "siamese_concat",
                                                                         "sts": sts_head}), ["sst", "sts"]).eval()
    out = tmp_path / f"export-{pooling}"
    save_multitask(model, out, {}, [directory / "vocab.txt", directory / "tokenizer_config.json"])
    write_sentence_transformers(model, out, max_length=32)
    write_heads(model, out)
    return model, out


@pytest.mark.parametrize("pooling", ["mean", "max", "cls_raw", "cls"])
def test_sentence_transformers_computes_the_embedding_our_heads_read(tiny_checkpoint_dir, tmp_path, pooling):
    model, out = _export(tiny_checkpoint_dir, tmp_path, pooling)
    tok = Tokenizer.from_checkpoint(tiny_checkpoint_dir, 32)
    batch = collate(tokenize(tok, _frame(SENTENCES), "sst", "single"), np.arange(len(SENTENCES)), tok.pad_id)
    with torch.no_grad():
        ours = model.encode(batch).pooled.numpy()
    theirs = st.SentenceTransformer(str(out), device="cpu").encode(SENTENCES, convert_to_numpy=True)
    np.testing.assert_allclose(theirs, ours, rtol=1e-4, atol=1e-5)


def test_the_sts_pearson_through_sentence_transformers_equals_ours(tiny_checkpoint_dir, tmp_path):
    model, out = _export(tiny_checkpoint_dir, tmp_path, "mean")
    tok = Tokenizer.from_checkpoint(tiny_checkpoint_dir, 32)
    pairs = PAIRS
    data = tokenize(tok, pairs, "sts", "siamese")
    ours = P.score("sts", P.predict(model, data, 8, tok.pad_id, torch.device("cpu")), data.labels)
    encoder = st.SentenceTransformer(str(out), device="cpu")
    a, b = (encoder.encode(list(pairs[c]), convert_to_tensor=True) for c in ("sentence1", "sentence2"))
    cosines = torch.nn.functional.cosine_similarity(a, b).numpy()
    assert np.corrcoef(cosines, data.labels)[0, 1] == pytest.approx(ours, abs=1e-5)


def test_the_heads_load_with_safetensors_alone(tiny_checkpoint_dir, tmp_path):
    model, out = _export(tiny_checkpoint_dir, tmp_path, "mean")
    heads = load_file(str(out / "heads.safetensors"))
    expected = {f"{t}.{k}": v for t, h in model.heads.items() for k, v in h.state_dict().items()}
    assert heads.keys() == expected.keys() and all(torch.equal(heads[k], v) for k, v in expected.items())
    assert json.loads((out / "heads.json").read_text())["heads"] == {"sst": "linear", "sts": "cosine_sbert"}
    modules = json.loads((out / "modules.json").read_text())
    assert [m["path"] for m in modules] == ["", "1_Pooling"]


def test_the_card_gives_dev_metrics_with_intervals_and_the_contamination():
    resolved = resolved_config(model=ModelConfig(), train=TrainConfig())
    best = {"sst_acc": 0.47, "quora_acc": 0.83, "sts_pearson": 0.87, "overall": 0.745, "epoch": 3}
    ci = {"sst_acc": {"low": 0.44, "high": 0.50}, "overall": {"low": 0.73, "high": 0.76}}
    card = render_card(resolved, best, ci)
    assert card.startswith("---\nlibrary_name: sentence-transformers")
    assert "| SST accuracy | 0.4700 | [0.4400, 0.5000] |" in card and "| STS Pearson r | 0.8700 | – |" in card
    assert "contaminated" in card and "re-split" in card and "kept: epoch 3" in card


def test_freed_memory_is_kept_for_reuse_on_linux_only(monkeypatch):
    assert reuse_freed_memory() == sys.platform.startswith("linux")  # this project's machines: Linux, glibc
    monkeypatch.setattr(sys, "platform", "darwin")
    assert reuse_freed_memory() is False


def _frame(sentences):
    import pandas as pd

    return pd.DataFrame({"id": [str(i) for i in range(len(sentences))], "sentence": sentences,
                         "label": [0] * len(sentences)})
