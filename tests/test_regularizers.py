import math

import numpy as np
import pytest
import torch
from conftest import RecordingLive
from test_training import CPU, _setup

from mtbert.config.train import SimCSEConfig, SmartConfig, TrainConfig
from mtbert.train import passes, regularizers
from mtbert.train.loop import task_losses
from mtbert.train.losses import LOSSES
from mtbert.train.passes import PassSeeds
from mtbert.train.regularizers import (REGULARIZERS, CleanPass, ascent_step, divergence, info_nce, mtdnn_step, nt_xent,
                                       partner_mask)


def test_simcse_loss_equals_its_formula_on_a_three_sentence_batch():
    z1 = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    z2 = torch.tensor([[2.0, 0.0], [1.0, 1.0], [0.0, -1.0]])
    tau = 0.5
    # cosine similarities by hand: rows of z1 against rows of z2
    s = 1 / math.sqrt(2)
    cos = [[1.0, s, 0.0], [0.0, s, -1.0], [s, 1.0, -s]]
    expected = np.mean([-(cos[i][i] / tau) + math.log(sum(math.exp(c / tau) for c in cos[i])) for i in range(3)])
    assert info_nce(z1, z2, tau).item() == pytest.approx(expected, rel=1e-6)


def test_simcse_on_a_three_pair_batch_excludes_each_sentences_partner_by_hand():
    # rows: a1 a2 a3 b1 b2 b3; second pass z2 = z1 (no dropout). Unit vectors at angles, so cos = cos(angle difference).
    angles = [0.0, 0.5, 1.0, 0.2, 1.5, 2.5]
    z = torch.tensor([[math.cos(a), math.sin(a)] for a in angles])
    tau = 0.5
    cos = [[math.cos(a - b) for b in angles] for a in angles]
    partner = [3, 4, 5, 0, 1, 2]
    excluded = np.mean([-cos[i][i] / tau + math.log(sum(math.exp(cos[i][j] / tau) for j in range(6) if j != partner[i]))
                        for i in range(6)])
    negative = np.mean([-cos[i][i] / tau + math.log(sum(math.exp(cos[i][j] / tau) for j in range(6))) for i in range(6)])
    assert partner_mask(6).nonzero()[:, 1].tolist() == partner
    assert info_nce(z, z, tau, partner_mask(6)).item() == pytest.approx(excluded, rel=1e-6)
    assert info_nce(z, z, tau).item() == pytest.approx(negative, rel=1e-6)
    assert excluded < negative


@pytest.mark.parametrize("partner", ["negative", "excluded"])
def test_simcse_partner_setting_reaches_pair_tasks_only(tiny_checkpoint_dir, partner):
    model, batches = _setup(tiny_checkpoint_dir, tasks=("sst", "quora"))
    model.eval()
    cfg = SimCSEConfig(weight=1.0, temperature=0.1, partner=partner)
    for task in ("sst", "quora"):
        clean = clean_pass(model, task, batches[task])
        z = clean.features.pooled
        mask = partner_mask(len(z)) if partner == "excluded" and task == "quora" else None
        got = REGULARIZERS["simcse"](model, task, batches[task], clean, cfg).item()
        assert got == pytest.approx(info_nce(z, z, 0.1, mask).item(), rel=1e-5)


def test_simcse_adds_its_weighted_loss_to_the_task_loss(tiny_checkpoint_dir):
    model, batches = _setup(tiny_checkpoint_dir)  # the tiny BERT has no dropout: both passes agree
    model.eval()
    plain = task_losses(model, batches, CPU, TrainConfig())
    cfg = TrainConfig(simcse=SimCSEConfig(weight=0.5, temperature=0.1, tasks=["sst"]))
    with_simcse = task_losses(model, batches, CPU, cfg)
    z = model.encode({k: v for k, v in batches["sst"].items()}).pooled
    extra = 0.5 * info_nce(z, z, 0.1).item()
    assert with_simcse["sst"][0].item() == pytest.approx(plain["sst"][0].item() + extra, rel=1e-5)
    assert with_simcse["sts"][0].item() == pytest.approx(plain["sts"][0].item())  # not listed in simcse.tasks
    # the parts report the task loss and the unweighted SimCSE term apart, for the logs
    assert with_simcse["sst"][2]["task"].item() == pytest.approx(plain["sst"][0].item(), rel=1e-6)
    assert with_simcse["sst"][2]["simcse"].item() == pytest.approx(extra / 0.5, rel=1e-5)
    assert set(with_simcse["sts"][2]) == {"task"}


