"""reports/tables/claims.md: each claim of studies/claims.yaml, in parts (one comparison each), each part gated first
(gates.py), read at the seed plan's looks (plan.py) and tested paired over seeds with Bonferroni within its claim
(rules.py), and one verdict for the claim that follows from its parts."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, model_validator

from mtbert.experiments.analysis import gates as G
from mtbert.experiments.analysis import plan
from mtbert.experiments.analysis import rules as R
from mtbert.experiments.analysis import floors as F
from mtbert.experiments.analysis.cost import cost_line, each_run_once, elapsed_hours, still_to_run
from mtbert.experiments.analysis.curves import METRICS as CURVE_METRICS
from mtbert.experiments.analysis.curves import cap_line, capped, last_gains, mean_curve
from mtbert.experiments.analysis.ours import STALE_MARK, is_stale, records_of
from mtbert.experiments.published import METRIC_COLUMNS, Published, is_nan
from mtbert.experiments.store import load_reference
from mtbert.experiments.study import Study, split_key

CLAIMS = Path("studies/claims.yaml")

Test = Literal["published", "increase", "decrease", "no_harm", "no_gain", "equivalent"]
MARGIN_TESTS = ("no_harm", "no_gain", "equivalent")  # the tests that read the claim's margin


class ClaimPart(BaseModel):
    """One comparison: b − a on `metric`; `split_b` compares one arm's two splits (dev against test)."""

    model_config = ConfigDict(extra="forbid")
    metric: str
    a: str | None = None
    b: str | None = None
    split_b: str | None = None
    test: Test = "published"
    than: str | None = None  # compare the arms' gain on `metric` against their gain on this metric ("STS most")


class FixedBudget(BaseModel):
    """The claim is about a budget the report states ("after one epoch"): the plateau gate is lifted for these arms
    (all, if none are named), but only at the profiles where our runs have that budget."""

    model_config = ConfigDict(extra="forbid")
    profiles: list[str]
    arms: list[str] | None = None

    def names(self, arm: str) -> bool:
        return self.arms is None or arm in self.arms

    def covers(self, arm: str, profile: str | None) -> bool:
        return profile in self.profiles and self.names(arm)


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
    fixed_budget: FixedBudget | None = None
    # arm -> metrics whose heads the claim's own design leaves untrained (a baseline that never trains its pair heads):
    # the comparison is against that untrained head, so no floor gate there
    untrained: dict[str, list[str]] = {}
    caveat: str | None = None  # what a verdict here cannot speak to (shown beside it); may quote reference.json

    @model_validator(mode="after")
    def _parts(self) -> "Claim":
        if not self.parts and not self.untestable:
            raise ValueError(f"claim {self.id}: give `parts`, or `untestable` with the reason")
        for p in self.parts:
            if not (p.a or self.a) or not (p.b or self.b or p.split_b):
                raise ValueError(f"claim {self.id}: part on {p.metric} needs arms a and b (on the part or the claim)")
        compared = {arm for p in self.parts for arm in self.arms(p)[:2]}
        if unknown := sorted(set(self.untrained) - compared):
            raise ValueError(f"claim {self.id}: `untrained` names {unknown}, not arms of its parts {sorted(compared)}")
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


def published_value(published: Published, study: Study, variant: str, metric: str) -> float | None:
    v = study.all_variants()[variant]
    if (v.row or v.reading_of) is None:
        return None
    row = published.table(study.report, study.table).row(v.row or v.reading_of)
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


def split_effect(published: Published, study: Study, arm: str, metric: str, split_a: str,
                 split_b: str) -> float | None:
    """The report's split_b − split_a for one row, from its tables of the two splits (e.g. Table 3 less Table 2)."""
    row = study.all_variants()[arm].row
    values = []
    for split in (split_a, split_b):
        tables = [t for t in published.reports[study.report].tables if t.kind == "results" and t.split == split
                  and t.has_row(row or "")]
        column = next((c for t in tables[:1] for c, m in METRIC_COLUMNS.items()
                       if m == metric and c in t.row(row).values), None)
        value = tables[0].row(row).values.get(column) if column else None
        if value is None or isinstance(value, str) or is_nan(value):
            return None
        values.append(float(value))
    return values[1] - values[0]


