"""Our numbers for a published cell: the runs of the variants that regenerate its row, over seeds."""

from __future__ import annotations

import math
from dataclasses import dataclass

from mtbert.eval.confidence import paired_difference, t_interval
from mtbert.tables.published import METRIC_COLUMNS, Table
from mtbert.tables.spec import TableStudy, Variant


@dataclass
class Cell:
    """A metric over the seeds a variant ran: mean, 95% t interval (NaN with one seed), seeds, and the seeds whose
    run diverged (they count as NaN: no metric)."""

    mean: float
    low: float
    high: float
    n: int
    diverged: int = 0

    def text(self) -> str:
        if self.n == 0:
            return "NaN (diverged)" if self.diverged else "–"
        if math.isnan(self.low):
            return f"{self.mean:.3f} (1 seed)"
        return f"{self.mean:.3f} [{self.low:.3f}, {self.high:.3f}]"


def metric_of_column(variant: Variant, column: str) -> str | None:
    """Which of our metrics fills a published column in this variant's runs."""
    if variant.columns is not None:
        return variant.columns.get(column)
    return METRIC_COLUMNS.get(column)


def seed_values(study: TableStudy, results: dict[str, dict], variant: str, metric: str,
                split: str) -> tuple[dict[int, float], int]:
    """seed -> the metric (ok runs that measured it), and how many of the variant's runs diverged."""
    values, diverged = {}, 0
    for seed in study.seeds:
        r = results.get(f"{variant}@seed{seed}")
        if r is None:
            continue
        if r.get("status") == "diverged":
            diverged += 1
            continue
        value = r.get("metrics", {}).get(split, {}).get(metric)
        if value is not None:
            values[seed] = float(value)
    return values, diverged


def cell(study: TableStudy, results: dict[str, dict], variant: str, metric: str, split: str) -> Cell:
    values, diverged = seed_values(study, results, variant, metric, split)
    if not values:
        return Cell(math.nan, math.nan, math.nan, 0, diverged)
    mean, low, high = t_interval(list(values.values()))
    return Cell(mean, low, high, len(values), diverged)


def paired(study: TableStudy, results: dict[str, dict], a: str, b: str, metric: str,
           split: str) -> tuple[float, float, float, int]:
    """b - a over the seeds both ran: (mean, low, high, n)."""
    va, _ = seed_values(study, results, a, metric, split)
    vb, _ = seed_values(study, results, b, metric, split)
    common = [s for s in va if s in vb]
    if not common:
        return math.nan, math.nan, math.nan, 0
    return (*paired_difference([va[s] for s in common], [vb[s] for s in common]), len(common))


def row_variants(study: TableStudy, table: Table, row: str) -> dict[str, Variant]:
    return {name: v for name, v in study.all_variants().items() if v.row == row}
