"""A table study (studies/tables/<report>-<table>.yaml): the published table it regenerates, named budgets (profiles),
seeds, and variants named after the published rows, listed or expanded from a grid.

    name: 004-t6
    report: "004"
    table: t6
    seeds: [0]
    budget: {...}                  # params every profile and variant shares
    profiles: {cpu: {...}, gpu: {...}}
    variants: {name: {row: <published row>, params: {...}}}
    grid: {name: "lr{lr}", row: "lr={lr}", axes: {lr: {key: train.lr, values: [...], labels: [...]}}}
    not_run: {<published row>: <why it cannot run here>}
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

from mtbert.profiles import flatten
from mtbert.study.spec import seed_overrides

TABLE_STUDIES = Path("studies/tables")
PROFILES = Path("profiles/tables")  # <profile>.yaml: what every table study's runs share at that profile


def profile_base(profile: str, folder: Path = PROFILES) -> dict[str, Any]:
    path = folder / f"{profile}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in folder.glob("*.yaml"))
        raise FileNotFoundError(f"no table profile {profile!r}: {path} does not exist; profiles: {known}")
    return yaml.safe_load(path.read_text()) or {}


class Variant(BaseModel):
    """A run of the study: the published row it regenerates (None: a comparison run of ours, said in `about`), the
    params it changes, and, where one run fills only some cells of a row, which published column each metric fills."""

    model_config = ConfigDict(extra="forbid")
    row: str | None
    params: dict[str, Any] = {}
    columns: dict[str, str] | None = None  # published column -> our metric (default: every column we measure)
    about: str | None = None
    seeds: list[int] | None = None  # a subset of the study's seeds (rows no claim compares may run on fewer)

    @model_validator(mode="after")
    def _said(self) -> "Variant":
        if self.row is None and not self.about:
            raise ValueError("a variant without a published row needs `about`: what it is compared for")
        return self


class Axis(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str  # a dotted params key
    values: list[Any]
    labels: list[str] | None = None  # how the published rows write the values (default: str(value))

    @model_validator(mode="after")
    def _labels_match(self) -> "Axis":
        if self.labels is not None and len(self.labels) != len(self.values):
            raise ValueError(f"grid axis {self.key}: {len(self.labels)} labels for {len(self.values)} values")
        return self

    def label(self, i: int) -> str:
        return self.labels[i] if self.labels is not None else str(self.values[i])


class Grid(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str  # variant name template, e.g. "lr{lr}-reg{reg}"
    row: str  # published row template
    axes: dict[str, Axis]

    def expand(self) -> dict[str, Variant]:
        """Every combination of the axes' values, in axis order (the last axis varying fastest)."""
        out = {}
        names = list(self.axes)
        for picks in itertools.product(*(range(len(a.values)) for a in self.axes.values())):
            labels = {n: self.axes[n].label(i) for n, i in zip(names, picks)}
            params = {self.axes[n].key: self.axes[n].values[i] for n, i in zip(names, picks)}
            out[self.name.format(**labels)] = Variant(row=self.row.format(**labels), params=params)
        return out


class TableStudy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    report: str
    table: str
    description: str
    seeds: list[int]
    budget: dict[str, Any] = {}
    profiles: dict[str, dict[str, Any]]
    variants: dict[str, Variant] = {}
    grid: Grid | None = None
    not_run: dict[str, str] = {}
    notes: str | None = None
    more_seeds: dict[str, list[int]] = {}  # variants (grid cells too) a claim compares, on more seeds than the study's
    same_runs_as: str | None = None  # a table filled from another study's runs (which measure its split too)

    @model_validator(mode="after")
    def _checks(self) -> "TableStudy":
        if not self.seeds:
            raise ValueError(f"study {self.name}: seeds must list at least one seed")
        for name, v in self.variants.items():
            if v.seeds is not None and not set(v.seeds) <= set(self.seeds):
                raise ValueError(f"study {self.name}, variant {name}: seeds {v.seeds} are not all among the study's {self.seeds}")
        if self.grid is not None:
            clash = set(self.variants) & set(self.grid.expand())
            if clash:
                raise ValueError(f"study {self.name}: grid variants {sorted(clash)} repeat listed variants")
        unknown = set(self.more_seeds) - set(self.all_variants())
        if unknown:
            raise ValueError(f"study {self.name}: more_seeds names no variant {sorted(unknown)}")
        return self

    def all_variants(self) -> dict[str, Variant]:
        return self.variants | (self.grid.expand() if self.grid else {})

    def seeds_of(self, variant: str) -> list[int]:
        v = self.all_variants()[variant]
        return sorted(set(v.seeds if v.seeds is not None else self.seeds) | set(self.more_seeds.get(variant, [])))

    def runs(self) -> list[tuple[str, int]]:
        """(variant, seed) in run order: seed by seed, so a cut-short study has whole seeds; none when the table is
        filled from another study's runs."""
        if self.same_runs_as:
            return []
        names = list(self.all_variants())
        seeds = sorted({s for name in names for s in self.seeds_of(name)})
        return [(name, seed) for seed in seeds for name in names if seed in self.seeds_of(name)]

    def overrides(self, profile: str, variant: str, seed: int, base: dict[str, Any] | None = None) -> dict[str, Any]:
        """The flat params overrides of one run: the profile's shared file (`base`), the study's budget, its profile
        section, the variant, then the seed."""
        if profile not in self.profiles:
            raise KeyError(f"study {self.name} has no profile {profile!r}; profiles: {sorted(self.profiles)}")
        v = self.all_variants()[variant]
        return (flatten(base or {}) | flatten(self.budget) | flatten(self.profiles[profile] or {}) | flatten(v.params)
                | seed_overrides(seed))


def load_table_study(path: Path) -> TableStudy:
    try:
        return TableStudy.model_validate(yaml.safe_load(Path(path).read_text()))
    except Exception as err:
        raise ValueError(f"{path}: {err}") from None


def table_studies(folder: Path = TABLE_STUDIES) -> dict[str, TableStudy]:
    return {p.stem: load_table_study(p) for p in sorted(folder.glob("*.yaml"))}