def test_a_loss_weight_scales_its_tasks_whole_loss_and_leaves_the_logged_task_loss_alone(tiny_checkpoint_dir):
    model, batches = _setup(tiny_checkpoint_dir)
    model.eval()
    simcse = SimCSEConfig(weight=0.5, temperature=0.1, tasks=["sst"])
    plain = task_losses(model, batches, CPU, TrainConfig(simcse=simcse))
    weighted = task_losses(model, batches, CPU, TrainConfig(simcse=simcse, loss_weights={"sst": 2.5}))
    assert weighted["sst"][0].item() == pytest.approx(2.5 * plain["sst"][0].item(), rel=1e-6)  # SimCSE's term too
    assert all(torch.equal(weighted[t][0], plain[t][0]) for t in plain if t != "sst")
    assert torch.equal(weighted["sst"][2]["task"], plain["sst"][2]["task"])  # curves stay comparable across weights
    with pytest.raises(ValueError, match="loss_weights names \\['quora'\\]"):
        TrainConfig(tasks=["sst"], loss_weights={"quora": 2.0})


def with_dropout(model, p: float = 0.3):
    """The tiny BERT has no dropout; give it some (hidden, attention and head) so masks matter."""
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = p
        if hasattr(m, "dropout_p"):
            m.dropout_p = p
    return model.train()


def clean_pass(model, task, batch):
    seeds = PassSeeds(0, task, 0)
    features = passes.encode(model, batch, seeds)
    return CleanPass(features, passes.head(model, task, features, seeds), seeds)


@pytest.mark.parametrize("task", ["sst", "quora", "sts"])
def test_smart_is_exactly_zero_without_noise_even_with_dropout_on(tiny_checkpoint_dir, task):
    model, batches = _setup(tiny_checkpoint_dir, tasks=("sst", "quora", "sts"))
    with_dropout(model)
    before = torch.get_rng_state()
    clean = clean_pass(model, task, batches[task])
    zero = REGULARIZERS["smart"](model, task, batches[task], clean, SmartConfig(weight=1.0, sigma=0.0, ascent_steps=0))
    assert zero.item() == 0.0
    assert zero.requires_grad  # it trains the model
    assert torch.equal(before, torch.get_rng_state())  # the passes and the noise drew from streams of their own


@pytest.mark.parametrize("task", ["sst", "sts"])
def test_smart_grows_with_sigma(tiny_checkpoint_dir, task):
    model, batches = _setup(tiny_checkpoint_dir)
    with_dropout(model)
    clean = clean_pass(model, task, batches[task])

    def term(**kw):
        torch.manual_seed(1)
        return REGULARIZERS["smart"](model, task, batches[task], clean, SmartConfig(weight=1.0, **kw)).item()

    values = [term(sigma=s, ascent_steps=0) for s in (1e-3, 1e-2, 1e-1)]
    assert 0 < values[0] < values[1] < values[2]  # the ascent step's direction: test_smarts_ascent_step_goes_uphill...


def test_ascent_step_normalises_by_the_inf_norm_and_projects_onto_the_epsilon_ball():
    delta = torch.zeros(2, 2, 2)
    grad = torch.tensor([[[1.0, -4.0], [2.0, 0.0]], [[0.0, 0.5], [0.25, 0.0]]])  # ∞-norms per sequence: 4 and 0.5
    stepped = ascent_step(delta, grad, step_size=0.1, epsilon=None)
    torch.testing.assert_close(stepped, torch.tensor([[[0.025, -0.1], [0.05, 0.0]], [[0.0, 0.1], [0.05, 0.0]]]))
    projected = ascent_step(delta, grad, step_size=0.1, epsilon=0.04)
    torch.testing.assert_close(projected, torch.tensor([[[0.025, -0.04], [0.04, 0.0]], [[0.0, 0.04], [0.04, 0.0]]]))


