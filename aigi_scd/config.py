"""Registry files: where they live, and strict loading into dataclasses with messages that teach.

Every registry file (model card, prompt suite, filter preset, codec preset) is YAML mapped onto a
dataclass. Errors name the file, the key and what was expected, and suggest the closest key for
typos. This is a few dozen lines of hand-written validation instead of pydantic so that messages read
as one line a user can act on.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import yaml

from aigi_scd.errors import ConfigError

REGISTRIES = ("prompts", "pipelines", "filters", "codec")
T = TypeVar("T")


def registry_dir(kind: str) -> Path:
    """The folder of a registry: packaged inside the wheel, or the repository's top level in a checkout."""
    if kind not in REGISTRIES:
        raise ValueError(f"unknown registry {kind!r}")
    package = Path(__file__).resolve().parent
    packaged = package / "_registry" / kind
    return packaged if packaged.is_dir() else package.parent / kind


def registry_files(kind: str, directory: Path | None = None) -> dict[str, Path]:
    """Entry name → file, for every ``*.yaml`` in a registry folder (or `directory`)."""
    folder = directory or registry_dir(kind)
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def find_registry_file(
    kind: str,
    name_or_path: str,
    noun: str,
    directory: Path | None = None,
    also: str = "",
) -> Path:
    """The YAML file of a registry entry named `name_or_path`, or that path itself when it names a file.

    Unknown names get the closest match and the list of entries (``available {noun}s: ...``); `also`
    is appended to say what else the option accepts.
    """
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.is_file():
        if not candidate.is_file():
            raise ConfigError(f"{noun} file not found: {candidate}")
        return candidate
    paths = registry_files(kind, directory)
    if name_or_path not in paths:
        raise ConfigError(
            f"unknown {noun} {name_or_path!r}{closest(name_or_path, list(paths))}; available {noun}s: "
            f"{', '.join(paths)}{also or f' (or a path to a {noun} .yaml file)'}"
        )
    return paths[name_or_path]


def load_registry_entry(
    kind: str,
    name_or_path: str,
    load_file: Any,
    noun: str,
    directory: Path | None = None,
) -> Any:
    """A registry entry by name (``sdxl``) or by path to a YAML file, loaded with ``load_file(path)``.

    An entry's ``name`` must match its file name, because the file name is how users and other files
    refer to it.
    """
    path = find_registry_file(kind, name_or_path, noun, directory)
    entry = load_file(path)
    is_registry_name = Path(name_or_path).suffix not in (".yaml", ".yml") and not Path(name_or_path).is_file()
    if is_registry_name and getattr(entry, "name", name_or_path) != name_or_path:
        raise ConfigError(f"{path}: name: {entry.name!r} must match the file name {name_or_path!r}")
    return entry


def load_registry_file(path: Path, cls: type[T], what: str) -> T:
    """A registry YAML file as dataclass `cls` (which has a ``source`` field: set to `path`); `what` names the
    mapping's expected content in the error for a file that is not a mapping."""
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: {what} must be a mapping of keys ({', '.join(_field_keys(cls)[:3])}, ...)")
    return dataclasses.replace(from_mapping(cls, data, str(path)), source=str(path))


def _field_keys(cls: type) -> list[str]:
    return [f.metadata.get("key", f.name) for f in dataclasses.fields(cls) if f.init and not f.metadata.get("internal")]


def load_name_list(spec: str, load: Any, option: str, example: str) -> list[Any]:
    """Entries named in a comma-separated option value (``--models a,b``), each loaded with ``load(name)``;
    an empty list or a name given twice is an error naming `option` (`example`: what a valid value looks like)."""
    names = [part.strip() for part in spec.split(",") if part.strip()]
    if not names:
        raise ConfigError(f"{option} names nothing; give {example}")
    entries = [load(name) for name in names]
    seen: set[str] = set()
    for entry in entries:
        if entry.name in seen:
            raise ConfigError(f"{option} lists {entry.name!r} twice")
        seen.add(entry.name)
    return entries


def load_yaml(path: Path) -> Any:
    """Parse a YAML file; syntax errors name the file and the line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}:{where}: invalid YAML: {problem}") from None


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp) if a is not type(None))
    if origin in (list, tuple):
        return f"a list of {_type_name(get_args(tp)[0])}" if get_args(tp) else "a list"
    if origin is dict:
        return "a mapping"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(tp, str(tp))


def _convert(value: Any, tp: Any, where: str) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        others = [a for a in args if a is not type(None)]
        if len(others) == 1:  # `X | None`: X's own error (naming the key inside) is the useful one
            return _convert(value, others[0], where)
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: expected {_type_name(tp)}, got {value!r}")
    if origin is Literal:
        if value in get_args(tp):
            return value
        raise ConfigError(f"{where}: expected {_type_name(tp)}, got {value!r}")
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected {_type_name(tp)}, got {value!r}")
        (item_tp,) = get_args(tp)[:1] or (Any,)
        items = [_convert(v, item_tp, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(tp):
        return from_mapping(tp, value, where)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):  # .nan compares false with everything: a threshold would pass all
                raise ConfigError(f"{where}: expected a finite number, got {value!r}")
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    else:
        return value
    raise ConfigError(f"{where}: expected {_type_name(tp)}, got {value!r}")


def from_mapping(cls: type[T], data: Any, where: str) -> T:
    """Build dataclass `cls` from a YAML mapping, naming `where` (file and key path) in every error.

    A field's YAML key is its name, or ``metadata["key"]`` when the name would clash with Python;
    fields marked ``metadata["internal"]`` are set by code, never read from the file.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {
        f.metadata.get("key", f.name): f for f in dataclasses.fields(cls) if f.init and not f.metadata.get("internal")
    }
    unknown = [k for k in data if k not in fields]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(str(key), list(fields), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{where}: unknown key {key!r}{hint}; allowed keys: {', '.join(fields)}")
    kwargs = {}
    for key, field in fields.items():
        if key in data:
            kwargs[field.name] = _convert(data[key], hints[field.name], f"{where}.{key}")
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{where}: missing required key {key!r} ({_type_name(hints[field.name])})")
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def closest(name: str, choices: list[str]) -> str:
    """A ' (did you mean X?)' hint, or nothing."""
    match = difflib.get_close_matches(name, choices, n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""
