"""Turn a params profile (a partial params.yaml) into `dvc exp run` -S flags: `mtbert profile FILE`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml


def flatten(tree: dict[str, Any], prefix: str = "", keep_empty: bool = False) -> dict[str, Any]:
    """{"train": {"lr": 1}} -> {"train.lr": 1}. `keep_empty` keeps an empty mapping as a leaf: set by a profile, it
    clears what params.yaml has under that key (see `apply`)."""
    out = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and (value or not keep_empty):
            out.update(flatten(value, name + ".", keep_empty))
        else:
            out[name] = value
    return out


def tree(flat: dict[str, Any]) -> dict[str, Any]:
    """{"train.lr": 1} -> {"train": {"lr": 1}}, keys in order (an empty mapping before its own keys)."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        *path, last = key.split(".")
        for part in path:
            node = node.setdefault(part, {})
        node[last] = dict(value) if isinstance(value, dict) else value
    return out


def apply(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Flat params `base` under flat `overrides`, in order: each override replaces `base`'s value at its key and
    everything under it, so an empty mapping (a table profile's `loss_weights: {}`) pins that map empty whatever
    params.yaml puts in it, and a later key fills it."""
    out = dict(base)
    for key, value in overrides.items():
        for k in [k for k in out if k == key or k.startswith(key + ".")]:
            del out[k]
        out[key] = value
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


def override_flags(tree: dict[str, Any], maps: frozenset[str] | None = None,
                   params: Path = Path("params.yaml")) -> list[str]:
    """One `-S key=value` pair per leaf, values in YAML flow syntax (null, lists) as DVC parses them. A key under an
    open map of params.yaml (`maps`, default: read from `params`) is new to DVC's struct: `-S ++key=value` adds it;
    every other key must exist (DVC refuses a typo). An empty mapping where params.yaml's is not empty clears it
    (`~key`, then `++key={}`), and the keys after it under it are added."""
    maps = open_maps(params) if maps is None else maps
    filled = {k for k in flatten(yaml.safe_load(params.read_text()) or {}) if "." in k} if params.exists() else set()
    cleared: set[str] = set()
    flags = []
    for key, value in flatten(tree, keep_empty=True).items():
        if value == {}:
            if any(k.startswith(key + ".") for k in filled):
                flags += ["-S", f"~{key}", "-S", f"++{key}={{}}"]
                cleared.add(key)
            continue
        text = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
        add = "++" if any(key.startswith(m + ".") for m in maps | cleared) else ""
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