def published_effect(published: Published, study: Study, claim: Claim, part: ClaimPart) -> float | None:
    """The report's b − a on the part's metric (less its b − a on `than`), where it prints both arms; for one arm's
    two splits, its split_b − split_a."""
    a, b, split_a, split_b = claim.arms(part)
    if a == b and split_a != split_b and not part.than:
        return split_effect(published, study, a, part.metric, split_a, split_b)
    if a == b or split_a != split_b:
        return None
    effects = []
    for metric in (part.metric, part.than) if part.than else (part.metric,):
        pa, pb = (published_value(published, study, arm, metric) for arm in (a, b))
        if pa is None or pb is None:
            return None
        effects.append(pb - pa)
    return effects[0] - (effects[1] if part.than else 0.0)


def arm_view(results: dict[str, dict], variant: str, split: str, seeds: list[int]) -> tuple[G.Arm, list[dict]]:
    """An arm on a split over the seeds read: its means, dev curves, what it ran and its per-seed metrics."""
    records = records_of(results, variant)
    per_seed = [records[s]["metrics"][split] for s in seeds]
    metrics = {m for r in per_seed for m, v in r.items() if v is not None}
    means = {m: float(np.mean([r[m] for r in per_seed])) for m in metrics if all(r.get(m) is not None for r in per_seed)}
    read_only = {k: r for k, r in results.items() for name, seed in [split_key(k)] if name == variant and seed in seeds}
    curves = {m: c for m in CURVE_METRICS if (c := mean_curve(read_only, variant, m)) is not None}
    first = records[seeds[0]] if seeds else {}
    params = first.get("overrides", {})
    diag = [records[s].get("diagnostics") or {} for s in seeds]
    keys = {k for d in diag for k, v in d.items() if isinstance(v, (int, float))}
    diagnostics = {k: float(np.mean([d[k] for d in diag if k in d])) for k in keys}
    read = [records[s] for s in seeds]
    return G.Arm(variant, split, means, curves, params.get("train.mode") == "full", params.get("model.checkpoint"),
                 params, diagnostics, last_gains(read), capped(read),
                 {m: [r[m] for r in per_seed] for m in means}), per_seed


def paired_seeds(results: dict[str, dict], claim: Claim, part: ClaimPart) -> tuple[list[int], dict[str, int]]:
    """Seeds on which both arms ran without diverging and measured the part's metrics; diverged runs per arm."""
    a, b, split_a, split_b = claim.arms(part)
    ok, diverged = {}, {}
    for arm, split in ((a, split_a), (b, split_b)):
        recs = records_of(results, arm)
        diverged[arm] = sum(r.get("status") == "diverged" for r in recs.values())
        ok[(arm, split)] = {s for s, r in recs.items() if r.get("status") != "diverged" and all(
            (r.get("metrics", {}).get(split) or {}).get(m) is not None for m in (part.metric, part.than) if m)}
    return sorted(set.intersection(*ok.values())), diverged