def test_divergences_against_hand_computed_values():
    p, q = torch.tensor([[0.0, math.log(3.0)]]), torch.tensor([[0.0, 0.0]])  # softmax: (1/4, 3/4) and (1/2, 1/2)
    kl_pq = 0.25 * math.log(0.5) + 0.75 * math.log(1.5)
    kl_qp = 0.5 * math.log(2.0) + 0.5 * math.log(2 / 3)
    assert divergence("cross_entropy", p, q).item() == pytest.approx(kl_pq + kl_qp, rel=1e-6)
    # Bernoulli with logit log 3 is (1/4, 3/4) as well
    assert divergence("bce", torch.tensor([math.log(3.0)]), torch.tensor([0.0])).item() == pytest.approx(kl_pq + kl_qp, rel=1e-6)
    assert divergence("mse", torch.tensor([1.0, 2.0]), torch.tensor([0.0, 0.0])).item() == pytest.approx(2.5)


def test_cosine_embedding_loss_on_rescaled_labels():
    # head outputs 2.5 (cos + 1): 5 -> cos 1, 2.5 -> cos 0, 3.75 -> cos 0.5
    scores, labels = torch.tensor([5.0, 2.5, 3.75]), torch.tensor([5.0, 0.0, 2.5])
    expected = np.mean([1 * (1 - 1) + 0, 0 + 1 * 0.0, 0.5 * (1 - 0.5) + 0.5 * 0.5])
    assert LOSSES["cosine_embedding"](scores, labels).item() == pytest.approx(expected)


def test_cosine_embedding_loss_needs_a_cosine_sts_head(tiny_checkpoint_dir, tmp_path):
    from mtbert.train.loop import train

    model, _ = _setup(tiny_checkpoint_dir)
    model.cfg.heads["sts"] = "relu5"
    with pytest.raises(ValueError, match="train.sts_loss=cosine_embedding needs model.heads.sts cosine or cosine_corr"):
        train(model, {"sts": None}, {}, TrainConfig(tasks=["sts"], sts_loss="cosine_embedding", epochs=1, steps_per_epoch=1),
              tmp_path, None, 0, {}, [])


def test_training_logs_task_losses_apart_from_regularizer_terms(tiny_checkpoint_dir, tmp_path):
    from test_training import SST

    from mtbert.data.batching import tokenize
    from mtbert.text.tokenizer import Tokenizer
    from mtbert.train.loop import train

    model, _ = _setup(tiny_checkpoint_dir, tasks=("sst",))
    data = {"sst": tokenize(Tokenizer.from_checkpoint(tiny_checkpoint_dir), SST, "sst", "single")}
    live = RecordingLive()
    cfg = TrainConfig(tasks=["sst"], epochs=1, steps_per_epoch=2, batch_size=4, simcse=SimCSEConfig(weight=0.5, tasks=["sst"]))
    train(model, data, data, cfg, tmp_path / "out", live, 0, {}, [])
    assert {"train/sst_loss", "train/sst_simcse", "dev/sst_acc"} <= set(live.metrics)
    assert live.metrics["train/sst_simcse"] > 0 and live.metrics["train/sst_loss"] < 5  # CE of 5 classes, not the sum


def test_report_001s_simcse_puts_both_views_in_the_denominator_by_hand():
    # N = 2 sentences, views z1 = (u1, u2), z2 = (v1, v2); each of the 4 views picks its other view among the other 3
    z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z2 = torch.tensor([[1.0, 1.0], [-1.0, 1.0]])
    tau = 0.5
    views = z1.tolist() + z2.tolist()
    cos = lambda a, b: (a[0] * b[0] + a[1] * b[1]) / math.hypot(*a) / math.hypot(*b)  # noqa: E731
    positive = [2, 3, 0, 1]
    terms = [-cos(views[i], views[positive[i]]) / tau
             + math.log(sum(math.exp(cos(views[i], views[k]) / tau) for k in range(4) if k != i)) for i in range(4)]
    assert nt_xent(z1, z2, tau).item() == pytest.approx(np.mean(terms), rel=1e-6)
    assert nt_xent(z1, z2, tau).item() != pytest.approx(info_nce(z1, z2, tau).item(), rel=1e-3)  # Gao et al.'s differs


