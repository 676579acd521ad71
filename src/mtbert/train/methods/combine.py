"""Gradient combination across tasks, by the names `train.method` uses.

Each method is built once per run from a MethodContext; the built method maps the step's task gradients on the shared
parameters (J, one flattened row per task) to the update direction. Most methods are a weighting of J's rows computed
from its Gramian J J^T (a T x T matrix), so forming the direction costs one pass over J for the Gramian and one for
the weighted sum: `sum`, `mtrec` (auxiliary gradients merged and scaled by lambda, then projected off the main task's
gradient when they conflict; written here) and torchjd's Gramian-weighted aggregators (PCGrad, UPGrad, MGDA, ...).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from mtbert.registry import Registry


@dataclass
class MethodContext:
    tasks: list[str]  # the run's tasks
    main_task: str = "sst"
    mtrec_lambda: float = 0.3


class RowBlock:
    """A block of J's columns left as autograd returned it: per task, one gradient tensor per parameter (None where the
    task does not reach it). The Gramian and the weighted sum read the tensors in place, parameter by parameter while
    they are in cache, so J's rows are never copied: the copy cost a step as much as the Gramian."""

    def __init__(self, rows: list[list[torch.Tensor | None]], numels: list[int]):
        self.rows, self.numels = rows, numels
        self.shape = (len(rows), sum(numels))

    def gramian(self) -> torch.Tensor:
        n = len(self.rows)
        like = next(g for row in self.rows for g in row if g is not None)
        pairs = [(i, j) for i in range(n) for j in range(i, n)]
        dots = []  # one product per (parameter, pair), summed at the end: no sync, no indexed writes per product
        zero = like.new_zeros(())
        for k in range(len(self.numels)):
            grads = [row[k].reshape(-1) if row[k] is not None else None for row in self.rows]
            dots += [torch.dot(grads[i], grads[j]) if grads[i] is not None and grads[j] is not None else zero
                     for i, j in pairs]
        sums = torch.stack(dots).view(-1, len(pairs)).sum(0)
        G = like.new_zeros(n, n)
        for (i, j), v in zip(pairs, sums):
            G[i, j] = G[j, i] = v
        return G

    def weighted_into(self, weights: torch.Tensor, out: torch.Tensor) -> None:
        offset = 0
        for k, numel in enumerate(self.numels):
            view, first = out[offset:offset + numel], True
            for i, row in enumerate(self.rows):
                if row[k] is None:
                    continue
                if first:
                    torch.mul(row[k].reshape(-1), weights[i], out=view)
                    first = False
                else:
                    view.addcmul_(row[k].reshape(-1), weights[i])
            if first:
                view.zero_()
            offset += numel

    def dense(self) -> torch.Tensor:
        """The block as a (tasks x columns) tensor: a copy, for the methods that need J itself."""
        like = next(g for row in self.rows for g in row if g is not None)
        return torch.stack([torch.cat([g.reshape(-1) if g is not None else like.new_zeros(numel)
                                       for g, numel in zip(row, self.numels)]) for row in self.rows])


@dataclass
class TaskGradients:
    """One step's task gradients on the shared parameters: J as column blocks (tasks x columns each, rows in the order
    of `tasks`), its Gramian computed at most once, and `out`, a preallocated buffer the direction may be written into."""

    blocks: list[torch.Tensor]
    tasks: list[str]
    out: torch.Tensor | None = None
    _gramian: torch.Tensor | None = field(default=None, repr=False)

    @property
    def J(self) -> torch.Tensor:
        """J whole (a copy when it has several blocks), for the methods that need more than its Gramian."""
        blocks = [b.dense() if isinstance(b, RowBlock) else b for b in self.blocks]
        return blocks[0] if len(blocks) == 1 else torch.cat(blocks, dim=1)

    def gramian(self) -> torch.Tensor:
        if self._gramian is None:
            self._gramian = sum(b.gramian() if isinstance(b, RowBlock) else b @ b.T for b in self.blocks)
        return self._gramian

    def weighted(self, weights: torch.Tensor) -> torch.Tensor:
        """sum_i weights[i] J[i], written into `out` when there is one."""
        dense = [b for b in self.blocks if not isinstance(b, RowBlock)]
        like = dense[0] if dense else next(g for g in self.blocks[0].rows[0] if g is not None)
        weights = weights.to(device=like.device, dtype=like.dtype)
        out = self.out if self.out is not None else like.new_empty(sum(b.shape[1] for b in self.blocks))
        offset = 0
        for b in self.blocks:
            if isinstance(b, RowBlock):
                b.weighted_into(weights, out[offset:offset + b.shape[1]])
            else:
                torch.mv(b.T, weights, out=out[offset:offset + b.shape[1]])
            offset += b.shape[1]
        return out


