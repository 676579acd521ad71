"""The published tables, the table studies that regenerate them, and `make tables`' run-what-is-missing logic."""

import json
import math
import subprocess

import pytest
import yaml
from conftest import ROOT

from mtbert.experiments.analysis.claims import load_claims
from mtbert.experiments.published import METRIC_COLUMNS, load_published
from mtbert.experiments.study import Grid, table_studies

REQUIRED = {"000": {"t1", "t2", "t3"}, "001": {"part1", "part2_dev", "part2_test"}, "002": {"t1", "t2", "t3"},
            "003": {"t1"}, "004": {"t1", "t2", "t3", "t4", "t5", "t6"}}


@pytest.fixture(scope="module")
def published():
    return load_published(ROOT / "reports" / "published.yaml")


@pytest.fixture(scope="module")
def studies():
    return table_studies(ROOT / "studies" / "tables")


def test_published_yaml_covers_every_listed_table_and_names_real_report_files(published):
    assert {rid: {t.id for t in r.tables} for rid, r in published.reports.items()} == REQUIRED
    seeds = ROOT.parent / "shared" / "seeds"
    if seeds.exists():  # CI and sessions have ../shared beside the clone
        assert all((seeds / r.file).exists() for r in published.reports.values())
    t6 = published.table("004", "t6")
    assert len(t6.rows) == 36 and sum(math.isnan(r.values["overall"]) for r in t6.rows) == 9
    assert published.table("002", "t2").row("W/ Further Pretrain").values == {"sst": 0.549, "quora": 0.858, "sts": 0.631}


def test_a_published_value_in_an_undeclared_column_is_refused(tmp_path):
    bad = {"reports": {"x": {"file": "x.txt", "title": "x", "tables": [{
        "id": "t", "table": "T", "caption": "c", "kind": "results", "split": "dev", "columns": {"sst": "SST"},
        "rows": [{"row": "r", "values": {"sst": 0.5, "quora": 0.7}}]}]}}}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(bad))
    with pytest.raises(ValueError, match=r"row 'r': values for columns \['quora'\] the table does not declare"):
        load_published(tmp_path / "p.yaml")


def test_every_study_row_is_published_and_every_published_result_row_is_studied_or_explained(published, studies):
    studied_tables = set()
    for name, study in studies.items():
        table = published.table(study.report, study.table)
        studied_tables.add((study.report, study.table))
        for variant in study.all_variants().values():
            if variant.row is not None:
                row = table.row(variant.row)  # raises if the row does not exist
                for column, metric in (variant.columns or {}).items():
                    assert column in row.values and metric in set(METRIC_COLUMNS.values())
            if variant.reading_of is not None:  # another reading of a published row: that row exists, and it has none
                assert variant.row is None and table.has_row(variant.reading_of), (name, variant.reading_of)
        covered = {v.row for v in study.all_variants().values()} | set(study.not_run)
        if table.kind == "results":
            assert {r.row for r in table.rows} <= covered, f"{name}: rows without a variant or a reason"
        assert set(study.not_run) <= {r.row for r in table.rows}
        assert {"cpu", "gpu"} <= set(study.profiles)
    results_tables = {(rid, t.id) for rid, r in published.reports.items() for t in r.tables if t.kind == "results"}
    assert results_tables <= studied_tables


def test_the_sweep_grid_expands_to_every_cell_of_table_6_in_order(published, studies):
    sweep = studies["004-t6"].grid.expand()
    assert len(sweep) == 3 * 4 * 3
    assert list(sweep)[:4] == ["lr1e-3-reg1-dropout0.1", "lr1e-3-reg1-dropout0.3", "lr1e-3-reg1-dropout0.5",
                               "lr1e-3-reg3-dropout0.1"]
    assert [v.row for v in sweep.values()] == [r.row for r in published.table("004", "t6").rows]
    assert sweep["lr1e-4-reg5-dropout0.1"].params == {"train.lr": 1.0e-4, "train.smart.weight": 5.0, "model.head_dropout": 0.1}


