"""How one claim part is decided from its paired differences, in the claim's own words, with every verdict readable
off the one interval printed beside it: Bonferroni within the claim (m parts share the look's alpha), a two-sided
interval at 1 − alpha/m for a claimed difference, and at 1 − 2·alpha/m for one-sided "without hurting" / "did not
improve" (non-inferiority / non-superiority within the margin) and for "agree" (equivalence first, by two one-sided
tests; "differ" only beyond the margin). Each part also says whether its interval rules out the published effect."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

Kind = Literal["difference", "no_harm", "no_gain", "equivalent"]
SUPPORTS = ("reproduced", "no harm shown", "no gain shown", "equivalent")
CONTRADICTS = ("reversed", "harm", "gain", "differ")
UNDECIDED = "not distinguishable"
PENDING = "second look pending"  # undecided at the seed plan's first look: its second decides
NO_SECOND_LOOK = "second look not run"  # undecided at the first look once the budget is spent: read there
AWAITING = "awaiting runs"
GATED = "not testable with this setup"  # a claim with a gated part and no part against it (model, data, profile)


@dataclass
class Decision:
    """A part's estimate, its adjusted interval (at `level`), the adjusted p of the test that decided it, and why."""

    mean: float
    low: float
    high: float
    level: float
    n: int
    p: float  # Bonferroni-adjusted (× m), of the test named in `test`; below alpha exactly when the interval shows it
    test: str
    verdict: str
    published: float | None = None
    published_ruled_out: bool = False

    def text(self) -> str:
        """The verdict in words, with the published size and what a non-verdict still rules out."""
        out = self.verdict
        if self.verdict == UNDECIDED and not math.isnan(self.low):
            out += f"; rules out effects outside [{self.low:+.3f}, {self.high:+.3f}]"
        if self.published_ruled_out:
            out += f"; **published size ruled out** ({self.published:+.3f}: {self.size_against_published()})"
        return out

    def size_against_published(self) -> str:
        """Where the published b − a lies against our interval, in words."""
        if self.low > 0 > self.published or self.high < 0 < self.published:
            return "the other sign"
        if self.high < self.published or self.low > self.published:
            towards_zero = abs(self.published) > max(abs(self.low), abs(self.high))
            return "ours is smaller" if towards_zero else "ours is larger"
        return "outside"


def interval(d: np.ndarray, level: float) -> tuple[float, float, float, float]:
    """Mean, Student-t interval at `level`, and the standard error of the mean of paired differences."""
    mean, se = float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d)))
    half = float(stats.t.ppf((1 + level) / 2, len(d) - 1)) * se
    return mean, mean - half, mean + half, se


def one_sided_p(d: np.ndarray, null: float, above: bool) -> float:
    """p of H0: mean <= null (above=True, the alternative is mean > null) or H0: mean >= null (above=False)."""
    mean, se = float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d)))
    t = (mean - null) / se
    df = len(d) - 1
    return float(stats.t.sf(t, df) if above else stats.t.cdf(t, df))


def decide(diffs, kind: Kind, direction: float, margin: float, m: int, alpha: float,
           published: float | None = None) -> Decision:
    """Decide one part of a claim of m parts at nominal level `alpha` (the seed plan's, for the look reached)."""
    d = np.asarray(diffs, dtype=float)
    n = len(d)
    if n < 2:
        return Decision(float(d.mean()) if n else math.nan, math.nan, math.nan, math.nan, n, math.nan, "–",
                        "not run yet" if n == 0 else "too few seeds", published)
    if np.all(d == d[0]):  # no spread: a t statistic is undefined, never "p = 0"
        what = "identical on every seed" if d[0] == 0 else f"every seed differs by exactly {d[0]:+.3g}"
        return Decision(float(d[0]), math.nan, math.nan, math.nan, n, math.nan, "–", f"degenerate: {what}", published)
    a = alpha / m
    level = 1 - a if kind == "difference" else 1 - 2 * a
    mean, low, high, se = interval(d, level)
    adj = lambda p: min(1.0, m * p)  # noqa: E731
    if kind == "difference":
        p, test = adj(float(2 * stats.t.sf(abs(mean) / se, n - 1))), "two-sided t"
        if (low > 0 or high < 0) and direction != 0:
            verdict = "reproduced" if (mean > 0) == (direction > 0) else "reversed"
        else:
            verdict = UNDECIDED
    elif kind == "no_harm":
        if low > -margin:
            p, test, verdict = adj(one_sided_p(d, -margin, above=True)), f"non-inferiority (−{margin:g})", "no harm shown"
        elif high < 0:
            p, test, verdict = adj(one_sided_p(d, 0.0, above=False)), "one-sided t (b < a)", "harm"
        else:
            p, test, verdict = adj(one_sided_p(d, -margin, above=True)), f"non-inferiority (−{margin:g})", UNDECIDED
    elif kind == "no_gain":
        if high < margin:
            p, test, verdict = adj(one_sided_p(d, margin, above=False)), f"non-superiority (+{margin:g})", "no gain shown"
        elif low > 0:
            p, test, verdict = adj(one_sided_p(d, 0.0, above=True)), "one-sided t (b > a)", "gain"
        else:
            p, test, verdict = adj(one_sided_p(d, margin, above=False)), f"non-superiority (+{margin:g})", UNDECIDED
    else:  # equivalent: equivalence first; "differ" only where the interval lies wholly beyond the margin band
        tost = max(one_sided_p(d, -margin, above=True), one_sided_p(d, margin, above=False))
        if -margin < low and high < margin:
            p, test, verdict = adj(tost), f"TOST (±{margin:g})", "equivalent"
        elif low > margin or high < -margin:
            p = adj(one_sided_p(d, margin if mean > 0 else -margin, above=mean > 0))
            test, verdict = f"beyond ±{margin:g}", "differ"
        else:
            p, test, verdict = adj(tost), f"TOST (±{margin:g})", UNDECIDED
    ruled_out = published is not None and not (low <= published <= high)
    return Decision(mean, low, high, level, n, p, test, verdict, published, ruled_out)


def joint(verdicts: list[str], gated: list[bool], ruled_out: list[bool]) -> str:
    """A claim over its parts ("on every task", "without hurting"), in this order: contradicted if any part that
    passed its gates goes against it (one such part refutes a claim over all of them, whatever the others); not
    testable with this setup while any part is gated; awaiting runs while any part waits for seeds; reproduced if
    every part supports it; "published size ruled out" if an undecided part excludes the report's effect; else not
    distinguishable."""
    if not verdicts:
        return AWAITING
    if any(v in CONTRADICTS for v, g in zip(verdicts, gated) if not g):
        return "contradicted"
    if any(gated):
        return GATED
    if any(v in ("not run yet", PENDING) or v.startswith("awaiting") for v in verdicts):
        return AWAITING
    if all(v in SUPPORTS for v in verdicts):
        return "reproduced"
    if any(r and v == UNDECIDED for v, r in zip(verdicts, ruled_out)):
        return "published size ruled out"
    return UNDECIDED