# A built method maps a step's TaskGradients to the update direction.
Combine = Callable[[TaskGradients], torch.Tensor]
METHODS: Registry[Callable[[MethodContext], Combine]] = Registry("gradient method")


@dataclass
class GradientMethod:
    """A method built once per run, so stateful aggregators (NashMTL's warm start) keep their state across steps."""

    name: str
    combine: Combine

    @classmethod
    def build(cls, name: str, ctx: MethodContext) -> "GradientMethod":
        return cls(name, METHODS[name](ctx))

    @property
    def needs_task_gradients(self) -> bool:
        """Whether the method must see each task's gradient apart (J); one that does not (the plain sum) lets a step
        run one summed backward."""
        return getattr(self.combine, "needs_task_gradients", True)

    def __call__(self, J: torch.Tensor, tasks: list[str]) -> torch.Tensor:
        return self.combine(TaskGradients([J], tasks))

    def state(self) -> dict:
        """What a stateful method carries from step to step, for a resumable training state: each of its torchjd
        aggregators that declares a state (torchjd.Stateful) pickled whole, solver and all; {} for the others."""
        from torchjd import Stateful

        aggregators = getattr(self.combine, "aggregators", {})
        return {str(n): np.frombuffer(pickle.dumps(a), dtype=np.uint8).copy() for n, a in aggregators.items()
                if isinstance(a, Stateful)}

    def load_state(self, state: dict) -> None:
        aggregators = getattr(self.combine, "aggregators", None)
        for n, data in state.items():
            aggregators[int(n)] = pickle.loads(np.asarray(data, dtype=np.uint8).tobytes())


@METHODS.register("sum")
def summed(ctx: MethodContext) -> Combine:
    def combine(grads: TaskGradients) -> torch.Tensor:
        return grads.weighted(torch.ones(len(grads.tasks)))

    combine.needs_task_gradients = False  # summed task gradients are the gradient of the summed loss
    return combine


@METHODS.register("mtrec")
def mtrec(ctx: MethodContext) -> Combine:
    """MTRec (Bi et al. 2022; report 003, eq. 1-2): g_aux = lambda * sum of the auxiliary gradients, projected onto the
    normal plane of g_main when the two conflict; g_main itself is never changed. As weights: lambda on every auxiliary
    row, 1 - (g_aux . g_main) / |g_main|^2 on the main row when they conflict."""

    def combine(grads: TaskGradients) -> torch.Tensor:
        if ctx.main_task not in grads.tasks:
            raise ValueError(f"train.main_task '{ctx.main_task}' is not among the step's tasks {grads.tasks}")
        m = grads.tasks.index(ctx.main_task)
        G = grads.gramian().double()
        weights = torch.full((len(grads.tasks),), ctx.mtrec_lambda, dtype=torch.float64, device=G.device)
        weights[m] = 1.0
        dot = ctx.mtrec_lambda * (G[m].sum() - G[m, m])
        if dot < 0:
            weights[m] -= dot / G[m, m].clamp_min(1e-20)
        return grads.weighted(weights)

    return combine


def _torchjd(factory: Callable[[int], Callable[[torch.Tensor], torch.Tensor]]) -> Callable[[MethodContext], Combine]:
    """A torchjd aggregator as a method: Gramian-weighted ones get the step's Gramian (never re-forming J J^T), other
    weighted ones J, and the rest (GradDrop) aggregate J themselves."""
    from torchjd.aggregation import GramianWeightedAggregator, WeightedAggregator

    def build(ctx: MethodContext) -> Combine:
        made: dict[int, Callable] = {}  # one aggregator per number of tasks in a step, kept for the whole run

        def combine(grads: TaskGradients) -> torch.Tensor:
            n = len(grads.tasks)
            if n not in made:
                made[n] = factory(n)
            aggregator = made[n]
            if isinstance(aggregator, GramianWeightedAggregator):
                return grads.weighted(aggregator.gramian_weighting(grads.gramian()))
            if isinstance(aggregator, WeightedAggregator):
                return grads.weighted(aggregator.weighting(grads.J))
            return aggregator(grads.J)

        combine.aggregators = made  # for inspection (tests) and for a resumable training state
        combine.factory = factory
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
    return gramian_cosines(J @ J.T)


def gramian_cosines(G: torch.Tensor) -> torch.Tensor:
    """Pairwise cosines from the Gramian: G_ij / sqrt(G_ii G_jj)."""
    norms = G.diagonal().clamp_min(0).sqrt().clamp_min(1e-20)
    return G / norms[:, None] / norms[None, :]
