"""More seeds by the seed plan fixed in advance (analysis/plan.py), never one at a time: a part short of the plan's first
look gets the seeds that look needs; a part undecided at a look (and not stopped by a gate, which more seeds cannot
lift) gets the next look's; decided parts get none. Rounds go on while the profile's runs so far stay within the
wall-clock budget."""

from __future__ import annotations

from collections.abc import Callable

from mtbert.experiments import store
from mtbert.experiments.analysis import plan
from mtbert.experiments.analysis.claims import Claim, assess
from mtbert.experiments.analysis.cost import elapsed_hours
from mtbert.experiments.analysis.ours import records_of
from mtbert.experiments.analysis.rules import UNDECIDED
from mtbert.experiments.provenance import is_current
from mtbert.experiments.published import Published
from mtbert.experiments.study import Run, Study, profile_base, split_key


def current(study: Study, results: dict[str, dict], profile: str, code: str) -> dict[str, dict]:
    """The results made by this code at this profile's budget (older ones do not decide what to run next)."""
    base = profile_base(profile)
    out = {}
    for key, record in results.items():
        variant, seed = split_key(key)
        if variant in study.all_variants() and is_current(record, code, study.overrides(profile, variant, seed, base)):
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


def undecided(claims: list[Claim], studies: dict[str, Study], published: Published, profile: str, code: str,
              reference: dict) -> list[Run]:
    """Both arms' runs that bring every part short of its next look up to it (the lowest seeds, skipping diverged)."""
    base = profile_base(profile)
    todo: dict[tuple[str, str, int], Run] = {}
    for claim in claims:
        if claim.untestable:
            continue
        study = studies[claim.study]
        results = current(study, store.load(study, profile), profile, code)
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
                        todo[(study.name, arm, seed)] = Run(study, profile, arm, seed,
                                                            study.overrides(profile, arm, seed, base))
    return list(todo.values())


def spent_hours(studies: dict[str, Study], profile: str, code: str) -> float:
    """Wall-clock hours the profile's runs at `code` took so far (runs in parallel counted once): records of older
    code (a rerun at new code starts its budget afresh) are not part of it."""
    return elapsed_hours([r for s in studies.values() if not s.same_runs_as for r in store.load(s, profile).values()
                          if r.get("code") == code])


def extend(claims: list[Claim], studies: dict[str, Study], published: Published, profile: str, code: str,
           reference: dict, budget_hours: float,
           run: Callable[[list[Run]], object]) -> int:
    """Round after round, the runs the seed plan asks for (`run` runs a round), until none is left or the budget is
    spent; runs made."""
    made = 0
    while spent_hours(studies, profile, code) < budget_hours:
        todo = undecided(claims, studies, published, profile, code, reference)
        if not todo:
            break
        print(f"{len(todo)} more runs for comparisons the seed plan has not finished ({spent_hours(studies, profile, code):.1f} h of "
              f"{budget_hours} spent)", flush=True)
        run(todo)
        made += len(todo)
    return made
