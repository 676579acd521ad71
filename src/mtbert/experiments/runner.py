"""Run what a study is missing: every (variant, seed) without a current record (made by this code id at the run's
params), through one executor, each record stamped and written into the study's store as it arrives, so an
interrupted study resumes where it stopped. A run any study already made (same code and params ids) is copied, not
run again."""

from __future__ import annotations

from pathlib import Path

from mtbert.experiments import store
from mtbert.experiments.executors import Executor
from mtbert.experiments.provenance import budget_id, is_current
from mtbert.experiments.study import STUDY_STORES, TABLE_STORES, Run, Study, profile_base, result_key
from mtbert.report.results import git_commit


def missing(study: Study, profile: str | None, code: str, only: list[str] | None = None,
            rerun: bool = False, records: dict[str, dict] | None = None) -> list[Run]:
    """The study's runs with no current record, seed by seed (a cut-short study has whole seeds); `rerun`: all."""
    base = profile_base(profile)
    records = store.load(study, profile) if records is None else records
    out = []
    for variant, seed in study.runs():
        overrides = study.overrides(profile, variant, seed, base)
        if only and variant not in only:
            continue
        if rerun or not is_current(records.get(result_key(variant, seed)), code, overrides):
            out.append(Run(study, profile, variant, seed, overrides))
    return out


def stamp(run: Run, code: str, commit: str | None = None) -> dict:
    """What every record carries besides its results: its row, seed, profile, code id, params id and commit."""
    return {"row": run.study.all_variants()[run.variant].row, "seed": run.seed, "profile": run.profile, "code": code,
            "budget": budget_id(run.overrides), "commit": commit or git_commit()}


def made(code: str, folders: tuple[Path, ...] = (STUDY_STORES, TABLE_STORES)) -> dict[str, tuple[str, dict]]:
    """Every record of this code in any study's store, by params id, with where it was run (`store:key`)."""
    out: dict[str, tuple[str, dict]] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.json")):
            for key, record in store.read(path).items():
                if record.get("code") == code and record.get("budget"):
                    out.setdefault(record["budget"], (record.get("copied_from", f"{path.as_posix()}:{key}"), record))
    return out


def run(todo: list[Run], executor: Executor, code: str, commit: str | None = None,
        target: Path | None = None) -> list[tuple[Run, str]]:
    """Every run through `executor`, each record written as it arrives (into `target` instead of the study's store
    where given), except those another study made already or that run with the same params among `todo`, copied
    naming their source; returns the runs that failed, with their last error."""
    commit = commit or git_commit()

    def done(r: Run, record: dict, ran_at: str | None = None) -> None:
        store.add(target or r.study.store(r.profile), {r.key: record | stamp(r, code, ran_at or commit)})

    def copy(r: Run, record: dict, where: str, ran_at: str | None = None) -> None:
        done(r, record | {"variant": r.variant, "copied_from": where}, ran_at)
        print(f"{r.key}: copied from {where} (the same code and params)", flush=True)

    known, fresh = made(code) if todo else {}, []
    twins: dict[str, list[Run]] = {}  # runs pending together with the same params: one runs, the rest are copied
    for r in todo:
        params = budget_id(r.overrides)
        source = known.get(params)
        if source is not None:
            where, record = source
            copy(r, record, where, record.get("commit"))
        elif params in twins:
            twins[params].append(r)
        else:
            fresh.append(r)
            twins[params] = []

    def arrived(r: Run, record: dict) -> None:
        done(r, record)
        where = f"{(target or r.study.store(r.profile)).as_posix()}:{r.key}"
        for twin in twins.get(budget_id(r.overrides), []):
            copy(twin, record, where)

    failed = executor.run(fresh, arrived) if fresh else []
    failed += [(twin, message) for r, message in failed for twin in twins.get(budget_id(r.overrides), [])]
    for r, message in failed:
        print(f"{r.name}: failed; last error: {message}", flush=True)
    return failed