def test_both_views_with_partners_excluded_drops_the_partner_in_either_view():
    angles = [0.0, 0.5, 1.0, 0.2]  # a1 a2 b1 b2: partners (0, 2) and (1, 3)
    z1 = torch.tensor([[math.cos(a), math.sin(a)] for a in angles])
    z2 = torch.tensor([[math.cos(a + 0.1), math.sin(a + 0.1)] for a in angles])
    views = z1.tolist() + z2.tolist()
    partner = [2, 3, 0, 1]
    tau = 0.5
    cos = lambda a, b: (a[0] * b[0] + a[1] * b[1]) / math.hypot(*a) / math.hypot(*b)  # noqa: E731
    terms = []
    for i in range(8):
        own, pos = i % 4, (i + 4) % 8
        dropped = {i, partner[own], partner[own] + 4}
        terms.append(-cos(views[i], views[pos]) / tau
                     + math.log(sum(math.exp(cos(views[i], views[k]) / tau) for k in range(8) if k not in dropped)))
    assert nt_xent(z1, z2, tau, partner_mask(4)).item() == pytest.approx(np.mean(terms), rel=1e-6)


@pytest.mark.parametrize("negatives", ["second_view", "both_views"])
def test_the_negatives_setting_picks_the_loss(tiny_checkpoint_dir, negatives):
    model, batches = _setup(tiny_checkpoint_dir, tasks=("sst",))
    model.eval()  # both views agree
    clean = clean_pass(model, "sst", batches["sst"])
    z = clean.features.pooled
    got = REGULARIZERS["simcse"](model, "sst", batches["sst"], clean, SimCSEConfig(weight=1.0, negatives=negatives))
    want = info_nce(z, z, 0.05) if negatives == "second_view" else nt_xent(z, z, 0.05)
    assert got.item() == pytest.approx(want.item(), rel=1e-5)


def _smart(model, task, batch, **kw):
    """SMART's term on a fresh clean pass (seeded masks: the same on every call)."""
    return REGULARIZERS["smart"](model, task, batch, clean_pass(model, task, batch), SmartConfig(weight=1.0, **kw))


@pytest.mark.parametrize("task", ["sst", "sts"])
def test_smart_under_bf16_autocast_runs_in_fp32_and_does_not_measure_rounding(tiny_checkpoint_dir, task):
    model, batches = _setup(tiny_checkpoint_dir)
    with_dropout(model)
    settings = SmartConfig(weight=1.0, sigma=1e-9, ascent_steps=0)
    full = REGULARIZERS["smart"](model, task, batches[task], clean_pass(model, task, batches[task]), settings).item()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        clean = clean_pass(model, task, batches[task])
        term = REGULARIZERS["smart"](model, task, batches[task], clean, settings)
    plain = clean_pass(model, task, batches[task]).output
    assert (clean.output.float() - plain).abs().max() > 1e-6  # the training pass itself ran in bf16
    assert term.dtype == torch.float32
    assert term.item() <= 1e-12 and abs(term.item() - full) <= 1e-12  # the fp32 value, not bf16 rounding


TASK_KIND = {"sst": "cross_entropy", "quora": "bce", "sts": "mse"}


@pytest.mark.parametrize("masks", ["replayed", "fresh"])
def test_smarts_gradient_on_the_encoder_equals_finite_differences(tiny_checkpoint_dir, masks):
    model, batches = _setup(tiny_checkpoint_dir)
    with_dropout(model, 0.1)
    model.double()
    batch = batches["sst"]
    params = [p for n, p in model.bert.named_parameters() if p.ndim == 2][:3]
    term = _smart(model, "sst", batch, sigma=1e-2, ascent_steps=0, masks=masks)
    grads = torch.autograd.grad(term, params)
    h = 1e-6
    for p, g in zip(params, grads):
        for index in [(0, 0), (1, 2), (p.shape[0] - 1, p.shape[1] - 1)]:
            with torch.no_grad():
                p[index] += h
                up = _smart(model, "sst", batch, sigma=1e-2, ascent_steps=0, masks=masks).item()
                p[index] -= 2 * h
                down = _smart(model, "sst", batch, sigma=1e-2, ascent_steps=0, masks=masks).item()
                p[index] += h
            assert g[index].item() == pytest.approx((up - down) / (2 * h), rel=1e-4, abs=1e-9)


