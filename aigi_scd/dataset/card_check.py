"""Does the dataset card of an output folder (``OUT/README.md``) describe what is on disk, and does every
config it declares resolve to files that ``datasets.load_dataset`` loads?"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CARD = "README.md"


def card_configs(out: Path) -> list[dict[str, Any]] | None:
    """The ``configs`` of the card's YAML front matter; None when the card is missing or has no front matter."""
    path = Path(out) / CARD
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    parts = text.split("---", 2)
    if not text.startswith("---") or len(parts) < 3:
        return None
    try:
        meta = yaml.safe_load(parts[1])
    except yaml.YAMLError:
        return None
    configs = meta.get("configs") if isinstance(meta, dict) else None
    return configs if isinstance(configs, list) else None


def config_paths(config: dict[str, Any]) -> list[str]:
    files = config.get("data_files") or []
    if isinstance(files, str):
        return [files]
    return [f["path"] if isinstance(f, dict) else str(f) for f in files]


def card_problems(out: Path, expected: list[dict[str, Any]]) -> list[str]:
    """Why the card does not match `expected` (the configs it would be written with now), and which of its
    configs name no files."""
    out = Path(out)
    configs = card_configs(out)
    if configs is None:
        return [f"{out / CARD}: the dataset card is missing or has no YAML configs"]
    problems = []
    for config in configs:
        name = config.get("config_name", "?")
        for pattern in config_paths(config):
            if not any(out.glob(pattern)):
                problems.append(f"{out / CARD}: config {name!r} names {pattern}, which matches no file")
    if [c.get("config_name") for c in configs] != [c.get("config_name") for c in expected] or configs != expected:
        problems.append(f"{out / CARD}: its configs are not the ones the files on disk call for")
    return problems


def load_problems(out: Path, configs: list[dict[str, Any]]) -> list[str]:
    """Load the first row of every config with ``datasets`` (streaming: nothing is cached or converted)."""
    import datasets

    problems = []
    for config in configs:
        name = config.get("config_name")
        if not all(any(Path(out).glob(p)) for p in config_paths(config)):
            continue  # already reported by card_problems
        try:
            next(iter(datasets.load_dataset(str(out), name, split="train", streaming=True)))
        except Exception as exc:  # whatever datasets raises is the finding
            text = " ".join(str(exc).split())[:200]
            problems.append(f"config {name!r} does not load with datasets ({type(exc).__name__}: {text})")
    return problems
