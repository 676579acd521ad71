"""The README's headline table and its multi-task line are what the committed study stores say."""

from pathlib import Path

import pytest
from conftest import ROOT

from mtbert.experiments.pages.headline import headline_of


@pytest.mark.parametrize("study", ["default", "single_task"])
def test_the_readme_carries_the_study_as_committed(study, monkeypatch):
    monkeypatch.chdir(ROOT)
    readme = (ROOT / "README.md").read_text()
    produced = headline_of(Path(f"studies/{study}.yaml"))
    # single_task: the README quotes its questions' lines (one per split), not its table
    parts = [produced] if study == "default" else produced.splitlines()[-2:]
    for part in parts:
        assert part in readme, f"README.md lacks this of `mtbert study headline studies/{study}.yaml`:\n{part}"


def test_metrics_json_is_the_default_studys_seed_0_up_to_thread_count_drift():
    """`dvc repro` (two threads) and the study's seed-0 run (one thread) train the same recipe: they may differ by the
    float drift of another thread count (a few dev/test examples flipping), never by a different recipe."""
    import json

    pipeline = json.loads((ROOT / "metrics.json").read_text())
    record = json.loads((ROOT / "reports" / "studies" / "default.json").read_text())["recipe@seed0"]["metrics"]
    for split in ("dev", "test"):
        for metric, tolerance in (("sst_acc", 0.003), ("quora_acc", 0.003), ("sts_pearson", 1e-3), ("overall", 0.002)):
            assert pipeline[split][metric] == pytest.approx(record[split][metric], abs=tolerance), (
                f"metrics.json {split} {metric} {pipeline[split][metric]:.4f} is not the default study's seed 0 "
                f"({record[split][metric]:.4f}): run `dvc repro` (or `mtbert study run studies/default.yaml`)")
