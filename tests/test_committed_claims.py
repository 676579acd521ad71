"""The committed reports/tables against the committed results: claims.md is what the results say, and every verdict on
it obeys the rules (floors, Holm within the claim, equivalence, the claim verdict from its parts, bounds stated), which
are re-derived here from the numbers, not read back from the code that wrote the page. No interval of a correlation on
any page leaves [-1, 1]."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

from mtbert.tables import run as R
from mtbert.tables.claims import assess, load_claims, load_majority, render_claims
from mtbert.tables.ours import cell
from mtbert.tables.published import load_published
from mtbert.tables.spec import table_studies

PAGES = ROOT / "reports" / "tables"


@pytest.fixture(scope="module")
def committed():
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        studies = table_studies()
        results = R.page_results(studies, "cpu")
        claims, published, majority = load_claims(), load_published(), load_majority()
        code = R.code_version(strict=False)
        rows = {c.id: assess(c, studies[c.study], results.get(c.study, {}), published, majority, code)
                for c in claims if not c.untestable}
        page = render_claims(claims, published, studies, results, "cpu", code, majority)
        yield {"studies": studies, "results": results, "claims": claims, "majority": majority, "code": code,
               "rows": rows, "page": page}


def test_the_committed_claims_page_is_what_the_committed_results_say(committed):
    assert (PAGES / "claims.md").read_text() == committed["page"]


def _floor(metric: str, split: str, majority: dict) -> float:
    """The floor rule, written out again: accuracy 0.01 above the majority class (CFIMDB: chance), STS r >= 0.1."""
    if metric == "cfimdb_acc":
        return 0.51
    if metric == "sts_pearson":
        return 0.10
    maj = majority[split]
    if metric == "overall":
        return (maj["sst_acc"] + 0.01 + maj["quora_acc"] + 0.01 + 1.1 / 2) / 3
    return maj[metric] + 0.01


def test_every_part_verdict_obeys_the_floors_holm_and_equivalence(committed):
    checked = 0
    for claim in committed["claims"]:
        if claim.untestable:
            continue
        study = committed["studies"][claim.study]
        results = committed["results"].get(claim.study, {})
        for row in committed["rows"][claim.id]:
            part, verdict = row["part"], row["verdict"]
            if part.n == 0:
                assert verdict == "not run yet"
                continue
            checked += 1
            means = [cell(study, results, arm, row["metric"], split, committed["code"]).mean
                     for arm, split in ((row["a"], row["split_a"]), (row["b"], row["split_b"]))]
            fails = [m for m, split in zip(means, (row["split_a"], row["split_b"]))
                     if split in committed["majority"] and not m >= _floor(row["metric"], split, committed["majority"])]
            if fails:
                assert verdict.startswith("uninformative"), (claim.id, row["metric"], means, verdict)
                continue
            if verdict in ("reproduced", "reversed"):
                assert part.n >= 2 and part.p < 0.05 and not part.no_harm, (claim.id, row["metric"], part)
                assert (part.mean > 0) == ((verdict == "reproduced") == (part.direction > 0))
            assert part.no_harm or part.direction != 0, (claim.id, row["metric"])  # a test that can be decided
            if verdict in ("no gain shown", "gain"):
                assert part.no_harm and part.no_gain
                assert (part.p < 0.05 and (part.mean > 0) == (verdict == "gain")) or (
                    verdict == "no gain shown" and part.p_tost < 0.05), (claim.id, row["metric"], part)
            if verdict in ("no harm shown", "equivalent"):
                assert part.no_harm and not part.no_gain and (part.p_tost < 0.05 or (verdict == "no harm shown" and part.p < 0.05
                                                                and part.mean > 0)), (claim.id, row["metric"], part)
            if verdict in ("harm", "differ"):
                assert part.no_harm and part.p < 0.05
            if verdict.startswith("not distinguishable") and part.n >= 2:
                assert f"outside [{part.low:+.3f}, {part.high:+.3f}]; the largest still possible: " in verdict
                assert not (part.p < 0.05 and part.direction != 0 and not part.no_harm)
    assert checked > 0


def _joint(verdicts: list[str]) -> str:
    """A claim holds only if every part supports it and fails if any part goes against it."""
    if any(v == "not run yet" for v in verdicts):
        return "not run yet"
    if any(v in ("reversed", "harm", "differ", "gain") for v in verdicts):
        return "contradicted"
    if any(v.startswith("uninformative") for v in verdicts):
        return "uninformative"
    if all(v in ("reproduced", "no harm shown", "equivalent", "no gain shown") for v in verdicts):
        return "reproduced"
    return "not distinguishable"


def test_every_claim_verdict_follows_from_its_parts_on_the_page(committed):
    page = (PAGES / "claims.md").read_text()
    for claim in committed["claims"]:
        if claim.untestable:
            continue
        expected = _joint([r["verdict"] for r in committed["rows"][claim.id]])
        summary = re.search(rf"^\| {claim.report} \| \[{re.escape(claim.id)}\]\(#[^)]*\) \| ([^|†]+?)(?: †)? \|$", page,
                            re.M)
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
    """At the code the results were made with nothing is stale: no mark, no legend; at any other code, both."""
    made_with = {r["code"] for res in committed["results"].values() for r in res.values()}
    assert len(made_with) == 1
    args = (committed["claims"], load_published(), committed["studies"], committed["results"], "cpu")
    current = render_claims(*args, made_with.pop(), committed["majority"])
    assert "†" not in current
    older = render_claims(*args, "0" * 16, committed["majority"])
    assert "†: some of the runs compared came from older pipeline code" in older and "| reproduced † |" in older
