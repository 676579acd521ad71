import numpy as np
import pytest
import torch

from mtbert.config.model import ModelConfig
from mtbert.data.batching import bucketed_batches, collate, tokenize
from mtbert.eval import metrics
from mtbert.eval.predict import score, summary
from mtbert.model.checkpoint import load_pretrained
from mtbert.model.multitask import MultitaskModel
from mtbert.model.pooling import POOLINGS


def test_mean_pooling_ignores_padding():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    torch.testing.assert_close(POOLINGS["mean"](hidden, None, mask), torch.tensor([[2.0, 3.0]]))


def test_mean_pooled_sentence_is_the_same_with_and_without_extra_pads(tiny_checkpoint_dir):
    from mtbert.model.checkpoint import load_pretrained

    enc, _, _ = load_pretrained(tiny_checkpoint_dir)
    enc.eval()
    ids = torch.tensor([[2, 10, 11, 12, 3]])
    padded = torch.tensor([[2, 10, 11, 12, 3, 0, 0, 0]])
    with torch.no_grad():
        a = POOLINGS["mean"](*enc(ids, torch.ones_like(ids)), torch.ones_like(ids))
        m = (padded != 0).long()
        b = POOLINGS["mean"](*enc(padded, m), m)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_max_and_cls_raw_pooling_ignore_padding_and_the_pooler():
    hidden = torch.tensor([[[1.0, -2.0], [3.0, -4.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    torch.testing.assert_close(POOLINGS["max"](hidden, None, mask), torch.tensor([[3.0, -2.0]]))
    torch.testing.assert_close(POOLINGS["cls_raw"](hidden, torch.zeros(1, 2), mask), torch.tensor([[1.0, -2.0]]))


def test_unknown_pooling_lists_the_known_ones():
    with pytest.raises(KeyError, match=r"unknown pooling 'min'; known: \['cls', 'cls_raw', 'max', 'mean'\]"):
        POOLINGS["min"]


def test_a_single_sentence_head_on_a_pair_task_is_refused():
    with pytest.raises(ValueError, match=r"heads.quora: head 'linear' is for \['sst', 'cfimdb'\], not quora"):
        ModelConfig(heads={"quora": "linear"})


@pytest.mark.parametrize("task,head", [("quora", "cosine"), ("quora", "relu5"), ("sst", "cross"), ("quora", "relu5_cross")])
def test_a_head_for_other_tasks_is_refused_when_params_load(task, head):
    from mtbert.config import ConfigError, section

    params = {"model": {"heads": {"sst": "linear", "quora": "siamese_concat", "sts": "cosine", task: head}}}
    with pytest.raises(ConfigError, match=rf"params.yaml:model: heads.{task}: head '{head}' is for .*not {task}"):
        section(params, "model", ModelConfig)
    assert section({"model": {"heads": {"sts": "relu5_cross"}}}, "model", ModelConfig).heads == {"sts": "relu5_cross"}


def test_buckets_cover_every_row_once_and_pad_little():
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 60, 1000)
    batches = bucketed_batches(lengths, 16, np.random.default_rng(1))
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    waste = np.mean([lengths[b].max() - lengths[b].mean() for b in batches])
    random_waste = np.mean([lengths[b].max() - lengths[b].mean() for b in np.array_split(rng.permutation(1000), 63)])
    assert waste < random_waste / 5


def test_collate_pads_to_the_batch_maximum_and_stacks_pairs(tiny_checkpoint_dir):
    import pandas as pd

    from mtbert.text.tokenizer import Tokenizer

    tok = Tokenizer.from_checkpoint(tiny_checkpoint_dir)
    df = pd.DataFrame({"id": ["a", "b"], "sentence1": ["good film", "the plot was very dull and not fun"],
                       "sentence2": ["bad", "great"], "label": [1.0, 0.0]})
    data = tokenize(tok, df, "quora", "siamese")
    batch = collate(data, np.array([0, 1]), tok.pad_id)
    assert batch["input_ids"].shape == (4, 10)  # 2 pairs -> 4 rows; longest is 8 words + [CLS] [SEP]
    assert batch["attention_mask"].sum(1).tolist() == [4, 10, 3, 3]


def test_metrics_against_hand_computed_values():
    assert metrics.accuracy([1, 0, 2, 2], [1, 1, 2, 0]) == 0.5
    # Pearson of (1,2,3) with (1,3,2): cov = 0.5, var = 1 and 1 -> r = 0.5
    assert metrics.pearson([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)
    assert np.isnan(metrics.pearson([2.5, 2.5, 2.5], [1, 3, 2]))  # constant predictions: undefined, not 0
    assert metrics.overall(0.5, 0.75, 0.5) == pytest.approx((0.5 + 0.75 + 0.75) / 3)
    labels = np.array([4.0, np.nan, 1.0, 2.0])
    assert score("sts", np.array([3.0, 0.0, 1.0, 2.5]), labels) == pytest.approx(np.corrcoef([3, 1, 2.5], [4, 1, 2])[0, 1])
    assert score("sst", np.array([1.0]), np.array([np.nan])) is None
    assert summary({"sst": 0.5, "quora": 0.75, "sts": 0.5}) == {
        "sst_acc": 0.5, "quora_acc": 0.75, "sts_pearson": 0.5, "overall": pytest.approx(2 / 3)}


def test_max_length_beyond_the_position_table_is_refused(tiny_checkpoint_dir):
    from mtbert.model.checkpoint import load_pretrained

    enc, _, _ = load_pretrained(tiny_checkpoint_dir)
    with pytest.raises(ValueError, match="model.max_length 512 exceeds the checkpoint's max_position_embeddings 128"):
        MultitaskModel(enc, ModelConfig(max_length=512), ["sst"])


def test_per_task_head_dropout_and_encoder_dropout_reach_their_modules(tiny_checkpoint_dir):
    from torch import nn

    enc, _, _ = load_pretrained(tiny_checkpoint_dir)
    attention = [m.dropout_p for m in enc.modules() if hasattr(m, "dropout_p")]
    cfg = ModelConfig(head_dropout=0.1, task_dropout={"sst": 0.5, "quora": 0.3}, encoder_dropout=0.4,
                      heads={"sst": "linear", "quora": "siamese_concat", "sts": "relu5"})
    model = MultitaskModel(enc, cfg, ["sst", "quora", "sts"])
    assert (model.heads["sst"].dropout.p, model.heads["quora"].dropout.p, model.heads["sts"].dropout.p) == (0.5, 0.3, 0.1)
    encoder_p = {m.p for m in model.bert.modules() if isinstance(m, nn.Dropout)}
    assert encoder_p == {0.4} and model.bert.config.hidden_dropout_prob == 0.4
    assert [m.dropout_p for m in model.bert.modules() if hasattr(m, "dropout_p")] == attention  # attention dropout kept


@pytest.mark.parametrize("bad, message", [
    ({"task_dropout": {"sst": 1.2}}, r"model.task_dropout.sst: Input should be less than 1 \(got 1.2\)"),
    ({"task_dropout": {"imdb": 0.1}}, r"model.task_dropout.imdb: unknown task 'imdb'; choices: \['cfimdb', 'quora'"),
    ({"encoder_dropout": -0.1}, r"model.encoder_dropout: Input should be greater than or equal to 0 \(got -0.1\)")])
def test_bad_dropouts_are_refused_naming_the_key(bad, message):
    from mtbert.config import ConfigError, section

    with pytest.raises(ConfigError, match=message):
        section({"model": bad}, "model", ModelConfig)


def test_cfimdb_is_a_binary_single_sentence_task_scored_by_accuracy_without_an_overall():
    from mtbert.model.multitask import TASK_SPECS

    spec = TASK_SPECS["cfimdb"]
    predictions = spec.predict(np.array([[2.0], [-1.0], [0.5], [-3.0]]))  # logits: > 0 is positive
    assert predictions.tolist() == [1, 0, 1, 0] and not spec.pair and spec.loss == "bce"
    assert summary({"cfimdb": score("cfimdb", predictions, np.array([1.0, 0.0, 0.0, 0.0]))}) == {"cfimdb_acc": 0.75}
