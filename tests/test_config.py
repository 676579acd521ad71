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
