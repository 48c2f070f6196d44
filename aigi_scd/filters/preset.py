"""Filter presets: ``filters/<name>.yaml`` files that declare a chain, loaded strictly.

A preset is a mapping with a ``description`` and a ``filters`` list; each entry has a ``type`` (see
:data:`aigi_scd.filters.chain.STEP_TYPES`) and that filter's settings. Mistakes are reported when the
preset loads, naming the file, the entry and the key: unknown types and keys (with the closest
match), unknown pyiqa metrics (with close matches), thresholds outside a metric's score range.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aigi_scd.config import closest, find_registry_file, from_mapping, load_yaml, registry_files
from aigi_scd.errors import ConfigError
from aigi_scd.filters.chain import STEP_TYPES, FilterChain
from aigi_scd.filters.technical import Decodable

DEFAULT_FILTER_PRESET = "default"  # learned metrics: what a connected machine building real models uses
OFFLINE_PRESET = "offline"  # weight-free: runs anywhere, the choice for tiny offline pipelines


@dataclass
class PresetFile:
    filters: list[dict[str, Any]]
    description: str = ""


def filter_preset_paths(directory: Path | None = None) -> dict[str, Path]:
    """Preset name → file, for every ``*.yaml`` in the registry folder."""
    return registry_files("filters", directory)


def preset_spec(chain: FilterChain) -> str:
    """How to name `chain` on a command line: its registry name, or the path of its file."""
    if chain.source is None:
        return chain.name
    registered = filter_preset_paths().get(chain.name)
    if registered is not None and registered.resolve() == Path(chain.source).resolve():
        return chain.name
    return chain.source


def default_preset_name(cards: list) -> str:
    """`default` (learned metrics) when any model is real; `offline` when every model is a tiny offline
    card (random-weight pipelines exist to run without downloads, and learned scores of their noise mean
    nothing)."""
    return OFFLINE_PRESET if cards and all(card.is_tiny for card in cards) else DEFAULT_FILTER_PRESET


def _preset_path(name_or_path: str, directory: Path | None) -> Path:
    return find_registry_file("filters", name_or_path, "filter preset", directory)


def load_filter_preset(name_or_path: str, directory: Path | None = None) -> FilterChain:
    """The chain a preset declares (registry name or path). Loads no weights: see FilterChain.prepare."""
    path = _preset_path(name_or_path, directory)
    data = load_yaml(path)
    preset = from_mapping(PresetFile, data, str(path))
    if not preset.filters:
        raise ConfigError(f"{path}: filters: the list is empty; start it with `- type: decodable`")
    steps = []
    for i, entry in enumerate(preset.filters):
        where = f"{path}: filters[{i}]"
        kind = entry.get("type")
        if kind not in STEP_TYPES:
            got = "no type" if kind is None else f"unknown type {kind!r}{closest(str(kind), list(STEP_TYPES))}"
            raise ConfigError(f"{where}: {got}; each entry needs `type:` one of {', '.join(STEP_TYPES)}")
        params = {k: v for k, v in entry.items() if k != "type"}
        steps.append(from_mapping(STEP_TYPES[kind], params, f"{where} ({kind})"))
    if not isinstance(steps[0], Decodable):
        raise ConfigError(f"{path}: filters[0] must be `type: decodable` (every later filter needs the pixels)")
    try:
        return FilterChain.from_steps(path.stem, steps, preset.description.strip(), str(path))
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
