"""PromptSpec: one prompt with the structure MISC's semantic layer can be checked against."""

from __future__ import annotations

import hashlib
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
    text: str
    source: PromptSource
    negative: str | None = None
    category: str | None = None
    style: str | None = None
    objects: tuple[PromptObject, ...] = ()
    id: str = field(default="")

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
        }
