"""Prompt suites in the ``prompts/`` registry: load one, drop exact duplicates, pick N deterministically."""

from __future__ import annotations

import random
from pathlib import Path

import yaml

from aigi_scd.config import closest, load_yaml, registry_dir
from aigi_scd.errors import ConfigError
from aigi_scd.prompts.spec import PromptObject, PromptSource, PromptSpec

DEFAULT_SUITE = "starter"


def suite_paths(directory: Path | None = None) -> dict[str, Path]:
    folder = directory or registry_dir("prompts")
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def _item_lines(text: str) -> list[int]:
    """1-based line of each entry under ``prompts:``, for provenance and error messages."""
    root = yaml.compose(text)
    if root is None or not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "prompts" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _spec_from_entry(entry: object, suite: str, line: int | None, where: str) -> PromptSpec:
    if isinstance(entry, str):
        entry = {"text": entry}
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a prompt (text or mapping with text), got {entry!r}")
    allowed = {"text", "negative", "category", "style", "objects"}
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}{closest(unknown[0], sorted(allowed))}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    text = entry.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{where}: 'text' must be a non-empty string")
    objects = []
    for j, obj in enumerate(entry.get("objects") or []):
        if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
            raise ConfigError(f"{where}: objects[{j}] must be a mapping with a 'name' (and a 'detail')")
        objects.append(PromptObject(name=obj["name"], detail=str(obj.get("detail") or "")))
    return PromptSpec(
        text=text.strip(),
        negative=entry.get("negative"),
        category=entry.get("category"),
        style=entry.get("style"),
        objects=tuple(objects),
        source=PromptSource(suite=suite, line=line),
    )


def load_suite(name_or_path: str, directory: Path | None = None) -> list[PromptSpec]:
    """All prompts of a suite (registry name or YAML path), exact duplicates removed, in file order."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml"):
        path = candidate
    else:
        paths = suite_paths(directory)
        if name_or_path not in paths:
            raise ConfigError(
                f"unknown prompt suite {name_or_path!r}{closest(name_or_path, list(paths))}; "
                f"available suites: {', '.join(paths)}"
            )
        path = paths[name_or_path]
    data = load_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("prompts"), list):
        raise ConfigError(f"{path}: a prompt suite is a mapping with a 'prompts' list")
    lines = _item_lines(path.read_text(encoding="utf-8"))
    suite = str(data.get("name") or path.stem)
    specs: list[PromptSpec] = []
    seen: set[str] = set()
    for i, entry in enumerate(data["prompts"]):
        line = lines[i] if i < len(lines) else None
        spec = _spec_from_entry(entry, suite, line, f"{path}:{line or i + 1}")
        if spec.id not in seen:
            seen.add(spec.id)
            specs.append(spec)
    if not specs:
        raise ConfigError(f"{path}: the suite holds no prompts")
    return specs


def select_prompts(specs: list[PromptSpec], count: int, seed: int) -> list[PromptSpec]:
    """`count` prompts drawn without replacement by a generator seeded with `seed` (same in, same out)."""
    if count < 1:
        raise ConfigError(f"--num-prompts must be at least 1, got {count}")
    if count > len(specs):
        suite = specs[0].source.suite if specs else "?"
        raise ConfigError(
            f"prompt suite {suite!r} holds {len(specs)} prompts; --num-prompts {count} asks for more "
            f"(use at most {len(specs)} or a larger suite)"
        )
    return random.Random(seed).sample(specs, count)