def assess(claim: Claim, study: Study, results: dict[str, dict], published: Published,
           majority: dict[str, dict[str, float]], code: str | None = None, reference: dict | None = None,
           second_look: bool = True) -> list[dict]:
    """Every part of a claim: its seeds (by the seed plan), gates, Bonferroni-adjusted decision and verdict text;
    `second_look` False (the profile's budget spent) reads a part undecided at the first look there."""
    reference = reference or {}
    probe, probe_checkpoint = reference.get("no_finetuning", {}), reference.get("checkpoint")
    rows = []
    for part in claim.parts:
        a, b, split_a, split_b = claim.arms(part)
        effect = published_effect(published, study, claim, part)
        kind = part.test if part.test in MARGIN_TESTS else "difference"
        direction = direction_of(part.test, effect)
        if kind == "difference" and direction == 0:  # its verdict could only ever be "not distinguishable"
            raise ValueError(f"{CLAIMS}: claim {claim.id}, part {a} → {b} on {part.metric}: the report prints no effect "
                             "to take the claimed direction from; give the part test: increase, decrease or no_gain")
        common, diverged = paired_seeds(results, claim, part)
        stale = any(is_stale(r, code) for arm in (a, b) for r in records_of(results, arm).values())
        row = {"a": a, "b": b, "split_a": split_a, "split_b": split_b, "metric": part.metric, "than": part.than,
               "test": part.test, "published": effect, "stale": stale, "ran": len(common), "common": common,
               "diverged": diverged, "seeds": [], "gates": [], "gated": False, "lifted": []}
        if not common:
            row.update(decision=None, verdict="not run yet", text=None)
            rows.append(row)
            continue
        looks = [k for k in plan.LOOKS if k <= len(common)]
        if not looks:  # before the first look: the gates on what there is, provisional (more seeds may lift them)
            gates, _, _, _ = _gates(claim, part, a, b, split_a, split_b, results, sorted(common), majority, probe,
                                    probe_checkpoint)
            row.update(decision=None, gates=gates, text=None,
                       verdict=f"awaiting seeds ({len(common)} of the plan's first {plan.LOOKS[0]} paired)"
                               + (f"; provisionally gated: {'; '.join(gates)}" if gates else ""))
            rows.append(row)
            continue
        for k in looks:  # the plan's looks in turn: the first that gates or decides the part is the one it is read at
            seeds = sorted(common)[:k]
            gates, per_a, per_b, lifted = _gates(claim, part, a, b, split_a, split_b, results, seeds, majority,
                                                 probe, probe_checkpoint)
            value = lambda r: r[part.metric] - (r[part.than] if part.than else 0.0)  # noqa: E731
            diffs = [value(y) - value(x) for x, y in zip(per_a, per_b)]
            decision = R.decide(diffs, kind, direction, claim.margin, len(claim.parts), plan.NOMINAL_ALPHA, effect)
            if gates or decision.verdict != R.UNDECIDED:
                break
        degenerate = decision.verdict.startswith("degenerate")
        # undecided at a look before the last: the plan's next look decides, not this one
        undecided = not gates and decision.verdict == R.UNDECIDED and plan.next_look(len(seeds)) is not None
        pending = undecided and second_look
        verdict = "gated" if gates else (R.PENDING if pending else decision.verdict)
        later = (f"; {R.PENDING} ({plan.next_look(len(seeds))} seeds)" if pending
                 else f"; {R.NO_SECOND_LOOK} (the profile's budget was spent)" if undecided else "")
        row.update(seeds=seeds, decision=decision, gates=gates, gated=bool(gates) or degenerate, verdict=verdict,
                   lifted=lifted, text=decision.text() + later)
        rows.append(row)
    return rows


ANSWERED = ("reproduced", "contradicted", "published size ruled out", "not distinguishable")


def summary_line(counts: dict[str, int], stopped_by: dict[str, int]) -> str:
    """The page's verdicts in one sentence (the README's Status quotes it): claims an experiment here can answer and
    their verdicts, then what stopped the rest; `stopped_by` counts the gated claims each gate stopped."""
    testable = sum(counts.get(k, 0) for k in ANSWERED)
    said = ", ".join(f"{counts[k]} {k}" for k in ANSWERED if counts.get(k))
    line = (f"{sum(counts.values())} claims; {testable} answerable with this setup (model, data, profile)"
            + (f": {said}." if said else "."))
    if counts.get(R.GATED):
        gates = ", ".join(f"{g} in {n}" for g, n in sorted(stopped_by.items(), key=lambda kv: (-kv[1], kv[0])))
        line += f" {counts[R.GATED]} {R.GATED} (the gates that stopped them: {gates})."
    rest = [f"{counts[k]} {k}" for k in ("not testable here", R.AWAITING) if counts.get(k)]
    return line + (f" {'; '.join(rest).capitalize()}." if rest else "")


def _gates(claim: Claim, part, a: str, b: str, split_a: str, split_b: str, results: dict, seeds: list[int],
           majority: dict, probe: dict, probe_checkpoint: str | None
           ) -> tuple[list[str], list[dict], list[dict], list[str]]:
    """Every gate a part fails on `seeds`, each arm checked on the compared metrics (see METHOD), both arms' per-seed
    metrics, and the arms whose plateau gate the report's stated budget lifted."""
    arm_a, per_a = arm_view(results, a, split_a, seeds)
    arm_b, per_b = arm_view(results, b, split_b, seeds)
    metrics = G.metrics_of(part.metric, part.than)
    gates, lifted = [], []
    for arm in (arm_a, arm_b) if a != b or split_a != split_b else (arm_a,):
        records = [records_of(results, arm.name)[s] for s in seeds]
        changed = sorted({c for r in records for c in r.get("params_changed") or []})
        if changed:
            gates.append(f"set-up changed: {arm.name} ran with {'; '.join(changed)} (rerun)")
        budget, profile = claim.fixed_budget, records[0].get("profile")
        stated = budget is not None and budget.covers(arm.name, profile)
        elsewhere = budget is not None and not stated and budget.names(arm.name)
        own = tuple(m for m in metrics if m not in claim.untrained.get(arm.name, ()))  # trained heads only
        gates += G.below_floor(arm, own, majority)
        gates += G.budget_elsewhere(arm, budget.profiles) if elsewhere else G.undertrained(arm, own, majority, stated)
        gates += G.encoder_confound(arm, metrics, probe, probe_checkpoint)
        lifted += [arm.name] if stated else []
    gates += G.inert(arm_a, arm_b, per_a, per_b)
    return list(dict.fromkeys(gates)), per_a, per_b, lifted  # a dev → test part's one arm can fail a gate twice


