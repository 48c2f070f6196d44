"""Prompts kept beside images by other tools: a sidecar file per image (``x.png`` with ``x.txt`` or ``x.json``)
and the fields of a row of someone else's table, read into a PromptSpec.

Read by ``aigi-scd import`` (every input form) and by ``aigi-scd compress --images`` (so a MISC variant that
sends the prompt gets it for any folder); both list a folder's images the same way (:func:`image_files`). The
prompt is found under its usual names; what else the source knew stays with it, in the prompt's ``extra``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aigi_scd.errors import ConfigError
from aigi_scd.prompts.spec import PromptObject, PromptSource, PromptSpec

# PromptSpec field → the names sources use for it (matched without regard to case).
PROMPT_FIELDS: dict[str, tuple[str, ...]] = {
    "text": ("prompt", "text", "caption", "prompt_text", "positive_prompt"),
    "negative": ("negative_prompt", "negative", "neg_prompt"),
    "category": ("category",),
    "style": ("style",),
    "objects": ("objects",),
}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".ppm", ".avif")
SIDECAR_SUFFIXES = (".json", ".txt")  # x.json holds fields, x.txt the prompt alone (both may be there)


def image_files(folder: Path) -> list[Path]:
    """Every image file in `folder` and its subfolders, sorted by relative path, hidden files and folders left out:
    what both `aigi-scd import FOLDER` and `aigi-scd compress --images FOLDER` read."""
    folder = Path(folder)
    found = [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    found = [p for p in found if not any(part.startswith(".") for part in p.relative_to(folder).parts)]
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def find_key(fields: dict[str, Any], names: tuple[str, ...]) -> str | None:
    """The key of `fields` that is one of `names` (case-insensitive; the earliest name wins)."""
    lowered = {str(k).lower(): k for k in fields}
    return next((lowered[n] for n in names if n in lowered), None)


def sidecar_paths(image: Path) -> list[Path]:
    """The sidecars of `image` that exist: ``<stem>.json`` and ``<stem>.txt`` beside it, in that order."""
    return [path for suffix in SIDECAR_SUFFIXES if (path := Path(image).with_suffix(suffix)).is_file()]


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the prompt ({exc}); save it as UTF-8 text") from None


def _read_json_sidecar(path: Path) -> dict[str, Any]:
    try:
        fields = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}); fix the file") from None
    if not isinstance(fields, dict):
        raise ConfigError(f'{path}: must hold a JSON object with a "prompt", got {type(fields).__name__}')
    return fields


def read_sidecar(image: Path) -> dict[str, Any] | None:
    """The fields of `image`'s sidecars: a .txt is the prompt (``{"prompt": text}``), a .json an object of fields;
    with both, the .json's fields and the .txt's prompt (refused when the .json gives another prompt). None when
    there is no sidecar; a malformed or contradictory one raises ConfigError naming the files."""
    paths = {path.suffix: path for path in sidecar_paths(image)}
    if not paths:
        return None
    fields = _read_json_sidecar(paths[".json"]) if ".json" in paths else {}
    if ".txt" in paths:
        text = _read_text(paths[".txt"]).strip()
        key = find_key(fields, PROMPT_FIELDS["text"])
        given = fields.get(key) if key is not None else None
        if isinstance(given, str) and given.strip() and " ".join(given.split()) != " ".join(text.split()):
            raise ConfigError(
                f"{paths['.txt']} and {paths['.json'].name} give different prompts ({_short(text)!r} and "
                f"{_short(given)!r}); keep one of them, or make them agree"
            )
        fields = {**fields, key or "prompt": text} if not (isinstance(given, str) and given.strip()) else fields
    return fields


def sidecar_where(image: Path) -> str:
    """How messages name `image`'s sidecars: the file, or both files."""
    return " + ".join(str(path) for path in sidecar_paths(image))


def _short(text: str, limit: int = 50) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _objects(value: Any, where: str) -> tuple[PromptObject, ...]:
    if value in (None, ""):
        return ()
    if not isinstance(value, list):
        raise ConfigError(f"{where}: objects must be a list of names or of {{name, detail}}, got {value!r}")
    objects = []
    for item in value:
        if isinstance(item, str) and item.strip():
            objects.append(PromptObject(item.strip()))
        elif isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"].strip():
            objects.append(PromptObject(item["name"].strip(), str(item.get("detail") or "").strip()))
        else:
            raise ConfigError(f"{where}: each object must be a name or a {{name, detail}} mapping, got {item!r}")
    return tuple(objects)


def prompt_keys(fields: dict[str, Any], overrides: dict[str, str] | None = None) -> dict[str, str]:
    """PromptSpec field → the key of `fields` that holds it (`overrides` name keys explicitly)."""
    keys = {}
    for name, aliases in PROMPT_FIELDS.items():
        key = (overrides or {}).get(name) or find_key(fields, aliases)
        if key is not None and key in fields:
            keys[name] = key
    return keys


def prompt_from_fields(
    fields: dict[str, Any],
    source: PromptSource,
    where: str,
    *,
    keys: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> PromptSpec:
    """A PromptSpec from a row's fields (`keys`: PromptSpec field → key, found by :func:`prompt_keys` when not
    given). `extra` is stored as the prompt's extra; `where` starts every error ("notes.jsonl line 7")."""
    keys = prompt_keys(fields) if keys is None else keys
    text = fields.get(keys["text"]) if "text" in keys else None
    if not isinstance(text, str) or not text.strip():
        if "text" not in keys:
            names = ", ".join(PROMPT_FIELDS["text"])
            raise ConfigError(f"{where}: no prompt (a field named one of: {names})")
        raise ConfigError(f"{where}: the prompt is empty")
    strings = {}
    for name in ("negative", "category", "style"):
        value = fields.get(keys[name]) if name in keys else None
        if isinstance(value, list):  # a list of style or category words
            value = ", ".join(str(v) for v in value if v not in (None, ""))
        strings[name] = str(value).strip() if value not in (None, "") else None
    objects = _objects(fields.get(keys["objects"]), where) if "objects" in keys else ()
    return PromptSpec(
        text=text.strip(),
        source=source,
        negative=strings["negative"],
        category=strings["category"],
        style=strings["style"],
        objects=objects,
        extra=extra or {},
    )


def sidecar_prompt(image: Path) -> PromptSpec | None:
    """The prompt `image`'s sidecar holds (its other fields in ``extra``), or None when it has no sidecar."""
    fields = read_sidecar(image)
    if fields is None:
        return None
    keys = prompt_keys(fields)
    extra = {k: v for k, v in fields.items() if k not in keys.values()}
    where = sidecar_where(image)
    return prompt_from_fields(fields, PromptSource(where), where, keys=keys, extra=extra)
