"""What every params section is built from: strict field types with their ranges, `param` (a default and its meaning,
which docs/params.md and the JSON schema read), registry names checked lazily, and `section`, which validates one
section of params.yaml with pydantic: unknown keys, wrong types, values out of range and unknown names fail naming the
key, the value and what was expected. Nothing here imports torch."""

from __future__ import annotations

import dataclasses
import importlib
import re
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import BeforeValidator, ConfigDict, Field, Strict, TypeAdapter, ValidationError

from mtbert.registry import one_of

T = TypeVar("T")
PARAMS_FILE = Path("params.yaml")

FLOAT_WITHOUT_DOT = re.compile(r"[-+]?\d+(\.\d*)?[eE][-+]?\d+")


def _yaml_float(value: Any) -> Any:
    # YAML 1.1 (PyYAML) reads 1e-05 as a string; `dvc exp run -S x=1.0e-05` writes exactly that form
    return float(value) if isinstance(value, str) and FLOAT_WITHOUT_DOT.fullmatch(value.strip()) else value


# The field types of params sections: strict (a bool is not an int, "3" is not a number), with their ranges.
Float = Annotated[float, BeforeValidator(_yaml_float), Strict()]
Int = Annotated[int, Strict()]
Bool = Annotated[bool, Strict()]
PositiveFloat = Annotated[Float, Field(gt=0)]  # learning rates, temperatures, timeouts
NonNegativeFloat = Annotated[Float, Field(ge=0)]  # loss weights, weight decay
Rate = Annotated[Float, Field(ge=0, le=1)]  # shares and probabilities
Dropout = Annotated[Float, Field(ge=0, lt=1)]
Count = Annotated[Int, Field(ge=1)]  # batch sizes, epochs, steps
NonNegativeInt = Annotated[Int, Field(ge=0)]
Seed = Annotated[Int, Field(ge=0)]
SECTION = ConfigDict(extra="forbid")  # every section class sets __pydantic_config__ = SECTION


# The sections of params.yaml (config/params.py holds their classes; a test keeps the two equal).
SECTION_NAMES = ("model", "data", "reference", "augment", "pretrain_mlm", "pretrain_heads", "train", "evaluate")
TASKS = ("sst", "quora", "sts", "cfimdb")  # the tasks model/multitask.py specifies (a test keeps the two equal)


def param(default: Any = dataclasses.MISSING, about: str = "", *, factory: Callable[[], Any] | None = None) -> Any:
    """A params field: its default (or `factory` making it) and what it means, kept as the field's description."""
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata={"description": about})
    return dataclasses.field(default=default, metadata={"description": about})


def registered(kind: str, module: str, registry: str) -> Any:
    """The type of a field naming an item of `module`'s `registry` (a Registry or a dict), imported when a value is
    checked (so that importing a section does not import the code behind the names)."""

    def names() -> list[str]:
        found = getattr(importlib.import_module(module), registry)
        return found.names() if hasattr(found, "names") else list(found)

    return one_of(kind, names)


TaskName = one_of("task", lambda: TASKS)


class ConfigError(ValueError):
    """A params value that does not fit its declared type, range or name."""


def run_stage(main: Callable[[], None]) -> None:
    """A stage's entry point: bad params end it with their message alone (exit status 2), not a traceback."""
    try:
        main()
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


def read_params(path: Path | str = PARAMS_FILE) -> dict[str, Any]:
    """params.yaml as a dict, unchecked."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: params file not found")
    with path.open() as fh:
        params = yaml.safe_load(fh) or {}
    if not isinstance(params, dict):
        raise ConfigError(f"{path}: expected a mapping at top level, got {type(params).__name__}")
    return params


def load_params(path: Path | str = PARAMS_FILE) -> dict[str, Any]:
    """params.yaml as a dict, its section names checked; each stage validates the sections it reads (`section`), and
    `mtbert params` (or `mtbert run`, first) every section at once."""
    params = read_params(path)
    unknown = sorted(set(params) - set(SECTION_NAMES))
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {unknown}; sections: {sorted(SECTION_NAMES)}")
    return params


def section(params: dict[str, Any], dotted: str, cls: type[T], source: str = "params.yaml", only: tuple[str, ...] | None = None) -> T:
    """Build dataclass `cls` from the section at `dotted` (e.g. "data.prepare"); `only` reads just those keys."""
    node: Any = params
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(f"{source}: missing section '{dotted}' (no key '{part}')")
        node = node[part]
    if only is not None and isinstance(node, dict):
        node = {k: v for k, v in node.items() if k in only}
    return _build(cls, node, f"{source}:{dotted}")


@cache
def _adapter(cls: type[T]) -> TypeAdapter[T]:
    return TypeAdapter(cls)


def _describe(err: dict, where: str) -> str:
    """One line per error: the full key, what is wrong, and the value found (a section's own checks name theirs)."""
    key = ".".join(str(part) for part in err["loc"] if part != "[key]")
    message = err["msg"].removeprefix("Value error, ")
    if not key:
        return f"{where}: {message}"
    value = "" if err["type"] in ("missing", "missing_argument") else f" (got {err['input']!r})"
    return f"{where}.{key}: {message}{value}"


def _build(cls: type[T], raw: Any, where: str) -> T:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping for {cls.__name__}, got {raw!r}")
    try:
        return _adapter(cls).validate_python(raw)
    except ValidationError as err:
        raise ConfigError("\n".join(_describe(e, where) for e in err.errors(include_url=False))) from None
    except (ValueError, KeyError) as err:  # a section's own checks (__post_init__), reported with the file
        raise ConfigError(f"{where}: {err}") from err
