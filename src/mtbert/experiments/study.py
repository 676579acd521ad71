"""A study: variants of params (listed, or expanded from a grid) at a shared budget, each run once per seed. A study
under studies/tables/ regenerates one published table (`report`, `table`, variants named after its rows) and names
its budgets per profile; a study under studies/ runs on params.yaml as committed.

    name: 004-t6
    report: "004"                  # table studies: the published table
    table: t6
    seeds: [0, 1, 2]               # optional for a study of one run per variant
    budget: {...}                  # params every variant shares
    profiles: {cpu: {...}, gpu: {...}}
    variants: {name: {row: <published row>, params: {...}}}
    grid: {name: "lr{lr}", row: "lr={lr}", axes: {lr: {key: train.lr, values: [...], labels: [...]}}}
    questions: [{label, a, b, metric}]   # comparisons the study's page reads as verdicts
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from mtbert.profiles import flatten

STUDIES = Path("studies")
TABLE_STUDIES = STUDIES / "tables"
STUDY_STORES, TABLE_STORES = Path("reports/studies"), Path("reports/tables/results")  # every study's records
PROFILES = Path("profiles/tables")  # <profile>.yaml: what every table study's runs share at that profile
METRICS = ("sst_acc", "quora_acc", "sts_pearson", "overall")
# The params a run's seed drives: head initialisation, data order and dropout (train), augmentation, pretraining.
SEED_KEYS = ("train.seed", "augment.seed", "pretrain_mlm.seed")


def profile_base(profile: str | None, folder: Path = PROFILES, params: Path = Path("params.yaml")) -> dict[str, Any]:
    """The params every run of a study shares: the table profile's file, or params.yaml for a study on it (so that a
    record's params id names its run's whole params, however params.yaml spells them)."""
    if profile is None:
        return (yaml.safe_load(params.read_text()) or {}) if params.exists() else {}
    path = folder / f"{profile}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in folder.glob("*.yaml"))
        raise FileNotFoundError(f"no table profile {profile!r}: {path} does not exist; profiles: {known}")
    return yaml.safe_load(path.read_text()) or {}


def result_key(variant: str, seed: int | None) -> str:
    """Where a run's record is kept in its study's store (a study without seeds: the variant name)."""
    return variant if seed is None else f"{variant}@seed{seed}"


def split_key(key: str) -> tuple[str, int | None]:
    """(variant, seed) of a result key: result_key's inverse."""
    if "@seed" not in key:
        return key, None
    variant, seed = key.rsplit("@seed", 1)
    return variant, int(seed)


def seed_overrides(seed: int | None) -> dict[str, int]:
    return {} if seed is None else {key: seed for key in SEED_KEYS}


class Variant(BaseModel):
    """A run of the study: the params it changes; in a table study, the published row it regenerates (None: a
    comparison run of ours, said in `about`) and, where one run fills only some cells of a row, which published column
    each metric fills."""

    model_config = ConfigDict(extra="forbid")
    params: dict[str, Any] = {}
    row: str | None = None
    columns: dict[str, str] | None = None  # published column -> our metric (default: every column we measure)
    about: str | None = None
    reading_of: str | None = None  # another reading of this published row's method: claims take its numbers from it
    seeds: list[int] | None = None  # a subset of the study's seeds (rows no claim compares may run on fewer)


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


class Question(BaseModel):
    """Is `b` better, worse or the same as `a` on `metric`? Read on the study's page as a verdict over seeds."""

    model_config = ConfigDict(extra="forbid")
    a: str
    b: str
    metric: str
    label: str | None = None


