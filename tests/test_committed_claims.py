"""The committed reports/tables against the committed results: claims.md is what the results say, no part that fails a
gate carries a verdict, and every part whose interval excludes the published effect says so. The gates are re-derived
here from the stored runs (their curves, modes and metrics), not read back from the code that wrote the page. No
interval of a correlation on any page leaves [-1, 1]."""

from __future__ import annotations

import collections
import json
import re

import numpy as np
import pytest
from scipy import stats
from conftest import ROOT

from mtbert.experiments import pilot, store
from mtbert.experiments.analysis.claims import assess, claim_verdict, load_claims, render_claims, second_look_open
from mtbert.experiments.provenance import code_version
from mtbert.experiments.published import load_published
from mtbert.experiments.study import profile_base, table_studies

PAGES = ROOT / "reports" / "tables"
VERDICTS = ("reproduced", "reversed", "no harm shown", "harm", "no gain shown", "gain", "equivalent", "differ")
PENDING = "second look pending"


@pytest.fixture(scope="module")
def committed():
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        studies = table_studies()
        results = store.page_results(studies, "cpu")
        claims, published, reference = load_claims(), load_published(), store.load_reference()
        code = code_version(strict=False)
        groups = pilot.kinds(studies, "cpu")
        pilots, left = pilot.pilot_records(groups, code), pilot.remaining(groups, code, 2)
        second_look = second_look_open(results, code, left)
        rows = {c.id: assess(c, studies[c.study], results.get(c.study, {}), published, reference["majority"], code,
                             reference, second_look)
                for c in claims if not c.untestable}
        page = render_claims(claims, published, studies, results, "cpu", code, reference, pilots, left)
        yield {"second_look": second_look, "pilots": pilots, "left": left, "studies": studies, "results": results,
               "claims": claims, "reference": reference, "code": code, "rows": rows, "page": page}


def test_the_committed_claims_page_is_what_the_committed_results_say(committed):
    assert (PAGES / "claims.md").read_text() == committed["page"]
    # the pilot's hours are stated once it has run (the page names how many of its runs are in)
    assert ("Of them, the pilot" in committed["page"]) == bool(committed["pilots"])


def test_the_readme_status_quotes_the_claims_page(committed):
    """The README's Status is the page's summary sentence and its hours (the whole profile's, the pilot's); links
    may point elsewhere from the README's folder."""
    lines = committed["page"].splitlines()
    hours = ("Every table study", "Of them, the pilot", "Still to rerun")
    quoted = [lines[lines.index("## Summary") + 2]] + [ln for ln in lines if ln.startswith(hours)]
    def plain(text: str) -> str:
        return " ".join(re.sub(r"\]\([^)]*\)", "]", text).split())

    readme = plain((ROOT / "README.md").read_text())
    for line in quoted:
        assert plain(line) in readme, f"README.md's Status lacks this line of claims.md:\n{line}"


def test_the_hours_count_each_stored_run_once(committed):
    """A study that shows another's runs (`same_runs_as`), or an arm copied from another study's run, adds no run to the
    profile's count, nor to its report page's."""
    now = older = 0
    for name, study in committed["studies"].items():
        path = PAGES / "results" / f"{name}.cpu.json"
        if study.same_runs_as or not path.exists():
            continue
        records = [r for r in json.loads(path.read_text()).values() if r["variant"] in study.all_variants()]
        now += sum(r["code"] == committed["code"] and not r.get("copied_from") for r in records)
        older += sum(r["code"] != committed["code"] for r in records)
    page = committed["page"]
    assert f"at this commit's pipeline code: {now} runs" in page
    # the runs still to make replace older records (others are copied once their twin in another study is made)
    assert committed["left"]["older"] <= older
    assert (f"Still to rerun: {committed['left']['runs']} runs" in page) == bool(committed["left"]["runs"])
    for report in {s.report for s in committed["studies"].values()}:
        owned = [s for s in committed["studies"].values() if s.report == report and not s.same_runs_as]
        count = sum(not r.get("copied_from") for s in owned for r in committed["results"].get(s.name, {}).values())
        copied = [s for s in committed["studies"].values() if s.report == report and s.same_runs_as
                  and committed["studies"][s.same_runs_as].report != report]
        if not copied and count:
            assert f". {count} runs" in (PAGES / f"{report}.md").read_text(), report


def _runs(results: dict, arm: str, seeds: list[int]) -> list[dict]:
    return [results[f"{arm}@seed{s}"] for s in seeds]


