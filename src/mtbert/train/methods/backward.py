"""The backward pass of a training step: the plain summed backward, or per-task gradients on the shared parameters
written into J (train/methods/jacobian.py) for the gradient method to combine.

Each task has its own forward pass, so its backward walks only its own graph: the per-task passes together cost what
the summed backward costs, and what a method adds is one copy of each task's gradient into J, the Gramian J J^T and
the weighted sum of J's rows (three passes over J, no allocation after the first step). Where the step's forward ran
under `model.sparse_row_gradients()`, the word embeddings' per-task gradients arrive as their looked-up rows only,
which saves each task the vocabulary-sized zero gradient a dense lookup backward fills; the summed backward's sparse
gradient goes into a dense one kept between steps (`sparse_lookups` says when the loop looks up this way).
"""

from __future__ import annotations

import torch

from mtbert.model.multitask import MultitaskModel
from mtbert.train.distributed import Ranks
from mtbert.train.methods.combine import GradientMethod, RowBlock, TaskGradients, gramian_cosines
from mtbert.train.methods.jacobian import GradientBuffers, direction_buffer, task_jacobian, write_direction

__all__ = ["GradientBuffers", "backward", "forms_jacobian", "sparse_lookups"]


def forms_jacobian(model: MultitaskModel, tasks: list[str], method: GradientMethod, jacobian: bool) -> bool:
    """Whether a step's backward forms J: several tasks reach shared parameters and the method (or a measurement)
    needs their gradients apart."""
    return len(tasks) > 1 and bool(model.shared_parameters(tasks)) and (method.needs_task_gradients or jacobian)


def sparse_lookups(compiled: bool, data_parallel: bool, forms_j: bool) -> bool:
    """Whether a step's word-embedding lookups give row-sparse gradients: not under torch.compile (its graphs expect
    the dense lookup), nor where DDP reduces the summed gradient (its buckets hold dense tensors)."""
    return not compiled and (forms_j or not data_parallel)


def backward(model: MultitaskModel, losses: dict[str, torch.Tensor], method: GradientMethod, jacobian: bool,
             buffers: GradientBuffers | None = None, ranks: Ranks | None = None, draw_seed: int = 0) -> torch.Tensor | None:
    """Gradients into .grad. With `jacobian` (or any method but sum on a several-task step), per-task gradients on every
    parameter several of the step's tasks reach (encoder, shared head trunks) form J and the method combines them;
    parameters only one task reaches get that task's gradient, and parameters no task reaches keep no gradient, as the
    plain backward leaves them. A method that draws (PCGrad's order) draws from `draw_seed`, alike on every rank.
    Returns the task-gradient cosine matrix when J was formed."""
    tasks = list(losses)
    buffers = buffers or GradientBuffers()
    if not forms_jacobian(model, tasks, method, jacobian):
        sum(losses.values()).backward()  # under DDP, its hooks average these across ranks
        buffers.densify(model.row_sparse_parameters())
        return None
    shared = model.shared_parameters(tasks)
    shared_ids = {id(p) for p in shared}
    sparse = [p for p in model.row_sparse_parameters() if id(p) in shared_ids]
    own = {t: [p for p in model.task_parameters(t) if id(p) not in shared_ids] for t in tasks}
    slot = buffers.get(shared, sparse, len(tasks))
    blocks = task_jacobian(losses, own, slot, ranks)
    if ranks is not None and ranks.enabled:  # every rank combines the whole batch's task gradients
        for block in blocks:
            for tensor in (g for row in block.rows for g in row if g is not None) if isinstance(block, RowBlock) \
                    else [block]:
                ranks.average_(tensor)
        for p in model.head_parameters(tasks):
            if p.grad is not None:
                ranks.average_(p.grad)
    grads = TaskGradients(blocks, tasks, direction_buffer(slot, blocks))
    with torch.random.fork_rng(devices=[]):  # the method's draws leave every other stream alone
        torch.manual_seed(draw_seed)
        direction = method.combine(grads)
    write_direction(slot, direction)
    return gramian_cosines(grads.gramian())
