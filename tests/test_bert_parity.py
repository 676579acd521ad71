"""Our encoder against transformers' BertModel on the same weights (transformers is a test dependency only)."""


import pytest
import torch
from safetensors.torch import load_file, save_file

from mtbert.model.checkpoint import CheckpointError, load_pretrained

transformers = pytest.importorskip("transformers")

TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
            max_position_embeddings=64, type_vocab_size=2)


def _batch(vocab: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, vocab, (3, 11), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0  # padding in the batch
    mask[2, 3:] = 0
    ids[mask == 0] = 0
    types = torch.zeros_like(ids)
    types[0, 5:] = 1
    return ids, mask, types


def _compare(directory, hf_model, vocab):
    ours, _, _ = load_pretrained(directory)
    ours.eval(), hf_model.eval()
    ids, mask, types = _batch(vocab)
    with torch.no_grad():
        hidden, pooled = ours(ids, mask, types)
        ref = hf_model(input_ids=ids, attention_mask=mask, token_type_ids=types)
    real = mask.bool()
    hidden_diff = (hidden - ref.last_hidden_state)[real].abs().max().item()
    pooled_diff = (pooled - ref.pooler_output).abs().max().item()
    return hidden_diff, pooled_diff


@pytest.fixture
def tiny_checkpoint(tmp_path):
    torch.manual_seed(0)
    hf = transformers.BertModel(transformers.BertConfig(**TINY))
    hf.save_pretrained(tmp_path)
    return tmp_path, hf


def test_parity_on_random_weights(tiny_checkpoint):
    directory, hf = tiny_checkpoint
    hidden_diff, pooled_diff = _compare(directory, hf, TINY["vocab_size"])
    assert hidden_diff <= 1e-5 and pooled_diff <= 1e-5


def test_parity_on_minilm(mirror):
    directory = mirror / "models" / "sentence-transformers" / "all-MiniLM-L6-v2"
    hf = transformers.BertModel.from_pretrained(str(directory))
    hidden_diff, pooled_diff = _compare(directory, hf, 30522)
    assert hidden_diff <= 1e-5 and pooled_diff <= 1e-5


def test_old_gamma_beta_names_and_missing_decoder_bias_load(tiny_checkpoint, tmp_path):
    directory, hf = tiny_checkpoint
    state = {f"bert.{k}": v.clone() for k, v in hf.state_dict().items()}
    old = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v for k, v in state.items()}
    assert any(k.endswith("gamma") for k in old)
    # an MLM/NSP head as old checkpoints store it: cls.predictions.bias, no decoder.bias
    old["cls.predictions.bias"] = torch.arange(TINY["vocab_size"], dtype=torch.float32)
    old["cls.predictions.transform.dense.weight"] = torch.randn(32, 32)
    old["cls.predictions.transform.dense.bias"] = torch.zeros(32)
    old["cls.predictions.transform.LayerNorm.gamma"] = torch.full((32,), 2.0)
    old["cls.predictions.transform.LayerNorm.beta"] = torch.zeros(32)
    old["cls.seq_relationship.weight"] = torch.randn(2, 32)
    old["cls.seq_relationship.bias"] = torch.zeros(2)
    out = tmp_path / "old"
    out.mkdir()
    save_file(old, str(out / "model.safetensors"))
    (out / "config.json").write_text((directory / "config.json").read_text())
    encoder, heads, report = load_pretrained(out, with_heads=True)
    assert report["fresh"] == []
    torch.testing.assert_close(heads.predictions.decoder.bias, old["cls.predictions.bias"])
    torch.testing.assert_close(heads.predictions.transform.LayerNorm.weight, torch.full((32,), 2.0))
    torch.testing.assert_close(encoder.embeddings.LayerNorm.weight, state["bert.embeddings.LayerNorm.weight"])
    assert heads.predictions.decoder.weight is encoder.embeddings.word_embeddings.weight


def test_heads_are_fresh_and_tied_when_the_checkpoint_has_none(tiny_checkpoint):
    directory, _ = tiny_checkpoint
    encoder, heads, report = load_pretrained(directory, with_heads=True)
    assert "cls.seq_relationship.weight" in report["fresh"]
    assert heads.predictions.decoder.weight is encoder.embeddings.word_embeddings.weight


def test_missing_unexpected_and_misshapen_keys_are_named(tiny_checkpoint):
    directory, _ = tiny_checkpoint
    state = load_file(str(directory / "model.safetensors"))
    state.pop(next(k for k in state if k.endswith("encoder.layer.1.output.dense.weight")))
    state["bert.encoder.layer.9.extra"] = torch.zeros(1)
    key = next(k for k in state if k.endswith("pooler.dense.bias"))
    state[key] = torch.zeros(5)
    save_file(state, str(directory / "model.safetensors"))
    with pytest.raises(CheckpointError) as err:
        load_pretrained(directory)
    text = str(err.value)
    assert "missing ['encoder.layer.1.output.dense.weight']" in text
    assert "bert.encoder.layer.9.extra" in text
    assert "pooler.dense.bias: checkpoint (5,) vs model (32,)" in text
