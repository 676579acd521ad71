"""Turn a params profile (a partial params.yaml) into `dvc exp run` -S flags: `mtbert profile FILE`."""

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


def open_maps(params: Path = Path("params.yaml")) -> frozenset[str]:
    """Params whose value is an empty mapping, filled per task (train.task_lr, model.task_dropout): the keys set under
    them are new to DVC."""
    if not params.exists():
        return frozenset()
    tree = yaml.safe_load(params.read_text()) or {}

    def walk(node: dict, prefix: str):
        for key, value in node.items():
            if isinstance(value, dict):
                if not value:
                    yield prefix + key
                yield from walk(value, f"{prefix}{key}.")

    return frozenset(walk(tree, ""))


def override_flags(tree: dict[str, Any], maps: frozenset[str] | None = None) -> list[str]:
    """One `-S key=value` pair per leaf, values in YAML flow syntax (null, lists) as DVC parses them. A key under an
    open map of params.yaml (`maps`, default: read from ./params.yaml) is new to DVC's struct: `-S ++key=value` adds it;
    every other key must exist (DVC refuses a typo)."""
    maps = open_maps() if maps is None else maps
    flags = []
    for key, value in flatten(tree).items():
        text = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
        add = "++" if any(key.startswith(m + ".") for m in maps) else ""
        flags += ["-S", f"{add}{key}={text}"]
    return flags


def set_flags(profile: Path) -> list[str]:
    """The -S flags of a profile file."""
    return override_flags(yaml.safe_load(profile.read_text()) or {})


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(prog="mtbert profile", description=__doc__)
    ap.add_argument("profile", type=Path, help="a partial params.yaml, e.g. profiles/full.yaml")
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    if not args.profile.exists():
        raise SystemExit(f"{args.profile}: profile not found")
    print(" ".join(set_flags(args.profile)))


if __name__ == "__main__":
    main()
