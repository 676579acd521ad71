"""docs/layout.md is generated from the module docstrings and current; the README stays a front page."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtbert.layout import first_sentence, render

ROOT = Path(__file__).resolve().parents[1]


def test_the_layout_page_is_current():
    assert (ROOT / "docs" / "layout.md").read_text() == render(ROOT), "run: mtbert layout"


def test_a_module_is_described_by_its_first_sentence_and_must_have_one(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('"""Seeds for every purpose, e.g. dropout. More detail.\n\nAnother paragraph."""\n')
    assert first_sentence(module) == "Seeds for every purpose, e.g. dropout"
    module.write_text("x = 1\n")
    with pytest.raises(ValueError, match="m.py: no module docstring"):
        first_sentence(module)


def test_the_front_page_stays_under_ten_thousand_characters():
    assert len((ROOT / "README.md").read_bytes()) < 10_000, "move detail to docs/: the README is the front page"
