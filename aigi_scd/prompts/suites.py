"""Prompt suites in the ``prompts/`` registry: hand-written lists and generator specs; pick N deterministically."""

from __future__ import annotations

import random
from pathlib import Path

import yaml

from aigi_scd.config import find_registry_file, load_yaml, registry_files
from aigi_scd.errors import ConfigError
from aigi_scd.prompts.generator import GeneratorSpec, generate, parse_generator
from aigi_scd.prompts.spec import PromptSource, PromptSpec, spec_from_mapping

DEFAULT_SUITE = "aigi-scd"


def suite_paths(directory: Path | None = None) -> dict[str, Path]:
    return registry_files("prompts", directory)


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
    return spec_from_mapping(entry, PromptSource(suite=suite, line=line), where)


def suite_path(name_or_path: str, directory: Path | None = None) -> Path:
    """The YAML file of a registry suite name, or the path itself when it names a .yaml/.yml file."""
    return find_registry_file(
        "prompts", name_or_path, "prompt suite", directory,
        also="; or give a prompt file (.tsv, .csv, .jsonl, .txt, .yaml)",
    )  # fmt: skip


def read_suite(path: Path) -> list[PromptSpec] | GeneratorSpec:
    """A suite file: the prompts of a list suite (in file order, duplicates kept), or a generator spec."""
    data = load_yaml(path)
    if isinstance(data, dict) and data.get("kind") == "generator":
        return parse_generator(data, path)
    if not isinstance(data, dict) or not isinstance(data.get("prompts"), list):
        raise ConfigError(
            f"{path}: a prompt suite is a mapping with a 'prompts' list, or a generator with 'kind: generator'"
        )
    lines = _item_lines(path.read_text(encoding="utf-8"))
    suite = str(data.get("name") or path.stem)
    specs = []
    for i, entry in enumerate(data["prompts"]):
        line = lines[i] if i < len(lines) else None
        specs.append(_spec_from_entry(entry, suite, line, f"{path}:{line or i + 1}"))
    if not specs:
        raise ConfigError(f"{path}: the suite holds no prompts")
    return specs


def load_suite(name_or_path: str, directory: Path | None = None, seed: int = 0) -> list[PromptSpec]:
    """All prompts of a suite (registry name or YAML path), exact duplicates removed, in file order.

    A generator suite yields its `default_count` prompts for `seed`.
    """
    suite = read_suite(suite_path(name_or_path, directory))
    if isinstance(suite, GeneratorSpec):
        return generate(suite, suite.default_count, seed)
    specs: list[PromptSpec] = []
    seen: set[str] = set()
    for spec in suite:
        if spec.id not in seen:
            seen.add(spec.id)
            specs.append(spec)
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