def test_a_grid_with_labels_that_do_not_match_its_values_is_refused():
    with pytest.raises(ValueError, match="2 labels for 3 values"):
        Grid(name="{a}", row="{a}", axes={"a": {"key": "train.lr", "values": [1, 2, 3], "labels": ["1", "2"]}})


def test_every_claim_compares_variants_of_its_study(studies):
    claims = load_claims(ROOT / "studies" / "claims.yaml")
    assert len(claims) >= 20
    for claim in claims:
        variants = studies[claim.study].all_variants()
        for part in claim.parts:
            a, b, split_a, split_b = claim.arms(part)
            assert a in variants and b in variants and part.metric in set(METRIC_COLUMNS.values()), (claim.id, part)
            for arm in {a, b}:  # a compared row runs on at least five seeds
                assert len(studies[claim.study].seeds_of(arm)) >= 5, (claim.id, arm)


# --- make tables on a tiny profile, in a repository of its own ---------------------------------------------------------

TINY_PUBLISHED = {"reports": {"9": {"file": "9.txt", "title": "Toy", "tables": [{
    "id": "t1", "table": "Table 1", "caption": "toy", "kind": "results", "split": "dev",
    "columns": {"sst": "SST", "overall": "Overall"},
    "rows": [{"row": "plain", "values": {"sst": 0.40, "overall": 0.60}}, {"row": "fancy", "values": {"sst": 0.45, "overall": 0.62}}]}]}}}
TINY_STUDY = {"name": "9-t1", "report": "9", "table": "t1", "description": "toy", "seeds": [0, 1],
              "budget": {"train": {"epochs": 1}}, "profiles": {"cpu": {}, "gpu": {}, "tiny": {"train": {"steps_per_epoch": 2}}},
              "variants": {"plain": {"row": "plain"}, "fancy": {"row": "fancy", "params": {"train": {"method": "pcgrad"}}}}}
TINY_CLAIMS = [{"id": "fancy", "report": "9", "where": "Table 1", "claim": "fancy beats plain", "study": "9-t1",
                "a": "plain", "b": "fancy", "parts": [{"metric": "sst_acc"}]}]


