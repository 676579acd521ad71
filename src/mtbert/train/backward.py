"""The backward pass of a training step: the plain summed backward, or per-task gradients on the shared parameters
written straight into one reused (tasks x parameters) buffer J that the gradient method combines.

Each task has its own forward pass, so its backward walks only its own graph: the per-task passes together cost what
the summed backward costs, and what a method adds is one copy of each task's gradient into J, the Gramian J J^T and
the weighted sum of J's rows (three passes over J, no allocation after the first step).
"""

from __future__ import annotations

import torch

from mtbert.model.multitask import MultitaskModel
from mtbert.train.distributed import Ranks
from mtbert.train.surgery import GradientMethod, TaskGradients, gramian_cosines


class GradientBuffers:
    """J and the direction, allocated once per set of shared parameters and reused every step."""

    def __init__(self) -> None:
        self._made: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}

    def get(self, params: list[torch.nn.Parameter], n_tasks: int) -> tuple[torch.Tensor, torch.Tensor]:
        key = (tuple(id(p) for p in params), n_tasks)
        if key not in self._made:
            n = sum(p.numel() for p in params)
            device = params[0].device
            self._made[key] = (torch.empty(n_tasks, n, device=device), torch.empty(n, device=device))
        return self._made[key]


def task_jacobian(model: MultitaskModel, losses: dict[str, torch.Tensor], shared: list[torch.nn.Parameter],
                  J: torch.Tensor) -> None:
    """Row i of J: task i's gradient on `shared` (zeros where it does not reach); each task's own head parameters get
    their gradient in .grad. One backward per task, through that task's graph only."""
    shared_ids = {id(p) for p in shared}
    for row, (task, loss) in zip(J, losses.items()):
        own = [p for p in model.heads[task].parameters() if p.requires_grad and id(p) not in shared_ids]
        grads = torch.autograd.grad(loss, shared + own, allow_unused=True)
        torch.cat([g.reshape(-1) if g is not None else p.new_zeros(p.numel())
                   for p, g in zip(shared, grads[:len(shared)])], out=row)
        for p, g in zip(own, grads[len(shared):]):
            if g is not None:
                p.grad = g if p.grad is None else p.grad + g


def forms_jacobian(model: MultitaskModel, tasks: list[str], method: GradientMethod, jacobian: bool) -> bool:
    """Whether a step's backward forms J: several tasks reach shared parameters and the method (or a measurement)
    needs their gradients apart."""
    return len(tasks) > 1 and bool(model.shared_parameters(tasks)) and (method.name != "sum" or jacobian)


def backward(model: MultitaskModel, losses: dict[str, torch.Tensor], method: GradientMethod, jacobian: bool,
             buffers: GradientBuffers | None = None, ranks: Ranks | None = None) -> torch.Tensor | None:
    """Gradients into .grad. With `jacobian` (or any method but sum on a several-task step), per-task gradients on every
    parameter several of the step's tasks reach (encoder, shared head trunks) form J and the method combines them;
    parameters only one task reaches get that task's gradient. Returns the task-gradient cosine matrix when J was formed."""
    tasks = list(losses)
    if not forms_jacobian(model, tasks, method, jacobian):
        sum(losses.values()).backward()  # under DDP, its hooks average these across ranks
        return None
    shared = model.shared_parameters(tasks)
    J, out = (buffers or GradientBuffers()).get(shared, len(tasks))
    task_jacobian(model, losses, shared, J)
    if ranks is not None and ranks.enabled:  # every rank combines the whole batch's task gradients
        ranks.average_(J)
        for p in model.head_parameters(tasks):
            if p.grad is not None:
                ranks.average_(p.grad)
    grads = TaskGradients(J, tasks, out)
    if ranks is not None and ranks.enabled:
        with torch.random.fork_rng(devices=[]):  # methods that draw (PCGrad's order) draw the same on every rank
            ranks.same_rng_()
            direction = method.combine(grads)
    else:
        direction = method.combine(grads)
    offset = 0
    for p in shared:
        n = p.numel()
        p.grad = direction[offset:offset + n].view_as(p).to(p.dtype)
        offset += n
    return gramian_cosines(grads.gramian())
