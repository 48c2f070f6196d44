"""PromptSpec: one prompt with the structure MISC's semantic layer can be checked against."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any


def normalize_text(text: str) -> str:
    """The form two prompts must share to count as the same prompt: NFKC, case-folded, single spaces,
    no trailing full stop."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"\s+", " ", text).strip()
    return text.rstrip(" .")


def prompt_id(text: str) -> str:
    """Stable 16-hex-digit id: sha256 of the normalised text. Safe in sample keys (no dots)."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class PromptObject:
    """A salient object: a short name (≤3 words) and a short detail (≤10 words), as MISC sends them."""

    name: str
    detail: str = ""


@dataclass(frozen=True)
class PromptSource:
    """Where a prompt came from: suite (or file) name and line, when there is one."""

    suite: str
    line: int | None = None


@dataclass(frozen=True)
class PromptSpec:
    """One prompt. `extra` keeps whatever else its source knows (PartiPrompts' challenge and note, GenEval's
    tag and object counts, a generated prompt's scene, lighting and composition)."""

    text: str
    source: PromptSource
    negative: str | None = None
    category: str | None = None
    style: str | None = None
    objects: tuple[PromptObject, ...] = ()
    id: str = field(default="")
    extra: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not self.text or not self.text.strip():
            raise ValueError("prompt text is empty")
        if not self.id:
            object.__setattr__(self, "id", prompt_id(self.text))

    def to_json(self) -> dict[str, Any]:
        """The prompt as stored in every sample's json (a fixed set of fields, some null)."""
        return {
            "id": self.id,
            "text": self.text,
            "negative": self.negative,
            "category": self.category,
            "style": self.style,
            "objects": [{"name": o.name, "detail": o.detail} for o in self.objects],
            "source": {"suite": self.source.suite, "line": self.source.line},
            # a JSON object as a string: its keys differ by source, and Arrow needs one schema for all samples
            "extra": json.dumps(self.extra, sort_keys=True, ensure_ascii=False) if self.extra else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PromptSpec:
        """The PromptSpec a sample json or build.json stores (the inverse of :meth:`to_json`)."""
        source = data.get("source") or {}
        return cls(
            text=data["text"],
            source=PromptSource(source.get("suite") or "", source.get("line")),
            negative=data.get("negative"),
            category=data.get("category"),
            style=data.get("style"),
            objects=tuple(PromptObject(o["name"], o.get("detail") or "") for o in data.get("objects") or ()),
            id=data["id"],
            extra=json.loads(data["extra"]) if data.get("extra") else {},
        )


PROMPT_KEYS = ("text", "negative", "category", "style", "objects", "extra")


def spec_from_mapping(
    entry: dict[str, Any], source: PromptSource, where: str, ignore: tuple[str, ...] = ()
) -> PromptSpec:
    """A PromptSpec from a suite entry or a PromptSpec JSONL line; errors start with `where` (file:line).

    `extra` may be a mapping or, as stored in a sample's json, a JSON object string. Keys in `ignore` are
    accepted and dropped (an exported line's `id` and `source`, which are recomputed here).
    """
    from aigi_scd.config import closest
    from aigi_scd.errors import ConfigError

    unknown = sorted(set(entry) - set(PROMPT_KEYS) - set(ignore))
    if unknown:
        allowed = sorted(PROMPT_KEYS + ignore)
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}{closest(unknown[0], allowed)}; allowed: {', '.join(allowed)}"
        )
    text = entry.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{where}: 'text' must be a non-empty string (the prompt), got {text!r}")
    for key in ("negative", "category", "style"):
        if entry.get(key) is not None and not isinstance(entry[key], str):
            raise ConfigError(f"{where}: {key!r} must be a string or null, got {entry[key]!r}")
    objects = entry.get("objects") or []
    if not isinstance(objects, list):
        raise ConfigError(f"{where}: 'objects' must be a list of {{name, detail}} mappings, got {objects!r}")
    parsed = []
    for j, obj in enumerate(objects):
        if not isinstance(obj, dict) or not isinstance(obj.get("name"), str) or not obj["name"].strip():
            raise ConfigError(f"{where}: objects[{j}] must be a mapping with a 'name' (and a 'detail'), got {obj!r}")
        parsed.append(PromptObject(name=obj["name"].strip(), detail=str(obj.get("detail") or "").strip()))
    extra = entry.get("extra") or {}
    if isinstance(extra, str):
        try:
            extra = json.loads(extra)
        except json.JSONDecodeError:
            extra = None
    if not isinstance(extra, dict):
        raise ConfigError(f"{where}: 'extra' must be a mapping (or a JSON object string), got {entry.get('extra')!r}")
    return PromptSpec(
        text=text.strip(),
        negative=entry.get("negative"),
        category=entry.get("category"),
        style=entry.get("style"),
        objects=tuple(parsed),
        source=source,
        extra=extra,
    )
