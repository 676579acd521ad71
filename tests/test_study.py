import pytest
import yaml

from mtbert.experiments.pages.study import render
from mtbert.experiments.study import Study, load_study


def S(**fields) -> Study:
    return Study.model_validate({"budget": {}} | fields)


def test_render_lists_every_variant_with_cost_relative_to_the_first(tmp_path):
    study = S(name="m", description="d", budget={"train": {"epochs": 2}}, variants={"sum": {}, "pcgrad": {}, "mgda": {}})
    result = lambda sps, conflict: {  # noqa: E731
        "metrics": {"dev": {"sst_acc": 0.5, "quora_acc": 0.7, "sts_pearson": 0.8, "overall": 0.7}},
        "diagnostics": {"time/seconds_per_step": sps, "time/peak_memory_mb": 900.0, "grad/cos_sst_sts": -0.1,
                        "grad/conflict_sst_sts": conflict}, "notes": [], "commit": "abc"}
    text = render(study, {"sum": result(1.0, 0.25), "pcgrad": result(3.0, 0.5)})
    assert "`train.epochs=2`" in text
    assert "| sum | 0.5000 | 0.7000 | 0.8000 | 0.7000 | 1.00 | 1.00× | 900 | 25% |" in text
    assert "| pcgrad | 0.5000 | 0.7000 | 0.8000 | 0.7000 | 3.00 | 3.00× | 900 | 50% |" in text
    assert "| mgda | not run |" in text
    assert "| variant | sst_sts |" in text and "| sum | -0.100 |" in text


def test_shipped_studies_name_only_existing_params():
    import yaml
    from conftest import ROOT

    from mtbert.profiles import flatten

    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    params = flatten(raw)
    for path in (ROOT / "studies").glob("*.yaml"):
        if path.name == "claims.yaml":  # the reports' claims (tests/test_tables.py), not a study
            continue
        study = load_study(path)
        keys = set(flatten(study.budget)) | {k for v in study.variants.values() for k in flatten(v.params)}
        unknown = {k for k in keys - set(params) if not _in_a_map(raw, k)}
        assert not unknown, (path.name, unknown)


def _in_a_map(raw: dict, key: str) -> bool:
    """Whether `key` names an entry of a per-task map that params.yaml leaves empty (train.loss_weights.sst)."""
    node = raw
    for part in key.split("."):
        if node == {}:
            return True
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return False