def test_smarts_ascent_step_goes_uphill_and_its_mirror_downhill(tiny_checkpoint_dir, monkeypatch):
    """From the same noise, the ascent step raises the divergence and the same step with the gradient's sign flipped
    lowers it: the test fails if the step's sign is wrong (checked once by flipping it in ascent_step)."""
    model, batches = _setup(tiny_checkpoint_dir)
    with_dropout(model)
    settings = dict(sigma=1e-2, step_size=5e-3, epsilon=None)
    still = _smart(model, "sst", batches["sst"], ascent_steps=0, **settings).item()
    uphill = _smart(model, "sst", batches["sst"], ascent_steps=1, **settings).item()
    monkeypatch.setattr(regularizers, "ascent_step", lambda d, g, eta, eps: ascent_step(d, -g, eta, eps))
    downhill = _smart(model, "sst", batches["sst"], ascent_steps=1, **settings).item()
    assert uphill > still > downhill > 0


def test_mtdnn_step_normalises_each_token_by_its_own_inf_norm():
    delta = torch.tensor([[[0.1, -0.2], [0.0, 0.0]]])
    grad = torch.tensor([[[10.0, 0.0], [0.0, 0.0]]])  # token 2 (padding): no gradient, no noise
    stepped = mtdnn_step(delta, grad, step_size=0.01)  # (0.2, -0.2) / 0.2
    torch.testing.assert_close(stepped, torch.tensor([[[1.0, -1.0], [0.0, 0.0]]]), atol=1e-5, rtol=0)


def test_the_smart_readings_are_params_that_change_the_term(tiny_checkpoint_dir):
    model, batches = _setup(tiny_checkpoint_dir)
    with_dropout(model)
    batch = batches["sst"]
    assert _smart(model, "sst", batch, sigma=0.0, ascent_steps=0).item() == 0.0
    assert _smart(model, "sst", batch, sigma=0.0, ascent_steps=0, masks="fresh").item() > 1e-4  # other masks
    assert SmartConfig(sigma=1e-4, sigma_is="variance").std == pytest.approx(1e-2)
    as_variance = _smart(model, "sst", batch, sigma=1e-4, sigma_is="variance", ascent_steps=0).item()
    assert as_variance == _smart(model, "sst", batch, sigma=1e-2, ascent_steps=0).item()
    assert as_variance > 100 * _smart(model, "sst", batch, sigma=1e-4, ascent_steps=0).item()
    algorithm1 = _smart(model, "sst", batch, sigma=1e-5, ascent_steps=1)
    mtdnn = _smart(model, "sst", batch, sigma=1e-5, ascent_steps=1, step="mtdnn")
    assert mtdnn.item() > 1e3 * algorithm1.item()  # MT-DNN's step leaves every token a unit ∞-norm perturbation


def test_each_run_records_the_regularizers_size_against_the_task_loss(tiny_checkpoint_dir, tmp_path):
    from test_training import SST

    from mtbert.data.batching import tokenize
    from mtbert.text.tokenizer import Tokenizer
    from mtbert.train.loop import train

    model, _ = _setup(tiny_checkpoint_dir, tasks=("sst",))
    data = {"sst": tokenize(Tokenizer.from_checkpoint(tiny_checkpoint_dir), SST, "sst", "single")}
    live = RecordingLive()
    cfg = TrainConfig(tasks=["sst"], epochs=1, steps_per_epoch=2, batch_size=4,
                      smart=SmartConfig(weight=2.0, sigma=1e-2, ascent_steps=0, tasks=["sst"]))
    train(model, data, data, cfg, tmp_path / "out", live, 0, {}, [])
    relative = live.metrics["smart/relative_size"]
    assert relative == live.metrics["train/sst_smart_relative"] > 0
    # the mean over steps of 2 × term / task loss: near 2 × (mean term) / (mean task loss) over two steps
    assert relative == pytest.approx(2 * live.metrics["train/sst_smart"] / live.metrics["train/sst_loss"], rel=0.5)
