"""Our numbers for a published cell: the runs of the variants that regenerate its row, over seeds."""

from __future__ import annotations

import math
from dataclasses import dataclass

from mtbert.eval.confidence import paired_difference, t_interval
from mtbert.experiments.analysis.stats import fisher_interval
from mtbert.experiments.published import METRIC_COLUMNS, Table
from mtbert.experiments.study import Study, Variant, split_key

CORRELATIONS = ("sts_pearson",)  # their intervals over seeds go through Fisher's z: never outside [-1, 1]
STALE_MARK = "†"  # a result from older pipeline code than this commit's, or from params its variant has since changed:
# kept and shown until `make tables` reruns it


def is_stale(record: dict, code: str | None) -> bool:
    return bool(record.get("params_changed")) or (code is not None and record.get("code") != code)


@dataclass
class Cell:
    """A metric over the seeds a variant ran: mean, 95% t interval (NaN with one seed), seeds, the seeds whose run
    diverged (they count as NaN: no metric), and whether any run came from older pipeline code than HEAD's."""

    mean: float
    low: float
    high: float
    n: int
    diverged: int = 0
    stale: bool = False

    def text(self) -> str:
        mark = STALE_MARK if self.stale else ""
        if self.n == 0:
            return ("NaN (diverged)" if self.diverged else "–") + mark
        if math.isnan(self.low):
            return f"{self.mean:.3f} (1 seed){mark}"
        return f"{self.mean:.3f} [{self.low:.3f}, {self.high:.3f}]{mark}"


def metric_of_column(variant: Variant, column: str) -> str | None:
    """Which of our metrics fills a published column in this variant's runs."""
    if variant.columns is not None:
        return variant.columns.get(column)
    return METRIC_COLUMNS.get(column)


def records_of(results: dict[str, dict], variant: str) -> dict[int, dict]:
    """seed -> record, for every run of `variant` in a study's results."""
    return {seed: r for key, r in results.items() for name, seed in [split_key(key)] if name == variant}


def seed_values(study: Study, results: dict[str, dict], variant: str, metric: str, split: str,
                code: str | None = None) -> tuple[dict[int, float], int, bool]:
    """seed -> the metric (ok runs that measured it), how many of the variant's runs diverged, and whether any run
    is stale (from pipeline code other than `code`)."""
    values, diverged, stale = {}, 0, False
    # every seed the variant ran, the study's and any added to decide a comparison
    for seed, r in sorted(records_of(results, variant).items()):
        stale |= is_stale(r, code)
        if r.get("status") == "diverged":
            diverged += 1
            continue
        value = r.get("metrics", {}).get(split, {}).get(metric)
        if value is not None:
            values[seed] = float(value)
    return values, diverged, stale


def cell(study: Study, results: dict[str, dict], variant: str, metric: str, split: str,
         code: str | None = None) -> Cell:
    values, diverged, stale = seed_values(study, results, variant, metric, split, code)
    if not values:
        return Cell(math.nan, math.nan, math.nan, 0, diverged, stale)
    interval = fisher_interval if metric in CORRELATIONS else t_interval
    mean, low, high = interval(list(values.values()))
    return Cell(mean, low, high, len(values), diverged, stale)


def paired_values(study: Study, results: dict[str, dict], a: str, b: str, metric: str, split_a: str, split_b: str,
                  code: str | None = None) -> tuple[list[float], list[float], bool]:
    """a's and b's values over the seeds both ran (a on `split_a`, b on `split_b`), and whether any run is stale."""
    va, _, stale_a = seed_values(study, results, a, metric, split_a, code)
    vb, _, stale_b = seed_values(study, results, b, metric, split_b, code)
    common = [s for s in va if s in vb]
    return [va[s] for s in common], [vb[s] for s in common], stale_a or stale_b


def paired(study: Study, results: dict[str, dict], a: str, b: str, metric: str, split: str,
           code: str | None = None) -> tuple[float, float, float, int, bool]:
    """b - a over the seeds both ran: (mean, low, high, n, whether any run is stale)."""
    va, _, stale_a = seed_values(study, results, a, metric, split, code)
    vb, _, stale_b = seed_values(study, results, b, metric, split, code)
    common = [s for s in va if s in vb]
    if not common:
        return math.nan, math.nan, math.nan, 0, stale_a or stale_b
    return (*paired_difference([va[s] for s in common], [vb[s] for s in common]), len(common), stale_a or stale_b)


def row_variants(study: Study, table: Table, row: str) -> dict[str, Variant]:
    return {name: v for name, v in study.all_variants().items() if v.row == row}
