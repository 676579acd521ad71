"""The dry run of both table profiles on the tiny model: every variant of every table study runs each of its stages
for a couple of steps at the profile's settings, and a broken setting fails it, naming the variant."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
import yaml
from conftest import ROOT, tiny_workspace

from mtbert.experiments.dry import flops_ratio, training_steps


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, mirror):
    return tiny_workspace(tmp_path_factory.mktemp("dry"), mirror)


@pytest.mark.parametrize("profile", ["cpu", "gpu"])
def test_every_table_variant_runs_at_both_profiles_on_the_tiny_model(workspace, profile, monkeypatch):
    from mtbert.experiments.cli import tables_main as main

    monkeypatch.chdir(workspace)
    with pytest.raises(SystemExit) as done:
        main(["dry-run", "--profile", profile, "--steps", "1", "--grid-cover"])
    page = (workspace / "reports" / "tables" / f"dry-run.{profile}.md").read_text()
    assert done.value.code == 0, page
    assert "0 failed" in page and "| 004-t6 | lr1e-4-reg5-dropout0.1 | ok" in page and "| 003-t1 | simultaneous | ok" in page
    assert page.count("| 004-t6 |") == 6  # 4 cells take every lr, weight and dropout; 2 more a claim compares
    assert not (workspace / ".dry-run" / "workspace").exists()


def test_a_broken_setting_fails_the_dry_run_naming_its_variant(workspace, monkeypatch):
    from mtbert.experiments.cli import tables_main as main

    monkeypatch.chdir(workspace)
    study = yaml.safe_load((workspace / "studies/tables/004-t2.yaml").read_text())
    study["variants"]["with_cosine"]["params"]["train"] = {"sts_loss": "cosine_embedding"}  # fine: a cosine head
    study["variants"]["without_cosine"]["params"]["train"] = {"sts_loss": "cosine_embedding"}  # not with concat_mlp
    (workspace / "studies/tables/004-t2.yaml").write_text(yaml.safe_dump(study, sort_keys=False))
    try:
        with pytest.raises(SystemExit) as done:
            main(["dry-run", "--profile", "cpu", "--steps", "1", "--only", "004-t2", "--out", "broken.md"])
    finally:
        shutil.copy(ROOT / "studies/tables/004-t2.yaml", workspace / "studies/tables/004-t2.yaml")
    page = (workspace / "broken.md").read_text()
    assert done.value.code == 1 and "| 004-t2 | with_cosine | ok |" in page
    assert "| 004-t2 | without_cosine | **ValueError: train.sts_loss=cosine_embedding needs" in page


def test_projected_steps_and_the_size_ratio_by_hand():
    sizes = {"sst": 100, "quora": 330, "sts": 50}
    common = {"train.tasks": ["sst", "quora", "sts"], "train.batch_size": 16, "train.epochs": 10}
    assert training_steps(common | {"train.epoch": "one_pass", "train.schedule": "summed"}, sizes) == 10 * 21
    assert training_steps(common | {"train.epoch": "one_pass", "train.schedule": "round_robin"}, sizes) == 10 * (7 + 21 + 4)
    assert training_steps(common | {"train.epoch": "steps", "train.steps_per_epoch": 60}, sizes) == 600
    assert training_steps(common | {"train.epoch": "one_pass", "train.max_train_examples": 64}, sizes) == 10 * 4
    # bert-base against MiniLM: 12 (4 768^2 + 2 768 3072) / (6 (4 384^2 + 2 384 1536)) = 8
    assert flops_ratio("bert-base") == pytest.approx(8.0)


def test_a_cut_off_dry_run_resumes_where_it_stopped(workspace, monkeypatch):
    import json

    from mtbert.experiments import dry as D
    from mtbert.experiments.cli import tables_main as main

    monkeypatch.chdir(workspace)
    args = ["dry-run", "--profile", "cpu", "--steps", "1", "--only", "004-t2", "--out", "resume.md"]
    with pytest.raises(SystemExit):
        main(args)
    first = (workspace / "resume.md").read_text()
    kept = json.loads((workspace / "resume.json").read_text())
    assert [r["variant"] for r in kept["rows"]] == ["without_cosine", "with_cosine"]
    kept["rows"] = kept["rows"][:1]  # cut off after its first variant
    (workspace / "resume.json").write_text(json.dumps(kept))
    ran = []
    real = D.run_variant
    monkeypatch.setattr(D, "run_variant", lambda study, variant, *a, **k: ran.append(variant) or real(study, variant, *a, **k))
    with pytest.raises(SystemExit):
        main(args)
    assert ran == ["with_cosine"]
    assert "| 004-t2 | without_cosine | ok |" in (workspace / "resume.md").read_text()
    assert first.splitlines()[:2] == (workspace / "resume.md").read_text().splitlines()[:2]
    with pytest.raises(SystemExit):
        main(args[:-2] + ["--out", "resume.md", "--steps", "2"])  # other settings: nothing kept
    assert ran == ["with_cosine", "without_cosine", "with_cosine"]


def test_the_scratch_workspace_cuts_dev_and_test_only(workspace, tmp_path):
    from mtbert.experiments.workspace import scratch

    ws = scratch(workspace, tmp_path / "ws", eval_rows=5)
    for task in ("sst", "quora"):
        assert len(pd.read_csv(ws / "data/prepared" / task / "dev.csv")) == 5
        assert len(pd.read_csv(ws / "data/prepared" / task / "test.csv")) == 5
        assert len(pd.read_csv(ws / "data/prepared" / task / "train.csv")) == 12
    assert pd.read_csv(ws / "data/prepared/sts/dev.csv").equals(pd.read_csv(workspace / "data/prepared/sts/dev.csv").head(5))


def test_a_fresh_scratch_workspace_keeps_only_the_resumable_states_a_cut_off_run_left(workspace, tmp_path):
    from mtbert.experiments.workspace import scratch

    ws = scratch(workspace, tmp_path / "ws")
    (ws / ".state" / "finetune").mkdir(parents=True)
    (ws / ".state" / "finetune" / "state.json").write_text("{}")
    (ws / "metrics.json").write_text("{}")  # a half-run's output: gone on the next start
    ws = scratch(workspace, tmp_path / "ws")
    assert (ws / ".state" / "finetune" / "state.json").read_text() == "{}"
    assert not (ws / "metrics.json").exists() and (ws / "dvc.yaml").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ws"]  # nothing left beside it


def test_the_stage_list_is_dvc_yamls_and_the_memo_key_names_what_made_the_outputs(tmp_path):
    import copy

    from mtbert.experiments.workspace import memo_key, stages

    listed = stages(ROOT / "dvc.yaml")
    assert list(listed) == ["augment", "pretrain_mlm", "pretrain_heads", "finetune", "evaluate"]
    pipeline = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    pipeline["stages"] = {"tokenize": {"cmd": "python stages/tokenize.py", "deps": ["data/prepared"],
                                       "outs": ["data/tokens"]}} | pipeline["stages"]
    pipeline["stages"]["finetune"]["deps"].append("data/tokens")  # a new stage the runs need: it runs, in DVC's order
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    assert list(stages(tmp_path / "dvc.yaml"))[:2] == ["tokenize", "augment"]

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    stage = listed["pretrain_mlm"]
    key = memo_key("pretrain_mlm", stage, params, "code1")
    assert memo_key("pretrain_mlm", stage, params, "code2") != key  # other code: made anew
    other = copy.deepcopy(params)
    other["train"]["lr"] = 0.5  # a param the stage does not declare: the same outputs
    assert memo_key("pretrain_mlm", stage, other, "code1") == key
    other["model"]["checkpoint"] = "google-bert/bert-base-uncased"  # one it declares
    assert memo_key("pretrain_mlm", stage, other, "code1") != key
