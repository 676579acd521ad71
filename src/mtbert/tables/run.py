"""Run what a table profile is missing: every (variant, seed) of every table study without a result for this
commit's pipeline code and the run's budget, one `dvc exp run` each (or through DVC's queue), each result kept as it
finishes so an interrupted run resumes where it stopped."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from mtbert.io import write_json
from mtbert.report.results import git_commit
from mtbert.study import runner
from mtbert.study.spec import result_key, split_key
from mtbert.tables.spec import PROFILES, TableStudy, profile_base

RESULTS = Path("reports/tables/results")
NOT_PIPELINE = ("report",)  # stages that only render: their code does not change a result


@dataclass
class Pending:
    study: TableStudy
    key: str
    variant: str
    seed: int
    overrides: dict[str, Any]

    @property
    def exp_name(self) -> str:
        return f"{self.study.name}-{self.key}".replace("_", "-").replace("@", "-")


def store_path(study: TableStudy, profile: str) -> Path:
    return RESULTS / f"{study.name}.{profile}.json"


def load_results(study: TableStudy, profile: str) -> dict[str, dict]:
    path = store_path(study, profile)
    return json.loads(path.read_text()) if path.exists() else {}


def page_results(studies: dict[str, TableStudy], profile: str) -> dict[str, dict[str, dict]]:
    """Each study's records as its pages show them: a study with `same_runs_as` shows its source's; a record of a
    variant the source no longer has (one dropped from it) is not the study's and is left out; a record made with
    other params than its variant sets now is kept, its `params_changed` naming them (stale until it is rerun)."""
    out = {}
    base = profile_base(profile) if (PROFILES / f"{profile}.yaml").exists() else {}
    for name, s in studies.items():
        src = studies[s.same_runs_as] if s.same_runs_as else s
        shown = {}
        for k, r in load_results(src, profile).items():
            if r["variant"] not in src.all_variants():
                continue
            _, seed = split_key(k)
            now = src.overrides(profile, r["variant"], seed, base) if profile in src.profiles else None
            changed = now is not None and r.get("budget") is not None and r["budget"] != budget_id(now)
            params = changed_params(r.get("overrides", {}), now) if changed else []
            shown[k] = dict(r, params_changed=params) if params else r
        out[name] = shown
    return out


def changed_params(ran: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """The params a run set otherwise than its variant sets now, as `key: then → now`. A param the run did not have
    came with later code (whose change the code id already marks), so it does not count; a record without overrides
    cannot be compared and says so."""
    if not ran:
        return ["params (the run recorded none to compare)"]
    return [f"{k}: {ran[k]} → {now.get(k)}" for k in sorted(ran) if ran[k] != now.get(k)]


PINS = ("requirements.lock",)  # the pinned dependencies: a torch or torchjd upgrade can move every number
DATA_STAGES = ("download", "prepare")  # their outputs in dvc.lock pin the data every run reads


def pipeline_code(dvc_yaml: Path = Path("dvc.yaml")) -> list[str]:
    """The files a result depends on besides its params: every dep under src/ or stages/ of the pipeline's computing
    stages, dvc.yaml and the pinned dependencies (requirements.lock, where there is one). Not params.yaml: a table
    profile pins every param its runs read, so its budget id (the run's overrides) says what a result depends on, and
    tuning the default recipe leaves table results current."""
    stages = yaml.safe_load(dvc_yaml.read_text())["stages"]
    paths = {"dvc.yaml"} | {p for p in PINS if Path(p).exists()}
    for name, stage in stages.items():
        if name not in NOT_PIPELINE:
            paths |= {d for d in stage.get("deps", []) if isinstance(d, str) and d.startswith(("src/", "stages/"))}
    return sorted(paths)


def data_version() -> str:
    """The data every run reads, as HEAD's dvc.lock pins it: the hashes of the download and prepare stages' outputs
    ('' where the repository has no dvc.lock yet)."""
    shown = subprocess.run(["git", "show", "HEAD:dvc.lock"], capture_output=True, text=True)
    if shown.returncode != 0:
        return ""
    stages = (yaml.safe_load(shown.stdout) or {}).get("stages", {})
    outs = {name: [(o.get("path"), o.get("md5")) for o in stages.get(name, {}).get("outs", [])] for name in DATA_STAGES}
    return json.dumps(outs, sort_keys=True)


def code_version(strict: bool = True) -> str:
    """What a result was computed with: git's ids at HEAD of the pipeline code and pinned dependencies
    (`pipeline_code`) and the data pin (`data_version`); a result stays current while none of them changes. `strict`
    (for running) refuses uncommitted changes to them or to params.yaml: a result must name committed inputs."""
    paths = pipeline_code()
    watched = [*paths, "dvc.lock", *(["params.yaml"] if Path("params.yaml").exists() else [])]
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", *watched],
                           capture_output=True, text=True, check=True).stdout.strip()
    if dirty and strict:
        raise RuntimeError(f"table runs use committed code, params and data pins: commit or stash these changes "
                           f"first:\n{dirty}")
    ids = subprocess.run(["git", "rev-parse", *(f"HEAD:{p}" for p in paths)], capture_output=True, text=True,
                         check=True).stdout.split()
    text = "\n".join(f"{p} {i}" for p, i in zip(paths, ids)) + "\ndata " + data_version()
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def budget_id(overrides: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(overrides, sort_keys=True).encode()).hexdigest()[:16]


def is_current(result: dict | None, code: str, overrides: dict[str, Any]) -> bool:
    return result is not None and result.get("code") == code and result.get("budget") == budget_id(overrides)


def missing(study: TableStudy, profile: str, results: dict[str, dict], code: str) -> list[Pending]:
    """The runs of a study at a profile with no current result, seed by seed (a cut-short run has whole seeds)."""
    base = profile_base(profile)
    out = []
    for variant, seed in study.runs():
        overrides = study.overrides(profile, variant, seed, base)
        key = result_key(variant, seed)
        if not is_current(results.get(key), code, overrides):
            out.append(Pending(study, key, variant, seed, overrides))
    return out


def _stamp(p: Pending, profile: str, code: str) -> dict:
    return {"row": p.study.all_variants()[p.variant].row, "seed": p.seed, "profile": profile, "code": code,
            "budget": budget_id(p.overrides), "commit": git_commit()}


def refuse_dirty() -> None:
    """Experiments leave their params, lock and outputs in the workspace, which is put back to HEAD afterwards: so
    nothing tracked may differ from HEAD first (the collected results excepted)."""
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", f":!{RESULTS}"],
                           capture_output=True, text=True, check=True).stdout.strip()
    if dirty:
        raise RuntimeError(f"table runs start from HEAD and put the workspace back to it: commit or stash these "
                           f"changes first (after an interrupted run: git checkout HEAD -- . ':!{RESULTS}' && dvc "
                           f"checkout):\n{dirty}")


def restore_workspace() -> None:
    """The pipeline's files back to HEAD's (every experiment leaves its own), the collected results kept."""
    subprocess.run(["git", "checkout", "HEAD", "--", ".", f":!{RESULTS}"], check=True)
    subprocess.run(["dvc", "checkout", "--quiet"], check=False, capture_output=True)


def run_pending(todo: list[Pending], profile: str, code: str) -> None:
    """Each pending run in turn; a diverged run is kept as such (status "diverged", no metrics) and the rest go on.
    The workspace is back at HEAD afterwards, interrupted or not."""
    refuse_dirty()
    try:
        _run_each(todo, profile, code)
    finally:
        restore_workspace()


def _run_each(todo: list[Pending], profile: str, code: str) -> None:
    for p in todo:
        results = load_results(p.study, profile)  # reread: another process may have added results meanwhile
        cpu_before = _children_cpu_seconds()
        record = experiment(p.exp_name, p.variant, p.overrides)
        cpu = round(_children_cpu_seconds() - cpu_before, 1)  # dvc and every stage it ran, all cores together
        results[p.key] = record | {"cpu_seconds": cpu} | _stamp(p, profile, code)
        write_json(store_path(p.study, profile), results)


def threads() -> int:
    """The intra-op threads the run's stages get: OMP_NUM_THREADS where set (a CPU worker's share), else torch's
    default of one per core."""
    return int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def experiment(exp_name: str, variant: str, overrides: dict[str, Any]) -> dict:
    """One `dvc exp run` in the workspace and the record kept of it: its metrics and curves, or, when training
    diverged, status "diverged" with the line that says so; when it ran and on how many threads (float sums, and so
    the last digits, depend on the thread count)."""
    started = _now()
    finished, seconds, tail = runner.exp_run(exp_name, overrides)
    when = {"started": started, "finished": _now(), "threads": threads()}
    if finished:
        return runner.collect(variant, overrides, seconds) | {"status": "ok"} | when
    reason = next((line.strip() for line in reversed(tail.splitlines()) if any(m in line for m in runner.NON_FINITE)),
                  (tail.strip().splitlines() or [""])[-1])
    return {"variant": variant, "overrides": overrides, "status": "diverged", "error": reason, "metrics": {},
            "wall_seconds": round(seconds, 1)} | when


def _children_cpu_seconds() -> float:
    """User + system time of every finished child process and its waited-for descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def queue_pending(todo: list[Pending], profile: str, code: str, jobs: int) -> None:
    """The same runs through DVC's queue, `jobs` at a time; finished experiments are collected when it is done (a
    diverged one is not: it stays missing)."""
    gathered: dict[str, dict[str, dict]] = {}

    def gather(i: int) -> None:
        p = todo[i]
        gathered.setdefault(p.study.name, {})[p.key] = (runner.collect(p.variant, p.overrides, None)
                                                        | {"status": "ok", "queued": True} | _stamp(p, profile, code))

    try:
        runner.queue_runs([(p.exp_name, p.overrides) for p in todo], jobs, gather)
    finally:  # after the workspace is back at HEAD
        studies = {p.study.name: p.study for p in todo}
        for name, records in gathered.items():
            results = load_results(studies[name], profile) | records
            write_json(store_path(studies[name], profile), results)
