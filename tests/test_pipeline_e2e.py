"""The whole DVC chain (download -> prepare -> reference, augment -> pretrain_mlm -> pretrain_heads -> finetune ->
evaluate -> report) on real data with a tiny random BERT,
in a temporary copy of the repository; a second `dvc repro` must have nothing to do."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import ROOT, write_tiny_checkpoint


def _fake_mirror(real: Path, target: Path) -> Path:
    """The real mirror's data files, plus a tiny checkpoint standing in for the pretrained one."""
    target.mkdir(parents=True)
    for sub in ("cs224n", "sst", "stsbenchmark", "imdb", "nltk_data", "cfimdb-cad"):
        (target / sub).symlink_to(real / sub)
    write_tiny_checkpoint(target / "models" / "tiny" / "random-bert")
    return target


def _run(cmd: list[str], cwd: Path, env: dict) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def test_dvc_repro_runs_the_whole_chain(tmp_path, mirror):
    repo = tmp_path / "repo"
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        if (ROOT / f).is_file() and not f.startswith("tests/"):
            (repo / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, repo / f)
    for stale in ("dvc.lock", "metrics.json", "intervals.json"):
        (repo / stale).unlink(missing_ok=True)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["model"].update(checkpoint="tiny/random-bert", max_length=64)
    params["train"].update(epochs=2, steps_per_epoch=3, batch_size=8, max_train_examples=64, eval_batch_size=256)
    params["evaluate"].update(batch_size=256, bootstrap={"resamples": 200, "seed": 0})
    params["reference"].update(batch_size=256, cv_folds=2, Cs=3)
    params["augment"].update(enabled=True, tasks=["sst"])
    params["pretrain_mlm"].update(enabled=True, max_reviews=40, heldout_reviews=16, max_length=64, epochs=1,
                                  steps_per_epoch=2, batch_size=8)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    env = dict(os.environ, MTL_MIRROR=str(_fake_mirror(mirror, tmp_path / "mirror")),
               PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "copy"]):
        _run(cmd, repo, env)
    dvc = str(Path(sys.executable).parent / "dvc")
    _run([dvc, "repro"], repo, env)

    metrics = json.loads((repo / "metrics.json").read_text())
    assert set(metrics) == {"dev", "test"}  # the headline numbers; their intervals beside them
    intervals = json.loads((repo / "intervals.json").read_text())["ci95"]
    shown = _run([dvc, "metrics", "show", "--json"], repo, env)
    assert "ci95" not in shown and "no_finetuning" not in shown and shown.count("sst_acc") == 2  # dev and test
    reference = json.loads((repo / "reference.json").read_text())
    for split in ("dev", "test"):
        assert set(metrics[split]) == {"sst_acc", "quora_acc", "sts_pearson", "overall"}
        assert 0 <= metrics[split]["sst_acc"] <= 1 and -1 <= metrics[split]["sts_pearson"] <= 1
        for name, value in metrics[split].items():
            ci = intervals[split][name]
            assert ci["low"] <= value <= ci["high"]
        assert set(reference["no_finetuning"][split]) == {"sst_acc", "quora_acc", "sts_pearson", "overall"}
        assert set(reference["majority"][split]) == {"sst_acc", "quora_acc"}
    assert len(list((repo / "predictions").glob("*.csv"))) == 6
    report = (repo / "reports" / "results.md").read_text()
    assert "tiny/random-bert" in report and "quora-dev-resplit" in report
    assert "*no fine-tuning*" in report and "*majority class*" in report
    assert (repo / "reports" / "figures" / "curves.png").stat().st_size > 10_000
    # the enabled augment and pretrain_mlm stages fed finetune
    run = json.loads((repo / "models" / "finetuned" / "run.json").read_text())
    assert run["encoder_from"] == "models/pretrained" and run["augmented"] == ["sst"]
    history = json.loads((repo / "models" / "pretrained" / "pretrain.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [0, 1] and 0 <= history[-1]["heldout/nsp_accuracy"] <= 1
    assert "Data and pipelines are up to date" in _run([dvc, "repro"], repo, env)
