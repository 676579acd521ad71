"""Turn a params profile (a partial params.yaml) into `dvc exp run` -S flags: python -m mtbert.profiles FILE."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def override_flags(tree: dict[str, Any]) -> list[str]:
    """One `-S key=value` pair per leaf, values in YAML flow syntax (null, lists) as DVC parses them."""
    flags = []
    for key, value in flatten(tree).items():
        text = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
        flags += ["-S", f"{key}={text}"]
    return flags


def set_flags(profile: Path) -> list[str]:
    """The -S flags of a profile file."""
    return override_flags(yaml.safe_load(profile.read_text()) or {})


if __name__ == "__main__":
    print(" ".join(set_flags(Path(sys.argv[1]))))
