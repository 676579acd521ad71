"""The task Jacobian J of one step, written into buffers reused every step, and the combined direction written back
into .grad.

J has a row per task and two kinds of column blocks: every shared parameter flattened, except the row-sparse ones
(the word embeddings), of which only the rows some task's gradient reached are kept. A batch uses a few hundred of
30k vocabulary rows and the other rows' gradients are exactly zero, so leaving them out changes no Gramian entry and no
weighted sum, while J shrinks by the embedding matrix: half of MiniLM's parameters, a fifth of bert-base's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from mtbert.train.distributed import Ranks
from mtbert.train.methods.combine import RowBlock


class RowGradient:
    """A row-sparse parameter's dense .grad, kept from step to step: writing a step's rows first zeroes the rows the
    last step wrote, so the vocabulary-sized zeros are filled (and their pages touched) once per run, not per step."""

    def __init__(self, param: torch.nn.Parameter) -> None:
        self.param, self.grad, self.written = param, torch.zeros_like(param), None

    def write(self, rows: torch.Tensor, values: torch.Tensor) -> None:
        if self.written is not None:
            self.grad[self.written] = 0
        self.grad[rows] = values.to(self.grad.dtype)
        self.written = rows
        self.param.grad = self.grad


@dataclass
class JacobianSlot:
    """J's storage (dense block first, then one block of reached rows per row-sparse parameter), the direction's, and
    a dense .grad per row-sparse parameter, for one set of shared parameters."""

    dense: list[torch.nn.Parameter]
    sparse: list[torch.nn.Parameter]
    J: torch.Tensor  # flat, room for every column: only the prefix a step uses is ever touched
    out: torch.Tensor
    sparse_grads: list[RowGradient]
    rows: list[torch.Tensor | None] = field(default_factory=list)  # each row-sparse parameter's rows this step
    reached: list[bool] = field(default_factory=list)  # per dense parameter: did any task's gradient reach it this step

    @property
    def n_dense(self) -> int:
        return sum(p.numel() for p in self.dense)


class GradientBuffers:
    """One JacobianSlot per (shared parameters, number of tasks) and one RowGradient per row-sparse parameter, made on
    first use and reused every step."""

    def __init__(self) -> None:
        self._made: dict[tuple, JacobianSlot] = {}
        self._rows: dict[int, RowGradient] = {}

    def row_gradient(self, param: torch.nn.Parameter) -> RowGradient:
        if id(param) not in self._rows:
            self._rows[id(param)] = RowGradient(param)
        return self._rows[id(param)]

    def densify(self, params: list[torch.nn.Parameter]) -> None:
        """A summed backward's sparse .grad (the looked-up rows, repeats summed) into the parameter's dense one."""
        for p in params:
            if p.grad is not None and p.grad.is_sparse:
                grad = p.grad.coalesce()
                self.row_gradient(p).write(grad.indices()[0], grad.values())

    def get(self, shared: list[torch.nn.Parameter], sparse: list[torch.nn.Parameter], n_tasks: int) -> JacobianSlot:
        key = (tuple(id(p) for p in shared), tuple(id(p) for p in sparse), n_tasks)
        if key not in self._made:
            sparse_ids = {id(p) for p in sparse}
            dense = [p for p in shared if id(p) not in sparse_ids]
            n = sum(p.numel() for p in shared)
            device = shared[0].device
            n_sparse = sum(p.numel() for p in sparse)  # J's storage holds the row-sparse blocks only
            self._made[key] = JacobianSlot(dense, sparse, torch.empty(n_tasks * n_sparse, device=device),
                                           torch.empty(n, device=device), [self.row_gradient(p) for p in sparse],
                                           [None] * len(sparse))
        return self._made[key]


def _reached_rows(grad: torch.Tensor | None, param: torch.nn.Parameter) -> tuple[torch.Tensor, torch.Tensor]:
    """(indices, values) of the reached rows of a row-sparse parameter's gradient: a sparse gradient's rows, or a
    dense one's rows that are not all zero (NaN rows count)."""
    if grad is None:
        return torch.empty(0, dtype=torch.long, device=param.device), param.new_empty(0, *param.shape[1:])
    if grad.is_sparse:  # the lookups' rows (repeats summed); a looked-up row may be all zero, which changes nothing
        grad = grad.coalesce()
        return grad.indices()[0], grad.values()
    rows = grad.reshape(grad.shape[0], -1).any(dim=1).nonzero().squeeze(1)
    return rows, grad[rows]


