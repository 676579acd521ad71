"""Gradient combination across tasks, by the names `train.method` uses.

Each method is built once per run from a MethodContext; the built method maps the Jacobian J (one row per task of
the step: that task's gradient on the shared parameters, flattened) to the update direction. `sum` is the plain
summed loss; `pcgrad` and the other aggregators come from torchjd; `mtrec` (auxiliary gradients merged and scaled by
lambda, then projected off the main task's gradient when they conflict) is written here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from mtbert.registry import Registry


@dataclass
class MethodContext:
    tasks: list[str]  # the run's tasks
    main_task: str = "sst"
    mtrec_lambda: float = 0.3


# A built method maps J (rows in the order of the step's tasks) to the update direction.
Combine = Callable[[torch.Tensor, list[str]], torch.Tensor]
METHODS: Registry[Callable[[MethodContext], Combine]] = Registry("gradient method")


@dataclass
class GradientMethod:
    """A method built once per run, so stateful aggregators (NashMTL's warm start) keep their state across steps."""

    name: str
    combine: Combine

    @classmethod
    def build(cls, name: str, ctx: MethodContext) -> "GradientMethod":
        return cls(name, METHODS[name](ctx))

    def __call__(self, J: torch.Tensor, tasks: list[str]) -> torch.Tensor:
        return self.combine(J, tasks)


@METHODS.register("sum")
def summed(ctx: MethodContext) -> Combine:
    return lambda J, tasks: J.sum(0)


def project_conflicting(g: torch.Tensor, onto: torch.Tensor) -> torch.Tensor:
    """Remove from g its component along `onto` when the two conflict (negative dot product)."""
    dot = g @ onto
    return g - dot / onto.square().sum().clamp_min(1e-20) * onto if dot < 0 else g


@METHODS.register("mtrec")
def mtrec(ctx: MethodContext) -> Combine:
    """MTRec (Bi et al. 2022; report 003, eq. 1-2): g_aux = lambda * sum of the auxiliary gradients, projected onto the
    normal plane of g_main when the two conflict; g_main itself is never changed."""

    def combine(J: torch.Tensor, tasks: list[str]) -> torch.Tensor:
        if ctx.main_task not in tasks:
            raise ValueError(f"train.main_task '{ctx.main_task}' is not among the step's tasks {tasks}")
        g_main = J[tasks.index(ctx.main_task)]
        g_aux = ctx.mtrec_lambda * (J.sum(0) - g_main)
        return g_main + project_conflicting(g_aux, g_main)

    return combine


def _torchjd(factory: Callable[[int], Callable[[torch.Tensor], torch.Tensor]]) -> Callable[[MethodContext], Combine]:
    def build(ctx: MethodContext) -> Combine:
        made: dict[int, Callable] = {}  # one aggregator per number of tasks in a step, kept for the whole run

        def combine(J: torch.Tensor, tasks: list[str]) -> torch.Tensor:
            if J.shape[0] not in made:
                made[J.shape[0]] = factory(J.shape[0])
            return made[J.shape[0]](J)

        combine.aggregators = made  # for inspection (tests)
        return combine

    return build


def _register_torchjd() -> None:
    from torchjd import aggregation as A

    for name, factory in {
        "pcgrad": lambda n: A.PCGrad(),
        "upgrad": lambda n: A.UPGrad(),
        "mgda": lambda n: A.MGDA(),
        "cagrad": lambda n: A.CAGrad(c=0.5),
        "nash_mtl": lambda n: A.NashMTL(n_tasks=n),
        "imtl_g": lambda n: A.IMTLG(),
        "aligned_mtl": lambda n: A.AlignedMTL(),
        "dualproj": lambda n: A.DualProj(),
        "graddrop": lambda n: A.GradDrop(),
        "mean": lambda n: A.Mean(),
    }.items():
        METHODS.register(name)(_torchjd(factory))


_register_torchjd()


def cosine_matrix(J: torch.Tensor) -> torch.Tensor:
    """Pairwise cosine similarity of the task gradients (rows of J)."""
    unit = J / J.norm(dim=1, keepdim=True).clamp_min(1e-20)
    return unit @ unit.T
