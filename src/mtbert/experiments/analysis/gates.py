"""Whether a comparison can answer at all, before any verdict: each compared arm must clear its floor (every component
of an overall too), have levelled off (not still rising at its last dev evaluation, not stopped by its cap, above the floor somewhere), not be a
fine-tuned arm below the frozen checkpoint on a task the checkpoint was already trained for, and the manipulation must
measurably do something. Each failing gate is one line naming the arm, the metric and the numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from mtbert.eval.confidence import t_interval
from mtbert.experiments.analysis.floors import floor

# An arm is still rising when its runs rose by more than this on average over their own last evaluations.
STILL_RISING = 0.01
# Two arms whose every metric agrees to this on every seed ran the same computation: the manipulation did nothing.
SAME_RUN = 1e-6
# A manipulation whose own size is below this fraction of the loss it joins is inert (e.g. a regulariser's term).
INERT_FRACTION = 1e-3
COMPONENTS = {"overall": ("sst_acc", "quora_acc", "sts_pearson")}
# Checkpoints already trained for some of the compared tasks: a fine-tuned arm below the untouched checkpoint's probe
# (reference.json) on such a task measures what fine-tuning destroyed, not what the compared technique adds.
TRAINED_FOR = {
    "sentence-transformers/all-MiniLM-L6-v2": {
        "quora_acc": "its training pairs include Quora duplicate questions",
        "sts_pearson": "it was trained for sentence similarity (cosine of mean-pooled embeddings)",
    },
}
# What would lift each gate (claims.md's summary says it beside the claims each stopped): not every gate lifts with a
# longer budget, and the `gpu` profile offline runs the same checkpoint.
LIFT = {
    "below floor": "an arm that learns the task at its budget (a longer one, another learning rate)",
    "undertrained": "a longer budget: a larger cap at `cpu`, or the `gpu` profile (the reports' own epochs)",
    "report's budget elsewhere": "running the profile with the report's budget (`make tables PROFILE=gpu`)",
    "encoder confound": "another checkpoint (online: `bert-base-uncased`); the `gpu` profile offline uses the same",
    "inert": "a manipulation that measurably changes the run (another weight or reading of it)",
    "set-up changed": "rerunning the study at its current params (`make tables`)",
}
# A param a comparison varies -> the diagnostics key where each run records that manipulation's size relative to the
# loss it joins (mean over steps); runs that do not record it are not judged on size.
MANIPULATION_SIZE = {"train.smart.weight": "smart/relative_size"}


@dataclass
class Arm:
    """One compared arm on one split, over the seeds the comparison reads."""

    name: str
    split: str
    means: dict[str, float]  # metric -> mean over the seeds read
    curves: dict[str, np.ndarray] = field(default_factory=dict)  # metric -> mean dev curve over seeds
    fine_tuned: bool = False
    checkpoint: str | None = None
    params: dict = field(default_factory=dict)
    diagnostics: dict[str, float] = field(default_factory=dict)  # mean over seeds
    # metric -> mean over seeds of each run's gain over its own last dev evaluation (runs of a plateau rule end at
    # different epochs, so the mean curve's last step is not every run's); absent: read off the mean curve
    last_gains: dict[str, float] = field(default_factory=dict)
    capped: tuple[int, int] = (0, 0)  # runs that reached their cap, of those trained under a plateau rule
    values: dict[str, list[float]] = field(default_factory=dict)  # metric -> its value on each seed read


def metrics_of(metric: str, than: str | None = None) -> tuple[str, ...]:
    """The metrics a part rests on: the compared one, an overall's components, and a `than` metric."""
    out = [metric, *COMPONENTS.get(metric, ())]
    if than:
        out += [than, *COMPONENTS.get(than, ())]
    return tuple(dict.fromkeys(out))


def below_floor(arm: Arm, metrics: tuple[str, ...], majority: dict) -> list[str]:
    low = []
    for m in metrics:
        f, value = floor(m, arm.split, majority), arm.means.get(m)
        if f is not None and value is not None and not (value >= f):
            low.append(f"{m} {value:.4f} < {f:.4f}")
    return [f"below floor: {arm.name} ({arm.split}) {', '.join(low)}"] if low else []


