"""A study's results store: one JSON file of records keyed `<variant>@seed<n>`, written whole after every record (an
interrupted study resumes from it), the records as its pages show them, and the reference stage's numbers they are
read against."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mtbert.experiments.provenance import budget_id
from mtbert.experiments.study import PROFILES, Study, profile_base, split_key
from mtbert.io import write_json

REFERENCE = Path("reference.json")


def load_reference(path: Path = REFERENCE) -> dict:
    """reference.json: the majority class (the floors) and the frozen checkpoint's probe (the encoder-confound gate)."""
    return json.loads(path.read_text()) if path.exists() else {}


def read(path: Path) -> dict[str, dict]:
    return json.loads(path.read_text()) if path.exists() else {}


def load(study: Study, profile: str | None) -> dict[str, dict]:
    return read(study.store(profile))


def add(path: Path, records: dict[str, dict]) -> None:
    """`records` added to the store as it is on disk now (another process may have added others meanwhile)."""
    write_json(path, read(path) | records)


def changed_params(ran: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """The params a run set otherwise than its variant sets now, as `key: then → now`. A param the run did not have
    came with later code (whose change the code id already marks), so it does not count; a record without overrides
    cannot be compared and says so."""
    if not ran:
        return ["params (the run recorded none to compare)"]
    return [f"{k}: {ran[k]} → {now.get(k)}" for k in sorted(ran) if ran[k] != now.get(k)]


def page_results(studies: dict[str, Study], profile: str) -> dict[str, dict[str, dict]]:
    """Each table study's records as its pages show them: a study with `same_runs_as` shows its source's; a record of
    a variant the source no longer has is left out; a record made with other params than its variant sets now is
    kept, its `params_changed` naming them (stale until it is rerun)."""
    out = {}
    base = profile_base(profile) if (PROFILES / f"{profile}.yaml").exists() else {}
    for name, s in studies.items():
        src = studies[s.same_runs_as] if s.same_runs_as else s
        shown = {}
        for k, r in load(src, profile).items():
            if r["variant"] not in src.all_variants():
                continue
            _, seed = split_key(k)
            now = src.overrides(profile, r["variant"], seed, base) if profile in src.profiles else None
            changed = now is not None and r.get("budget") is not None and r["budget"] != budget_id(now)
            params = changed_params(r.get("overrides", {}), now) if changed else []
            shown[k] = dict(r, params_changed=params) if params else r
        out[name] = shown
    return out