def claim_verdict(rows: list[dict]) -> str:
    return R.joint([r["verdict"] for r in rows], [r["gated"] for r in rows],
                   [bool(r["decision"] and r["decision"].published_ruled_out) for r in rows])


def _arm_text(study: Study, results: dict, arm: str, metric: str, split: str, seeds: list[int]) -> str:
    values = [r["metrics"][split][metric] for s, r in records_of(results, arm).items() if s in seeds]
    return "–" if not values else f"{np.mean(values):.3f}"


def _seeds_text(row: dict) -> str:
    """Paired seeds read (of those run); before the plan's first look, those run and what the look needs."""
    n = len(row["seeds"])
    if n == 0:
        text = "0" if row["ran"] == 0 else f"{row['ran']} (first look: {plan.LOOKS[0]})"
    else:
        text = str(n) if n == row["ran"] else f"{n} of {row['ran']}"
    lost = sum(row["diverged"].values())
    return text + (f" ({lost} diverged, dropped)" if lost else "")


TEST_WORDS = {"no_harm": "no harm, margin −{m:g}", "no_gain": "no gain, margin +{m:g}",
              "equivalent": "agree, margin ±{m:g}", "increase": "increase", "decrease": "decrease"}


def _part_line(row: dict, study: Study, results: dict, margin: float, also: list[str]) -> str:
    """One part's table row; `also`: the other claims that make the same comparison (read at their own levels)."""
    d: R.Decision | None = row["decision"]
    splits = row["split_a"] if row["split_a"] == row["split_b"] else f"{row['split_a']} → {row['split_b']}"
    arms = f"{row['a']} → {row['b']}" if row["a"] != row["b"] else row["a"]
    claimed = TEST_WORDS.get(row["test"], "direction published").format(m=margin)
    metric = row["metric"] + (f" − {row['than']}" if row["than"] else "")
    shown_seeds = row["seeds"] or row["common"]
    if row["than"]:
        values = "–"
    else:
        values = (f"{_arm_text(study, results, row['a'], row['metric'], row['split_a'], shown_seeds)} · "
                  f"{_arm_text(study, results, row['b'], row['metric'], row['split_b'], shown_seeds)}")
    shown = "not printed" if row["published"] is None else f"{row['published']:+.3f}"
    if d is not None and d.published_ruled_out and not row["gates"]:  # a gated part is not tested: it rules nothing out
        shown += " (ruled out)"
    if d is None or d.n == 0:
        ours, ptext = "–", "–"
    elif math.isnan(d.low):
        ours, ptext = f"{d.mean:+.3f}", "–"
    else:
        ours = f"{d.mean:+.3f} [{d.low:+.3f}, {d.high:+.3f}] ({100 * d.level:.1f}%)"
        p = "< 0.001" if d.p < 0.001 else f"{d.p:.3f}"
        ptext = "–" if row["gates"] else f"{p} ({d.test})"  # a gated part is not tested
    if row["gates"] and row["gated"]:
        verdict = "**gated**: " + "; ".join(row["gates"])
    else:
        verdict = row["text"] if d is not None else row["verdict"]
        if row["lifted"]:
            verdict += f" (plateau gate lifted for {', '.join(row['lifted'])}: the budget the report states)"
    if also:
        verdict += " (also in " + ", ".join(also) + ")"
    mark = f" {STALE_MARK}" if row["stale"] else ""
    return (f"| {arms} | {metric} ({splits}; {claimed}) | {values} | {shown} | {ours} | {_seeds_text(row)} | {ptext} "
            f"| {verdict}{mark} |")


FINDING_PARTS = 4  # parts spelled out in a claim's one-line finding; the rest counted


