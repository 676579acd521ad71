from dataclasses import dataclass, field
from typing import Literal

import pytest

from mtbert.config import ConfigError, section


@dataclass
class Inner:
    seed: int = 0
    ratios: dict[str, float] = field(default_factory=dict)


@dataclass
class Outer:
    mode: Literal["a", "b"] = "a"
    names: list[str] = field(default_factory=list)
    inner: Inner = field(default_factory=Inner)


def test_builds_nested_sections_and_coerces_ints_to_floats():
    cfg = section({"x": {"y": {"mode": "b", "names": ["p"], "inner": {"seed": 3, "ratios": {"train": 1}}}}}, "x.y", Outer)
    assert cfg == Outer(mode="b", names=["p"], inner=Inner(seed=3, ratios={"train": 1.0}))
    assert isinstance(cfg.inner.ratios["train"], float)


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"mdoe": "a"}, r"x\.y: unknown key\(s\) \['mdoe'\]"),
        ({"mode": "c"}, r"x\.y\.mode: 'c' is not one of \['a', 'b'\]"),
        ({"names": "p"}, r"x\.y\.names: expected a list"),
        ({"inner": {"seed": "1"}}, r"x\.y\.inner\.seed: expected int, got str"),
        ({"inner": {"seed": True}}, r"x\.y\.inner\.seed: expected int, got bool"),
    ],
)
def test_bad_values_name_the_full_key(raw, message):
    with pytest.raises(ConfigError, match=message):
        section({"x": {"y": raw}}, "x.y", Outer)


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
    with pytest.raises(ConfigError, match=r"x\.inner\.ratios\.c: expected float, got str 'e5'"):
        section({"x": {"inner": {"ratios": {"c": "e5"}}}}, "x", Outer)
