"""The setup differences a table page lists, generated: each setup field of reports/published.yaml that names one of
our params, the report's value beside the value our runs used (the profile, the study's budget and the row's
variant), wherever the two differ."""

from __future__ import annotations

from typing import Any

from mtbert.tables.published import Published
from mtbert.tables.spec import TableStudy

# published setup field -> our params key (fields in free text, e.g. a head's description, are not compared)
FIELDS = {
    "lr": "train.lr", "batch_size": "train.batch_size", "epochs": "train.epochs", "dropout": "model.head_dropout",
    "mode": "train.mode", "method": "train.method", "pooling": "model.pooling", "schedule": "train.schedule",
    "smart_weight": "train.smart.weight", "task_order": "train.task_order", "model": "model.checkpoint",
}


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
    if key == "train.epochs":
        kind = params.get("train.epoch")
        if kind == "steps":
            return f"{params.get('train.epochs')} × {params.get('train.steps_per_epoch')} steps"
        return f"{params.get('train.epochs')} {kind} epochs"
    return str(params.get(key))


def differences(published: Published, study: TableStudy, profile: str, base: dict[str, Any],
                source: TableStudy | None = None) -> list[str]:
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
            if key is None or key not in params or _same(value, params[key]):
                continue
            found.setdefault((field, str(value)), {}).setdefault(_shown(key, params), []).append(name)
    lines = []
    n = len(compared)
    for (field, value), ours in found.items():
        parts = [f"{shown}" + ("" if len(names) == n else f" ({', '.join(names)})") for shown, names in ours.items()]
        lines.append(f"{field} (`{FIELDS[field]}`): report {value}; ours " + "; ".join(parts))
    return lines
