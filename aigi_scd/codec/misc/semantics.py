"""What MISC's semantic layer says about an image: an overall description and up to three salient
objects, each a short name and a short detail (and, when known, a box or a coarse region map)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_DESCRIPTION_WORDS = 50
MAX_OBJECTS = 3
MAX_NAME_WORDS = 3
MAX_DETAIL_WORDS = 10


def _clean(text: Any) -> str:
    """One line of plain text: the serialisation uses newlines and tabs as separators."""
    return " ".join(str(text or "").split())


def clip_words(text: str, limit: int) -> str:
    words = _clean(text).split(" ")
    return " ".join(words[:limit]) if text else ""


@dataclass
class SemanticObject:
    name: str
    detail: str = ""
    box: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1 as fractions of width/height


@dataclass
class Semantics:
    description: str = ""
    objects: list[SemanticObject] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was repaired or dropped on the way (not transmitted)

    def limited(
        self,
        max_words: int = MAX_DESCRIPTION_WORDS,
        max_objects: int = MAX_OBJECTS,
    ) -> Semantics:
        """Within MISC's limits: ≤50-word description, ≤3 objects of ≤3-word names and ≤10-word details."""
        objects = [
            SemanticObject(clip_words(o.name, MAX_NAME_WORDS), clip_words(o.detail, MAX_DETAIL_WORDS), o.box)
            for o in self.objects
            if _clean(o.name)
        ][:max_objects]
        return Semantics(clip_words(self.description, max_words), objects, list(self.notes))

    def serialize(self) -> str:
        """The transmitted text: description, then one ``name<TAB>detail`` line per object."""
        lines = [_clean(self.description)] + [f"{_clean(o.name)}\t{_clean(o.detail)}" for o in self.objects]
        return "\n".join(lines)

    @classmethod
    def deserialize(cls, text: str) -> Semantics:
        lines = text.split("\n")
        objects = []
        for line in lines[1:]:
            name, _, detail = line.partition("\t")
            objects.append(SemanticObject(name, detail))
        return cls(lines[0], objects)

    @property
    def is_empty(self) -> bool:
        return not self.description and not self.objects

    def to_json(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "objects": [{"name": o.name, "detail": o.detail} for o in self.objects],
            "notes": list(self.notes),
        }


def from_prompt(prompt: dict[str, Any] | None) -> Semantics:
    """The semantic layer of an AI-generated image taken from its generation prompt (an oracle)."""
    if not prompt or not prompt.get("text"):
        return Semantics()
    objects = [SemanticObject(o.get("name", ""), o.get("detail", "")) for o in prompt.get("objects") or []]
    return Semantics(prompt["text"], objects).limited()