def _part_finding(row: dict) -> str:
    """One part in words: the comparison, our interval beside the published size, and its verdict or its gates."""
    arms = f"{row['a']} → {row['b']}" if row["a"] != row["b"] else row["a"]
    split = row["split_a"] if row["split_a"] == row["split_b"] else f"{row['split_a']} → {row['split_b']}"
    said = f"{arms}, {row['metric']}" + (f" − {row['than']}" if row["than"] else "") + f" ({split})"
    d: R.Decision | None = row["decision"]
    if d is not None and d.n and not math.isnan(d.low):
        said += f" {d.mean:+.3f} [{d.low:+.3f}, {d.high:+.3f}]"
    if row["published"] is not None:
        said += f" against the published {row['published']:+.3f}" + (
            f" (ruled out: {d.size_against_published()})" if d and d.published_ruled_out and not row["gates"] else "")
    names = ", ".join(dict.fromkeys(g.split(":")[0] for g in row["gates"]))
    if row["gates"] and row["gated"]:
        return said + f": gated ({names})"
    if row["gates"]:  # before the first look
        return said + f": {row['verdict'].split(';')[0]}, provisionally gated ({names})"
    return said + f": {row['verdict']}"


def finding(claim: Claim, rows: list[dict], joint: str) -> str:
    """A claim's finding in one line a researcher could quote: its verdict, then each part (the first few)."""
    parts = [_part_finding(r) for r in rows[:FINDING_PARTS]]
    rest = rows[FINDING_PARTS:]
    if rest:
        gated = sum(r["gated"] for r in rest)
        parts.append(f"and {len(rest)} more part{'s' * (len(rest) > 1)} ({gated} gated)")
    return f"- **{claim.report} · [{claim.id}](#{claim.report}--{claim.id})**: {joint}. " + "; ".join(parts) + "."


METHOD = [
    "- **Gates first.** A part gets a verdict only if the experiment can answer it. Each compared arm is checked, over "
    "the seeds the part reads, on the compared metric (for an overall score also its three components, for a `than` "
    "part both metrics), and each failing gate is named in place of a verdict: **below floor** (a mean below its "
    "floor: accuracy {margin} above the split's majority class, CFIMDB {margin} above chance, STS r ≥ {min_r}; not on "
    "a head the claim's own design leaves untrained, such as a baseline's never-trained pair heads, which is what "
    "that claim compares against); "
    "**undertrained** (the arm's runs rose by more than {rising} on average over their own last evaluations, or its "
    "cap rather than its plateau rule stopped half its runs or more, or it has only one dev evaluation, or its mean "
    "curve is never above the floor; for a claim about a budget the report states, \"after one epoch\", only the "
    "last applies, and only to the named arms at the profiles whose runs have that budget, where the row says "
    "\"plateau gate lifted\"); **report's budget elsewhere** (such an arm at a profile whose runs have another "
    "budget: the claim waits for the profile that runs the report's); **encoder confound** (a "
    "fine-tuned arm whose 95% interval over the seeds read lies below the frozen probe of its own checkpoint on a "
    "task the checkpoint was trained for: {trained}; probe from `reference.json`, mean-pooled whatever the arm's "
    "pooling, so for a [CLS]-pooled arm a stricter bar than its own untouched start. Passing it does not remove the "
    "contamination: an arm above the probe may still owe its Quora and STS numbers to the checkpoint's training, so "
    "no verdict here on those tasks speaks for bert-base); **inert** (the arms agree to {same:g} on every metric of "
    "every seed, or the manipulation's recorded size is below {inert:g} of the loss it joins); **set-up changed** "
    "(the run was made with params the study has changed since: it answers another question until it is rerun). "
    "A paired difference with no spread over the seeds gets no p-value (**degenerate**, counted as gated). A gated "
    "part shows its interval but is not tested (no p, no published size ruled out) and gets no extra seeds. Before the first look a part's gates "
    "are provisional and its claim awaits runs. Every number of a fine-tuned run is its best dev epoch's (the "
    "checkpoint kept), so dev numbers are selected on dev. Not every gate lifts with a longer budget: the summary "
    "says what would lift each (the encoder confound needs another checkpoint; the `gpu` profile offline runs the "
    "same one).",
    "- **The seed plan, fixed in advance.** A part is read on its first {look1} paired seeds; only if it is undecided "
    "there (**second look pending**) does it get seeds up to {look2}, read once more; a part is read at the first "
    "look that gates or decides it. The second look gets what the first leaves of the profile's {budget:g} hours wall "
    "(`--budget-hours`): once every first-look run is in and the runs at this code took them, a part undecided at "
    "the first look is read there (**second look not run**). Each look tests at the same "
    "nominal {alpha} (Pocock's design, calibrated for t tests on so few seeds) so that both looks together keep a "
    "false verdict under 5% (`tests/test_seed_plan.py` simulates it). Seeds run beyond the look reached are not read "
    "(the seeds column says \"5 of 7\"); diverged runs are counted and dropped from the pair.",
    "- **Bonferroni within the claim, p and interval alike.** A claim of m parts tests each at {alpha}/m. A claimed "
    "difference: a two-sided t interval at 1 − {alpha}/m, **reproduced** (or **reversed**) when it excludes 0 on the "
    "claimed (the other) side. \"Without hurting\": one-sided non-inferiority, **no harm shown** when the lower end "
    "of the 1 − 2·{alpha}/m interval is above −margin, **harm** when its upper end is below 0. \"Did not improve\": "
    "the mirror (**no gain shown** / **gain**). \"Agree\": equivalence first, **equivalent** when the interval lies "
    "inside ±margin (two one-sided tests), **differ** when it lies wholly beyond ±margin (a difference larger than the "
    "claim allows); a part neither supported nor contradicted is **not distinguishable**, whatever its test. Every "
    "verdict reads off the printed interval; the printed p is that test's, times m, and decides below {alpha}. The "
    "margin is the smallest effect the claim treats as mattering (0.01 of accuracy or r unless the claim sets "
    "another: 0.03 where the report says \"comparable\"), fixed before any run; where it is narrow against the "
    "seeds' spread, the interval's width shows that the plan's seeds cannot show it. Error rates hold per claim, not "
    "across the page: of k claims answered, about 0.05·k may get a wrong verdict by chance. A comparison two claims "
    "make is read at each claim's own level (their m differ), so their verdicts can differ; its row links the "
    "other. The study pages (`mtbert study`) use Holm across a study's questions; here a claim's parts share its "
    "level by Bonferroni so that the printed interval is the one tested (Holm's step-down levels depend on the order "
    "of the p-values, which one printed interval per part cannot show).",
    "- **The published size as a test.** Where the report prints both numbers, a part whose interval excludes the "
    "published b − a says **published size ruled out**, and whether ours is smaller (the \"small telescopes\" "
    "reading: any effect here is smaller than the report's), larger, or of the other sign. An undecided part states "
    "what its interval rules out. **Reproduced** is about the direction: a reproduced claim can have the published "
    "size ruled out on some parts, and the summary says so. The published b − a is one run of another model on "
    "other splits, taken as exact: its own seed-to-seed spread is not in our interval, so a narrow miss says less "
    "than a wide one.",
    "- **The claim's verdict** follows from its parts, in this order: **contradicted** if any part that passed its "
    "gates goes against it (one such part refutes a claim over all of them); else **not testable with this setup** "
    "if any part is gated; else **awaiting runs** while any part waits for seeds; else **reproduced** if every part "
    "supports it; else **published size ruled out** if an undecided part excludes the report's effect; else **not "
    "distinguishable**. A claim the project cannot test at all says why: **not testable here**.",
]


