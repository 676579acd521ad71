"""The pilot before a profile's full run: the lowest seed of one variant of each kind of arm (the params that set what
a run costs), run first and into the profile's own stores, so that their times project the whole profile's wall time
before it is committed to (and count towards it) and weight the runner's estimate of the hours left."""

from __future__ import annotations

from dataclasses import dataclass, replace

from mtbert.experiments import store
from mtbert.experiments.provenance import budget_id, is_current
from mtbert.experiments.study import Run, Study, profile_base

# What sets a run's cost: how much it trains and evaluates, which stages run before it, and the terms its steps add.
COST_KEYS = ("train.mode", "train.method", "train.schedule", "train.epochs", "train.epoch", "train.steps_per_epoch",
             "train.tasks", "pretrain_mlm.enabled", "pretrain_heads.enabled", "augment.enabled", "model.heads.sst",
             "evaluate.splits")
TERMS = ("train.smart.weight", "train.simcse.weight")  # on or off


def kind_of(overrides: dict) -> tuple:
    """A run's kind: its cost params, and which regularizer terms it adds."""
    return tuple(str(overrides.get(k)) for k in COST_KEYS) + tuple(bool(overrides.get(t)) for t in TERMS)


@dataclass
class Kind:
    """Every distinct run of one kind at a profile (a run two studies share counted once), the first its pilot."""

    runs: list[Run]

    @property
    def pilot(self) -> Run:
        return self.runs[0]


def kinds(studies: dict[str, Study], profile: str) -> list[Kind]:
    """The profile's runs by kind, in study order; of runs with the same params (two studies' shared arm), the first."""
    base, seen, out = profile_base(profile), set(), {}
    for study in studies.values():
        seeded = sorted(study.runs(), key=lambda vs: (vs[1] is not None, vs[1] or 0))  # lowest seed first
        for variant, seed in seeded:
            overrides = study.overrides(profile, variant, seed, base)
            if (key := budget_id(overrides)) in seen:
                continue
            seen.add(key)
            out.setdefault(kind_of(overrides), []).append(Run(study, profile, variant, seed, overrides))
    return [Kind(runs) for runs in out.values()]


def measured(run: Run, code: str) -> dict | None:
    """The run's current record, if it has one."""
    record = store.load(run.study, run.profile).get(run.key)
    return record if is_current(record, code, run.overrides) else None


def at_cap(seconds: float, stopped: dict | None) -> float:
    """What a run that stopped early would have taken at its cap (its time scaled by cap over epochs run)."""
    if not stopped or not stopped.get("epoch") or not stopped.get("cap"):
        return seconds
    return seconds * max(stopped["cap"], stopped["epoch"]) / stopped["epoch"]


def pilot_records(groups: list[Kind], code: str) -> list[dict]:
    """The pilot runs' current records (those made so far)."""
    return [r for g in groups if (r := measured(g.pilot, code)) is not None]


def projection(groups: list[Kind], code: str, workers: int) -> tuple[list[dict], tuple[float, float] | None]:
    """Per kind: its runs, its pilot's wall seconds and what all its runs would take, as the pilot stopped and all at
    the cap; and the profile's projected wall hours both ways at `workers` runs at once (None until every pilot ran)."""
    rows = []
    for g in groups:
        record = measured(g.pilot, code)
        seconds = record.get("wall_seconds") if record else None
        stopped = (record or {}).get("stopped")
        rows.append({"pilot": g.pilot.name, "runs": len(g.runs), "seconds": seconds, "stopped": stopped,
                     "hours": None if seconds is None else seconds * len(g.runs) / 3600,
                     "cap_hours": None if seconds is None else at_cap(seconds, stopped) * len(g.runs) / 3600})
    if any(r["hours"] is None for r in rows):
        return rows, None
    return rows, (sum(r["hours"] for r in rows) / workers, sum(r["cap_hours"] for r in rows) / workers)