def _fails_a_gate(row: dict, results: dict, reference: dict, claim, study) -> list[str]:
    """The gates written out again from the stored runs: the run's params against the study's now (those the run
    had), floors (majority + 0.01, r >= 0.1, every component of an overall), runs still rising by > 0.01 on average
    at their own ends (or a single evaluation), or half of them stopped by their cap, unless the report states the
    arm's budget at this profile (or only at another: gated as such), a fine-tuned MiniLM arm whose 95% interval lies
    under the frozen probe on Quora or STS, and arms whose every metric agrees to 1e-6; no floor or plateau on a head
    the claim leaves untrained."""
    metrics = [row["metric"]] + (["sst_acc", "quora_acc", "sts_pearson"] if row["metric"] == "overall" else [])
    majority, probe = reference["majority"], reference["no_finetuning"]
    base = profile_base("cpu")
    found = []
    for arm, split in {(row["a"], row["split_a"]), (row["b"], row["split_b"])}:
        runs = _runs(results, arm, row["seeds"])
        for seed, run in zip(row["seeds"], runs):
            now = study.overrides("cpu", arm, seed, base)
            if any(now.get(k) != v for k, v in run["overrides"].items()):
                found.append(f"{arm} set-up changed")
        stated = claim.fixed_budget is not None and "cpu" in claim.fixed_budget.profiles and (
            claim.fixed_budget.arms is None or arm in claim.fixed_budget.arms)
        named = claim.fixed_budget is not None and (claim.fixed_budget.arms is None or arm in claim.fixed_budget.arms)
        if named and not stated:
            found.append(f"{arm} budget elsewhere")
        for m in metrics:
            mean = np.mean([r["metrics"][split][m] for r in runs])
            trained = m not in claim.untrained.get(arm, [])
            floor = 0.10 if m == "sts_pearson" else majority[split][m] + 0.01 if m != "overall" else (
                majority[split]["sst_acc"] + majority[split]["quora_acc"] + 0.02 + 1.1 / 2) / 3
            if trained and mean < floor:
                found.append(f"{arm} {m} below floor")
            curves = [r["curves"][m] for r in runs if m in (r.get("curves") or {})]  # the seeds the part reads
            if trained and curves and not stated and not named:
                ruled = [r["stopped"] for r in runs if (r.get("stopped") or {}).get("patience")]
                if min(map(len, curves)) < 2 or np.mean([c[-1] - c[-2] for c in curves]) > 0.01 or (
                        ruled and 2 * sum(x["by"] == "cap" for x in ruled) >= len(ruled)):
                    found.append(f"{arm} {m} not levelled")
            full = runs[0]["overrides"].get("train.mode") == "full"
            values = [r["metrics"][split][m] for r in runs]
            upper = mean + stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1) / np.sqrt(len(values))
            if full and m in ("quora_acc", "sts_pearson") and upper < probe[split][m]:
                found.append(f"{arm} {m} credibly under the probe")
    if row["a"] != row["b"]:
        pairs = zip(_runs(results, row["a"], row["seeds"]), _runs(results, row["b"], row["seeds"]))
        if all(abs(x["metrics"][row["split_a"]][m] - y["metrics"][row["split_b"]][m]) <= 1e-6
               for x, y in pairs for m in x["metrics"][row["split_a"]]):
            found.append("inert")
    return found


def test_no_part_that_fails_a_gate_carries_a_verdict_and_every_ruled_out_published_size_is_said(committed):
    checked = gated = 0
    for claim in committed["claims"]:
        if claim.untestable:
            continue
        results = committed["results"].get(claim.study, {})
        rows = committed["rows"][claim.id]
        for row in rows:
            if not row["seeds"]:
                continue
            checked += 1
            fails = _fails_a_gate(row, results, committed["reference"], claim, committed["studies"][claim.study])
            d = row["decision"]
            if fails:
                gated += 1
                assert row["gated"] and row["verdict"] == "gated", (claim.id, row["metric"], fails, row["verdict"])
            else:
                assert not row["gates"], (claim.id, row["metric"], row["gates"])
                if d.verdict == "not distinguishable" and len(row["seeds"]) < 10:  # the plan reads it again at 10
                    if committed["second_look"]:
                        assert row["verdict"] == PENDING and PENDING in row["text"], (claim.id, row["metric"])
                    else:  # the budget spent: read at the first look, and said
                        assert row["verdict"] == d.verdict and "second look not run" in row["text"], claim.id
            if row["published"] is not None and not np.isnan(d.low):
                excluded = not (d.low <= row["published"] <= d.high)
                assert d.published_ruled_out == excluded
                shown = f"{row['published']:+.3f} (ruled out)"
                if excluded and not row["gates"]:
                    assert shown in committed["page"]
                elif row["gates"]:  # a gated part is not tested
                    assert f"{shown} | {d.mean:+.3f} [{d.low:+.3f}, {d.high:+.3f}]" not in committed["page"]
        joint = claim_verdict(rows)
        if joint in ("reproduced", "contradicted"):
            decided = [r for r in rows if not r["gated"]]
            assert decided and (joint == "reproduced") == all(r["verdict"] in VERDICTS[::2] for r in rows)
            if joint == "contradicted":  # a contradiction stands only on a part that passed every gate
                assert any(r["verdict"] in VERDICTS[1::2] for r in decided), claim.id
    assert checked > 0 and gated > 0