def comparison_of(claim: Claim, part: ClaimPart) -> tuple:
    """What a part compares (study, its two (arm, split) in either order, metrics): two claims with the same one read
    the same runs, b − a in one being a − b in the other."""
    a, b, split_a, split_b = claim.arms(part)
    return (claim.study, *sorted([(a, split_a), (b, split_b)]), part.metric, part.than)


def shared_comparisons(claims: list[Claim]) -> dict[tuple, list[str]]:
    """Each comparison made by more than one claim -> those claims, as links to their sections."""
    out: dict[tuple, list[str]] = {}
    for c in claims:
        for part in c.parts:
            link = f"[{c.id}](#{c.report}--{c.id})"
            if link not in (seen := out.setdefault(comparison_of(c, part), [])):
                seen.append(link)
    return {k: v for k, v in out.items() if len(v) > 1}


def runs_read(rows: list[dict], results: dict) -> str:
    """The seeds and commits of the runs a claim's parts read at a look (each run once; parts before their first
    look read nothing yet)."""
    read = {(arm, s) for r in rows for arm in (r["a"], r["b"]) for s in r["seeds"]}
    if not read:
        return ""
    commits: dict[str, int] = {}
    for arm, s in read:
        c = (records_of(results, arm).get(s) or {}).get("commit") or "unknown"
        commits[c] = commits.get(c, 0) + 1
    seeds = sorted({s for _, s in read})
    said = ", ".join(f"`{c[:12]}` ({n})" for c, n in sorted(commits.items(), key=lambda kv: (-kv[1], kv[0])))
    early = sum(not r["seeds"] for r in rows)
    return (f"Runs read: {len(read)}, seeds {', '.join(map(str, seeds))}; made at commits {said}."
            + (f" Not counted: {early} parts before their first look." if early else ""))