@pytest.fixture
def tiny_repo(tmp_path, monkeypatch):
    def write(path, text):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)

    write("dvc.yaml", yaml.safe_dump({"stages": {"finetune": {"cmd": "python stages/f.py", "deps": ["stages/f.py", "src/m.py"]},
                                                 "report": {"cmd": "python stages/r.py", "deps": ["src/render.py"]}}}))
    for path in ("params.yaml", "stages/f.py", "src/m.py", "src/render.py"):
        write(path, "# v1\n")
    write("reports/published.yaml", yaml.safe_dump(TINY_PUBLISHED))
    write("studies/tables/9-t1.yaml", yaml.safe_dump(TINY_STUDY, sort_keys=False))
    write("studies/claims.yaml", yaml.safe_dump(TINY_CLAIMS))
    write("profiles/tables/tiny.yaml", yaml.safe_dump({"evaluate": {"splits": ["dev"]}}))
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "toy"]):
        subprocess.run(cmd, cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _fake_runs(monkeypatch, diverge=(), alternate=False):
    """Fake `dvc exp run`s: fancy beats plain by 0.03 on every seed (or, `alternate`, by ±0.03 seed by seed)."""
    from mtbert.experiments.executors import dvc

    ran = []

    def exp_run(name, overrides):
        ran.append(name)
        if name in diverge:
            return False, 1.0, "FloatingPointError: non-finite training loss in epoch 1: {'sst': nan}\n"
        return True, 1.0, ""

    def collect(variant, overrides, seconds):
        seed = overrides["train.seed"]
        sst = 0.40 + 0.01 * seed + ((0.03 * (-1) ** seed if alternate else 0.03) if variant == "fancy" else 0.0)
        return {"variant": variant, "overrides": overrides, "metrics": {"dev": {"sst_acc": sst, "overall": 0.6 + sst / 10}},
                "wall_seconds": seconds}

    monkeypatch.setattr(dvc, "exp_run", exp_run)
    monkeypatch.setattr(dvc.R, "collect", collect)
    return ran


def test_make_tables_runs_only_what_is_missing_and_rerenders_byte_identically(tiny_repo, monkeypatch):
    from mtbert.experiments.cli import tables_main as main

    ran = _fake_runs(monkeypatch, diverge={"9-t1-fancy-seed1"})
    main(["run", "--profile", "tiny", "--budget-hours", "0"])
    assert ran == ["9-t1-plain-seed0", "9-t1-fancy-seed0", "9-t1-plain-seed1", "9-t1-fancy-seed1"]  # seed by seed
    store = tiny_repo / "reports" / "tables" / "results" / "9-t1.tiny.json"
    results = json.loads(store.read_text())
    assert results["fancy@seed1"]["status"] == "diverged" and "non-finite" in results["fancy@seed1"]["error"]
    assert results["plain@seed0"]["overrides"]["train.steps_per_epoch"] == 2  # the profile reached the run
    assert all(r["cpu_seconds"] >= 0 for r in results.values())  # the runner's children's CPU time, recorded
    page = (tiny_repo / "reports" / "tables" / "9.md").read_bytes()
    assert "0.400 · **0.405 [0.341, 0.469]** (+0.005)" in page.decode()  # plain: seeds 0.40 and 0.41
    assert "0.450 · **0.430 (1 seed)** (-0.020)" in page.decode()  # fancy: seed 1 diverged
    pages = {p.name: p.read_bytes() for p in (tiny_repo / "reports" / "tables").glob("*.md")}

    ran.clear()
    main(["run", "--profile", "tiny", "--budget-hours", "0"])  # everything current: nothing runs, the same bytes
    assert ran == []
    assert {p.name: p.read_bytes() for p in (tiny_repo / "reports" / "tables").glob("*.md")} == pages

    del results["plain@seed1"]
    store.write_text(json.dumps(results))
    main(["run", "--profile", "tiny", "--budget-hours", "0"])
    assert ran == ["9-t1-plain-seed1"]  # only the missing run


def test_a_result_from_other_pipeline_code_is_rerun_but_render_code_changes_keep_it(tiny_repo, monkeypatch):
    from mtbert.experiments.cli import tables_main as main

    ran = _fake_runs(monkeypatch)
    main(["run", "--profile", "tiny", "--budget-hours", "0"])
    commit = ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qam", "change"]
    (tiny_repo / "src" / "render.py").write_text("# v2\n")  # only the report stage reads it
    subprocess.run(commit, cwd=tiny_repo, check=True)
    ran.clear()
    main(["run", "--profile", "tiny", "--budget-hours", "0"])
    assert ran == []
    (tiny_repo / "src" / "m.py").write_text("# v2\n")  # the training code changed: every result is stale
    with pytest.raises(RuntimeError, match="commit or stash"):
        main(["run", "--profile", "tiny"])
    subprocess.run(commit, cwd=tiny_repo, check=True)
    main(["render", "--profile", "tiny"])  # before the rerun: the old numbers stay, marked as stale
    page = (tiny_repo / "reports" / "tables" / "9.md").read_text()
    assert "0.405 [0.341, 0.469]†" in page and "any of the 4 runs made by older pipeline code" in page
    main(["run", "--profile", "tiny", "--budget-hours", "0"])
    assert len(ran) == 4
    page = (tiny_repo / "reports" / "tables" / "9.md").read_text()
    assert "0.405 [0.341, 0.469] " in page.replace("**", " ") and "†" not in page


def test_a_record_of_a_variant_dropped_from_the_study_leaves_its_page_unchanged(tiny_repo, monkeypatch):
    from mtbert.experiments.cli import tables_main as main

    _fake_runs(monkeypatch)
    main(["run", "--profile", "tiny", "--budget-hours", "0"])
    page = (tiny_repo / "reports" / "tables" / "9.md").read_text()
    assert "4 runs" in page
    store = tiny_repo / "reports" / "tables" / "results" / "9-t1.tiny.json"
    results = json.loads(store.read_text())
    old = dict(results["plain@seed0"], variant="dropped", code="0" * 16)  # another code: it would mark the page stale
    store.write_text(json.dumps(results | {"dropped@seed0": old}))
    main(["render", "--profile", "tiny"])
    assert (tiny_repo / "reports" / "tables" / "9.md").read_text() == page


def test_the_seed_plan_brings_a_comparison_to_five_seeds_then_ten_if_undecided_within_the_budget(tiny_repo, monkeypatch):
    from mtbert.experiments.cli import tables_main as main

    ran = _fake_runs(monkeypatch, alternate=True)  # b − a = +0.03, -0.03, ...: undecided at five seeds
    main(["run", "--profile", "tiny", "--budget-hours", "0"])
    assert len(ran) == 4  # the study's two seeds only: no budget left for more
    ran.clear()
    main(["run", "--profile", "tiny"])
    assert sorted(ran) == sorted(f"9-t1-{v}-seed{s}" for s in range(2, 10) for v in ("plain", "fancy"))
    results = json.loads((tiny_repo / "reports" / "tables" / "results" / "9-t1.tiny.json").read_text())
    assert len(results) == 20
    assert "| plain → fancy | sst_acc (dev; " in (tiny_repo / "reports" / "tables" / "claims.md").read_text()
    assert "| 10 |" in (tiny_repo / "reports" / "tables" / "claims.md").read_text()


def test_a_change_of_the_default_recipe_in_params_yaml_leaves_table_results_current(tiny_repo, monkeypatch):
    from mtbert.experiments.cli import tables_main as main

    ran = _fake_runs(monkeypatch)
    main(["run", "--profile", "tiny", "--budget-hours", "0"])
    commit = ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qam", "change"]
    (tiny_repo / "params.yaml").write_text("# v2: the default recipe retuned\n")
    subprocess.run(commit, cwd=tiny_repo, check=True)
    ran.clear()
    main(["run", "--profile", "tiny", "--budget-hours", "0"])
    assert ran == [] and "†" not in (tiny_repo / "reports" / "tables" / "9.md").read_text()
    (tiny_repo / "profiles" / "tables" / "tiny.yaml").write_text(yaml.safe_dump({"evaluate": {"splits": ["dev", "test"]}}))
    subprocess.run(commit, cwd=tiny_repo, check=True)
    main(["run", "--profile", "tiny", "--budget-hours", "0"])  # the profile changed: every run's budget did
    assert len(ran) == 4


def test_a_result_made_with_params_its_variant_no_longer_sets_is_shown_stale_and_rerun(tiny_repo, monkeypatch):
    from mtbert.experiments.cli import tables_main as main

    ran = _fake_runs(monkeypatch)
    main(["run", "--profile", "tiny", "--budget-hours", "0"])
    study = dict(TINY_STUDY, variants={**TINY_STUDY["variants"], "fancy": {"row": "fancy", "params": {
        "train": {"method": "mtrec"}}}})  # a param the runs set, set otherwise
    (tiny_repo / "studies" / "tables" / "9-t1.yaml").write_text(yaml.safe_dump(study, sort_keys=False))
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qam", "cls"], cwd=tiny_repo, check=True)
    main(["render", "--profile", "tiny"])
    page = (tiny_repo / "reports" / "tables" / "9.md").read_text()
    assert "0.405 [0.341, 0.469] " in page.replace("**", " ")  # plain: its params are unchanged
    assert "0.435 [0.371, 0.499]†" in page and "or with params the study has changed since" in page
    ran.clear()
    main(["run", "--profile", "tiny", "--budget-hours", "0"])
    assert ran == ["9-t1-fancy-seed0", "9-t1-fancy-seed1"]


def test_a_variant_may_run_on_a_subset_of_the_study_seeds_and_no_others():
    from mtbert.experiments.study import Study

    study = dict(TINY_STUDY, seeds=[0, 1, 2], variants={"plain": {"row": "plain", "seeds": [0]}, "fancy": {"row": "fancy"}})
    assert Study.model_validate(study).runs() == [("plain", 0), ("fancy", 0), ("fancy", 1), ("fancy", 2)]
    with pytest.raises(ValueError, match=r"variant plain: seeds \[5\] are not all among the study's \[0, 1, 2\]"):
        Study.model_validate(dict(study, variants={"plain": {"row": "plain", "seeds": [5]}}))


def test_every_table_run_sets_only_params_that_exist(studies):
    from mtbert.experiments.study import profile_base
    from mtbert.profiles import flatten, open_maps

    params = set(flatten(yaml.safe_load((ROOT / "params.yaml").read_text()), keep_empty=True))
    maps = open_maps(ROOT / "params.yaml")
    assert {"train.task_lr", "train.task_weight_decay", "model.task_dropout"} <= maps
    params |= {k for name, study in studies.items() for v, s in study.runs()
               for k in study.overrides("cpu", v, s) if any(k.startswith(m + ".") for m in maps)}
    for name, study in studies.items():
        for profile in ("cpu", "gpu"):
            base = profile_base(profile, ROOT / "profiles" / "tables")
            for variant, seed in study.runs():
                keys = set(study.overrides(profile, variant, seed, base))
                assert keys <= params, (name, profile, variant, sorted(keys - params))


def test_the_cost_line_adds_wall_and_cpu_hours_and_counts_diverged_runs():
    from mtbert.experiments.analysis.cost import cost_line

    records = [{"wall_seconds": 3600, "cpu_seconds": 7200, "status": "ok"},
               {"wall_seconds": 1800, "status": "diverged"}]
    assert cost_line(records) == "2 runs (1 diverged): 1.50 h wall, 2.00 h of CPU time (measured for 1 of them)."
    assert cost_line([]) == ""


def test_wall_time_counts_runs_in_parallel_once_and_pauses_not_at_all():
    from mtbert.experiments.analysis.cost import cost_line, elapsed_hours

    def run(start, end):
        return {"started": f"2026-12-02T{start}:00+00:00", "finished": f"2026-12-02T{end}:00+00:00", "wall_seconds": 1}

    # two workers: 10:00-11:00 and 10:30-11:30 overlap (1.5 h); a later session 14:00-14:30 (the pause not counted);
    # a run nested in another counts nothing more; an old record without timestamps adds its wall time (0.5 h)
    records = [run("10:00", "11:00"), run("10:30", "11:30"), run("10:40", "10:50"), run("14:00", "14:30"),
               {"wall_seconds": 1800}]
    assert elapsed_hours(records) == pytest.approx(1.5 + 0.5 + 0.5)
    assert cost_line(records[:2]) == "2 runs: 1.50 h wall."


def test_a_run_shown_again_or_copied_to_another_arm_counts_once():
    from mtbert.experiments.analysis.cost import cost_line, still_to_run

    run = {"variant": "a", "seed": 0, "code": "c", "budget": "b0", "started": "2026-12-02T10:00:00+00:00",
           "finished": "2026-12-02T11:00:00+00:00", "wall_seconds": 3600, "cpu_seconds": 3600}
    copied = run | {"variant": "twin", "copied_from": "one.json:a@seed0"}
    other_seed = run | {"seed": 1, "budget": "b1", "started": "2026-12-02T11:00:00+00:00",
                        "finished": "2026-12-02T12:00:00+00:00"}
    assert cost_line([run, dict(run), copied, other_seed]) == "2 runs: 2.00 h wall, 2.00 h of CPU time (measured for 2 of them)."
    assert still_to_run({"runs": 3, "older": 2, "hours": 1.25, "workers": 2}) == (
        "Still to rerun: 3 runs (2 replace older-code records, †), about 1.2 h wall at 2 at once by each kind's runs so far.")
    assert still_to_run({"runs": 3, "older": 0, "hours": None, "workers": 2}) == "Still to rerun: 3 runs."


def test_a_dataset_table_needs_the_prepared_splits_and_shows_their_row_counts(tiny_repo):
    from mtbert.experiments.cli import tables_main as main

    published = yaml.safe_load((tiny_repo / "reports" / "published.yaml").read_text())
    published["reports"]["9"]["tables"].append({
        "id": "t0", "table": "Table 0", "caption": "data", "kind": "data",
        "columns": {"train": "# of Train", "dev": "# of Dev", "test": "# of Test"},
        "rows": [{"row": "SST", "values": {"train": 8544, "dev": 1101, "test": 2210}}]})
    (tiny_repo / "reports" / "published.yaml").write_text(yaml.safe_dump(published, sort_keys=False))
    with pytest.raises(SystemExit, match=r"not here: data/prepared/sst/train\.csv.*dvc checkout data/prepared"):
        main(["render", "--profile", "tiny"])  # no page loses our counts silently
    assert not (tiny_repo / "reports" / "tables" / "9.md").exists()
    for task in ("sst", "quora", "sts"):
        for split, n in (("train", 3), ("dev", 2), ("test", 1)):
            path = tiny_repo / "data" / "prepared" / task / f"{split}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("id,sentence\n" + "".join(f"{i},s{i}\n" for i in range(n)))
    main(["render", "--profile", "tiny"])
    assert "| SST | 8,544 · **3** | 1,101 · **2** | 2,210 · **1** |" in (tiny_repo / "reports" / "tables" / "9.md").read_text()


def test_the_setup_differences_are_generated_from_the_params_the_runs_use(published, studies):
    from mtbert.experiments.pages.setup import differences
    from mtbert.experiments.study import profile_base

    base = profile_base("cpu", ROOT / "profiles" / "tables")
    study = studies["000-t2"]
    lines = differences(published, study, "cpu", base)
    assert any(line.startswith("lr (`train.lr`): report 1e-05; ours 0.0001") for line in lines)
    assert not any(line.startswith("dropout") for line in lines)  # the study sets the report's 0.3
    changed = study.model_copy(update={"budget": {**study.budget, "model": {**study.budget["model"], "head_dropout": 0.5}}})
    assert "dropout (`model.head_dropout`): report 0.3; ours 0.5" in differences(published, changed, "cpu", base)
    # 10 epochs that are only a cap are not the report's 10 epochs; at the gpu profile (no plateau) they are
    capped = {**base, "train": {**base["train"], "epochs": 10, "plateau": {"patience": 2, "min_delta": 0.001}}}
    epochs = [line for line in differences(published, study, "cpu", capped) if line.startswith("epochs")]
    assert epochs[0].startswith("epochs (`train.epochs`): report 10; ours ") and epochs[0].endswith(
        "; at most 10 × 60 steps, stopped once dev levels off (2 evaluations in a row without a gain above 0.001) "
        "(pcgrad)")
    plain = {**capped, "train": {**capped["train"], "plateau": {"patience": 0, "min_delta": 0.0}, "epoch": "one_pass"}}
    assert not any(line.startswith("epochs") and "pcgrad" in line for line in differences(published, study, "cpu", plain))
    t4 = studies["004-t4"]
    smart = t4.model_copy(update={"budget": {**t4.budget, "train": {**t4.budget["train"], "smart": {
        "sigma": 1.0e-5, "ascent_steps": 0, "sigma_is": "variance", "masks": "fresh"}}}})
    assert any("σ² = 1e-05 (read as a variance), no ascent step, each perturbed pass drawing its own dropout masks"
               in line for line in differences(published, smart, "cpu", base))


def test_every_table_run_validates_at_both_profiles(studies):
    """Each run's params (the profile, the study, the variant, the seed) pass the checks a stage makes when params
    load: a wrong value fails here, not hours into a run."""
    from mtbert.config.params import validate

    from mtbert.experiments.study import profile_base

    def put(tree: dict, dotted: str, value) -> None:
        *path, last = dotted.split(".")
        for part in path:
            tree = tree.setdefault(part, {})
        tree[last] = value

    for profile in ("cpu", "gpu"):
        base = profile_base(profile, ROOT / "profiles" / "tables")
        for name, study in studies.items():
            for variant, seed in study.runs():
                params = yaml.safe_load((ROOT / "params.yaml").read_text())
                for key, value in study.overrides(profile, variant, seed, base).items():
                    put(params, key, value)
                validate(params, f"{name}/{variant}@{profile}")


def test_the_code_id_covers_the_pinned_dependencies_and_the_data_pin_and_refuses_edited_params(tiny_repo):
    from mtbert.experiments import provenance as R

    commit = ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qam", "change"]
    before = R.code_version()
    (tiny_repo / "requirements.lock").write_text("torch==2.13.0\n")
    subprocess.run(["git", "add", "requirements.lock"], cwd=tiny_repo, check=True)
    subprocess.run(commit, cwd=tiny_repo, check=True)
    pinned = R.code_version()
    assert pinned != before  # a dependency pin is part of what produced a result
    lock = {"stages": {"download": {"outs": [{"path": "data/raw", "md5": "a.dir"}]},
                       "finetune": {"outs": [{"path": "metrics.json", "md5": "m1"}]}}}
    (tiny_repo / "dvc.lock").write_text(yaml.safe_dump(lock))
    subprocess.run(["git", "add", "dvc.lock"], cwd=tiny_repo, check=True)
    subprocess.run(commit, cwd=tiny_repo, check=True)
    with_data = R.code_version()
    assert with_data != pinned
    lock["stages"]["finetune"]["outs"][0]["md5"] = "m2"  # a new default run: the data, and so the id, unchanged
    (tiny_repo / "dvc.lock").write_text(yaml.safe_dump(lock))
    subprocess.run(commit, cwd=tiny_repo, check=True)
    assert R.code_version() == with_data
    lock["stages"]["download"]["outs"][0]["md5"] = "b.dir"  # other data
    (tiny_repo / "dvc.lock").write_text(yaml.safe_dump(lock))
    subprocess.run(commit, cwd=tiny_repo, check=True)
    assert R.code_version() != with_data
    (tiny_repo / "params.yaml").write_text("# edited\n")
    with pytest.raises(RuntimeError, match="commit or stash"):
        R.code_version()
    assert R.code_version(strict=False)  # rendering reads it without refusing


def test_the_code_id_is_the_same_in_a_copy_without_git_and_names_the_files_it_ran(tiny_repo, tmp_path_factory,
                                                                                  monkeypatch):
    import shutil

    from mtbert.experiments import provenance

    ids = subprocess.run(["git", "rev-parse", "HEAD:src/m.py"], capture_output=True, text=True).stdout.strip()
    assert provenance.blob_id(tiny_repo / "src" / "m.py") == ids  # git's own object id
    here = provenance.code_version()
    copy = tmp_path_factory.mktemp("copy") / "tree"
    shutil.copytree(tiny_repo, copy, ignore=shutil.ignore_patterns(".git"))
    monkeypatch.chdir(copy)
    assert provenance.code_version() == here  # a lent GPU's copy of the tree: the same id
    (copy / "src" / "m.py").write_text("# edited where there is no git to refuse it\n")
    assert provenance.code_version() != here


@pytest.mark.parametrize("executor", ["dvc", "queue", "local", "slurm", "direct"])
def test_every_executor_refuses_uncommitted_params_or_code(tiny_repo, executor):
    from mtbert.experiments.cli import study_main

    (tiny_repo / "studies" / "s.yaml").write_text("name: s\nvariants: {a: {}}\n")
    (tiny_repo / "params.yaml").write_text("# edited, not committed\n")
    with pytest.raises(RuntimeError, match="commit or stash"):
        study_main(["run", "studies/s.yaml", "--executor", executor])
    subprocess.run(["git", "checkout", "params.yaml"], cwd=tiny_repo, check=True)
    (tiny_repo / "src" / "m.py").write_text("# edited training code\n")
    with pytest.raises(RuntimeError, match="commit or stash"):
        study_main(["run", "studies/s.yaml", "--executor", executor])


def test_the_second_look_budget_counts_only_runs_at_the_current_code(monkeypatch):
    from types import SimpleNamespace

    from mtbert.experiments import extend

    def run(code, start, end):
        return {"code": code, "started": f"2026-12-02T{start}:00+00:00", "finished": f"2026-12-02T{end}:00+00:00"}

    records = {"a@seed0": run("new", "10:00", "11:00"), "a@seed1": run("old", "08:00", "10:00")}
    monkeypatch.setattr(extend.store, "load", lambda study, profile: records)
    studies = {"x": SimpleNamespace(same_runs_as=None), "y": SimpleNamespace(same_runs_as="x")}
    assert extend.spent_hours(studies, "cpu", "new") == pytest.approx(1.0)
    assert extend.spent_hours(studies, "cpu", "old") == pytest.approx(2.0)