def undertrained(arm: Arm, metrics: tuple[str, ...], majority: dict, fixed_budget: bool = False) -> list[str]:
    """Still rising by more than STILL_RISING at the end, stopped by its cap rather than its plateau rule on half its
    runs or more, never above the floor over its whole curve, or one dev evaluation (no plateau shown)."""
    flat, rising, single = [], [], False
    for m in metrics:
        curve = arm.curves.get(m)
        if curve is None:
            continue
        f = floor(m, "dev", majority)
        if len(curve) >= 2 and f is not None and np.all(curve < f):
            flat.append(f"{m} ({curve[0]:.4f}…{curve[-1]:.4f} < {f:.4f})")
        elif fixed_budget:
            continue
        elif len(curve) < 2:
            single = True
        elif arm.last_gains.get(m, curve[-1] - curve[-2]) > STILL_RISING:
            rising.append(f"{m} ({arm.last_gains.get(m, curve[-1] - curve[-2]):+.4f})")
    capped, ruled = arm.capped
    at_cap = [] if fixed_budget or not ruled or 2 * capped < ruled else [
        f"reached its cap before levelling off on {capped} of its {ruled} runs under a plateau rule"]
    said = ([f"still rising over its last dev evaluation on {', '.join(rising)}"] if rising else []) + at_cap + (
        [f"never above the floor on {', '.join(flat)}"] if flat else []) + (
        ["one dev evaluation, no plateau shown"] if single else [])
    return [f"undertrained: {arm.name} " + "; ".join(said)] if said else []


def _upper(values: list[float]) -> float:
    """The upper end of the 95% t interval of the values' mean (the one value, for one)."""
    mean, _, high = t_interval(values)
    return mean if len(values) < 2 else high


def budget_elsewhere(arm: Arm, profiles: list[str]) -> list[str]:
    """The claim is about a budget the report states, which only `profiles` run: this profile's runs of the arm have
    another budget, so no plateau can stand in for it."""
    return [f"report's budget elsewhere: {arm.name} runs the budget the claim is about only at profile "
            f"{', '.join(profiles)}"]


def encoder_confound(arm: Arm, metrics: tuple[str, ...], probe: dict, probe_checkpoint: str | None) -> list[str]:
    """A fine-tuned arm credibly below the frozen probe of its own checkpoint on a task that checkpoint was trained
    for (why: TRAINED_FOR): the 95% interval of its mean over the seeds read lies below the probe, so that an arm
    within noise of the probe is not gated by chance."""
    trained = TRAINED_FOR.get(arm.checkpoint or "", {})
    if not arm.fine_tuned or not trained or arm.checkpoint != probe_checkpoint:
        return []
    under = []
    for m in metrics:
        ref, value = probe.get(arm.split, {}).get(m), arm.means.get(m)
        if m in trained and ref is not None and value is not None and _upper(arm.values.get(m, [value])) < ref:
            under.append(f"{m} {value:.4f} < {ref:.4f}")
    return [f"encoder confound: {arm.name} (fine-tuned, {arm.split}) below the frozen probe on {', '.join(under)} "
            f"(95% interval over seeds)"] if under else []


def inert(a: Arm, b: Arm, per_seed_a: list[dict[str, float]], per_seed_b: list[dict[str, float]]) -> list[str]:
    """The arms ran the same computation (every metric equal to SAME_RUN on every seed), or the manipulation's
    recorded size is below INERT_FRACTION of the loss it joins."""
    if a.name == b.name:
        return []
    out = []
    shared = [m for m in (per_seed_a[0] if per_seed_a else {})
              if all(isinstance(r.get(m), (int, float)) for r in per_seed_a + per_seed_b)]
    if per_seed_a and shared and all(abs(x[m] - y[m]) <= SAME_RUN for x, y in zip(per_seed_a, per_seed_b)
                                     for m in shared):
        out.append(f"inert: {a.name} and {b.name} agree to {SAME_RUN:g} on every metric of every seed")
    for param, key in MANIPULATION_SIZE.items():
        for arm, other in ((a, b), (b, a)):
            size = arm.diagnostics.get(key)
            if arm.params.get(param) != other.params.get(param) and arm.params.get(param) and size is not None \
                    and not math.isnan(size) and size < INERT_FRACTION:
                out.append(f"inert: in {arm.name} the `{param}` term is {size:.1e} of the loss it joins "
                           f"(< {INERT_FRACTION:g})")
    return out
