"""params.yaml as a whole: which class validates each section, a check of every section at once (so a bad key fails
before any stage touches data or a model), and docs/params.md generated from those classes.

    mtbert params            # validate params.yaml
    mtbert params --docs     # regenerate docs/params.md
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import io
import textwrap
import tokenize
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from mtbert.config import PARAMS_FILE, ConfigError, read_params, section
from mtbert.data.augment import AugmentConfig
from mtbert.data.download import DownloadConfig
from mtbert.data.prepare import PrepareConfig
from mtbert.eval.reference import ReferenceConfig
from mtbert.eval.settings import EvaluateConfig
from mtbert.io import write_text
from mtbert.model.multitask import ModelConfig
from mtbert.pretrain.loop import PretrainConfig
from mtbert.registry import Choices
from mtbert.train.head_pretraining import HeadPretrainConfig
from mtbert.train.loop import TrainConfig

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


def load_params(path: Path | str = PARAMS_FILE) -> dict[str, Any]:
    """params.yaml as a dict, every section in it checked first, so a bad key fails before a stage touches data or a
    model, whichever key the stage reads."""
    params = read_params(path)
    validate(params, str(path))
    return params


def validate(params: dict[str, Any], source: str = str(PARAMS_FILE)) -> None:
    """Every section present in `params` against its class; all errors at once, each naming its key."""
    errors = []
    known = {name.split(".")[0] for name in SECTIONS} | {"data"}
    unknown = sorted(set(params) - known)
    if unknown:
        errors.append(f"{source}: unknown section(s) {unknown}; sections: {sorted(known)}")
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


# --- docs/params.md -------------------------------------------------------------------------------------------------

def field_comments(cls: type) -> dict[str, str]:
    """Each field's comment in the class source: the one on its line, else the comment lines just above it."""
    source = textwrap.dedent(inspect.getsource(cls))
    lines = source.splitlines()
    comments = {tok.start[0]: tok.string.lstrip("# ").strip() for tok in
                tokenize.generate_tokens(io.StringIO(source).readline) if tok.type == tokenize.COMMENT}
    alone = {n for n in comments if lines[n - 1].lstrip().startswith("#")}  # a comment line of its own
    out = {}
    for node in ast.parse(source).body[0].body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            above, line = [], node.lineno - 1
            while line in alone:
                above.insert(0, comments[line])
                line -= 1
            trailing = comments.get(node.end_lineno) if node.end_lineno not in alone else None
            out[node.target.id] = " ".join(filter(None, [" ".join(above), trailing]))
    return out


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
    comments = field_comments(cls)
    rows, nested = [], []
    for f in dataclasses.fields(cls):
        kind, allowed = describe_type(hints[f.name])
        rows.append([f"`{name}.{f.name}`", kind, _default(f), allowed, comments.get(f.name, "")])
        if dataclasses.is_dataclass(hints[f.name]):
            nested.append((f"{name}.{f.name}", hints[f.name]))
    for sub, sub_cls in nested:
        rows += section_rows(sub, sub_cls)
    return rows


def render_docs() -> str:
    lines = ["# Parameters", "",
             "Every key of `params.yaml`, generated by `mtbert params --docs` from the classes that validate "
             "them (a test fails when this page is stale). Values are checked when params load, before any data or "
             "model is touched: an unknown key, a wrong type (a bool is not a number, `\"3\"` is not an integer), a "
             "value out of range or an unknown name fails naming the key, the value and the choices.", ""]
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
    ap.add_argument("--docs", action="store_true", help=f"write {DOCS}")
    ap.add_argument("--file", type=Path, default=PARAMS_FILE)
    args = ap.parse_args(argv)
    if args.docs:
        write_text(DOCS, render_docs())
        print("wrote", DOCS)
    else:
        try:
            load_params(args.file)
        except ConfigError as err:
            raise SystemExit(str(err)) from None
        print(f"{args.file}: valid")


if __name__ == "__main__":
    main()
