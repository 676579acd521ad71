"""reports/published.yaml, validated: every results table of the five reports, cell by cell, with its setup."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

PUBLISHED = Path("reports/published.yaml")
METRIC_COLUMNS = {"sst": "sst_acc", "quora": "quora_acc", "sts": "sts_pearson", "overall": "overall",
                  "cfimdb": "cfimdb_acc"}  # a published column -> our metric name


def _find(items: list, attr: str, value: str, missing: str):
    """The item whose `attr` is `value`; else a KeyError listing what there is."""
    for item in items:
        if getattr(item, attr) == value:
            return item
    raise KeyError(f"{missing} {value!r}; there are: {[getattr(i, attr) for i in items]}")


class Row(BaseModel):
    model_config = ConfigDict(extra="forbid")
    row: str
    setup: dict[str, Any] = {}
    values: dict[str, float | int | str]


class Table(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    table: str
    caption: str
    kind: Literal["results", "setup", "data"]
    split: Literal["dev", "test"] | None = None
    columns: dict[str, str]
    setup: dict[str, Any] = {}
    rows: list[Row]

    @model_validator(mode="after")
    def _consistent(self) -> "Table":
        if self.kind == "results" and self.split is None:
            raise ValueError(f"{self.table}: a results table needs `split` (dev or test)")
        names = [r.row for r in self.rows]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.table}: row names repeat: {sorted({n for n in names if names.count(n) > 1})}")
        for r in self.rows:
            unknown = set(r.values) - set(self.columns)
            if unknown:
                raise ValueError(f"{self.table}, row {r.row!r}: values for columns {sorted(unknown)} the table does not "
                                 f"declare (columns: {sorted(self.columns)})")
        return self

    def has_row(self, name: str) -> bool:
        return any(r.row == name for r in self.rows)

    def row(self, name: str) -> Row:
        return _find(self.rows, "row", name, f"{self.table} has no row")


class Report(BaseModel):
    model_config = ConfigDict(extra="forbid")
    file: str
    title: str
    setup: dict[str, Any] = {}
    figures_only: str | None = None
    tables: list[Table]

    def table(self, table_id: str) -> Table:
        return _find(self.tables, "id", table_id, f"{self.file} has no table")


class Published(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reports: dict[str, Report]

    def table(self, report: str, table_id: str) -> Table:
        if report not in self.reports:
            raise KeyError(f"no report {report!r} in {PUBLISHED}; reports: {sorted(self.reports)}")
        return self.reports[report].table(table_id)

    def cells(self) -> Iterator[tuple[str, str, str, str, float | int | str]]:
        """(report file, table, row, column header, value) for every number the reports print."""
        for report in self.reports.values():
            for table in report.tables:
                for row in table.rows:
                    for column, value in row.values.items():
                        yield report.file, table.table, row.row, table.columns[column], value


def load_published(path: Path = PUBLISHED) -> Published:
    try:
        return Published.model_validate(yaml.safe_load(Path(path).read_text()))
    except Exception as err:  # pydantic names the offending key path
        raise ValueError(f"{path}: {err}") from None


def is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
