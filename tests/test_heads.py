import pandas as pd
import pytest
import torch

from mtbert.config.model import ModelConfig
from mtbert.data.batching import collate, tokenize
from mtbert.model.checkpoint import load_pretrained
from mtbert.model.heads import HEADS, Features
from mtbert.model.multitask import MultitaskModel
from mtbert.text.tokenizer import Tokenizer


def feats(pooled: torch.Tensor, tokens: int = 5) -> Features:
    b, h = pooled.shape
    return Features(pooled, torch.randn(b, tokens, h), torch.ones(b, tokens, dtype=torch.long))


@pytest.mark.parametrize("name,n_out,shape", [("linear", 5, (7, 5)), ("mlp", 5, (7, 5)), ("lstm", 5, (7, 5)),
                                              ("cross", 1, (7, 1))])
def test_one_input_heads_give_one_output_row_per_input(name, n_out, shape):
    assert HEADS[name](16, n_out, 0.1)(feats(torch.randn(7, 16))).shape == shape


def test_mlp_head_is_three_linear_layers_with_gelu_between():
    layers = [m for m in HEADS["mlp"](16, 5, 0.0).modules() if not isinstance(m, (torch.nn.Sequential, torch.nn.Dropout))][1:]
    kinds = [type(m).__name__ for m in layers]
    assert kinds == ["Linear", "GELU", "Linear", "GELU", "Linear"]


@pytest.mark.parametrize("name", ["cosine", "cosine_corr"])
def test_similarity_heads_stay_within_0_to_5(name):
    torch.manual_seed(0)
    head = HEADS[name](16, 1, 0.0)
    u, v = torch.randn(200, 16) * 10, torch.randn(200, 16) * 10 + 3
    out = head(feats(u), feats(v))
    assert out.shape == (200,) and (out >= 0).all() and (out <= 5).all() and out.std() > 0.1
    torch.testing.assert_close(head(feats(u), feats(u)), torch.full((200,), 5.0))
    torch.testing.assert_close(head(feats(u), feats(-u)), torch.zeros(200), atol=1e-5, rtol=0)


def test_cosine_sbert_head_maps_orthogonal_to_0_and_identical_to_5():
    head = HEADS["cosine_sbert"](2, 1, 0.5).train()
    u, v = torch.tensor([[1.0, 0.0], [1.0, 0.0], [3.0, 4.0]]), torch.tensor([[0.0, 2.0], [2.0, 0.0], [-3.0, -4.0]])
    torch.testing.assert_close(head(feats(u), feats(v)), torch.tensor([0.0, 5.0, -5.0]))


@pytest.mark.parametrize("name", ["cosine", "cosine_corr", "cosine_sbert"])
def test_parameter_free_heads_score_an_identical_pair_5_in_training_mode_too(name):
    torch.manual_seed(0)
    head = HEADS[name](16, 1, 0.5).train()  # a large dropout, in train mode: it must not touch u and v
    u = torch.randn(64, 16)
    torch.testing.assert_close(head(feats(u), feats(u.clone())), torch.full((64,), 5.0))


def test_relu5_cross_reads_the_joint_embedding_as_report_001s_baseline():
    head = HEADS["relu5_cross"](3, 1, 0.0)
    assert head.inputs == "cross"
    with torch.no_grad():
        head.out.weight.copy_(torch.tensor([[1.0, -2.0, 0.5]]))
        head.out.bias.fill_(0.25)
    joint = torch.tensor([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0]])  # linear: 1 + 1 + 0.25 = 2.25 and -2 + 0.25 = -1.75
    torch.testing.assert_close(head(feats(joint)), torch.tensor([[11.25], [0.0]]))


def test_cosine_corr_averages_cosine_and_pearson_correlation():
    u, v = torch.tensor([[1.0, 2.0, 3.0]]), torch.tensor([[1.0, 3.0, 2.0]])
    cos = (1 + 6 + 6) / (14 ** 0.5 * 14 ** 0.5)  # 13/14
    corr = 0.5  # Pearson of (1,2,3) and (1,3,2)
    expected = 2.5 * ((cos + corr) / 2 + 1)
    torch.testing.assert_close(HEADS["cosine_corr"](3, 1, 0.0)(feats(u), feats(v)), torch.tensor([expected]))


def test_relu5_is_never_negative_and_concat_reads_both_sentences():
    torch.manual_seed(0)
    u, v = torch.randn(50, 8), torch.randn(50, 8)
    assert (HEADS["relu5"](8, 1, 0.0)(feats(u), feats(v)) >= 0).all()
    concat = HEADS["concat"](8, 1, 0.0)
    assert concat.out.in_features == 16
    assert not torch.allclose(concat(feats(u), feats(v)), concat(feats(u), feats(u)))