def lift_table(stopped_by: dict[str, int]) -> list[str]:
    """What stopped the gated claims, and what would lift each gate."""
    if not stopped_by:
        return []
    rows = [f"| {g} | {n} | {G.LIFT.get(g, '–')} |" for g, n in sorted(stopped_by.items(), key=lambda kv: (-kv[1], kv[0]))]
    return ["| gate | claims it stopped | what would lift it |", "|---|---:|---|", *rows, ""]


def caveat_text(claim: Claim, reference: dict) -> str:
    """The claim's caveat with its `{majority[dev][sst_acc]:.3f}`-style fields filled from reference.json, so that its
    numbers are the measured ones."""
    try:
        return claim.caveat.strip().format_map(reference)
    except (KeyError, IndexError, ValueError) as e:
        raise ValueError(f"studies/claims.yaml, claim {claim.id}: its caveat quotes {e}, which reference.json "
                         f"(keys: {sorted(reference)}) does not have") from e


def second_look_open(results: dict[str, dict[str, dict]], code: str | None, left: dict | None,
                     budget_hours: float = plan.BUDGET_HOURS) -> bool:
    """Whether the seed plan's second look may still come: not once every first-look run is in (`pilot.remaining`)
    and the runs at `code` took the profile's budget."""
    spent = elapsed_hours([r for res in results.values() for r in res.values() if r.get("code") == code])
    return not (left is not None and not left["runs"] and spent >= budget_hours)