def with_expected(todo: list[Run], groups: list[Kind], code: str) -> list[Run]:
    """The runs, each with the wall seconds its kind's pilot took (where the pilot has a record at this code)."""
    seconds = {}
    for g in groups:
        if (record := measured(g.pilot, code)) is not None:
            seconds |= {budget_id(run.overrides): record.get("wall_seconds") for run in g.runs}
    return [replace(r, expected=seconds.get(budget_id(r.overrides))) for r in todo]


def kind_seconds(group: Kind, code: str) -> float | None:
    """A run's wall seconds in this kind: the mean over its runs made at this code so far (None until its pilot ran),
    so that the machine's drift, and a pilot that ran unusually fast, weigh less as the kind's runs come in."""
    if measured(group.pilot, code) is None:
        return None
    done = [r["wall_seconds"] for run in group.runs if (r := measured(run, code)) and r.get("wall_seconds")]
    return sum(done) / len(done) if done else None


def remaining(groups: list[Kind], code: str, workers: int) -> dict:
    """The runs still to make at this code, how many of them replace an older record, and the wall hours they would
    take at `workers` runs at once by their kinds' runs so far (`kind_seconds`; None until every pilot ran)."""
    left = [(seconds, run) for g in groups for seconds in [kind_seconds(g, code)]
            for run in g.runs if measured(run, code) is None]
    older = sum(run.key in store.load(run.study, run.profile) for _, run in left)
    hours = None if any(t is None for t, _ in left) else sum(t for t, _ in left) / workers / 3600
    return {"runs": len(left), "older": older, "hours": hours, "workers": workers}


def render(rows: list[dict], total: tuple[float, float] | None, profile: str, workers: int) -> str:
    """The pilot's page: each kind's pilot, how it stopped and what its runs would take."""
    lines = [f"# Pilot of the `{profile}` table profile", "",
             "One run (the lowest seed of the first variant) of each kind of arm, run before the full profile and kept "
             "as part of it. A kind is the runs that share the params we take to set a run's cost (`COST_KEYS` in "
             "`experiments/pilot.py`: mode, method, schedule, epochs and steps, tasks, pretraining, augmentation, SST "
             "head, splits scored, SMART/SimCSE on or off); learning rate, optimizers and pooling are not among them, "
             "and they change where a plateau rule stops a run, so a kind's runs may stop earlier or later than its "
             "pilot. A kind's projected worker-hours are its pilot's wall time times its runs; the cap's, as if every "
             "run of the kind trained to its cap (the pilot's time scaled by cap / epochs run: an estimate, not a "
             "bound on time). Stages outside the runs (prepare, reference) and the seed plan's second look are not "
             "counted. `stopped`: the epoch the run ended at and why (its plateau rule, or the cap); *still improving*: "
             "its last dev evaluation beat its best before by more than the plateau rule's min_delta (not the claims' "
             "*undertrained* gate, which asks for a rise of 0.01 on average).", "",
             "| pilot run | runs of its kind | pilot wall (min) | stopped | projected (worker-h) | at the cap (worker-h) |",
             "|---|---:|---:|---|---:|---:|"]
    for r in rows:
        s = r["stopped"]
        how = "–" if not s else f"epoch {s['epoch']} of {s['cap']}, by {s['by']}" + (
            ", still improving" if s.get("still_rising") else "")
        cells = [r["pilot"], str(r["runs"]), "–" if r["seconds"] is None else f"{r['seconds'] / 60:.1f}", how,
                 *("–" if r[k] is None else f"{r[k]:.2f}" for k in ("hours", "cap_hours"))]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", (f"**Projected: {total[1]:.1f} h wall if every run trained to its cap**, {total[0]:.1f} h as the "
                   f"pilots stopped, at {workers} runs at once; before the seed plan's second look." if total is not None
                   else "Projection pending: not every pilot has run yet."), ""]
    return "\n".join(lines)
