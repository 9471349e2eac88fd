"""Files the kit reads back, typed: a JSON or YAML mapping becomes a dataclass only when every field has its type.

A run folder, a recipe or a model folder may come from elsewhere (a kernel's output, someone's blend) or be edited
by hand; `val_accuracy: "high"` must stop at the reader in one line naming the file, the field and the fix, not as a
TypeError three modules later.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from solution.core.errors import UserError

T = TypeVar("T")


class _Wrong(Exception):
    """A value that is not of its field's type: where it sits (field.sub-field) and what was expected."""

    def __init__(self, where: str, value: object, expected: str) -> None:
        super().__init__(where)
        self.where, self.value, self.expected = where, value, expected


def _describe(kind: Any) -> str:
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return "a mapping"
    return {bool: "true or false", int: "a whole number", float: "a finite number", str: "text"}.get(kind, str(kind).replace("typing.", ""))


def _convert(value: Any, kind: Any, where: str) -> Any:
    """`value` as `kind` (bool, int, float, str, X | None, list[X], tuple[X, ...], dict[str, X], a dataclass)."""
    origin, arguments = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in arguments:
            return None
        for option in (a for a in arguments if a is not type(None)):
            try:
                return _convert(value, option, where)
            except _Wrong:
                continue
        raise _Wrong(where, value, " or ".join(_describe(a) for a in arguments))
    if kind is Any or kind is object:
        return value
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise _Wrong(where, value, "a mapping")
        return _build(kind, value, f"{where}.")
    if origin in (list, tuple) or kind in (list, tuple):
        if not isinstance(value, list | tuple):
            raise _Wrong(where, value, "a list")
        item = arguments[0] if arguments else Any
        items = [_convert(element, item, f"{where}[{index}]") for index, element in enumerate(value)]
        return tuple(items) if (origin or kind) is tuple else items
    if origin is dict or kind is dict:
        if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
            raise _Wrong(where, value, "a mapping with text keys")
        item = arguments[1] if len(arguments) == 2 else Any
        return {key: _convert(element, item, _key(where, key)) for key, element in value.items()}
    if kind is bool:
        if not isinstance(value, bool):
            raise _Wrong(where, value, _describe(kind))
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Wrong(where, value, _describe(kind))
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise _Wrong(where, value, _describe(kind))
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise _Wrong(where, value, _describe(kind))
        return value
    raise TypeError(f"records: no reader for {kind!r} ({where})")  # a field type of the kit's own: a defect here


def _key(where: str, key: str) -> str:
    """where.key, or where['odd key'] for a key a line cannot show as it is."""
    return f"{where}.{key}" if key.isprintable() and key.strip() == key and key else f"{where}[{key!r}]"


def _build(cls: type[T], content: dict, prefix: str) -> T:
    hints = typing.get_type_hints(cls)
    values = {}
    for field in dataclasses.fields(cls):
        if field.name not in content:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise _Wrong(f"{prefix}{field.name}", dataclasses.MISSING, "present")
            continue
        values[field.name] = _convert(content[field.name], hints[field.name], f"{prefix}{field.name}")
    return cls(**values)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def record(cls: type[T], content: Any, path: Path | str, fix: str, schema: int | None = None) -> T:
    """`content` (a decoded JSON or YAML document) as the dataclass `cls`; keys `cls` does not know are left out.
    A document of another shape is one line: `path: field: value is not <type>; fix`. With `schema`, the document's
    `schema_version` must be that one: a file of another layout is refused, never read as if it were this one."""
    try:
        if not isinstance(content, dict):
            found = "nothing" if content is None else f"a {type(content).__name__}"
            raise UserError(f"{path}: expected KEY: VALUE fields, found {found}; {fix}")
        if schema is not None and content.get("schema_version") != schema:
            found = _shown(content["schema_version"]) if "schema_version" in content else "none"
            raise UserError(f"{path}: schema_version {found}, this kit reads {schema}; {fix}")
        return _build(cls, content, "")
    except _Wrong as wrong:
        if wrong.value is dataclasses.MISSING:
            raise UserError(f"{path}: no {wrong.where}; not a complete file of this kit; {fix}") from None
        raise UserError(f"{path}: {wrong.where}: {_shown(wrong.value)} is not {wrong.expected}; {fix}") from None
