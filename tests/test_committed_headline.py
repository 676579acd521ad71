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