def test_bilstm_head_gives_the_same_output_with_and_without_extra_pads():
    torch.manual_seed(0)
    head = HEADS["lstm"](8, 5, 0.0).eval()
    hidden = torch.randn(2, 6, 8)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]])
    out = head(Features(hidden[:, 0], hidden, mask))
    # the same two sentences padded to 10 tokens with garbage in the pads
    padded = torch.cat([hidden, torch.randn(2, 4, 8) * 100], 1)
    padded[1, 3:] = torch.randn(7, 8) * 100
    out_padded = head(Features(hidden[:, 0], padded, torch.cat([mask, torch.zeros(2, 4, dtype=torch.long)], 1)))
    torch.testing.assert_close(out, out_padded)
    # and the short sentence alone, unpadded
    alone = head(Features(hidden[1:, 0], hidden[1:, :3], mask[1:, :3]))
    torch.testing.assert_close(out[1:], alone)


def test_cross_inputs_hold_both_sentences_with_token_types(tiny_checkpoint_dir):
    tok = Tokenizer.from_checkpoint(tiny_checkpoint_dir)
    df = pd.DataFrame({"id": ["a"], "sentence1": ["good film"], "sentence2": ["the plot was dull"], "label": [1.0]})
    data = tokenize(tok, df, "quora", "cross")
    assert data.b is None
    batch = collate(data, [0], tok.pad_id)
    ids = batch["input_ids"][0].tolist()
    assert ids[0] == tok.cls_id and ids.count(tok.sep_id) == 2 and ids[-1] == tok.sep_id
    first_sep = ids.index(tok.sep_id)
    assert first_sep == 3  # [CLS] good film [SEP]
    assert batch["token_type_ids"][0].tolist() == [0] * 4 + [1] * 5  # the plot was dull [SEP]
    enc, _, _ = load_pretrained(tiny_checkpoint_dir)
    model = MultitaskModel(enc, ModelConfig(heads={"quora": "cross"}), ["quora"])
    assert model.input_form("quora") == "cross" and model("quora", batch).shape == (1, 1)


def test_shared_pair_trunk_is_one_set_of_weights_trained_by_both_pair_tasks(tiny_checkpoint_dir):
    enc, _, _ = load_pretrained(tiny_checkpoint_dir)
    model = MultitaskModel(enc, ModelConfig(heads={"sst": "linear", "quora": "shared_pair", "sts": "shared_pair"}),
                           ["sst", "quora", "sts"])
    trunk = list(model.trunks["shared_pair"].parameters())
    assert model.heads["quora"]._trunk[0] is model.heads["sts"]._trunk[0] is model.trunks["shared_pair"]
    names = list(model.state_dict())
    assert sum(k.startswith("trunks.shared_pair.") for k in names) == len(trunk)
    assert not any(".trunk" in k or "_trunk" in k for k in names if k.startswith("heads."))
    ids = {t: set(map(id, model.head_parameters([t]))) for t in ("sst", "quora", "sts")}
    assert all(id(p) in ids["quora"] and id(p) in ids["sts"] and id(p) not in ids["sst"] for p in trunk)
    # on a step with both pair tasks the trunk is shared (gradient method), not a head of either
    both = set(map(id, model.head_parameters(["quora", "sts"])))
    assert all(id(p) not in both and any(p is q for q in model.shared_parameters(["quora", "sts"])) for p in trunk)
    torch.manual_seed(0)
    x = lambda: Features(torch.randn(4, 32), torch.randn(4, 3, 32), torch.ones(4, 3))  # noqa: E731
    a, b = x(), x()
    model.head("quora", Features(torch.cat([a.pooled, b.pooled]), torch.cat([a.hidden, b.hidden]), torch.cat([a.mask, b.mask]))).sum().backward()
    assert trunk[1].grad is not None and trunk[1].grad.abs().sum() > 0  # trunk[1]: the shared linear layer's bias
    assert model.heads["sts"].out.weight.grad is None


def test_report_004s_pair_head_is_three_gelu_layers_on_the_concatenated_pair():
    head = HEADS["concat_mlp"](8, 1, 0.0)
    layers = [m for m in head.net if not isinstance(m, torch.nn.Dropout)]
    assert [type(m).__name__ for m in layers] == ["Linear", "GELU", "Linear", "GELU", "Linear"]
    assert layers[0].in_features == 16  # [u, v], not [u, v, |u - v|, u v]
    torch.manual_seed(0)
    u, v = torch.randn(5, 8), torch.randn(5, 8)
    torch.testing.assert_close(head(feats(u), feats(v)), head.net(torch.cat([u, v], -1)))


def test_report_002s_shared_layer_reads_the_concatenated_pair_and_is_shared(tiny_checkpoint_dir):
    enc, _, _ = load_pretrained(tiny_checkpoint_dir)
    model = MultitaskModel(enc, ModelConfig(heads={"quora": "shared_concat", "sts": "shared_concat"}), ["quora", "sts"])
    trunk = model.trunks["shared_concat"]
    assert model.heads["quora"]._trunk[0] is model.heads["sts"]._trunk[0] is trunk
    assert trunk[1].in_features == 2 * 32 and trunk[1].out_features == 32
    model.eval()
    torch.manual_seed(0)
    a, b = torch.randn(3, 32), torch.randn(3, 32)
    h_c = trunk(torch.cat([a, b], -1))
    out = model.heads["sts"](feats(a), feats(b))
    torch.testing.assert_close(out, model.heads["sts"].out(h_c))
