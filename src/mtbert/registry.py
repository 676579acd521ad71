"""Name -> implementation registries, so params.yaml picks pieces by name and unknown names fail with the known ones."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def add(item: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} '{name}' registered twice")
            self._items[name] = item
            return item

        return add

    def __getitem__(self, name: str) -> T:
        if name not in self._items:
            raise KeyError(f"unknown {self.kind} '{name}'; known: {sorted(self._items)}")
        return self._items[name]

    def __contains__(self, name: str) -> bool:
        return name in self._items

    def names(self) -> list[str]:
        return sorted(self._items)

    @property
    def Name(self) -> Any:  # noqa: N802 (a type, used in annotations: `method: METHODS.Name = "sum"`)
        """The type of a params field that names one of this registry's items."""
        return one_of(self.kind, self.names)


def one_of(kind: str, names: Callable[[], Iterable[str]]) -> Any:
    """The type of a params field naming one of `names()` (read when validating, so late registrations count); an
    unknown name fails with the choices."""

    def check(name: str) -> str:
        known = sorted(names())
        if name not in known:
            raise ValueError(f"unknown {kind} {name!r}; choices: {known}")
        return name

    return Annotated[str, AfterValidator(check), Choices(lambda: sorted(names()))]


class Choices:
    """Marks a params field whose values come from a list known at run time (docs/params.md lists them)."""

    def __init__(self, names: Callable[[], list[str]]):
        self.names = names

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> dict[str, Any]:
        """The JSON schema lists the names (imported when the schema is made)."""
        return handler(core_schema) | {"enum": self.names()}
