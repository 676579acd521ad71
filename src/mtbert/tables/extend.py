"""More seeds where a claim's comparison is still undecided: a part that is not distinguishable and whose 95% interval
is wider than the claim's margin (half-width above it) gets both arms' next seed, up to MAX_SEEDS, while the profile's
runs so far stay within the wall-clock budget."""

from __future__ import annotations

from collections.abc import Callable

from mtbert.tables import run as R
from mtbert.tables.cost import elapsed_hours
from mtbert.tables.claims import Claim, assess
from mtbert.tables.published import Published
from mtbert.tables.spec import TableStudy, profile_base
from mtbert.study.spec import result_key

MAX_SEEDS = 10


def current(study: TableStudy, results: dict[str, dict], profile: str, code: str) -> dict[str, dict]:
    """The results made by this code at this profile's budget (older ones do not decide what to run next)."""
    base = profile_base(profile)
    out = {}
    for key, record in results.items():
        variant, seed = key.rsplit("@seed", 1)
        if variant in study.all_variants() and R.is_current(record, code, study.overrides(profile, variant, int(seed), base)):
            out[key] = record
    return out


def undecided(claims: list[Claim], studies: dict[str, TableStudy], published: Published, profile: str, code: str,
              majority: dict[str, dict[str, float]]) -> list[R.Pending]:
    """The next seed of both arms of every undecided part wider than its margin (one seed more per round)."""
    base = profile_base(profile)
    todo: dict[tuple[str, str, int], R.Pending] = {}
    for claim in claims:
        if claim.untestable:
            continue
        study = studies[claim.study]
        results = current(study, R.load_results(study, profile), profile, code)
        for row in assess(claim, study, results, published, majority, code):
            part = row["part"]
            if not row["verdict"].startswith("not distinguishable") or part.n < 2:
                continue
            if (part.high - part.low) / 2 <= claim.margin or part.n >= MAX_SEEDS:
                continue
            for arm in {row["a"], row["b"]}:
                ran = sorted(int(k.rsplit("@seed", 1)[1]) for k in results if k.rsplit("@seed", 1)[0] == arm)
                seed = next(s for s in range(MAX_SEEDS + max(ran, default=0) + 1) if s not in ran)
                if seed < MAX_SEEDS:
                    todo[(study.name, arm, seed)] = R.Pending(study, result_key(arm, seed), arm, seed,
                                                              study.overrides(profile, arm, seed, base))
    return list(todo.values())


def spent_hours(studies: dict[str, TableStudy], profile: str) -> float:
    """Wall-clock hours the profile's runs took so far (runs in parallel counted once)."""
    return elapsed_hours([r for s in studies.values() if not s.same_runs_as for r in R.load_results(s, profile).values()])


def extend(claims: list[Claim], studies: dict[str, TableStudy], published: Published, profile: str, code: str,
           majority: dict[str, dict[str, float]], budget_hours: float,
           run: Callable[[list[R.Pending]], None] | None = None) -> int:
    """Round after round, the undecided parts' next seeds, until none is left or the budget is spent; runs made.
    `run` runs a round (default: one after another in this workspace)."""
    run = run or (lambda todo: R.run_pending(todo, profile, code))
    made = 0
    while spent_hours(studies, profile) < budget_hours:
        todo = undecided(claims, studies, published, profile, code, majority)
        if not todo:
            break
        print(f"{len(todo)} more seeds for undecided comparisons ({spent_hours(studies, profile):.1f} h of "
              f"{budget_hours} spent)", flush=True)
        run(todo)
        made += len(todo)
    return made
