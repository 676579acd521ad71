"""The setup differences a table page lists, generated: each setup field of reports/published.yaml that names one of
our params, the report's value beside the value our runs used (the profile, the study's budget and the row's
variant), wherever the two differ."""

from __future__ import annotations

from typing import Any

from mtbert.experiments.published import Published
from mtbert.experiments.study import Study

# published setup field -> our params key (fields in free text, e.g. a head's description, are not compared)
FIELDS = {
    "lr": "train.lr", "batch_size": "train.batch_size", "epochs": "train.epochs", "dropout": "model.head_dropout",
    "mode": "train.mode", "method": "train.method", "pooling": "model.pooling", "schedule": "train.schedule",
    "smart_weight": "train.smart.weight", "task_order": "train.task_order", "model": "model.checkpoint",
    "epoch": "train.epoch", "weight_decay": "train.weight_decay", "max_length": "model.max_length",
    "head_lr": "train.head_lr", "smart_perturbation": "train.smart.sigma",
}
# Fields whose report text we never match word for word: ours is always listed beside it (where it applies).
ALWAYS_DIFFERENT = {"smart_perturbation"}


def _same(published: Any, ours: Any) -> bool:
    """Numbers equal, or our value named in the report's words ("round_robin" in "round robin over single-task
    batches", "cls" in "cls (pooler)"); a checkpoint by its family (bert-base)."""
    if isinstance(published, bool) or isinstance(ours, bool):
        return published == ours
    if isinstance(published, (int, float)) and isinstance(ours, (int, float)):
        return abs(float(published) - float(ours)) <= 1e-12 * max(1.0, abs(float(published)))
    if isinstance(published, str) and isinstance(ours, str):
        text, mine = published.lower(), ours.lower()
        if "bert-base" in text:
            return "bert-base" in mine
        return mine.replace("_", " ") in text or mine in text
    return published == ours


def _shown(key: str, params: dict[str, Any]) -> str:
    if key == "train.epoch":
        kind, rows = params.get("train.epoch"), params.get("train.max_train_examples")
        sample = f" of a {rows}-row sample (`train.max_train_examples`)" if rows else ""
        return {"steps": f"{params.get('train.steps_per_epoch')} steps of every task (`train.epoch: steps`)",
                "one_pass": f"one pass over each task's training set{sample}"}.get(
            kind, f"as many steps as the {kind} task has batches{sample}")
    if key == "train.smart.sigma":
        steps = params.get("train.smart.ascent_steps")
        ascent = (f"{steps} ascent step{'s' if steps != 1 else ''} of {params.get('train.smart.step_size'):g} projected "
                  f"onto the ∞-ball of {params.get('train.smart.epsilon')}") if steps else "no ascent step"
        sigma, variance = params.get("train.smart.sigma"), params.get("train.smart.sigma_is") == "variance"
        read = f"σ² = {sigma:g} (read as a variance)" if variance else f"σ = {sigma:g} (read as a standard deviation)"
        masks = ("each perturbed pass drawing its own dropout masks" if params.get("train.smart.masks") == "fresh"
                 else "dropout masks replayed from the clean pass")
        return f"N(0, σ²) with {read}, {ascent}, {masks}"
    if key == "train.epochs":
        kind = params.get("train.epoch")
        budget = (f"{params.get('train.epochs')} × {params.get('train.steps_per_epoch')} steps" if kind == "steps"
                  else f"{params.get('train.epochs')} {str(kind).replace('_', '-')} epochs")
        if _capped(params):
            return (f"at most {budget}, stopped once dev levels off ({params['train.plateau.patience']} evaluations in "
                    f"a row without a gain above {params.get('train.plateau.min_delta'):g})")
        return budget
    return str(params.get(key))


def _capped(params: dict[str, Any]) -> bool:
    """Whether `train.epochs` is only a cap: the plateau rule can stop the run before it (the earliest stop is after
    patience + 1 evaluations)."""
    patience = params.get("train.plateau.patience") or 0
    return bool(patience) and (params.get("train.epochs") or 0) > patience + 1


def differences(published: Published, study: Study, profile: str, base: dict[str, Any],
                source: Study | None = None) -> list[str]:
    """One line per published setup field where our runs differ from the report: the report's and table's fields and
    each row's own, against each variant's params (`source`: the study whose runs fill the table)."""
    runs = source or study
    report = published.reports[study.report]
    table = published.table(study.report, study.table)
    shared = {**(report.setup or {}), **(table.setup or {})}
    found: dict[tuple[str, str], dict[str, list[str]]] = {}
    # the published rows' runs (a comparison run of ours, row None, says what it is in its own `about`)
    compared = {name: v for name, v in runs.all_variants().items()
                if v.row is not None and table.has_row(v.row)}
    for name, v in compared.items():
        row = table.row(v.row).setup
        params = runs.overrides(profile, name, runs.seeds_of(name)[0], base)
        for field, value in {**shared, **row}.items():
            key = FIELDS.get(field)
            if key is None or key not in params:
                continue
            if key.startswith("train.smart.") and key != "train.smart.weight" and not params.get("train.smart.weight"):
                continue  # SMART's settings matter only where it is on
            if field not in ALWAYS_DIFFERENT and not (key == "train.epochs" and _capped(params)) \
                    and _same(value, params[key]):
                continue
            if key == "train.epoch" and params[key] == "one_pass" and "pass" in str(value).lower() \
                    and not params.get("train.max_train_examples"):
                continue
            found.setdefault((field, str(value)), {}).setdefault(_shown(key, params), []).append(name)
    lines = []
    n = len(compared)
    for (field, value), ours in found.items():
        parts = [f"{shown}" + ("" if len(names) == n else f" ({', '.join(names)})") for shown, names in ours.items()]
        lines.append(f"{field} (`{FIELDS[field]}`): report {value}; ours " + "; ".join(parts))
    return lines
