"""The benchmark's arithmetic: padding to max_length, real-token counts, FLOPs and the epoch-cost composition."""

import pytest
import torch

from mtbert.bench.scaling import BatchCosts
from mtbert.bench.workload import pad_step, step_size, training_flops


def _step():
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    sst = {"input_ids": mask * 7, "attention_mask": mask, "token_type_ids": torch.zeros_like(mask), "labels": torch.tensor([1.0, 2.0])}
    sts_mask = torch.tensor([[1, 1], [1, 0]])
    sts = {"input_ids": sts_mask * 5, "attention_mask": sts_mask, "token_type_ids": torch.zeros_like(sts_mask), "labels": torch.tensor([3.0])}
    return {"sst": sst, "sts": sts}


def test_padding_to_max_length_keeps_the_real_tokens_and_pads_with_the_pad_id():
    padded = pad_step(_step(), 6, pad_id=0)
    assert padded["sst"]["input_ids"].shape == (2, 6) and padded["sts"]["attention_mask"].shape == (2, 6)
    assert padded["sst"]["input_ids"][0].tolist() == [7, 7, 7, 0, 0, 0]
    assert step_size(padded).real_tokens == step_size(_step()).real_tokens == 3 + 2 + 2 + 1
    assert torch.equal(padded["sst"]["labels"], torch.tensor([1.0, 2.0]))


def test_step_size_counts_sequences_and_their_lengths():
    size = step_size(_step())
    assert (size.sequences, size.lengths) == (4, [3, 2, 2, 1])


def test_training_flops_are_six_n_per_token_plus_the_attention_term():
    # one sequence of 10 tokens, N = 1000, 2 layers of width 8: 6*1000*10 + 12*2*8*10*10
    assert training_flops(1000, 2, 8, [10]) == 60_000 + 19_200


def test_a_one_pass_epoch_costs_every_batch_once_and_one_optimizer_step_per_step():
    costs = BatchCosts(128, {"sst": 0.5, "quora": 1.0}, seconds_per_optimizer_step=0.2, peak_memory_mb=0.0)
    # sst: 40 rows / 16 = 3 batches; quora: 100 / 16 = 7 batches; 7 steps (the largest task)
    assert costs.epoch_seconds({"sst": 40, "quora": 100}, 16) == pytest.approx(3 * 0.5 + 7 * 1.0 + 7 * 0.2)


def test_bert_base_has_85_million_weights_outside_its_embeddings():
    from mtbert.bench.workload import non_embedding_dims
    from mtbert.model.bert import BertConfig

    n, layers, hidden = non_embedding_dims(BertConfig())
    assert (layers, hidden) == (12, 768) and n == 12 * (4 * 768 * 768 + 2 * 768 * 3072) == 84_934_656


def test_the_gemm_probe_counts_two_n_cubed_flops_per_product():
    from mtbert.bench.peak import gemm_peak

    rate = gemm_peak(size=64, repeats=2)
    assert 1e6 < rate < 1e15  # a plausible FLOP/s for a 64 x 64 product on any machine


def test_ratios_are_taken_round_by_round():
    from mtbert.bench.peak import paired_ratio

    # the machine slows down in round 2: both loops slow with it and the ratio holds
    assert paired_ratio([2.0, 4.0, 3.0], [1.0, 2.0, 2.0]) == (2.0, 1.5, 2.0)
    assert paired_ratio([3.0, 5.0], [1.0, 1.0]) == (4.0, 3.0, 5.0)
    with pytest.raises(ValueError):
        paired_ratio([], [])


def test_the_anchor_loops_run_transformers_with_fused_adamw():
    from mtbert.bench.loops import LOOPS, TRANSFORMERS_LOOPS, AnchorLoop, StandardLoop
    from mtbert.train.optim import make_adamw

    assert LOOPS["anchor"] is LOOPS["anchor+buckets"] is AnchorLoop and AnchorLoop.fused and not StandardLoop.fused
    assert set(TRANSFORMERS_LOOPS) == {"anchor", "anchor+buckets", "standard"}
    assert make_adamw([torch.nn.Parameter(torch.zeros(3))], fused=True).defaults["fused"] is True
    assert not make_adamw([torch.nn.Parameter(torch.zeros(3))], fused=False).defaults["fused"]


def test_the_anchor_gets_the_same_rows_in_random_batches_of_the_same_sizes():
    import numpy as np

    from mtbert.bench.workload import random_batches

    drawn = [{"sst": np.arange(4 * k, 4 * k + 4), "sts": np.array([k])} for k in range(5)]  # bucketed: runs of rows
    dealt = random_batches(drawn, seed=0)
    for task in ("sst", "sts"):
        assert [len(d[task]) for d in dealt] == [len(d[task]) for d in drawn]
        assert sorted(np.concatenate([d[task] for d in dealt]).tolist()) == sorted(np.concatenate([d[task] for d in drawn]).tolist())
    assert any(not np.array_equal(np.sort(a["sst"]), b["sst"]) for a, b in zip(dealt, drawn))  # batches mixed
    assert all(np.array_equal(a[t], b[t]) for a, b in zip(dealt, random_batches(drawn, seed=0)) for t in a)


def test_timing_runs_whole_untimed_passes_first_and_times_only_the_last_pass(monkeypatch):
    from mtbert.bench import measure

    calls, clock = [], iter([10.0, 16.0])
    monkeypatch.setattr(measure.time, "perf_counter", lambda: next(clock))
    seconds = measure.time_steps(calls.append, ["a", "b", "c"], warmup=2, device=torch.device("cpu"))
    assert calls == ["a", "b", "c"] * 3  # two untimed passes over the same steps, then the timed one
    assert seconds == pytest.approx(2.0)  # 6 s over the timed pass's 3 steps
