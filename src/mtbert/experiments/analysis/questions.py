"""A study's declared questions (`questions:` in its file: is b better, worse or the same as a on one metric?) read as
verdicts over the seeds: each arm against its floor and, where its runs had a plateau rule, levelled off (the cap
stopped fewer than half of them; a study choosing a recipe at one cap compares them as shipped), two-sided paired
t-tests and equivalence within a margin, with Holm's correction across the study's questions on each split."""

from __future__ import annotations

import math

from mtbert.eval.confidence import paired_difference
from mtbert.experiments.analysis import stats
from mtbert.experiments.analysis import verdicts as V
from mtbert.experiments.analysis.curves import capped
from mtbert.experiments.analysis.ours import records_of
from mtbert.experiments.study import Study


def not_levelled(study: Study, results: dict, arm: str) -> str:
    """Why `arm` did not level off ('' where it did, had no plateau rule, or the study compares recipes as shipped)."""
    if not study.levelled_off:
        return ""
    at_cap, ruled = capped(list(records_of(results, arm).values()))
    return f"`{arm}` reached its cap before levelling off on {at_cap} of {ruled} runs" if ruled and 2 * at_cap >= ruled \
        else ""


def verdict(part: V.Part, a: str, b: str, gates: tuple[str, ...] = ()) -> str:
    """The equivalence reading of one comparison, with "differ" said as which arm is better; the gates instead, if any."""
    if gates:
        return "gated: " + "; ".join(gates)
    said = V.part_verdict(part)
    if said == "differ":  # significant; and where TOST also holds, smaller than the margin
        small = f", by less than {part.margin:g}" if part.p_tost < V.ALPHA else ""
        return (f"`{b}` better" if part.mean > 0 else f"`{b}` worse") + small
    if said == "equivalent":
        return f"equivalent within ±{part.margin:g}"
    return said.replace("not distinguishable", "cannot be told apart", 1)


def answer(study: Study, results: dict, split: str, majority: dict | None = None) -> list[tuple[dict, V.Part, str]]:
    """(question, its Part, its verdict) for each of the study's questions on `split`."""
    questions = study.questions
    margin = study.question_margin
    parts = []
    for q in questions:
        a, b, metric = q.a, q.b, q.metric
        runs_a, runs_b = stats.per_seed(study, results, a, split), stats.per_seed(study, results, b, split)
        common = [s for s in runs_a if s in runs_b and metric in runs_a[s] and metric in runs_b[s]]
        xa, xb = [runs_a[s][metric] for s in common], [runs_b[s][metric] for s in common]
        if not common:
            parts.append(V.Part(math.nan, math.nan, math.nan, 0, 0.0, no_harm=True, both_ways=True, margin=margin))
            continue
        mean, low, high = paired_difference(xa, xb)
        below = tuple(arm for arm, xs in ((a, xa), (b, xb))
                      if not V.clears(sum(xs) / len(xs), metric, split, majority or {}))
        parts.append(V.Part(mean, low, high, len(common), 0.0, no_harm=True, both_ways=True, margin=margin,
                            p=V.t_pvalue([y - x for x, y in zip(xa, xb)]), p_tost=V.tost_pvalue(xa, xb, margin),
                            below_floor=below))
    V.adjust_parts(parts)
    return [(q, p, verdict(p, q.a, q.b, tuple(g for arm in (q.a, q.b) if (g := not_levelled(study, results, arm)))))
            for q, p in zip(questions, parts)]


def line(study: Study, results: dict, reference: dict | None, split: str) -> str:
    """The questions' verdicts on `split` in one sentence (each with b − a and its 95% interval), for the README."""
    said = []
    for q, p, verdict_ in answer(study, results, split, (reference or {}).get("majority", {})):
        diff = f" ({p.mean:+.3f} [{p.low:+.3f}, {p.high:+.3f}], {p.n} seeds)" if p.n > 1 else ""
        said.append(f"{q.label or q.metric}: {verdict_.split(';')[0]}{diff}")
    return f"{split}: " + "; ".join(said) + "."


def _p(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:.3f}"


def section(study: Study, results: dict, reference: dict | None, splits: tuple[str, ...]) -> str:
    """The page's "Questions" section: one row per question and split."""
    if not study.questions:
        return ""
    majority = (reference or {}).get("majority", {})
    margin = study.question_margin
    lines = ["| question | split | seeds | b − a [95% interval] | p (Holm) | p equivalent (Holm) | verdict |",
             "|---|---|---|---|---|---|---|"]
    for split in splits:
        for q, p, said in answer(study, results, split, majority):
            diff = "–" if p.n == 0 else f"{p.mean:+.4f}" + (f" [{p.low:+.4f}, {p.high:+.4f}]" if p.n > 1 else "")
            lines.append(f"| {q.label or q.metric}: `{q.b}` − `{q.a}` | {split} | {p.n} | {diff} | "
                         f"{_p(p.p)} | {_p(p.p_tost)} | {said} |")
    return ("## Questions\n\n" + "\n".join(lines) + "\n\n"
            f"Paired over seeds. A verdict needs both arms above their floors (majority class + {V.FLOOR_MARGIN}, or STS "
            f"r ≥ {V.MIN_R})" + (" and levelled off (where their runs had a plateau rule, the cap stopped fewer than half "
                                 "of them; else the verdict names the gate)" if study.levelled_off else
                                 "; the arms are compared as shipped, at one cap, whether or not they levelled off") +
            ". Better/worse: two-sided paired t, Holm-adjusted across this study's questions on the split, "
            f"below {V.ALPHA}; equivalent: two one-sided tests put the difference within ±{margin:g} (Holm likewise); "
            "otherwise the two cannot be told apart at this number of seeds, and the interval bounds what is still possible.")