def render_claims(claims: list[Claim], published: Published, studies: dict[str, Study],
                  results: dict[str, dict[str, dict]], profile: str, code: str | None = None,
                  reference: dict | None = None, pilot: list[dict] | None = None, left: dict | None = None,
                  budget_hours: float = plan.BUDGET_HOURS) -> str:
    """claims.md: the method, what the runs cost and have left (`pilot.remaining`), the summary, each claim; once every
    first-look run is in and the runs at `code` took `budget_hours`, no second look comes."""
    reference = load_reference() if reference is None else reference
    majority = reference.get("majority", {})
    probe = reference.get("no_finetuning", {})
    trained = "; ".join(f"{ckpt.split('/')[-1]} on " + " and ".join(f"{m} ({why})" for m, why in tasks.items())
                        for ckpt, tasks in G.TRAINED_FOR.items())
    method = [line.format(trained=trained, margin=F.FLOOR_MARGIN, min_r=F.MIN_R, rising=G.STILL_RISING, same=G.SAME_RUN,
                          inert=G.INERT_FRACTION, look1=plan.LOOKS[0], look2=plan.LOOKS[-1], alpha=plan.NOMINAL_ALPHA,
                          budget=budget_hours)
              for line in METHOD]
    probe_text = ", ".join(f"{split}: SST {v['sst_acc']:.3f}, Quora {v['quora_acc']:.3f}, STS r {v['sts_pearson']:.3f}"
                           for split, v in probe.items() if {"sst_acc", "quora_acc", "sts_pearson"} <= set(v))
    runs = [r for res in results.values() for r in res.values()]
    second_look = second_look_open(results, code, left, budget_hours)
    lines = ["# The reports' claims, checked", "",
             f"Each claim in our words (keeping the report's quantifiers), where the report makes it, and its parts: "
             f"one comparison each, b − a on a metric, paired over the seeds both arms ran at profile `{profile}`; a "
             "part on one arm's two splits pairs its dev and test numbers seed by seed (against the report's own test "
             "− dev), and a `than` part takes, seed by seed, b − a on its metric less b − a on the other (\"especially "
             "on STS\"). How a verdict is reached:", "", *method, "",
             "{setup}", "",
             (f"The frozen probe of `{reference.get('checkpoint')}` (untouched encoder; `reference` stage): {probe_text}."
              if probe_text else ""), "",
             "Every table study at this profile, all reports, at this commit's pipeline code: "
             + (cost_line([r for r in runs if r.get("code") == code])
                or "nothing run yet."),
             *([f"Of them, the pilot (one run of each kind of arm, run first to size the profile: "
                f"[pilot.{profile}.md](pilot.{profile}.md)): {cost_line(pilot)}"] if pilot else []),
             *([line] if (line := cap_line(each_run_once([r for r in runs if r.get("code") == code]))) else []),
             *([still_to_run(left)] if left and left["runs"] else []),
             ""]
    summary = ["| report | claim | verdict |", "|---|---|---|"]
    findings = ["## Findings, one line each", "",
                "Each claim's verdict, then its parts: ours b − a [interval at the part's level] against the published "
                "b − a, and the part's verdict or the gates that stopped it (details in the claim's section).", ""]
    body, counts, stopped_by, shared = [], {}, {}, shared_comparisons(claims)
    any_stale = False
    for c in claims:
        budget = (f"; about the budget the report states for {', '.join(c.fixed_budget.arms or ['every arm'])}, "
                  f"which our runs have at profile{'s' * (len(c.fixed_budget.profiles) > 1)} "
                  f"{' and '.join(c.fixed_budget.profiles)}") if c.fixed_budget else ""
        margin = f", margin {c.margin}" if any(p.test in MARGIN_TESTS for p in c.parts) else ""
        untrained = ("; untrained by the claim's design, so no floor there: " + ", ".join(
            f"{arm} on {', '.join(ms)}" for arm, ms in c.untrained.items())) if c.untrained else ""
        head = [f"## {c.report} · `{c.id}`", "", f"*{c.claim}* ({c.where}; study `{c.study}`{margin}"
                + budget + untrained + ")", ""]
        if c.untestable:
            counts["not testable here"] = counts.get("not testable here", 0) + 1
            summary.append(f"| {c.report} | [{c.id}](#{c.report}--{c.id}) | not testable here |")
            findings.append(f"- **{c.report} · [{c.id}](#{c.report}--{c.id})**: not testable here.")
            body += head + [f"**Not testable here:** {c.untestable.strip()}", ""]
            continue
        study = studies[c.study]
        res = results.get(study.name, {})
        rows = assess(c, study, res, published, majority, code, reference, second_look)
        joint = claim_verdict(rows)
        counts[joint] = counts.get(joint, 0) + 1
        stale = any(r["stale"] for r in rows)
        any_stale |= stale
        mark = f" {STALE_MARK}" if stale else ""
        gates = sorted({g.split(":")[0] for r in rows if r["gated"] for g in r["gates"]})
        if joint == R.GATED:
            for g in gates:
                stopped_by[g] = stopped_by.get(g, 0) + 1
        said = [f"gated parts: {', '.join(gates)}"] if gates else []
        smaller = sum(bool(r["decision"] and r["decision"].published_ruled_out) for r in rows if not r["gated"])
        if joint == "reproduced" and smaller:
            said.append(f"published size ruled out on {smaller} of {len(rows)} parts")
        said += ["caveat"] if c.caveat else []
        summary.append(f"| {c.report} | [{c.id}](#{c.report}--{c.id}) | {joint}"
                       + (f" ({'; '.join(said)})" if said else "") + f"{mark} |")
        findings.append(finding(c, rows, joint) + (" (caveat in its section)" if c.caveat else ""))
        caveat = [f"*Caveat:* {caveat_text(c, reference)}", ""] if c.caveat else []
        body += head + [f"**Verdict: {joint}**{mark}", "", *caveat,
                        "| comparison (a → b) | metric (split; what the claim says) | a · b | published b − a | ours b − a "
                        f"[interval] (level) | seeds | p (test, × m; decides below {plan.NOMINAL_ALPHA}) | verdict |",
                        "|---|---|---:|---:|---:|---:|---:|---|"]
        body += [_part_line(r, study, res, c.margin, [x for x in shared.get(comparison_of(c, part), [])
                                                      if f"[{c.id}]" not in x])
                 for r, part in zip(rows, c.parts)]
        body += ["", read, ""] if (read := runs_read(rows, res)) else [""]
    setup = ("Our setup differs from every report's, on every number below: a smaller encoder already trained for "
             "two of the tasks (all-MiniLM-L6-v2, see the encoder-confound gate) where the reports fine-tuned "
             "bert-base; Quora on the offline re-split of 20,212 labelled pairs; the profile's budgets and learning "
             f"rates (`profiles/tables/{profile}.yaml` and each study's `profiles.{profile}`), not the reports'. "
             "`reports/tables/<report>.md` lists each study's differences in the settings its report states.")
    if any_stale:  # the legend only where a mark is shown
        setup += (f" {STALE_MARK}: some of the runs compared came from older pipeline code than this commit's, or "
                  "from params the study has changed since (`make tables` reruns them).")
    lines[lines.index("{setup}")] = setup
    lines += ["## Summary", "", summary_line(counts, stopped_by), "", *lift_table(stopped_by)]
    return "\n".join(lines + summary + [""] + findings + [""] + body).rstrip() + "\n"
