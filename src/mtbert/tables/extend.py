"""More seeds by the seed plan fixed in advance (study/plan.py), never one at a time: a part short of the plan's first
look gets the seeds that look needs; a part undecided at a look (and not stopped by a gate, which more seeds cannot
lift) gets the next look's; decided parts get none. Rounds go on while the profile's runs so far stay within the
wall-clock budget."""

from __future__ import annotations

from collections.abc import Callable

from mtbert.study import plan
from mtbert.study.rules import UNDECIDED
from mtbert.tables import run as R
from mtbert.tables.cost import elapsed_hours
from mtbert.tables.claims import Claim, assess
from mtbert.tables.ours import records_of
from mtbert.tables.published import Published
from mtbert.tables.spec import TableStudy, profile_base
from mtbert.study.spec import result_key, split_key


def current(study: TableStudy, results: dict[str, dict], profile: str, code: str) -> dict[str, dict]:
    """The results made by this code at this profile's budget (older ones do not decide what to run next)."""
    base = profile_base(profile)
    out = {}
    for key, record in results.items():
        variant, seed = split_key(key)
        if variant in study.all_variants() and R.is_current(record, code, study.overrides(profile, variant, seed, base)):
            out[key] = record
    return out


def target(row: dict) -> int | None:
    """The paired seeds this part's next look needs, or None when the plan asks for no more."""
    if row["ran"] == 0 or row["gated"]:
        return None  # the study's own runs come first (`make tables` runs them); more seeds cannot lift a gate
    if not row["seeds"]:
        return plan.LOOKS[0]
    if row["decision"] is None or row["decision"].verdict != UNDECIDED:
        return None
    return plan.next_look(len(row["seeds"]))


def undecided(claims: list[Claim], studies: dict[str, TableStudy], published: Published, profile: str, code: str,
              reference: dict) -> list[R.Pending]:
    """Both arms' runs that bring every part short of its next look up to it (the lowest seeds, skipping diverged)."""
    base = profile_base(profile)
    todo: dict[tuple[str, str, int], R.Pending] = {}
    for claim in claims:
        if claim.untestable:
            continue
        study = studies[claim.study]
        results = current(study, R.load_results(study, profile), profile, code)
        for row in assess(claim, study, results, published, reference.get("majority", {}), code, reference):
            wanted = target(row)
            if wanted is None:
                continue
            runs = {arm: records_of(results, arm) for arm in (row["a"], row["b"])}
            lost = {s for recs in runs.values() for s, r in recs.items() if r.get("status") == "diverged"}
            seeds = [s for s in range(wanted + len(lost)) if s not in lost][:wanted]
            for arm, recs in runs.items():
                for seed in seeds:
                    if seed not in recs:
                        todo[(study.name, arm, seed)] = R.Pending(study, result_key(arm, seed), arm, seed,
                                                                  study.overrides(profile, arm, seed, base))
    return list(todo.values())


def spent_hours(studies: dict[str, TableStudy], profile: str) -> float:
    """Wall-clock hours the profile's runs took so far (runs in parallel counted once)."""
    return elapsed_hours([r for s in studies.values() if not s.same_runs_as for r in R.load_results(s, profile).values()])


def extend(claims: list[Claim], studies: dict[str, TableStudy], published: Published, profile: str, code: str,
           reference: dict, budget_hours: float,
           run: Callable[[list[R.Pending]], None] | None = None) -> int:
    """Round after round, the runs the seed plan asks for, until none is left or the budget is spent; runs made.
    `run` runs a round (default: one after another in this workspace)."""
    run = run or (lambda todo: R.run_pending(todo, profile, code))
    made = 0
    while spent_hours(studies, profile) < budget_hours:
        todo = undecided(claims, studies, published, profile, code, reference)
        if not todo:
            break
        print(f"{len(todo)} more runs for comparisons the seed plan has not finished ({spent_hours(studies, profile):.1f} h of "
              f"{budget_hours} spent)", flush=True)
        run(todo)
        made += len(todo)
    return made