def test_study_file_without_variants_is_refused(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: x\nbudget: {}\n")
    with pytest.raises(ValueError, match=r"s\.yaml: study x: no variants$"):
        load_study(path)
    path.write_text("name: x\nvariants: {a: {train: {lr: 0.1}}}\n")  # params belong under `params:`
    with pytest.raises(ValueError, match=r"s\.yaml: variants\.a\.train: Extra inputs are not permitted"):
        load_study(path)


def test_render_gives_differences_to_the_baseline_and_the_pretraining_history():
    study = S(name="t", variants={"baseline": {}, "pretrain_mlm": {}})
    dev = lambda sst: {"dev": {"sst_acc": sst, "quora_acc": 0.7, "sts_pearson": 0.8, "overall": 0.7}}  # noqa: E731
    history = [{"epoch": 0, "heldout/mlm_accuracy": 0.0, "heldout/mlm_loss": 10.0, "heldout/nsp_accuracy": 0.5},
               {"epoch": 1, "heldout/mlm_accuracy": 0.25, "heldout/mlm_loss": 5.0, "heldout/nsp_accuracy": 0.75,
                "train/mlm_loss": 6.0, "train/nsp_loss": 0.6}]
    results = {"baseline": {"metrics": dev(0.30), "diagnostics": {}, "notes": [], "commit": "abc"},
               "pretrain_mlm": {"metrics": dev(0.345), "diagnostics": {}, "notes": [], "commit": "abc", "pretrain_mlm": history}}
    text = render(study, results)
    assert "| pretrain_mlm | +4.5 | +0.0 | +0.0 | +0.0 |" in text
    assert "| 0 | 0.0000 | 10.000 | 0.5000 | – | – |" in text and "| 1 | 0.2500 | 5.000 | 0.7500 | 6.000 | 0.600 |" in text
    assert "figures/t-pretrain_mlm.png" in text
    assert "SST acc 0.3000 → 0.3450 (+0.0450, +15.0% relative)" in text


def test_a_superseded_study_says_so_above_its_table():
    study = S(name="m", variants={"sum": {}}, superseded="The cosine head\n  had dropout.")
    result = {"metrics": {"dev": {"sst_acc": 0.5}}, "diagnostics": {}, "notes": [], "commit": "abc"}
    text = render(study, {"sum": result})
    assert "> **Made with behaviour that has since changed.** The cosine head had dropout." in text
    assert text.index("since changed") < text.index("| variant |")
    assert "since changed" not in render(study.model_copy(update={"superseded": None}), {"sum": result})


def _seeded(study, overall):
    """Results of a seeded study: overall[variant] = values per seed; the other metrics fixed."""
    from mtbert.experiments.study import result_key

    return {result_key(v, s): {"metrics": {"dev": {"sst_acc": 0.5, "quora_acc": 0.8, "sts_pearson": 0.8, "overall": x}},
                               "diagnostics": {}, "notes": [], "commit": "abc", "seed": s}
            for v, xs in overall.items() for s, x in zip(study.seeds, xs)}


def test_a_seeded_study_gives_means_with_t_intervals_and_paired_differences():
    from mtbert.experiments.analysis import stats

    study = S(name="m", seeds=[0, 1, 2], variants={"sum": {}, "pcgrad": {}, "mgda": {}})
    results = _seeded(study, {"sum": [0.60, 0.62, 0.64], "pcgrad": [0.61, 0.63, 0.65], "mgda": [0.62, 0.60, 0.64]})
    mean, low, high, n = stats.summary(study, results)["sum"]["overall"]
    assert (mean, n) == (pytest.approx(0.62), 3)  # s = 0.02, t_{0.975, 2} = 4.302653: 0.62 ± 0.049683
    assert (low, high) == (pytest.approx(0.62 - 0.049683, abs=1e-6), pytest.approx(0.62 + 0.049683, abs=1e-6))
    diffs = stats.paired(study, results)
    assert diffs["pcgrad"]["overall"][:3] == pytest.approx((0.01, 0.01, 0.01))  # the same shift on every seed
    assert diffs["mgda"]["overall"][1] < 0 < diffs["mgda"]["overall"][2]  # +0.02, -0.02, 0: not distinguishable
    text = render(study, results, {"no_finetuning": {"dev": {"sst_acc": 0.43, "overall": 0.7}}, "majority": {"dev": {"sst_acc": 0.25}}})
    assert "| sum | 3 | 0.5000 [0.5000, 0.5000] | 0.8000 [0.8000, 0.8000] | 0.8000 [0.8000, 0.8000] | 0.6200 [0.5703, 0.6697] |" in text
    assert "| pcgrad | 3 | +0.0000 [+0.0000, +0.0000] | +0.0000 [+0.0000, +0.0000] | +0.0000 [+0.0000, +0.0000] | +0.0100 [+0.0100, +0.0100] * |" in text
    assert "| mgda | 3 |" in text and "+0.0000 [-0.0497, +0.0497] |" in text
    assert "| *no fine-tuning* (frozen checkpoint) | *0.4300* | – | – | *0.7000* |" in text
    assert "| *majority class* | *0.2500* |" in text
    assert "Seed-to-seed standard deviation of dev overall (mean over variants): 0.0200." in text
    assert "## Over seeds (test)" in text and "Paired differences to `sum` on the same seeds (test)" in text
    chooser = render(study.model_copy(update={"dev_only": True}), results, None)
    assert "## Over seeds (dev)" in chooser and "## Over seeds (test)" not in chooser and "(`dev_only`)" in chooser
    assert "each row is one `dvc exp run`" in text
    on_gpu = {k: r | {"direct": True, "device": "NVIDIA H200"} for k, r in results.items()}
    assert "each row is one run of the stage scripts without DVC (`--executor direct`) on NVIDIA H200." in render(study, on_gpu)


class FakeExecutor:
    """Runs nothing: records each run it is given and hands on a record naming it."""

    def __init__(self):
        self.calls = []

    def run(self, todo, done):
        for r in todo:
            self.calls.append((r.name, r.overrides))
            done(r, {"variant": r.variant, "overrides": r.overrides})
        return []


def test_a_study_run_resumes_where_it_stopped_and_reruns_what_other_code_made(tmp_path, monkeypatch):
    import json

    from mtbert.experiments import runner
    from mtbert.experiments.provenance import budget_id

    monkeypatch.chdir(tmp_path)
    study = S(name="s", budget={"train": {"epochs": 1}}, seeds=[0, 1],
              variants={"a": {}, "b": {"params": {"train": {"lr": 0.1}}}})
    store = tmp_path / "reports" / "studies" / "s.json"
    store.parent.mkdir(parents=True)
    done_before = {"variant": "a", "code": "c1", "budget": budget_id(study.overrides(None, "a", 0))}
    store.write_text(json.dumps({"a@seed0": done_before, "a@seed1": done_before | {"code": "c0"}}))
    executor = FakeExecutor()
    runner.run(runner.missing(study, None, "c1"), executor, "c1", commit="abc")
    # seed by seed, skipping what this code made; a@seed1 was made by other code: run again
    assert [name for name, _ in executor.calls] == ["s-b-seed0", "s-a-seed1", "s-b-seed1"]
    last = executor.calls[2][1]
    assert last["train.seed"] == 1 and last["augment.seed"] == 1 and last["train.lr"] == 0.1
    saved = json.loads(store.read_text())
    assert set(saved) == {"a@seed0", "b@seed0", "a@seed1", "b@seed1"}
    assert saved["b@seed1"]["code"] == "c1" and saved["b@seed1"]["commit"] == "abc" and saved["b@seed1"]["seed"] == 1
    assert runner.missing(study, None, "c1") == []
    assert [r.key for r in runner.missing(study, None, "c1", only=["b"], rerun=True)] == ["b@seed0", "b@seed1"]


def test_a_run_another_study_made_is_copied_and_how_params_yaml_spells_it_does_not_matter(tmp_path, monkeypatch):
    import json

    from mtbert.experiments import runner

    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("train: {epochs: 3, lr: 0.1}\n")
    (tmp_path / "reports" / "studies").mkdir(parents=True)
    remedies = S(name="remedies", seeds=[0], variants={"capped": {"params": {"train": {"epochs": 8}}}})
    runner.run(runner.missing(remedies, None, "c1"), FakeExecutor(), "c1", commit="abc")
    # the winner becomes the default: params.yaml now says what the variant did, in another order
    (tmp_path / "params.yaml").write_text("# the default: 8 epochs\ntrain: {lr: 0.1, epochs: 8}\n")
    assert runner.missing(remedies, None, "c1") == []  # its run is still current: the same params in the end
    default = S(name="default", seeds=[0, 1], variants={"recipe": {}})
    executor = FakeExecutor()
    runner.run(runner.missing(default, None, "c1"), executor, "c1", commit="def")
    assert [name for name, _ in executor.calls] == ["default-recipe-seed1"]  # seed 0 was made already
    saved = json.loads((tmp_path / "reports" / "studies" / "default.json").read_text())
    copy = saved["recipe@seed0"]
    assert copy["copied_from"] == "reports/studies/remedies.json:capped@seed0"
    assert (copy["variant"], copy["commit"], copy["code"]) == ("recipe", "abc", "c1")  # where it ran, not the copy's
    assert saved["recipe@seed1"]["commit"] == "def" and "copied_from" not in saved["recipe@seed1"]
    executor = FakeExecutor()
    runner.run(runner.missing(default, None, "c2"), executor, "c2", commit="ghi")  # other code: nothing to copy
    assert len(executor.calls) == 2


def test_runs_pending_together_with_the_same_params_run_once_and_the_twin_is_copied(tmp_path, monkeypatch):
    import json

    from mtbert.experiments import runner

    monkeypatch.chdir(tmp_path)
    (tmp_path / "reports" / "studies").mkdir(parents=True)
    first = S(name="first", seeds=[0, 1], variants={"shared": {"params": {"train": {"lr": 0.1}}}, "own": {}})
    second = S(name="second", seeds=[0, 1], variants={"twin": {"params": {"train": {"lr": 0.1}}}})
    executor = FakeExecutor()
    todo = runner.missing(first, None, "c1") + runner.missing(second, None, "c1")
    assert runner.run(todo, executor, "c1", commit="abc") == []
    # 6 runs asked for, 4 run: the second study's twin waits for the first's and is copied from it
    assert sorted(name for name, _ in executor.calls) == ["first-own-seed0", "first-own-seed1", "first-shared-seed0",
                                                         "first-shared-seed1"]
    saved = json.loads((tmp_path / "reports" / "studies" / "second.json").read_text())
    assert saved["twin@seed1"]["copied_from"] == "reports/studies/first.json:shared@seed1"
    assert (saved["twin@seed1"]["variant"], saved["twin@seed1"]["seed"], saved["twin@seed1"]["code"]) == ("twin", 1, "c1")
    assert runner.missing(second, None, "c1") == []

    class Failing(FakeExecutor):
        def run(self, todo, done):
            return [(r, "boom") for r in todo]

    failed = runner.run(runner.missing(first, None, "c2") + runner.missing(second, None, "c2"), Failing(), "c2", commit="x")
    assert sorted(r.key for r, _ in failed) == ["own@seed0", "own@seed1", "shared@seed0", "shared@seed1",
                                                "twin@seed0", "twin@seed1"]  # a twin fails with its source


class _FakePopen:
    """subprocess.Popen's context manager with canned output and exit status."""

    def __init__(self, output: str, returncode: int, calls: list):
        self.output, self.code, self.calls = output, returncode, calls

    def __call__(self, cmd, **kwargs):
        self.calls.append(cmd)
        self.stdout, self.returncode = iter(self.output.splitlines(keepends=True)), self.code
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("output, code, expected", [
    ("epoch 1/1\n", 0, True),
    ("RuntimeError: non-finite training loss at epoch 1 (sst: nan)\n", 1, False),
    ("FileNotFoundError: data/prepared/sst/train.csv\n", 1, "raises"),
])
def test_exp_run_tells_a_diverged_run_from_a_broken_one(monkeypatch, output, code, expected):
    import subprocess

    from mtbert.experiments.executors import dvc

    calls = []
    monkeypatch.setattr(dvc.subprocess, "run", lambda cmd, check: None)
    monkeypatch.setattr(dvc.subprocess, "Popen", _FakePopen(output, code, calls))
    monkeypatch.setattr(dvc, "override_flags", lambda overrides: ["-S", "train.lr=0.1"])
    if expected == "raises":
        with pytest.raises(subprocess.CalledProcessError):
            dvc.exp_run("s-a", {"train.lr": 0.1})
    else:
        finished, seconds, tail = dvc.exp_run("s-a", {"train.lr": 0.1})
        assert finished is expected and tail == output and seconds >= 0
    assert calls[0] == ["dvc", "exp", "run", "-n", "s-a", "-S", "train.lr=0.1"]  # no --force


def test_a_one_variant_seeded_study_has_no_paired_table():
    study = S(name="d", seeds=[0, 1], variants={"recipe": {}})
    text = render(study, _seeded(study, {"recipe": [0.74, 0.75]}))
    assert "| recipe | 2 |" in text and "0.7450 [0.6815, 0.8085]" in text  # 0.745 ± 12.7062 * 0.005
    assert "Paired differences" not in text


def test_a_queued_study_queues_the_pending_runs_starts_n_workers_and_collects_each(tmp_path, monkeypatch):
    import json
    import subprocess

    from mtbert.experiments import runner
    from mtbert.experiments.executors import dvc

    monkeypatch.chdir(tmp_path)
    study = S(name="s", seeds=[0, 1], variants={"a": {}, "b": {"params": {"train": {"lr": 0.1}}}})
    calls, status = [], iter(["Task Name Created Status\n1 s-a-seed1 04:01 PM Running\n", "No experiment tasks in the queue."])

    def fake_run(cmd, check=False, capture_output=False, text=False):
        calls.append(cmd)
        out = next(status) if cmd[:3] == ["dvc", "queue", "status"] else ""
        return subprocess.CompletedProcess(cmd, 1 if cmd == ["dvc", "exp", "apply", "s-b-seed1"] else 0, out, "")

    monkeypatch.setattr(dvc.subprocess, "run", fake_run)
    monkeypatch.setattr(dvc.time, "sleep", lambda s: None)
    monkeypatch.setattr(dvc.R, "collect", lambda variant, overrides, seconds: {"variant": variant, "seconds": seconds})
    monkeypatch.setattr(dvc, "override_flags", lambda overrides: [])
    store = tmp_path / "reports" / "studies" / "s.json"
    store.parent.mkdir(parents=True)
    store.write_text(json.dumps({"a@seed0": {"variant": "a"}}))
    todo = [r for r in runner.missing(study, None, "c1") if r.key != "a@seed0"]
    failed = runner.run(todo, dvc.Queue(jobs=2), "c1", commit="abc")
    assert [(r.key, message[:20]) for r, message in failed] == [("b@seed1", "no finished experime")]
    queued = [c[5] for c in calls if c[:4] == ["dvc", "exp", "run", "--queue"]]
    assert queued == ["s-b-seed0", "s-a-seed1", "s-b-seed1"]
    assert ["dvc", "queue", "start", "--jobs", "2"] in calls
    assert sum(c[:3] == ["dvc", "queue", "status"] for c in calls) == 2  # polled until nothing queued or running
    assert calls[-2][:5] == ["git", "checkout", "HEAD", "--", "."] and calls[-1] == ["dvc", "checkout", "--quiet"]
    saved = json.loads(store.read_text())
    assert set(saved) == {"a@seed0", "b@seed0", "a@seed1"}  # s-b-seed1 failed: not collected, still pending
    assert saved["b@seed0"]["queued"] and saved["b@seed0"]["seconds"] is None and saved["b@seed0"]["code"] == "c1"


def test_a_dvc_executor_refuses_a_dirty_workspace(monkeypatch):
    import subprocess

    from mtbert.experiments.executors import dvc

    monkeypatch.setattr(dvc.subprocess, "run", lambda cmd, **k: subprocess.CompletedProcess(cmd, 0, " M params.yaml\n", ""))
    for executor in (dvc.Queue(jobs=2), dvc.Sequential()):
        with pytest.raises(RuntimeError, match="commit or stash"):
            executor.run([], lambda r, rec: None)


def test_the_page_says_where_each_variant_stopped_and_draws_its_dev_curves(tmp_path, monkeypatch):
    from mtbert.experiments.pages.study import report_study
    from mtbert.experiments.study import result_key

    study = S(name="s", seeds=[0, 1], variants={"short": {}, "long": {}})
    results = _seeded(study, {"short": [0.70, 0.71], "long": [0.74, 0.75]})
    curves = {"short": [[0.60, 0.65, 0.70], [0.61, 0.66, 0.71]], "long": [[0.70, 0.74, 0.73, 0.74], [0.71, 0.75, 0.75]]}
    for v, runs in curves.items():
        for seed, curve in enumerate(runs):
            results[result_key(v, seed)] |= {"curves": {"overall": curve}, "best_epoch": curve.index(max(curve)) + 1,
                                            "stopped": {"by": "cap" if v == "short" or seed else "plateau", "patience": 2}}
    text = render(study, results)
    # short: +0.05 over its last epoch on both seeds, its cap stopped both; long: +0.01 and 0.00, the cap stopped 1 of 2
    assert "| short | 3 | 3 | 2 of 2 **cap reached** | +0.050 **still rising** |" in text
    assert "| long | 3–4 | 2 | 1 of 2 **cap reached** | +0.005 |" in text  # best at epoch 2 on both seeds
    assert "![s dev curves](figures/s-curves.png)" in text and "gates the questions" not in text  # it asks none
    assert "## Where training stopped" not in render(study, _seeded(study, {"short": [0.7, 0.7], "long": [0.7, 0.7]}))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "studies").mkdir()
    (tmp_path / "studies" / "s.yaml").write_text(yaml.safe_dump(study.model_dump(exclude_none=True)))
    from mtbert.io import write_json
    write_json(tmp_path / "reports" / "studies" / "s.json", results)
    report_study(tmp_path / "studies" / "s.yaml")
    assert (tmp_path / "reports" / "figures" / "s-curves.png").stat().st_size > 1000
