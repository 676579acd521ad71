"""Gradient combination across tasks, by the names `train.method` uses.

Each method maps the Jacobian J (one row per task: that task's gradient on the shared encoder, flattened) to the
update direction. `sum` is the plain summed loss; `pcgrad` and the other aggregators come from torchjd; `mtrec`
(auxiliary gradients merged and scaled by lambda, then PCGrad against the main task) is written here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from mtbert.registry import Registry


@dataclass
class MethodContext:
    tasks: list[str]  # the row order of J
    main_task: str = "sst"
    mtrec_lambda: float = 0.3


GradientMethod = Callable[[torch.Tensor, MethodContext], torch.Tensor]
METHODS: Registry[GradientMethod] = Registry("gradient method")


@METHODS.register("sum")
def summed(J: torch.Tensor, ctx: MethodContext) -> torch.Tensor:
    return J.sum(0)


def project_conflicting(g: torch.Tensor, onto: torch.Tensor) -> torch.Tensor:
    """Remove from g its component along `onto` when the two conflict (negative dot product)."""
    dot = g @ onto
    return g - dot / onto.square().sum().clamp_min(1e-20) * onto if dot < 0 else g


@METHODS.register("mtrec")
def mtrec(J: torch.Tensor, ctx: MethodContext) -> torch.Tensor:
    """MTRec (Bi et al. 2022): g_aux = lambda * sum of auxiliary gradients; PCGrad on the pair (g_main, g_aux)."""
    if ctx.main_task not in ctx.tasks:
        raise ValueError(f"train.main_task '{ctx.main_task}' is not among the step's tasks {ctx.tasks}")
    main = ctx.tasks.index(ctx.main_task)
    g_main = J[main]
    g_aux = ctx.mtrec_lambda * (J.sum(0) - g_main)
    return project_conflicting(g_main, g_aux) + project_conflicting(g_aux, g_main)


def _torchjd(factory: Callable[[int], object]) -> GradientMethod:
    def method(J: torch.Tensor, ctx: MethodContext) -> torch.Tensor:
        return factory(J.shape[0])(J)

    return method


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
