"""reports/tables/claims.md: each claim of studies/claims.yaml, the published effect beside ours (paired over
seeds, 95% t interval) and a verdict."""

from __future__ import annotations

import math
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

from mtbert.tables.ours import STALE_MARK, paired
from mtbert.tables.published import METRIC_COLUMNS, Published, is_nan
from mtbert.tables.render import cost_line
from mtbert.tables.spec import TableStudy

CLAIMS = Path("studies/claims.yaml")
COLUMN_OF = {metric: column for column, metric in METRIC_COLUMNS.items()}


class Claim(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    report: str
    where: str
    claim: str
    study: str
    split: str = "dev"
    a: str | None = None
    b: str | None = None
    metrics: list[str] = []
    pairs: list[tuple[str, str, str]] = []  # (a, b, metric), for comparisons that differ per metric
    expected: str | None = None  # "increase" | "decrease", where no published number gives the direction

    @model_validator(mode="after")
    def _comparisons(self) -> "Claim":
        if not self.comparisons():
            raise ValueError(f"claim {self.id}: give `a`, `b` and `metrics`, or `pairs`")
        return self

    def comparisons(self) -> list[tuple[str, str, str]]:
        return list(self.pairs) + ([(self.a, self.b, m) for m in self.metrics] if self.a and self.b else [])


def load_claims(path: Path = CLAIMS) -> list[Claim]:
    try:
        return [Claim.model_validate(c) for c in yaml.safe_load(path.read_text())]
    except Exception as err:
        raise ValueError(f"{path}: {err}") from None


def published_value(published: Published, study: TableStudy, variant: str, metric: str) -> float | None:
    v = study.all_variants()[variant]
    if v.row is None:
        return None
    row = published.table(study.report, study.table).row(v.row)
    columns = v.columns or {c: m for c, m in METRIC_COLUMNS.items()}
    column = next((c for c, m in columns.items() if m == metric and c in row.values), None)
    value = row.values.get(column) if column else None
    return None if value is None or isinstance(value, str) or is_nan(value) else float(value)


def verdict(direction: float, low: float, high: float) -> str:
    """reproduced / reversed when our interval excludes 0 on the claimed / the other side; else not distinguishable."""
    if math.isnan(low) or math.isnan(high) or direction == 0:
        return "not distinguishable (too few seeds)" if math.isnan(low) else "not distinguishable"
    if low > 0 or high < 0:
        return "reproduced" if (low > 0) == (direction > 0) else "reversed"
    return "not distinguishable at this budget"


def render_claims(claims: list[Claim], published: Published, studies: dict[str, TableStudy],
                  results: dict[str, dict[str, dict]], profile: str, code: str | None = None) -> str:
    lines = ["# The reports' claims, checked", "",
             f"Each claim in our words, where the report makes it, the published effect (b − a, from the published "
             f"rows), and ours at profile `{profile}`: the mean paired difference over the seeds both variants ran, "
             "with its 95% t interval. Verdict: **reproduced** when our interval excludes 0 on the claimed side, "
             "**reversed** when it excludes 0 on the other side, otherwise **not distinguishable at this budget**. "
             "Our setup (MiniLM, offline Quora re-split, short budgets) differs from every report's: see "
             f"`reports/tables/<report>.md`. {STALE_MARK}: some of the runs compared came from older pipeline code than "
             "this commit's (`make tables` reruns them).", "",
             "Every table study at this profile, all reports: " + (cost_line([r for res in results.values()
                                                                            for r in res.values()]) or "nothing run yet."),
             "",
             "| report | claim | where | comparison (a → b) | metric | published b − a | ours b − a [95% CI] | seeds | verdict |",
             "|---|---|---|---|---|---:|---:|---:|---|"]
    for c in claims:
        study = studies[c.study]
        res = results.get(study.name, {})
        for a, b, metric in c.comparisons():
            pa, pb = published_value(published, study, a, metric), published_value(published, study, b, metric)
            effect = pb - pa if pa is not None and pb is not None else None
            direction = effect if effect is not None else {"increase": 1.0, "decrease": -1.0}.get(c.expected or "", 0.0)
            mean, low, high, n, stale = paired(study, res, a, b, metric, c.split, code)
            shown = "not printed" if effect is None else f"{effect:+.3f}"
            ours = "–" if n == 0 else (f"{mean:+.3f}" + ("" if math.isnan(low) else f" [{low:+.3f}, {high:+.3f}]"))
            text = ("not run yet" if n == 0 else verdict(direction, low, high)) + (f" {STALE_MARK}" if stale else "")
            lines.append(f"| {c.report} | {c.claim} | {c.where} | {a} → {b} | {metric} ({c.split}) | {shown} | {ours} | "
                         f"{n} | {text} |")
    return "\n".join(lines) + "\n"
