"""The seed plan, fixed before any run so that adding seeds cannot inflate the error rate: a comparison is read at
two looks, on its first 5 paired seeds and (only if still undecided there) on its first 10, each look at the same
nominal level (Pocock's design, calibrated for t tests on few seeds), so that a false verdict over both looks stays
under 5%."""

from __future__ import annotations

LOOKS = (5, 10)  # paired seeds read at each look; seeds between looks wait for the next one
# Pocock's boundary for two equally spaced looks at an overall two-sided 0.05 is z = 2.178, a nominal 0.0294 per look
# (Jennison & Turnbull, Group Sequential Methods, table 2.1), but that assumes a known variance: with t tests on 4 and 9
# degrees of freedom it gives 5.3% (400,000 null simulations). A constant nominal 0.026 per look gives 4.7% there
# (tests/test_seed_plan.py's 10,000, seed 0: 4.5%).
NOMINAL_ALPHA = 0.026
OVERALL_ALPHA = 0.05
# Wall-clock hours a profile's runs at one pipeline code may take (`tables run --budget-hours`): the second look gets
# what the first leaves of them, and none once they are spent.
BUDGET_HOURS = 24.0


def look(n: int) -> int | None:
    """How many of n paired seeds the plan reads: the largest look not above n (None before the first look)."""
    reached = [k for k in LOOKS if k <= n]
    return reached[-1] if reached else None


def analysed(seeds: list[int]) -> list[int]:
    """The seeds a comparison is read on: the lowest `look(len(seeds))` of them (none before the first look)."""
    k = look(len(seeds))
    return sorted(seeds)[:k] if k else []


def next_look(n: int) -> int | None:
    """The paired seeds the next look needs (None once the last look is reached)."""
    later = [k for k in LOOKS if k > n]
    return later[0] if later else None
