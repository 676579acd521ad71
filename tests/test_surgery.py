import itertools

import pytest
import torch
from conftest import ROOT

from mtbert.train.methods.combine import METHODS, GradientMethod, MethodContext, TaskGradients, cosine_matrix

CTX = MethodContext(tasks=["sst", "quora", "sts"])


def combine(name: str, J: torch.Tensor, ctx: MethodContext = CTX) -> torch.Tensor:
    return GradientMethod.build(name, ctx)(J, ctx.tasks)


def reference_pcgrad_options(J: torch.Tensor) -> list[torch.Tensor]:
    """Yu et al.'s Algorithm 1 for every choice of projection order: the set of results a random order can give."""
    per_task = []
    for i in range(len(J)):
        options = []
        for order in itertools.permutations([j for j in range(len(J)) if j != i]):
            g = J[i].clone()
            for j in order:
                if g @ J[j] < 0:
                    g = g - (g @ J[j]) / (J[j] @ J[j]) * J[j]
            options.append(g)
        per_task.append(options)
    return [sum(choice) for choice in itertools.product(*per_task)]


def pcgrad(J, tasks=("a", "b")):
    return combine("pcgrad", J, MethodContext(tasks=list(tasks)))


def test_pcgrad_changes_nothing_without_conflict():
    J = torch.tensor([[1.0, 2.0, 0.0], [0.5, 0.0, 1.0]])
    torch.testing.assert_close(pcgrad(J), J.sum(0))


def test_pcgrad_two_tasks_matches_the_closed_form():
    g1, g2 = torch.tensor([1.0, 0.0]), torch.tensor([-1.0, 1.0])
    expected = (g1 - (g1 @ g2) / (g2 @ g2) * g2) + (g2 - (g2 @ g1) / (g1 @ g1) * g1)
    torch.testing.assert_close(pcgrad(torch.stack([g1, g2])), expected)
    torch.testing.assert_close(expected, torch.tensor([0.5, 1.5]))


def test_the_pcgrad_direction_conflicts_with_neither_task_where_the_sum_does():
    # g1 . g2 = -3 < 0; the sum (-2, 1) opposes g1; PCGrad's (g1 - proj) + (g2 - proj) = (0.1, 0.3) + (0, 1) agrees
    # with both (each projected part is orthogonal to the other gradient, and keeps a positive part along its own)
    g1, g2 = torch.tensor([1.0, 0.0]), torch.tensor([-3.0, 1.0])
    d = pcgrad(torch.stack([g1, g2]))
    torch.testing.assert_close(d, torch.tensor([0.1, 1.3]))
    assert d @ g1 > 0 and d @ g2 > 0 and (g1 + g2) @ g1 < 0


@pytest.mark.parametrize("seed", range(5))
def test_pcgrad_three_tasks_equals_the_algorithm_for_some_order(seed):
    torch.manual_seed(seed)
    J = torch.randn(3, 6, dtype=torch.float64)
    out = combine("pcgrad", J)
    assert any(torch.allclose(out, ref, atol=1e-9) for ref in reference_pcgrad_options(J))
    assert not torch.allclose(out, J.sum(0))  # random gradients in 6-d conflict often enough that surgery acts


def test_mtrec_projects_only_the_auxiliary_gradient_as_in_the_issue_example():
    # g_main = (1, 0); lambda * (sum of auxiliaries) = 0.5 * ((-2, 1) + (-2, 0)) = (-2, 0.5): they conflict.
    # By eq. 1-2 of report 003: g_aux' = g_aux - (g_aux . g_main) / |g_main|^2 g_main = (-2, 0.5) + 2 (1, 0) = (0, 0.5),
    # and the update is g_main + g_aux' = (1, 0.5).
    J = torch.tensor([[1.0, 0.0], [-2.0, 1.0], [-2.0, 0.0]])
    ctx = MethodContext(tasks=["sst", "quora", "sts"], main_task="sst", mtrec_lambda=0.5)
    torch.testing.assert_close(combine("mtrec", J, ctx), torch.tensor([1.0, 0.5]))


def test_mtrec_without_conflict_is_main_plus_scaled_auxiliaries():
    ctx = MethodContext(tasks=["sst", "quora", "sts"], main_task="quora", mtrec_lambda=0.5)
    J = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])  # main = quora (row 1); g_aux = 0.5 (1, 1)
    torch.testing.assert_close(combine("mtrec", J, ctx), torch.tensor([1.5, 1.5]))


def test_mtrec_needs_the_main_task_in_the_step():
    with pytest.raises(ValueError, match="train.main_task 'sst' is not among"):
        combine("mtrec", torch.ones(2, 2), MethodContext(tasks=["quora", "sts"]))


def test_cosine_matrix():
    J = torch.tensor([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0]])
    torch.testing.assert_close(cosine_matrix(J), torch.tensor([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 1.0]]))


def test_unknown_method_lists_the_known_ones():
    with pytest.raises(KeyError, match=r"unknown gradient method 'pcgard'; known: \[.*'pcgrad'.*\]"):
        METHODS["pcgard"]


@pytest.mark.parametrize("name", [n for n in METHODS.names() if n not in ("sum", "mtrec", "pcgrad")])
def test_every_torchjd_aggregator_gives_a_finite_direction_that_does_not_oppose_all_tasks(name):
    torch.manual_seed(0)
    J = torch.randn(3, 8)
    g = combine(name, J)
    assert g.shape == (8,) and torch.isfinite(g).all()
    assert (J @ g).max() > 0