class Study(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    seeds: list[int] | None = None
    budget: dict[str, Any] = {}
    variants: dict[str, Variant] = {}
    grid: Grid | None = None
    questions: list[Question] = []
    question_margin: float = 0.01
    dev_only: bool = False  # a study that chooses: its page leaves test off
    levelled_off: bool = True  # its questions need arms that levelled off (False: recipes compared as shipped, capped)
    notes: str | None = None
    superseded: str | None = None  # what in the code has changed since the results were measured
    # a table study: the published table it regenerates, its budgets per profile
    report: str | None = None
    table: str | None = None
    profiles: dict[str, dict[str, Any]] = {}
    not_run: dict[str, str] = {}
    more_seeds: dict[str, list[int]] = {}  # variants (grid cells too) a claim compares, on more seeds than the study's
    same_runs_as: str | None = None  # a table filled from another study's runs (which measure its split too)

    @model_validator(mode="after")
    def _checks(self) -> "Study":
        if self.seeds is not None and not self.seeds:
            raise ValueError(f"study {self.name}: seeds must list at least one seed")
        if self.table is not None:
            if not self.seeds:
                raise ValueError(f"table study {self.name}: seeds must list at least one seed")
            unsaid = [n for n, v in self.variants.items() if v.row is None and not v.about]
            if unsaid:
                raise ValueError(f"study {self.name}: variants {unsaid} have no published row and no `about`: what "
                                 "they are compared for")
        elif not self.all_variants():
            raise ValueError(f"study {self.name}: no variants")
        for name, v in self.variants.items():
            if v.seeds is not None and not set(v.seeds) <= set(self.seeds or []):
                raise ValueError(f"study {self.name}, variant {name}: seeds {v.seeds} are not all among the study's "
                                 f"{self.seeds}")
        if self.grid is not None:
            clash = set(self.variants) & set(self.grid.expand())
            if clash:
                raise ValueError(f"study {self.name}: grid variants {sorted(clash)} repeat listed variants")
        unknown = set(self.more_seeds) - set(self.all_variants())
        if unknown:
            raise ValueError(f"study {self.name}: more_seeds names no variant {sorted(unknown)}")
        for i, q in enumerate(self.questions):
            if q.a not in self.variants or q.b not in self.variants or q.metric not in METRICS:
                raise ValueError(f"study {self.name}: questions[{i}] must name two of the variants "
                                 f"{list(self.variants)} as a and b and a metric of {list(METRICS)}, got {q}")
        return self

    def all_variants(self) -> dict[str, Variant]:
        return self.variants | (self.grid.expand() if self.grid else {})

    def seeds_of(self, variant: str) -> list[int | None]:
        if self.seeds is None:
            return [None]
        v = self.all_variants()[variant]
        return sorted(set(v.seeds if v.seeds is not None else self.seeds) | set(self.more_seeds.get(variant, [])))

    def runs(self) -> list[tuple[str, int | None]]:
        """(variant, seed) in run order: seed by seed, so a cut-short study has whole seeds; none when the table is
        filled from another study's runs."""
        if self.same_runs_as:
            return []
        names = list(self.all_variants())
        if self.seeds is None:
            return [(name, None) for name in names]
        seeds = sorted({s for name in names for s in self.seeds_of(name)})
        return [(name, seed) for seed in seeds for name in names if seed in self.seeds_of(name)]

    def overrides(self, profile: str | None, variant: str, seed: int | None,
                  base: dict[str, Any] | None = None) -> dict[str, Any]:
        """The flat params overrides of one run: the profile's shared file (`base`), the study's budget, its profile
        section, the variant, then the seed."""
        if profile is not None and profile not in self.profiles:
            raise KeyError(f"study {self.name} has no profile {profile!r}; profiles: {sorted(self.profiles)}")
        section = (self.profiles[profile] or {}) if profile is not None else {}
        v = self.all_variants()[variant]
        out: dict[str, Any] = {}
        for part in (base or {}, self.budget, section, v.params, seed_overrides(seed)):
            for key, value in flatten(part, keep_empty=True).items():
                out.pop(key, None)  # a later part's key goes after what it overrides: `apply` reads them in order
                out[key] = value
        return out

    def store(self, profile: str | None) -> Path:
        """Where the study's records are kept: one store per profile for a table study."""
        if self.table is not None:
            return TABLE_STORES / f"{self.name}.{profile}.json"
        return STUDY_STORES / f"{self.name}.json"


@dataclass
class Run:
    """One (variant, seed) of a study at a profile, with the params overrides it runs with."""

    study: Study
    profile: str | None
    variant: str
    seed: int | None
    overrides: dict[str, Any]
    expected: float | None = None  # wall seconds its kind's pilot took, where known: weights the progress estimate

    @property
    def key(self) -> str:
        return result_key(self.variant, self.seed)

    @property
    def name(self) -> str:
        """The experiment's name (DVC's, a job's, a scratch workspace's)."""
        return f"{self.study.name}-{self.key}".replace("_", "-").replace("@", "-")


def load_study(path: Path) -> Study:
    """A study file, checked: each problem named by its key."""
    try:
        return Study.model_validate(yaml.safe_load(Path(path).read_text()))
    except ValidationError as err:
        said = [(".".join(map(str, e["loc"])) + ": " if e["loc"] else "") + e["msg"].removeprefix("Value error, ")
                for e in err.errors(include_url=False)]
        raise ValueError(f"{path}: " + "; ".join(said)) from None


def table_studies(folder: Path = TABLE_STUDIES) -> dict[str, Study]:
    return {p.stem: load_study(p) for p in sorted(folder.glob("*.yaml"))}