def test_every_claim_verdict_on_the_page_is_its_parts_verdict(committed):
    page = (PAGES / "claims.md").read_text()
    for claim in committed["claims"]:
        if claim.untestable:
            assert re.search(rf"^\| {claim.report} \| \[{re.escape(claim.id)}\]\(#[^)]*\) \| not testable here \|$",
                             page, re.M), claim.id
            continue
        expected = claim_verdict(committed["rows"][claim.id])
        summary = re.search(rf"^\| {claim.report} \| \[{re.escape(claim.id)}\]\(#[^)]*\) \| ([^|†(]+?)(?: \([^)]*\))?"
                            r"(?: †)? \|$", page, re.M)
        assert summary and summary.group(1) == expected, (claim.id, expected, summary and summary.group(1))
        assert re.search(rf"\*\*Verdict: {re.escape(expected)}\*\*", page.split(f"`{claim.id}`", 2)[-1])


CORRELATION_COLUMN = re.compile(r"STS|Corr|Pearson|\br\b|sts_pearson", re.I)
INTERVAL = re.compile(r"\[(-?\d+\.\d+), (-?\d+\.\d+)\]")


def test_no_interval_of_a_correlation_on_any_page_leaves_minus_one_to_one():
    seen = 0
    for path in sorted(PAGES.glob("*.md")):
        if path.name == "claims.md":
            continue  # its intervals are of differences b - a; its arms are shown as means only
        header = None
        for line in path.read_text().splitlines():
            if not line.startswith("|"):
                header = None
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if header is None:
                header = cells
            elif not set("".join(cells)) <= set("-: "):
                for name, value in zip(header, cells):
                    if CORRELATION_COLUMN.search(name):
                        for low, high in INTERVAL.findall(value):
                            seen += 1
                            assert -1 <= float(low) <= float(high) <= 1, (path.name, name, value)
    assert seen > 0


def test_the_stale_legend_shows_only_with_a_stale_mark(committed):
    """At the code and params the results were made with nothing is stale: no mark, no legend; at any other code, or
    where a study has since changed a variant's params, both (the records of one code read at it, while a rerun has
    brought in some of the next code's)."""
    made_with = collections.Counter(r["code"] for res in committed["results"].values() for r in res.values())
    code = max(made_with, key=made_with.get)
    as_made = {s: {k: {f: v for f, v in r.items() if f != "params_changed"} for k, r in res.items() if r["code"] == code}
               for s, res in committed["results"].items()}
    render = lambda results, at: render_claims(committed["claims"], load_published(), committed["studies"],  # noqa: E731
                                               results, "cpu", at, committed["reference"])
    current = render(as_made, code)
    assert "†" not in current
    older = render(as_made, "0" * 16)
    assert "†: some of the runs compared came from older pipeline code" in older and " † |" in older
    page = render(committed["results"], committed["code"])
    for claim in committed["claims"]:
        if not claim.untestable:
            marked = re.search(rf"^\| {claim.report} \| \[{re.escape(claim.id)}\]\(#[^)]*\) \| .* † \|$", page, re.M)
            compared = {arm for part in claim.parts for arm in claim.arms(part)[:2]}
            stale = any((r.get("params_changed") or r["code"] != committed["code"]) and r["variant"] in compared
                        for r in committed["results"].get(claim.study, {}).values())
            assert bool(marked) == stale, claim.id


def test_every_interval_docs_tables_quotes_of_the_cpu_profile_is_on_the_claims_page(committed):
    """docs/tables.md's findings quote claims.md: each "b − a [low, high]" there is on the page as printed."""
    docs = (ROOT / "docs" / "tables.md").read_text()
    found = docs[docs.index("## What the `cpu` profile found"):]
    quoted = re.findall(r"[+-]\d\.\d{3} \[[+-]\d\.\d{3}, [+-]\d\.\d{3}\]", " ".join(found.split()))
    assert len(quoted) >= 5
    for interval in quoted:
        assert interval in committed["page"], f"docs/tables.md quotes {interval}, which claims.md does not print"