def task_jacobian(losses: dict[str, torch.Tensor], own: dict[str, list[torch.nn.Parameter]], slot: JacobianSlot,
                  ranks: Ranks | None = None) -> list[torch.Tensor]:
    """J's blocks, (tasks x columns) each: one backward per task through that task's graph only, its gradient on the
    shared parameters copied into J (zeros where it does not reach), its `own` parameters' gradient into .grad. Under
    several ranks the row-sparse blocks keep the rows any rank reached, so every rank's J has the same columns."""
    n_tasks, shared = len(losses), slot.dense + slot.sparse
    rows: list[list[torch.Tensor | None]] = []
    reached: list[list[tuple[torch.Tensor, torch.Tensor]]] = [[] for _ in slot.sparse]
    slot.reached = [False] * len(slot.dense)
    for task, loss in losses.items():
        grads = torch.autograd.grad(loss, shared + own[task], allow_unused=True)
        slot.reached = [r or g is not None for r, g in zip(slot.reached, grads)]
        rows.append(list(grads[:len(slot.dense)]))  # kept as autograd returned them: no copy into J
        for k, (p, g) in enumerate(zip(slot.sparse, grads[len(slot.dense):len(shared)])):
            reached[k].append(_reached_rows(g, p))
        for p, g in zip(own[task], grads[len(shared):]):
            if g is not None:
                p.grad = g if p.grad is None else p.grad + g
    blocks: list = [RowBlock(rows, [p.numel() for p in slot.dense])]
    offset = 0
    for k, p in enumerate(slot.sparse):
        mask = torch.zeros(p.shape[0], dtype=torch.uint8, device=p.device)
        for rows, _ in reached[k]:
            mask[rows] = 1
        if ranks is not None and ranks.enabled:
            ranks.any_(mask)
        rows = mask.nonzero().squeeze(1)
        width = rows.numel() * (p.numel() // p.shape[0])
        block = slot.J[offset:offset + n_tasks * width].view(n_tasks, rows.numel(), *p.shape[1:])
        block.zero_()
        for i, (task_rows, values) in enumerate(reached[k]):
            block[i, torch.searchsorted(rows, task_rows)] = values
        blocks.append(block.view(n_tasks, width))
        slot.rows[k] = rows
        offset += n_tasks * width
    return blocks


def direction_buffer(slot: JacobianSlot, blocks: list[torch.Tensor]) -> torch.Tensor:
    """Where the direction over `blocks`' columns is written."""
    return slot.out[:sum(b.shape[1] for b in blocks)]


def write_direction(slot: JacobianSlot, direction: torch.Tensor) -> None:
    """The direction into .grad: views of it for the dense parameters (None for one no task reached, as a plain
    backward leaves it: the optimizer then neither decays it nor moves its moments); for a row-sparse one, its reached
    rows into a dense gradient whose rows from the last step are zeroed first (every other row is already zero)."""
    offset = 0
    for p, reached in zip(slot.dense, slot.reached):
        p.grad = direction[offset:offset + p.numel()].view_as(p).to(p.dtype) if reached else None
        offset += p.numel()
    for k, (p, grad) in enumerate(zip(slot.sparse, slot.sparse_grads)):
        rows = slot.rows[k]
        width = rows.numel() * (p.numel() // p.shape[0])
        grad.write(rows, direction[offset:offset + width].view(rows.numel(), *p.shape[1:]))
        offset += width
