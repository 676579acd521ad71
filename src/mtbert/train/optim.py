"""Optimizers: one AdamW for everything, or one per task head plus one for the shared encoder (the "hybrid" 3+1
set-up), each with linear warm-up then linear decay or a constant rate."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class OptimizerSet:
    """Named optimizers and their schedulers: "encoder" and/or one per task ("all" when there is a single one)."""

    optimizers: dict[str, torch.optim.Optimizer]
    schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler]

    def zero_grad(self) -> None:
        for opt in self.optimizers.values():
            opt.zero_grad(set_to_none=True)

    def state_dict(self) -> dict:
        return {name: {"optimizer": opt.state_dict(), "scheduler": self.schedulers[name].state_dict()}
                for name, opt in self.optimizers.items()}

    def load_state_dict(self, state: dict) -> None:
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state[name]["optimizer"])
            self.schedulers[name].load_state_dict(state[name]["scheduler"])

    def step(self, tasks: list[str]) -> None:
        """Step the optimizers of the tasks in this step, and the encoder's (or the single one)."""
        for name in self._taking_part(tasks):
            self.optimizers[name].step()
            self.schedulers[name].step()

    def skip(self, tasks: list[str]) -> None:
        """A step left out (non-finite): no update, but the learning-rate schedules move on as if it were taken, so the
        decay still ends at 0 on the last step."""
        for name in self._taking_part(tasks):
            self.schedulers[name].step()

    def _taking_part(self, tasks: list[str]) -> list[str]:
        return [name for name in self.optimizers if name in ("all", "encoder") or name in tasks]


def make_adamw(params, fused: bool = True, **options) -> torch.optim.AdamW:
    """torch's AdamW; with `fused`, its one-kernel form where this torch has it for the parameters' device (CPU and
    CUDA in torch >= 2.4), since the per-tensor loop costs a whole MiniLM step about 15% on CPU."""
    params = list(params)
    if fused:
        try:
            return torch.optim.AdamW(params, fused=True, **options)
        except (RuntimeError, TypeError):  # no fused kernel for this device or dtype in this torch
            pass
    return torch.optim.AdamW(params, **options)


def decay_groups(module: nn.Module, lr: float, weight_decay: float) -> list[dict]:
    """No weight decay on biases and LayerNorm weights (1-d parameters)."""
    return _split_decay([p for p in module.parameters() if p.requires_grad], lr, weight_decay)


def _split_decay(params: list[nn.Parameter], lr: float, weight_decay: float) -> list[dict]:
    return [g for g in ({"params": [p for p in params if p.ndim > 1], "lr": lr, "weight_decay": weight_decay},
                        {"params": [p for p in params if p.ndim <= 1], "lr": lr, "weight_decay": 0.0}) if g["params"]]


def layer_depth(name: str, layers: int) -> int:
    """How far up the encoder a parameter sits: embeddings 0, transformer layer i at i + 1, the pooler at layers + 1."""
    if name.startswith("embeddings."):
        return 0
    if name.startswith("encoder.layer."):
        return int(name.split(".")[2]) + 1
    return layers + 1


def encoder_groups(encoder: nn.Module, lr: float, weight_decay: float, layer_decay: float = 1.0,
                   layers: int | None = None) -> list[dict]:
    """The encoder's parameter groups; with `layer_decay` < 1 each layer's rate is lr * layer_decay ** (its distance
    from the top), so the lower layers, which hold the most general features, move least (Howard & Ruder; Clark et
    al.'s ELECTRA). `layers`: the whole encoder's depth when its top layers moved into per-task copies."""
    if layer_decay == 1.0:
        return decay_groups(encoder, lr, weight_decay)
    layers = layers or len(encoder.encoder.layer)
    by_depth: dict[int, list[nn.Parameter]] = {}
    for name, p in encoder.named_parameters():
        if p.requires_grad:
            by_depth.setdefault(layer_depth(name, layers), []).append(p)
    return [g for d in sorted(by_depth) for g in _split_decay(by_depth[d], lr * layer_decay ** (layers + 1 - d), weight_decay)]


def task_layer_groups(stack: nn.ModuleList, lr: float, weight_decay: float, layer_decay: float = 1.0) -> list[dict]:
    """A task's copies of the encoder's top layers, each at the rate of the layer it copies (see `encoder_groups`: the
    top layer at lr * layer_decay, the pooler above it at lr)."""
    return [g for i, layer in enumerate(stack)
            for g in decay_groups(layer, lr * layer_decay ** (len(stack) - i), weight_decay)]


def linear_warmup_decay(optimizer: torch.optim.Optimizer, total_steps: int, warmup_ratio: float,
                        constant: bool = False) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over warmup_ratio of the steps, then linear decay to 0 (or, `constant`, no decay)."""
    warmup = max(1, int(warmup_ratio * total_steps))

    def factor(step: int) -> float:
        if constant and step >= warmup:
            return 1.0
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def build_optimizers(encoder: nn.Module, heads: nn.ModuleDict, *, per_task: bool, encoder_lr: float, encoder_wd: float,
                     head_lr: dict[str, float], head_wd: dict[str, float], total_steps: int, warmup_ratio: float,
                     task_steps: dict[str, int] | None = None, trunks: nn.Module | None = None,
                     lr_schedule: str = "linear", fused: bool = True, layer_decay: float = 1.0,
                     task_layers: nn.ModuleDict | None = None) -> OptimizerSet:
    """Frozen encoders (no trainable parameters) get no optimizer; heads without parameters neither.

    `task_steps` counts the steps each task takes part in, so a per-task schedule decays over that task's own steps.
    `trunks` (head layers several tasks share) train at the mean head lr with the encoder's optimizer, which steps
    every step; a step without their tasks leaves them untouched (their grads are None). `fused`: one kernel per step
    for all parameters, where torch has one for their device. `layer_decay`: see `encoder_groups`. `task_layers`: each
    task's copies of the encoder's top layers, at the encoder's rates, with that task's head (its optimizer when per task).
    """
    def adamw(groups):
        return make_adamw(groups, fused=fused)

    own = task_layers or {}
    depth = len(encoder.encoder.layer) + max((len(s) for s in own.values()), default=0)
    shared = encoder_groups(encoder, encoder_lr, encoder_wd, layer_decay, depth)
    if trunks is not None:
        shared += decay_groups(trunks, sum(head_lr.values()) / len(head_lr), sum(head_wd.values()) / len(head_wd))
    head_groups = {t: decay_groups(h, head_lr[t], head_wd[t]) for t, h in heads.items()}
    for t, stack in own.items():
        head_groups[t] = task_layer_groups(stack, encoder_lr, encoder_wd, layer_decay) + head_groups.get(t, [])
    if not per_task:
        groups = shared + [g for gs in head_groups.values() for g in gs]
        named = {"all": adamw(groups)} if groups else {}
        steps = {"all": total_steps}
    else:
        named = {"encoder": adamw(shared)} if shared else {}
        named.update({t: adamw(gs) for t, gs in head_groups.items() if gs})
        steps = {name: (task_steps or {}).get(name, total_steps) for name in named}
    constant = {"linear": False, "constant": True}[lr_schedule]
    return OptimizerSet(named, {n: linear_warmup_decay(o, max(1, steps[n]), warmup_ratio, constant) for n, o in named.items()})
