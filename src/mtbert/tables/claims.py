"""reports/tables/claims.md: each claim of studies/claims.yaml, in parts (one comparison each), every part tested
paired over seeds with Holm's correction within its claim, arms below their floor made uninformative, "without
hurting" tested as equivalence, and one verdict for the claim that follows from its parts (study/verdicts.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

from mtbert.eval.confidence import t_interval
from mtbert.study import verdicts as V
from mtbert.tables.ours import STALE_MARK, cell, paired_values
from mtbert.tables.published import METRIC_COLUMNS, Published, is_nan
from mtbert.tables.cost import cost_line
from mtbert.tables.spec import TableStudy

CLAIMS = Path("studies/claims.yaml")
REFERENCE = Path("reference.json")

Test = Literal["published", "increase", "decrease", "no_harm", "no_gain", "equivalent"]


class ClaimPart(BaseModel):
    """One comparison: b − a on `metric`; `split_b` compares one arm's two splits (dev against test)."""

    model_config = ConfigDict(extra="forbid")
    metric: str
    a: str | None = None
    b: str | None = None
    split_b: str | None = None
    test: Test = "published"


class Claim(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    report: str
    where: str
    claim: str  # in our words, keeping the report's quantifiers
    study: str
    split: str = "dev"
    a: str | None = None
    b: str | None = None
    margin: float = 0.01  # the smallest effect that matters; the equivalence margin of no_harm / equivalent parts
    parts: list[ClaimPart] = []
    untestable: str | None = None  # why this claim cannot be tested here (then no parts)

    @model_validator(mode="after")
    def _parts(self) -> "Claim":
        if not self.parts and not self.untestable:
            raise ValueError(f"claim {self.id}: give `parts`, or `untestable` with the reason")
        for p in self.parts:
            if not (p.a or self.a) or not (p.b or self.b or p.split_b):
                raise ValueError(f"claim {self.id}: part on {p.metric} needs arms a and b (on the part or the claim)")
        return self

    def arms(self, part: ClaimPart) -> tuple[str, str, str, str]:
        """(a, b, split of a, split of b)."""
        a = part.a or self.a
        b = part.b or self.b or a
        return a, b, self.split, part.split_b or self.split


def load_claims(path: Path = CLAIMS) -> list[Claim]:
    try:
        return [Claim.model_validate(c) for c in yaml.safe_load(path.read_text())]
    except Exception as err:
        raise ValueError(f"{path}: {err}") from None


def load_majority(path: Path = REFERENCE) -> dict[str, dict[str, float]]:
    """The majority-class accuracies per split (the reference stage's), for the floors."""
    return json.loads(path.read_text()).get("majority", {}) if path.exists() else {}


def published_value(published: Published, study: TableStudy, variant: str, metric: str) -> float | None:
    v = study.all_variants()[variant]
    if v.row is None:
        return None
    row = published.table(study.report, study.table).row(v.row)
    columns = v.columns or {c: m for c, m in METRIC_COLUMNS.items()}
    column = next((c for c, m in columns.items() if m == metric and c in row.values), None)
    value = row.values.get(column) if column else None
    return None if value is None or isinstance(value, str) or is_nan(value) else float(value)


def direction_of(test: str, effect: float | None) -> float:
    if test == "increase":
        return 1.0
    if test == "decrease":
        return -1.0
    if test == "published" and effect is not None:
        return math.copysign(1.0, effect) if effect != 0 else 0.0
    return 0.0


def assess(claim: Claim, study: TableStudy, results: dict[str, dict], published: Published,
           majority: dict[str, dict[str, float]], code: str | None = None) -> list[dict]:
    """Every part of a claim with its numbers, floors, Holm-adjusted p-values and verdict."""
    rows, parts = [], []
    for part in claim.parts:
        a, b, split_a, split_b = claim.arms(part)
        pa, pb = (published_value(published, study, arm, part.metric) for arm in (a, b))
        effect = pb - pa if pa is not None and pb is not None and a != b and split_a == split_b else None
        xa, xb, stale = paired_values(study, results, a, b, part.metric, split_a, split_b, code)
        d = [y - x for x, y in zip(xa, xb)]
        mean, low, high = t_interval(d) if d else (math.nan, math.nan, math.nan)
        equivalence = part.test in ("no_harm", "no_gain", "equivalent")
        direction = direction_of(part.test, effect)
        if not equivalence and direction == 0:  # its verdict could only ever be "not distinguishable"
            raise ValueError(f"{CLAIMS}: claim {claim.id}, part {a} → {b} on {part.metric}: the report prints no effect "
                             "to take the claimed direction from; give the part test: increase, decrease or no_gain")
        below = tuple(f"{arm} ({split})" for arm, split in ((a, split_a), (b, split_b)) if d and not V.clears(
            cell(study, results, arm, part.metric, split, code).mean, part.metric, split, majority))
        p = V.Part(mean, low, high, len(d), direction, no_harm=equivalence,
                   p=V.t_pvalue(d) if d else math.nan,
                   p_tost=V.tost_pvalue(xa, xb, claim.margin) if equivalence and d else math.nan,
                   below_floor=tuple(dict.fromkeys(below)), margin=claim.margin, both_ways=part.test == "equivalent",
                   no_gain=part.test == "no_gain")
        parts.append(p)
        rows.append({"a": a, "b": b, "split_a": split_a, "split_b": split_b, "metric": part.metric,
                     "test": part.test, "published": effect, "stale": stale, "part": p})
    V.adjust_parts(parts)
    for row in rows:
        row["verdict"] = V.part_verdict(row["part"])
    return rows


def _arm_text(study: TableStudy, results: dict, arm: str, metric: str, split: str, code: str | None) -> str:
    c = cell(study, results, arm, metric, split, code)
    return "–" if c.n == 0 else f"{c.mean:.3f}"


def render_claims(claims: list[Claim], published: Published, studies: dict[str, TableStudy],
                  results: dict[str, dict[str, dict]], profile: str, code: str | None = None,
                  majority: dict[str, dict[str, float]] | None = None) -> str:
    majority = load_majority() if majority is None else majority
    lines = ["# The reports' claims, checked", "",
             f"Each claim in our words (keeping the report's quantifiers), where the report makes it, and its parts: "
             f"one comparison each, b − a on a metric, over the seeds both arms ran at profile `{profile}` (paired; "
             "mean with its 95% t interval). How a verdict is reached:", "",
             "- **Holm within the claim**: a claim's parts are one family; each part's two-sided paired t-test p-value "
             f"is Holm-adjusted within it, and a part is **reproduced** (or **reversed**) only when the adjusted p is "
             f"below {V.ALPHA} and the mean goes the claimed (the other) way. The claimed way is the published effect's "
             "sign, or the direction the report states where it prints no number.",
             f"- **Floors**: an arm whose mean does not clear its floor on the compared metric learned nothing a "
             f"comparison can rest on, and makes the part **uninformative**. Floors: accuracy {V.FLOOR_MARGIN} above the "
             f"majority class of the split (`reference.json`), CFIMDB {V.FLOOR_MARGIN} above chance (0.5), STS r ≥ "
             f"{V.MIN_R}, overall the overall of those floors.",
             "- **Without hurting** (and \"dev and test agree\") parts are equivalence tests: two one-sided paired t-tests "
             "that b − a lies within ± the claim's margin, Holm-adjusted among those parts: **no harm shown** "
             "(**equivalent**), **harm** (the two-sided test finds b below a; for \"agree\" parts **differ**: a "
             "difference either way), or not distinguishable. \"Did not improve\" parts are the mirror test (b − a below "
             "+ the margin): **no gain shown**, **gain** (b significantly above a), or not distinguishable.",
             "- Every **not distinguishable** part states what it rules out: effects outside its 95% interval.",
             "- **The claim's verdict** follows from its parts: reproduced only if every part supports it, "
             "contradicted if any part goes against it, else uninformative if any part is, else not distinguishable.",
             "",
             "{setup}", "",
             "Every table study at this profile, all reports: " + (cost_line([r for res in results.values()
                                                                            for r in res.values()]) or "nothing run yet."),
             ""]
    summary = ["| report | claim | verdict |", "|---|---|---|"]
    body = []
    any_stale = False
    for c in claims:
        head = [f"## {c.report} · `{c.id}`", "", f"*{c.claim}* ({c.where}; study `{c.study}`, margin {c.margin})", ""]
        if c.untestable:
            summary.append(f"| {c.report} | [{c.id}](#{c.report}--{c.id}) | not testable here |")
            body += head + [f"**Not testable here:** {c.untestable.strip()}", ""]
            continue
        study = studies[c.study]
        res = results.get(study.name, {})
        rows = assess(c, study, res, published, majority, code)
        joint = V.joint_verdict([r["verdict"] for r in rows])
        stale = any(r["stale"] for r in rows)
        any_stale |= stale
        summary.append(f"| {c.report} | [{c.id}](#{c.report}--{c.id}) | {joint}{f' {STALE_MARK}' if stale else ''} |")
        body += head + [f"**Verdict: {joint}**{f' {STALE_MARK}' if stale else ''}", "",
                        "| comparison (a → b) | metric (split) | a · b | published b − a | ours b − a [95% CI] | seeds | "
                        "p (Holm) | verdict |", "|---|---|---:|---:|---:|---:|---:|---|"]
        for r in rows:
            p: V.Part = r["part"]
            splits = r["split_a"] if r["split_a"] == r["split_b"] else f"{r['split_a']} → {r['split_b']}"
            arms = f"{r['a']} → {r['b']}" if r["a"] != r["b"] else r["a"]
            shown = "not printed" if r["published"] is None else f"{r['published']:+.3f}"
            ours = "–" if p.n == 0 else (f"{p.mean:+.3f}" + ("" if math.isnan(p.low) else f" [{p.low:+.3f}, {p.high:+.3f}]"))
            values = (f"{_arm_text(study, res, r['a'], r['metric'], r['split_a'], code)} · "
                      f"{_arm_text(study, res, r['b'], r['metric'], r['split_b'], code)}")
            tost = p.no_harm and r["verdict"] in ("no harm shown", "equivalent", "no gain shown") and not (
                p.p < V.ALPHA and r["verdict"] != "equivalent")  # a significant difference decided it: its own p
            pv = p.p_tost if tost else p.p
            ptext = "–" if math.isnan(pv) else f"{pv:.3f}" + (" (TOST)" if tost else "")
            body.append(f"| {arms} | {r['metric']} ({splits}) | {values} | {shown} | {ours} | {p.n} | {ptext} | "
                        f"{r['verdict']}{f' {STALE_MARK}' if r['stale'] else ''} |")
        body.append("")
    setup = ("Our setup (MiniLM, offline Quora re-split, short budgets) differs from every report's: see "
             "`reports/tables/<report>.md`, which lists each study's remaining setup differences.")
    if any_stale:  # the legend only where a mark is shown
        setup += (f" {STALE_MARK}: some of the runs compared came from older pipeline code than this commit's "
                  "(`make tables` reruns them).")
    lines[lines.index("{setup}")] = setup
    return "\n".join(lines + ["## Summary", ""] + summary + [""] + body).rstrip() + "\n"
