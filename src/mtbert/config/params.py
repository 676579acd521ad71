"""params.yaml as a whole: the class of each section, every section checked at once (`mtbert params`, and `mtbert run`
before the pipeline), docs/params.md and a JSON schema for editors, both generated from the classes' fields.

    mtbert params            # validate params.yaml
    mtbert params --docs     # regenerate docs/params.md and docs/params.schema.json
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import TypeAdapter

from mtbert.config.augment import AugmentConfig
from mtbert.config.data import DownloadConfig, PrepareConfig
from mtbert.config.evaluate import EvaluateConfig, ReferenceConfig
from mtbert.config.model import ModelConfig
from mtbert.config.pretrain import HeadPretrainConfig, PretrainConfig
from mtbert.config.train import TrainConfig
from mtbert.config.types import PARAMS_FILE, SECTION, ConfigError, load_params, section
from mtbert.io import write_text
from mtbert.registry import Choices

SECTIONS: dict[str, type] = {
    "model": ModelConfig,
    "data.download": DownloadConfig,
    "data.prepare": PrepareConfig,
    "reference": ReferenceConfig,
    "augment": AugmentConfig,
    "pretrain_mlm": PretrainConfig,
    "pretrain_heads": HeadPretrainConfig,
    "train": TrainConfig,
    "evaluate": EvaluateConfig,
}
DOCS = Path("docs/params.md")
SCHEMA = Path("docs/params.schema.json")


@dataclasses.dataclass
class DataParams:
    download: DownloadConfig = dataclasses.field(default_factory=DownloadConfig)
    prepare: PrepareConfig = dataclasses.field(default_factory=PrepareConfig)
    __pydantic_config__ = SECTION


@dataclasses.dataclass
class Params:
    """Every section of params.yaml."""

    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    data: DataParams = dataclasses.field(default_factory=DataParams)
    reference: ReferenceConfig = dataclasses.field(default_factory=ReferenceConfig)
    augment: AugmentConfig = dataclasses.field(default_factory=AugmentConfig)
    pretrain_mlm: PretrainConfig = dataclasses.field(default_factory=PretrainConfig)
    pretrain_heads: HeadPretrainConfig = dataclasses.field(default_factory=HeadPretrainConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    evaluate: EvaluateConfig = dataclasses.field(default_factory=EvaluateConfig)
    __pydantic_config__ = SECTION


def validate(params: dict[str, Any], source: str = str(PARAMS_FILE)) -> None:
    """Every section present in `params` against its class; all errors at once, each naming its key."""
    errors = []
    data_keys = set(params.get("data") or {}) - {"download", "prepare"}
    if data_keys:
        errors.append(f"{source}:data: unknown key(s) {sorted(data_keys)}; known: ['download', 'prepare']")
    for name, cls in SECTIONS.items():
        head, _, tail = name.partition(".")
        if head in params and (not tail or tail in (params[head] or {})):
            try:
                section(params, name, cls, source=source)
            except ConfigError as err:
                errors.append(str(err))
    if errors:
        raise ConfigError("\n".join(errors))


def check_file(path: Path | str = PARAMS_FILE) -> dict[str, Any]:
    """params.yaml read and every section in it checked."""
    params = load_params(path)
    validate(params, str(path))
    return params


BOUNDS = {"gt": "exclusiveMinimum", "ge": "minimum", "lt": "exclusiveMaximum", "le": "maximum"}


def _standard(node: Any) -> Any:
    """pydantic writes a float's bounds as gt/ge/lt/le when a validator runs before them: JSON Schema's names."""
    if isinstance(node, dict):
        return {BOUNDS.get(k, k): _standard(v) for k, v in node.items()}
    return [_standard(v) for v in node] if isinstance(node, list) else node


def schema() -> dict[str, Any]:
    """The JSON schema of params.yaml (registry fields list their names), for editors' completion and checks."""
    out = _standard(TypeAdapter(Params).json_schema())
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["title"] = "params.yaml"
    return out


# --- docs/params.md -------------------------------------------------------------------------------------------------

