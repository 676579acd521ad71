from dataclasses import dataclass, field
from typing import Literal

import pytest

from mtbert.config import SECTION, ConfigError, Float, Int, Rate, section


@dataclass
class Inner:
    seed: Int = 0
    ratios: dict[str, Float] = field(default_factory=dict)
    share: Rate = 0.5
    __pydantic_config__ = SECTION


@dataclass
class Outer:
    mode: Literal["a", "b"] = "a"
    names: list[str] = field(default_factory=list)
    inner: Inner = field(default_factory=Inner)
    __pydantic_config__ = SECTION


def test_builds_nested_sections_and_coerces_ints_to_floats():
    cfg = section({"x": {"y": {"mode": "b", "names": ["p"], "inner": {"seed": 3, "ratios": {"train": 1}}}}}, "x.y", Outer)
    assert cfg == Outer(mode="b", names=["p"], inner=Inner(seed=3, ratios={"train": 1.0}))
    assert isinstance(cfg.inner.ratios["train"], float) and isinstance(cfg.inner, Inner)


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"mdoe": "a"}, r"x\.y\.mdoe: Unexpected keyword argument \(got 'a'\)"),
        ({"mode": "c"}, r"x\.y\.mode: Input should be 'a' or 'b' \(got 'c'\)"),
        ({"names": "p"}, r"x\.y\.names: Input should be a valid list \(got 'p'\)"),
        ({"inner": {"seed": "1"}}, r"x\.y\.inner\.seed: Input should be a valid integer \(got '1'\)"),
        ({"inner": {"seed": True}}, r"x\.y\.inner\.seed: Input should be a valid integer \(got True\)"),
        ({"inner": {"share": 1.5}}, r"x\.y\.inner\.share: Input should be less than or equal to 1 \(got 1.5\)"),
    ],
)
def test_bad_values_name_the_full_key_the_value_and_what_was_expected(raw, message):
    with pytest.raises(ConfigError, match=message):
        section({"x": {"y": raw}}, "x.y", Outer)


def test_every_error_of_a_section_is_reported_at_once():
    with pytest.raises(ConfigError) as err:
        section({"x": {"mode": "c", "inner": {"seed": -1.5}}}, "x", Outer)
    assert str(err.value).count("\n") == 1 and "x.mode" in str(err.value) and "x.inner.seed" in str(err.value)


def test_missing_section_is_named():
    with pytest.raises(ConfigError, match="missing section 'x.z'"):
        section({"x": {"y": {}}}, "x.z", Outer)


def test_only_reads_the_named_keys():
    assert section({"x": {"mode": "b", "other": 1}}, "x", Outer, only=("mode",)).mode == "b"


def test_exponent_floats_that_yaml_1_1_reads_as_strings_are_floats():
    import yaml

    raw = yaml.safe_load("inner: {ratios: {a: 1e-05, b: 2.5E+3}}")  # what `dvc exp run -S ...=1.0e-05` writes
    assert raw["inner"]["ratios"]["a"] == "1e-05"  # the YAML 1.1 quirk itself
    cfg = section({"x": raw}, "x", Outer)
    assert cfg.inner.ratios == {"a": 1e-05, "b": 2500.0}
    with pytest.raises(ConfigError, match=r"x\.inner\.ratios\.c: Input should be a valid number \(got 'e5'\)"):
        section({"x": {"inner": {"ratios": {"c": "e5"}}}}, "x", Outer)


def test_the_ground_floor_imports_nothing_above_it():
    """mtbert.config is imported by every stage and section; it must not import them back (no import circle)."""
    import subprocess
    import sys

    code = "import sys, mtbert.config; print(sorted(m for m in sys.modules if m.startswith('mtbert')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['mtbert', 'mtbert.config', 'mtbert.config.types', 'mtbert.registry']"