def test_a_stateful_aggregator_is_built_once_per_run_and_keeps_its_state():
    from mtbert.train.methods.combine import _torchjd

    class Counting:  # a stand-in for a stateful aggregator: the k-th call returns k times the sum
        def __init__(self):
            self.calls = 0

        def __call__(self, J):
            self.calls += 1
            return self.calls * J.sum(0)

    J = torch.tensor([[1.0, 2.0], [3.0, -1.0]])
    method = GradientMethod("counting", _torchjd(lambda n: Counting())(CTX))
    method(J, ["sst", "quora"])
    torch.testing.assert_close(method(J, ["sst", "quora"]), torch.tensor([8.0, 2.0]))  # second call: 2 * (4, 1)
    torch.testing.assert_close(method(J[:1], ["sst"]), torch.tensor([1.0, 2.0]))  # another task count: its own one


def test_nash_mtl_is_one_instance_for_the_run():
    torch.manual_seed(0)
    method = GradientMethod.build("nash_mtl", CTX)
    for _ in range(3):
        method(torch.randn(3, 8), CTX.tasks)
    (aggregator,) = method.combine.aggregators.values()
    assert aggregator.weighting.step == 3  # its step counter and warm start (prvs_alpha) carried over


def test_nash_mtl_resumed_from_a_stored_state_gives_the_uninterrupted_directions(tmp_path):
    """Re-solving every second step, so steps in between reuse the stored weights: the state decides the result."""
    from torchjd.aggregation import NashMTL

    from mtbert.train.methods.combine import _torchjd
    from mtbert.train.state import StateStore

    def build():
        return GradientMethod("nash_mtl", _torchjd(lambda n: NashMTL(n_tasks=n, update_weights_every=2))(CTX))

    Js = [torch.randn(3, 8, generator=torch.Generator().manual_seed(i)) for i in range(6)]
    whole = build()
    expected = [whole(J, CTX.tasks) for J in Js]
    first = build()
    for J in Js[:3]:
        first(J, CTX.tasks)
    store = StateStore(tmp_path / "state", "f")
    store.save({"method": first.state()})
    resumed = build()
    resumed.load_state(store.load()[0]["method"])
    for J, want in zip(Js[3:], expected[3:]):
        torch.testing.assert_close(resumed(J, CTX.tasks), want, rtol=0, atol=0)
    assert not torch.equal(build()(Js[3], CTX.tasks), expected[3])  # a fresh one differs: the state matters
    assert GradientMethod.build("sum", CTX).state() == {} and GradientMethod.build("pcgrad", CTX).state() == {}


@pytest.mark.parametrize("name", ["pcgrad", "upgrad", "mgda", "cagrad", "imtl_g", "aligned_mtl", "dualproj", "mean", "graddrop"])
def test_a_torchjd_method_gives_what_its_aggregator_gives_on_J(name):
    from torchjd import aggregation as A

    aggregators = {"pcgrad": A.PCGrad, "upgrad": A.UPGrad, "mgda": A.MGDA, "cagrad": lambda: A.CAGrad(c=0.5),
                   "imtl_g": A.IMTLG, "aligned_mtl": A.AlignedMTL, "dualproj": A.DualProj, "mean": A.Mean,
                   "graddrop": A.GradDrop}
    J = torch.randn(3, 50, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(0)  # PCGrad's projection order and GradDrop's masks draw from the global generator
    expected = aggregators[name]()(J)
    torch.manual_seed(0)
    torch.testing.assert_close(combine(name, J), expected, rtol=1e-5, atol=1e-6)


def test_the_direction_goes_into_the_given_buffer():
    from mtbert.train.methods.combine import TaskGradients

    J, out = torch.tensor([[1.0, 0.0], [-1.0, 1.0]]), torch.empty(2)
    direction = GradientMethod.build("pcgrad", MethodContext(tasks=["a", "b"])).combine(TaskGradients([J], ["a", "b"], out))
    assert direction.data_ptr() == out.data_ptr()
    torch.testing.assert_close(out, torch.tensor([0.5, 1.5]))  # (1,0)+(-1,1) each projected off the other


def test_the_direction_stays_on_js_device_whatever_device_the_weights_come_from():
    # the methods build their weights on the CPU; J lives on the GPU in training (mtrec crashed there once). The meta
    # device stands in for the GPU: a CPU weight vector with meta blocks fails the same way.
    blocks = [torch.randn(3, 5, device="meta"), torch.randn(3, 2, device="meta")]
    direction = TaskGradients(blocks, ["sst", "quora", "sts"]).weighted(torch.ones(3))
    assert direction.device.type == "meta" and direction.shape == (7,)


def test_only_the_plain_sum_lets_a_step_skip_the_task_gradients():
    """What a method needs is its own property, not a string check on its name."""
    from mtbert.train.methods.combine import METHODS

    needs = {name: GradientMethod.build(name, CTX).needs_task_gradients for name in METHODS.names()}
    assert needs.pop("sum") is False
    assert all(needs.values()), needs


def test_the_gradient_methods_use_torchjds_public_api_only():
    source = (ROOT / "src" / "mtbert" / "train" / "methods" / "combine.py").read_text()
    assert "torchjd._" not in source and "._init" not in source