def describe_type(tp: Any) -> tuple[str, str]:
    """(type in words, allowed values or range) of a field's annotation."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Annotated:
        base, meta = args[0], args[1:]
        name, allowed = describe_type(base)
        bounds = []
        for m in meta:
            if isinstance(m, Choices):
                allowed = ", ".join(f"`{n}`" for n in m.names())
            for attr, sym in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤"), ("min_length", "length ≥")):
                for part in getattr(m, "metadata", [m]):
                    if getattr(part, attr, None) is not None:
                        bounds.append(f"{sym} {getattr(part, attr)}")
        return name, " and ".join(filter(None, [allowed, ", ".join(bounds)]))
    if origin is Literal:
        return type(args[0]).__name__, ", ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        parts = [describe_type(a) for a in args if a is not type(None)]
        name, allowed = parts[0] if len(parts) == 1 else (" or ".join(p[0] for p in parts), "")
        return (f"{name} or null", allowed)
    if origin in (list, tuple):
        name, allowed = describe_type(args[0])
        return f"list of {name}", allowed
    if origin is dict:
        key, key_allowed = describe_type(args[0])
        value, allowed = describe_type(args[1])
        return f"map {key} → {value}", "; ".join(filter(None, [f"keys: {key_allowed}" if key_allowed else "", allowed]))
    if dataclasses.is_dataclass(tp):
        return "section", "below"
    return getattr(tp, "__name__", str(tp)), ""


def _default(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
        if dataclasses.is_dataclass(value):
            return "(section)"
    else:
        return "required"
    return "`null`" if value is None else f"`{list(value) if isinstance(value, tuple) else value}`"


def section_rows(name: str, cls: type) -> list[list[str]]:
    """One row per key of a section, nested sections after their parent's keys."""
    hints = typing.get_type_hints(cls, include_extras=True)
    rows, nested = [], []
    for f in dataclasses.fields(cls):
        kind, allowed = describe_type(hints[f.name])
        rows.append([f"`{name}.{f.name}`", kind, _default(f), allowed, f.metadata.get("description", "")])
        if dataclasses.is_dataclass(hints[f.name]):
            nested.append((f"{name}.{f.name}", hints[f.name]))
    for sub, sub_cls in nested:
        rows += section_rows(sub, sub_cls)
    return rows


def render_docs() -> str:
    lines = ["# Parameters", "",
             "Every key of `params.yaml`, generated by `mtbert params --docs` from the classes that validate "
             "them (`src/mtbert/config/`; a test fails when this page or `docs/params.schema.json`, the JSON schema "
             "editors read, is stale). `mtbert params` and `mtbert run` check every section before any stage runs; "
             "each stage checks the sections it reads before it touches data or a model: an unknown key, a wrong type "
             "(a bool is not a number, `\"3\"` is not an integer), a value out of range or an unknown name fails "
             "naming the key, the value and the choices.", ""]
    for name, cls in SECTIONS.items():
        lines += [f"## `{name}`", "", (inspect.getdoc(cls) or "").split("\n")[0] if cls.__doc__ and
                  not cls.__doc__.startswith(cls.__name__ + "(") else "", "",
                  "| key | type | default | allowed | meaning |", "|---|---|---|---|---|"]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in section_rows(name, cls)]
        lines.append("")
    return "\n".join(line for i, line in enumerate(lines) if line or not (i and lines[i - 1] == "")) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="mtbert params", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", action="store_true", help=f"write {DOCS} and {SCHEMA}")
    ap.add_argument("--file", type=Path, default=PARAMS_FILE)
    args = ap.parse_args(argv)
    if args.docs:
        write_text(DOCS, render_docs())
        write_text(SCHEMA, json.dumps(schema(), indent=1, ensure_ascii=False) + "\n")
        print("wrote", DOCS, "and", SCHEMA)
    else:
        try:
            check_file(args.file)
        except ConfigError as err:
            raise SystemExit(str(err)) from None
        print(f"{args.file}: valid")


if __name__ == "__main__":
    main()
